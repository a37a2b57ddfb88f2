"""Guardrails: the rules every send and every inbound text meets, and the one pipeline that applies them."""
