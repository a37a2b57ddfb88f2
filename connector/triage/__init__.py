"""Triage: deciding which inbound client texts are urgent, learned from a labelled corpus of client texts."""
