"""How a thread's facts read on a page: a client's initials, a number as people write it, a time in the
firm's zone, a delivery status in words. Pure functions, registered as template filters."""

from __future__ import annotations

from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from connector.phones import pretty

__all__ = ["STATUS_WORDS", "day", "initials", "phone", "status_words", "when"]

# Twilio's message statuses (and Matterline's own before a text reaches Twilio) as a person says them.
STATUS_WORDS: Final = {
    "received": "Received",
    "pending": "Sending",
    "queued": "Sending",
    "accepted": "Sending",
    "sending": "Sending",
    "sent": "Sent",
    "delivered": "Delivered",
    "read": "Read",
    "undelivered": "Not delivered",
    "failed": "Not delivered",
    "scheduled": "Held for quiet hours",
    "canceled": "Canceled",
}


def initials(name: str | None) -> str:
    """Initials for a name (Jane Q. Doe: JD), enough to tell rows apart on a shared screen without naming anyone."""
    words = [word for word in (name or "").replace(".", " ").split() if word[:1].isalpha()]
    if not words:
        return "?"
    picked = words if len(words) == 1 else [words[0], words[-1]]
    return "".join(word[0].upper() for word in picked)


def masked(number: str) -> str:
    """A number in privacy mode: its last two digits, enough to tell a person's numbers apart, never to dial."""
    digits = "".join(ch for ch in number if ch.isdigit())
    return "•••• " + digits[-2:]


def phone(e164: str, region: str) -> str:
    """A number in the firm's own national format, or international when it is from elsewhere."""
    return pretty(e164, region)


def when(moment: datetime | None, zone: ZoneInfo, now: datetime) -> str:
    """A time in the firm's zone: the time alone today, the date this year, the full date before."""
    if moment is None:
        return ""
    local, today = moment.astimezone(zone), now.astimezone(zone)
    if local.date() == today.date():
        return local.strftime("%-I:%M %p")
    if local.year == today.year:
        return local.strftime("%b %-d")
    return local.strftime("%b %-d, %Y")


def day(moment: datetime, zone: ZoneInfo) -> str:
    """A day in the firm's zone as people say it ("Thu, Dec 10"): when someone away is back, at most a year on."""
    return moment.astimezone(zone).strftime("%a, %b %-d")


def status_words(status: str | None) -> str:
    """A delivery status in words; an unknown one as it came."""
    if status is None:
        return ""
    return STATUS_WORDS.get(status, status.replace("_", " ").capitalize())
