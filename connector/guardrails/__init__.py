"""Guardrails: the checks every send and every inbound text passes (consent, content, escalation, quiet hours)."""
