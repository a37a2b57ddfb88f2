"""When a text says something happens, read against the moment it arrived in the client's zone.

"Tomorrow at 9" sent on a Tuesday night is Wednesday morning; "Monday" sent on a Friday is three days
off; "the 14th" sent on the 13th is tomorrow, and sent on the 20th it is next month's. A hearing
"next month" is not urgent, one "tomorrow" is: the classifier is given how far off the nearest date a
text names is, in a few buckets, rather than the words alone.

English and Spanish, as clients type them (no accents, "tmrw", "2morrow", "manana"). A date the text
does not pin down (a bare "soon") gives nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from connector.triage.folding import plain

__all__ = ["Reading", "read"]

_WEEKDAYS: Final = {
    **dict.fromkeys(("monday", "mon", "lunes"), 0),
    **dict.fromkeys(("tuesday", "tues", "tue", "martes"), 1),
    **dict.fromkeys(("wednesday", "wed", "weds", "miercoles"), 2),
    **dict.fromkeys(("thursday", "thurs", "thu", "thur", "jueves"), 3),
    **dict.fromkeys(("friday", "fri", "viernes"), 4),
    **dict.fromkeys(("saturday", "sabado"), 5),
    **dict.fromkeys(("sunday", "domingo"), 6),
}
_MONTHS: Final = {
    **dict.fromkeys(("january", "jan", "enero"), 1),
    **dict.fromkeys(("february", "feb", "febrero"), 2),
    **dict.fromkeys(("march", "mar", "marzo"), 3),
    **dict.fromkeys(("april", "apr", "abril"), 4),
    **dict.fromkeys(("may", "mayo"), 5),
    **dict.fromkeys(("june", "jun", "junio"), 6),
    **dict.fromkeys(("july", "jul", "julio"), 7),
    **dict.fromkeys(("august", "aug", "agosto"), 8),
    **dict.fromkeys(("september", "sept", "sep", "septiembre", "setiembre"), 9),
    **dict.fromkeys(("october", "oct", "octubre"), 10),
    **dict.fromkeys(("november", "nov", "noviembre"), 11),
    **dict.fromkeys(("december", "dec", "diciembre"), 12),
}
_DAY_WORDS: Final = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))
_MONTH_WORDS: Final = "|".join(sorted(_MONTHS, key=len, reverse=True))

# Words that name a day relative to today, each with its offset in days.
_RELATIVE: Final = (
    (re.compile(r"\b(?:right now|now|asap|ahora mismo|ahorita|ahora)\b"), 0),
    (re.compile(r"\b(?:today|tonight|this (?:morning|afternoon|evening)|hoy|esta noche|esta tarde|esta manana)\b"), 0),
    (re.compile(r"\b(?:pasado manana|day after tomorrow)\b"), 2),
    (re.compile(r"\b(?:tomorrow|tmrw|tmr|tmw|tomorow|tommorow|tommorrow|2morrow|2moro|manana)\b"), 1),
    (re.compile(r"\b(?:yesterday|last night|ayer|anoche)\b"), -1),
    (re.compile(r"\b(?:next week|la semana que viene|la proxima semana)\b"), 7),
    (re.compile(r"\b(?:next month|el mes que viene|el proximo mes)\b"), 30),
)
_IN_SPAN: Final = re.compile(
    r"\b(?:in|within|en)\s+(\d{1,2}|a|an|one|two|three|un|una|dos|tres)\s+(hours?|days?|weeks?|months?|horas?|dias?|semanas?|mes(?:es)?)\b"
)
# Days per unit of "in N ...": hours count as today.
_SPAN_DAYS: Final = {"hour": 0, "hora": 0, "day": 1, "dia": 1, "week": 7, "semana": 7, "month": 30, "mes": 30}
_NUMBERS: Final = {"a": 1, "an": 1, "one": 1, "un": 1, "una": 1, "two": 2, "dos": 2, "three": 3, "tres": 3}
_WEEKDAY: Final = re.compile(rf"\b(?:this |next |el |este |el proximo )?({_DAY_WORDS})\b")
_MONTH_DAY: Final = re.compile(rf"\b({_MONTH_WORDS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b")
_DAY_OF_MONTH: Final = re.compile(rf"\b(\d{{1,2}})\s+de\s+({_MONTH_WORDS})\b")
_NUMERIC: Final = re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b")
_ORDINAL: Final = re.compile(r"\b(?:the |on the |el )?(\d{1,2})(?:st|nd|rd|th)\b")


@dataclass(frozen=True, slots=True)
class Reading:
    """The nearest date a text names that is not behind it, in days from the day it arrived (0 is today).

    `bucket` is what the classifier sees; `days` and `phrase` are what the explanation shows.
    """

    days: int
    phrase: str
    # The weekday of that date (Monday 0), for "the next business day".
    weekday: int

    def on(self, received_at: datetime) -> date:
        """The date itself, for a text that arrived at `received_at`."""
        return received_at.date() + timedelta(days=self.days)

    @property
    def bucket(self) -> str:
        """How far off, as a receptionist would put it: past, today, tomorrow, the next business day
        (Monday from a Friday), this week, or later."""
        if self.days < 0:
            return "when:past"
        if self.days == 0:
            return "when:today"
        if self.days == 1:
            return "when:tomorrow"
        if self.days <= 3 and all((self.weekday - step) % 7 >= 5 for step in range(1, self.days)):
            return "when:next_business_day"
        if self.days <= 7:
            return "when:this_week"
        return "when:later"


def _on_or_after(today: date, month: int, day: int, year: int | None = None) -> date | None:
    """The date `month`/`day` names: this year's, or next year's once this year's has passed by a week."""
    try:
        found = date(year if year is not None else today.year, month, day)
    except ValueError:
        return None
    if year is None and found < today - timedelta(days=7):
        found = date(today.year + 1, month, day)
    return found


def _dates(text: str, today: date) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for pattern, offset in _RELATIVE:
        found += [(offset, m.group(0)) for m in pattern.finditer(text)]
    for m in _IN_SPAN.finditer(text):
        count = int(m.group(1)) if m.group(1).isdigit() else _NUMBERS[m.group(1)]
        unit = m.group(2)
        per = _SPAN_DAYS[next(key for key in _SPAN_DAYS if unit.startswith(key))]
        found.append((count * per, m.group(0)))
    for m in _WEEKDAY.finditer(text):
        ahead = (_WEEKDAYS[m.group(1)] - today.weekday()) % 7
        if m.group(0).startswith(("next ", "el proximo ")) and ahead < 3:
            ahead += 7
        found.append((ahead, m.group(0)))
    for m in _MONTH_DAY.finditer(text):
        when = _on_or_after(today, _MONTHS[m.group(1)], int(m.group(2)))
        if when is not None:
            found.append(((when - today).days, m.group(0)))
    for m in _DAY_OF_MONTH.finditer(text):
        when = _on_or_after(today, _MONTHS[m.group(2)], int(m.group(1)))
        if when is not None:
            found.append(((when - today).days, m.group(0)))
    for m in _NUMERIC.finditer(text):
        year = int(m.group(3)) if m.group(3) else None
        if year is not None and year < 100:
            year += 2000
        when = _on_or_after(today, int(m.group(1)), int(m.group(2)), year)
        if when is not None:
            found.append(((when - today).days, m.group(0)))
    for m in _ORDINAL.finditer(text):
        day = int(m.group(1))
        when = _on_or_after(today, today.month, day) if day >= today.day else None
        if when is None:
            nxt = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
            when = _on_or_after(today, nxt.month, day, nxt.year)
        if when is not None:
            found.append(((when - today).days, m.group(0)))
    return found


def read(text: str, received_at: datetime) -> Reading | None:
    """The nearest date `text` names from today on (or, when it names only past days, the latest of
    those), read against `received_at`, the client's local arrival time; None when it names none."""
    today = received_at.date()
    found = _dates(plain(text), today)
    if not found:
        return None
    ahead = [item for item in found if item[0] >= 0]
    days, phrase = min(ahead) if ahead else max(found)
    return Reading(days, phrase, (today + timedelta(days=days)).weekday())
