"""Twilio's SIDs, RFC 2822 dates, E.164 numbers and callback URLs, so every answer spells them as Twilio does."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

import phonenumbers

from connector.sandbox.twilio.constants import _E164


def make_sid(prefix: str, number: int, namespace: str = "") -> str:
    """A deterministic 34-character SID (`SM…`, `MM…`, `ME…`): two letters and 32 hex digits."""
    digest = hashlib.sha256(f"{namespace}:{prefix}:{number}".encode()).hexdigest()
    return f"{prefix}{digest[:32]}"


def rfc2822(moment: datetime) -> str:
    """Twilio's date format: `Thu, 27 Nov 2026 10:00:00 +0000` (always GMT)."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0))


def _require_e164(number: str, label: str) -> str:
    if not _E164.match(number):
        raise ValueError(f"{label} {number!r} is not an E.164 number")
    return number


def _valid_number(number: str, strict: bool) -> bool:
    """E.164 syntax, and (when strict) a number that exists in its country's numbering plan."""
    if not _E164.match(number):
        return False
    if not strict:
        return True
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(number, None)))
    except phonenumbers.NumberParseException:
        return False


def _valid_callback_url(url: str) -> bool:
    """Twilio's rule: an absolute http(s) URL with a hostname, and no underscores in it."""
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.hostname) and "_" not in (parts.hostname or "_")
