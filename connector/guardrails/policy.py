"""The firm's guardrail settings, read once and kept in force: content rules, quiet hours, office hours.

A firm edits its rules file while Matterline runs. The file is read again when it changes; if the new
version is broken, every error is logged (one line, each with its JSON path), and the rules already in force
stay in force, so a typo never switches the guardrails off.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from connector.const import LOGGER
from connector.guardrails import content, quiet_hours
from connector.settings import Settings

_DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_OFFICE = re.compile(r"^\s*([A-Za-z]{3})\s*-\s*([A-Za-z]{3})\s+(\d{2}:\d{2}\s*-\s*\d{2}:\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class OfficeHours:
    """When the firm answers texts itself; outside them, urgent texts get the emergency auto-reply."""

    first_day: int
    last_day: int
    window: quiet_hours.Window
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


def parse_office_hours(text: str, closed: str = "") -> OfficeHours:
    """`Mon-Fri 09:00-17:00`.

    Raises:
        ValueError: naming what is wrong with `text`.
    """
    found = _OFFICE.match(text)
    if found is None or found.group(1).lower() not in _DAYS or found.group(2).lower() not in _DAYS:
        raise ValueError(f"{text!r} is not office hours like 'Mon-Fri 09:00-17:00'")
    window = quiet_hours.parse_window(found.group(3).replace(" ", ""))
    first, last = _DAYS.index(found.group(1).lower()), _DAYS.index(found.group(2).lower())
    return OfficeHours(first, last, window, parse_closed_days(closed))


class _RulesInForce:
    """The content rules in force for one rules file, re-read when the file changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[str | None, tuple[float | None, content.RuleSet]] = {}

    def get(self, path: str | None) -> content.RuleSet:
        if path is None:
            return content.default_rules()
        try:
            mtime: float | None = os.stat(path).st_mtime
        except OSError:
            mtime = None
        with self._lock:
            known = self._loaded.get(path)
            if known is not None and known[0] == mtime:
                return known[1]
            try:
                rules = content.load_rules(path)
            except content.RulesError as exc:
                if known is None:
                    raise
                LOGGER.error("content rules %s not reloaded, the rules in force stay: %s", path, "; ".join(exc.errors))
                self._loaded[path] = (mtime, known[1])
                return known[1]
            self._loaded[path] = (mtime, rules)
            return rules


_RULES = _RulesInForce()


def content_rules(settings: Settings) -> content.RuleSet:
    """The rules a send is checked against.

    Raises:
        content.RulesError: the firm's rules file is broken and no earlier version of it is in force.
    """
    return _RULES.get(settings.content_rules_file)


QUIET_HOURS_OFF: Final = "off"


def quiet_window(settings: Settings) -> quiet_hours.Window | None:
    """The default window texts go out in; None when the firm turned holding off (`MATTERLINE_QUIET_HOURS=off`)."""
    if settings.quiet_hours.strip().lower() == QUIET_HOURS_OFF:
        return None
    return quiet_hours.parse_window(settings.quiet_hours)


def state_windows(settings: Settings) -> dict[str, quiet_hours.Window]:
    """Stricter windows by state or province."""
    return quiet_hours.parse_state_windows(settings.quiet_hours_by_state) if settings.quiet_hours_by_state else {}


def office_hours(settings: Settings) -> OfficeHours:
    """The firm's office hours, holidays included."""
    return parse_office_hours(settings.office_hours, settings.office_closed)


def emergency_reply(settings: Settings, *, self_harm: bool) -> str:
    """The after-hours auto-reply to an urgent text: what to do now, never an answer to the question."""
    text = settings.emergency_reply or (
        f"{settings.firm_name}: we got your message. Our office is closed right now; your attorney will see "
        "it first thing. If you are in danger or this is an emergency, call 911."
    )
    if self_harm and "988" not in text:
        text += " If you are thinking about harming yourself, call or text 988 (Suicide & Crisis Lifeline)."
    return text
