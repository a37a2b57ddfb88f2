"""The firm's reminder rules: the shipped rules load; every mistake in an edit is named at its JSON path; a
reminder is due at the right local time across a daylight-saving change; and its text says only the firm, the
date, the time, the place and what to bring."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connector.reminders import rules

NEW_YORK = ZoneInfo("America/New_York")


def _rule(**changes: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "name": "hearing",
        "event_types": ["Hearing"],
        "moments": [{"days_before": 2, "at": "09:00"}],
        "template": "{firm}: your hearing is on {date} at {time}, {place}. {bring} Reply here with questions.",
        "bring": "Please bring a photo ID.",
    }
    rule.update(changes)
    return rule


def _errors(*items: dict[str, Any], **document: Any) -> list[str]:
    text = json.dumps({"version": 1, "rules": list(items), **document})
    with pytest.raises(rules.ReminderRulesError) as caught:
        rules.parse(text)
    return caught.value.errors


def test_the_shipped_rules_remind_of_hearings_twice_and_appointments_the_day_before() -> None:
    shipped = rules.shipped()
    assert [(r.name, [m.label for m in r.moments]) for r in shipped.rules] == [
        ("hearing", ["2 days before at 09:00", "the day of at 08:00"]),
        ("appointment", ["24 hours before"]),
    ]
    assert [r.name for r in shipped.for_entry("Avery's calendar", "court date")] == ["hearing"]
    assert [r.name for r in shipped.for_entry(None, "CONSULTATION")] == ["appointment"]
    assert shipped.for_entry("Firm", "Deposition") == ()
    assert shipped.for_entry("Firm", None) == ()
    assert rules.parse(rules.SHIPPED_PATH.read_text(encoding="utf-8")) == shipped


def test_every_mistake_is_listed_at_its_path() -> None:
    errors = _errors(
        _rule(name="Hearing Rule", colour="red", template="{firm}: {date} for {matter}"),
        _rule(name="empty", moments=[]),
        _rule(
            name="times",
            moments=[{"days_before": 31, "at": "09:00"}, {"days_before": 1}, {"hours_before": 3, "days_before": 1}],
        ),
        _rule(name="everything", event_types=[], calendars=[]),
        _rule(name="times"),
        _rule(name="long", bring="Bring " + "every paper you have " * 10),
        _rule(name="twice", moments=[{"hours_before": 24}, {"hours_before": 24}], template="{date:%A} {summary}"),
    )
    assert errors == [
        "rules[0].name: must be 1-64 lowercase letters, digits or '_'",
        "rules[0].colour: Unknown field.",
        "rules[0].template: unknown placeholder {matter}; a reminder may only say {firm}, {date}, {time}, {place}, "
        "{bring}",
        "rules[1].moments: needs at least one moment (when the reminder goes)",
        "rules[2].moments[0].days_before: must be 0 (the day of) to 30",
        "rules[2].moments[1].at: is required with days_before (the local time of day, like 09:00)",
        "rules[2].moments[2].hours_before: cannot be combined with days_before or at; use one or the other",
        "rules[3]: matches every calendar entry; name its event_types or calendars",
        "rules[4].name: duplicate rule name 'times' (first used by rules[2])",
        "rules[5].template: can render 465 characters with a long firm name and place; at most 320 (two text "
        "segments), so shorten the template or what to bring",
        "rules[6].template: placeholder {date} takes no format or conversion; write {date}",
        "rules[6].moments[1]: '24 hours before' is already moments[0]",
    ]
    assert _errors(_rule(), version=2) == ["version: must be 1"]
    assert _errors(_rule(template="{summary} on {date}")) == [
        "rules[0].template: unknown placeholder {summary}; a reminder may only say {firm}, {date}, {time}, {place}, "
        "{bring}"
    ]
    with pytest.raises(rules.ReminderRulesError) as caught:
        rules.parse('{"version": 1, "rules": [')
    assert caught.value.errors[0].startswith("$: not valid JSON: ")


def test_days_before_count_calendar_days_in_the_zone_across_a_daylight_saving_change() -> None:
    hearing, morning_of = rules.shipped().rules[0].moments
    (day_before,) = rules.shipped().rules[1].moments
    # Monday 3 November 2025, 9:30 AM EST; clocks went back on Sunday the 2nd.
    starts = datetime(2025, 11, 3, 14, 30, tzinfo=UTC)
    assert hearing.due(starts, NEW_YORK) == datetime(2025, 11, 1, 13, 0, tzinfo=UTC)  # Saturday 9:00 AM EDT
    assert morning_of.due(starts, NEW_YORK) == datetime(2025, 11, 3, 13, 0, tzinfo=UTC)  # Monday 8:00 AM EST
    assert day_before.due(starts, NEW_YORK) == datetime(2025, 11, 2, 14, 30, tzinfo=UTC)  # 24 hours: 8:30 AM EST
    # An all-day entry on 10 March 2026 (stored as midnight UTC): its own date, not the evening before in New York.
    all_day = datetime(2026, 3, 10, tzinfo=UTC)
    assert hearing.due(all_day, NEW_YORK, all_day=True) == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)  # 9:00 AM EDT


def test_the_text_says_only_the_firm_date_time_place_and_what_to_bring() -> None:
    hearing, appointment = rules.shipped().rules
    starts = datetime(2026, 12, 8, 14, 30, tzinfo=UTC)
    text = hearing.render(
        firm="Doe & Roe LLP", starts_at=starts, all_day=False, location="Courtroom 4B,\n 100 Main St", zone=NEW_YORK
    )
    assert text == (
        "Doe & Roe LLP: reminder of your court date on Tuesday, December 8 at 9:30 AM, Courtroom 4B, 100 Main St. "
        "Please bring a photo ID and your court papers. Reply here with questions."
    )
    nowhere = appointment.render(
        firm="Doe & Roe LLP", starts_at=datetime(2026, 12, 8, tzinfo=UTC), all_day=True, location=None, zone=NEW_YORK
    )
    assert nowhere == (
        "Doe & Roe LLP: reminder of your appointment with us on Tuesday, December 8 during the day, "
        "at the place on your notice. Reply here to reschedule."
    )
    far = hearing.render(firm="W" * 80, starts_at=starts, all_day=False, location="x" * 500, zone=NEW_YORK)
    assert len(far) <= rules.MAX_CHARS
    assert "x" * 77 + "..." in far
