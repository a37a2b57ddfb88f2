"""Twilio's error codes and what they mean for a firm: one table for the sender and the status callbacks."""

from __future__ import annotations

from typing import Final

# What staff see next to a failed text when Twilio gave no message of its own.
MEANINGS: Final[dict[int, str]] = {
    20429: "Twilio is busy (too many requests); retried with backoff",
    21211: "invalid 'To' number",
    21214: "'To' number cannot be reached",
    21408: "permission to send to this region is not enabled",
    21603: "no 'From' number",
    21606: "the 'From' number cannot send",
    21610: "the recipient has opted out (STOP)",
    21612: "cannot route to this number from this sender",
    21614: "'To' is not a mobile number (landline?)",
    21617: "the body is too long",
    30001: "queue overflow at Twilio",
    30002: "the Twilio account is suspended",
    30003: "unreachable handset (off, no signal, roaming); may work later",
    30004: "message blocked (the recipient or carrier blocked it)",
    30005: "unknown handset: the number is inactive or does not exist",
    30006: "landline or unreachable carrier: call instead",
    30007: "filtered by the carrier as spam or fraud",
    30008: "unknown delivery error",
    30034: "the sending number is not A2P 10DLC registered",
}

# Twilio refused for load, not for the text: safe to retry after backing off. Any other 4xx is final.
RATE_LIMITED: Final = frozenset({20429})


def meaning(code: int | None, fallback: str | None = None) -> str | None:
    """Twilio's own words when it gave them, else ours for the code."""
    if fallback:
        return fallback
    return MEANINGS.get(code) if code is not None else None
