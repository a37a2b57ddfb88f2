"""The firm's office schedule: the hours staff answer texts, and the days the office is closed.

Outside it, an urgent text gets the firm's emergency instructions. Parsed once, from the settings, so a
typo in `MATTERLINE_OFFICE_HOURS` stops the program at start instead of on the first urgent text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from connector.guardrails.quiet_hours import Window, parse_window

__all__ = ["OfficeHours", "parse_closed_days", "parse_office_hours"]

_DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_OFFICE: Final = re.compile(r"^\s*([A-Za-z]{3})\s*-\s*([A-Za-z]{3})\s+(\d{2}:\d{2}\s*-\s*\d{2}:\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class OfficeHours:
    """When the firm answers texts itself; outside them, urgent texts get the emergency auto-reply."""

    first_day: int
    last_day: int
    window: Window
    closed: frozenset[date] = frozenset()

    def open_at(self, moment: datetime) -> bool:
        """Whether `moment` (aware, any zone; read in the firm's zone by the caller) is within office hours."""
        if moment.date() in self.closed:
            return False
        day = moment.weekday()
        days_ok = (
            self.first_day <= day <= self.last_day
            if self.first_day <= self.last_day
            else day >= self.first_day or day <= self.last_day
        )
        return days_ok and self.window.start <= moment.time().replace(tzinfo=None) < self.window.end


def parse_closed_days(text: str) -> frozenset[date]:
    """`2026-12-25,2027-01-01`: days the office is closed (holidays), in the firm's calendar.

    Raises:
        ValueError: naming the part that is not a YYYY-MM-DD date.
    """
    days: set[date] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            days.add(date.fromisoformat(part))
        except ValueError:
            raise ValueError(f"{part!r} is not a date like 2026-12-25") from None
    return frozenset(days)


def parse_office_hours(text: str) -> OfficeHours:
    """`Mon-Fri 09:00-17:00`.

    Raises:
        ValueError: naming what is wrong with `text`.
    """
    found = _OFFICE.match(text)
    if found is None or found.group(1).lower() not in _DAYS or found.group(2).lower() not in _DAYS:
        raise ValueError(f"{text!r} is not office hours like 'Mon-Fri 09:00-17:00'")
    window = parse_window(found.group(3).replace(" ", ""))
    first, last = _DAYS.index(found.group(1).lower()), _DAYS.index(found.group(2).lower())
    return OfficeHours(first, last, window)
