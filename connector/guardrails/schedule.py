"""The firm's office schedule: the hours staff answer texts, and the days the office is closed.

Outside it, an urgent text gets the firm's emergency instructions. Parsed once, from the settings, so a
typo in `MATTERLINE_OFFICE_HOURS` stops the program at start instead of on the first urgent text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from connector.guardrails.quiet_hours import Window, parse_window

__all__ = ["OfficeHours", "parse_closed_days", "parse_office_hours"]

# How far ahead `after` looks for office time before it gives up (an office open one day a year still answers).
_HORIZON_DAYS: Final = 800

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
        return self.open_on(moment.date()) and self.window.start <= moment.time().replace(tzinfo=None) < self.window.end

    def open_on(self, day: date) -> bool:
        """Whether the office opens at all on `day` (a weekday in its span, and not a closed day)."""
        if day in self.closed:
            return False
        weekday = day.weekday()
        if self.first_day <= self.last_day:
            return self.first_day <= weekday <= self.last_day
        return weekday >= self.first_day or weekday <= self.last_day

    def _hours_of(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The office's opening and closing on `day` in `zone`, as UTC (so a DST change is counted right)."""
        opens = datetime.combine(day, self.window.start, zone).astimezone(UTC)
        closes = datetime.combine(day, self.window.end, zone).astimezone(UTC)
        return opens, closes

    def business_time(self, start: datetime, end: datetime, zone: ZoneInfo) -> timedelta:
        """Office time between two aware moments, read in the firm's `zone`: how long a client waited in the
        hours the firm promises to answer, so a text at 11 pm answered at 9:05 am waited five minutes."""
        total = timedelta(0)
        if end <= start:
            return total
        day, last = start.astimezone(zone).date(), end.astimezone(zone).date()
        while day <= last:
            if self.open_on(day):
                opens, closes = self._hours_of(day, zone)
                later, earlier = max(opens, start), min(closes, end)
                if earlier > later:
                    total += earlier - later
            day += timedelta(days=1)
        return total

    def after(self, start: datetime, amount: timedelta, zone: ZoneInfo) -> datetime | None:
        """The moment `amount` of office time has passed since `start` (the reply limit's deadline), in UTC;
        None when the office does not open within two years (every day closed)."""
        remaining = amount
        day = start.astimezone(zone).date()
        for _ in range(_HORIZON_DAYS):
            if self.open_on(day):
                opens, closes = self._hours_of(day, zone)
                begin = max(opens, start)
                if closes > begin:
                    if begin + remaining <= closes:
                        return begin + remaining
                    remaining -= closes - begin
            day += timedelta(days=1)
        return None


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
