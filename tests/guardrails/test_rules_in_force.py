"""The guardrail settings in force: office hours, the emergency reply, and a rules file edited while running."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from connector import services
from connector.errors import Kind, MatterlineError
from connector.guardrails import rules_in_force, schedule
from connector.guardrails.content import RulesError
from connector.messaging.urgent import emergency_reply
from connector.settings import SettingsError
from connector.staff.users import Actor
from tests.support.firm import seed, settings

NY = ZoneInfo("America/New_York")


def rules_file(path: Path, pattern: str, action: str = "block", *, mtime: float | None = None) -> Path:
    document = {
        "version": 1,
        "rules": [
            {"id": "codeword", "action": action, "patterns": [pattern], "message": "no", "suggestion": "call instead"}
        ],
    }
    path.write_text(json.dumps(document))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (datetime(2026, 11, 24, 9, 0, tzinfo=NY), True),  # Tuesday, opening time
        (datetime(2026, 11, 24, 16, 59, tzinfo=NY), True),
        (datetime(2026, 11, 24, 17, 0, tzinfo=NY), False),  # closing time
        (datetime(2026, 11, 28, 11, 0, tzinfo=NY), False),  # Saturday
        (datetime(2026, 11, 23, 8, 59, tzinfo=NY), False),  # Monday, before opening
    ],
)
def test_office_hours(moment: datetime, open_: bool) -> None:
    assert schedule.parse_office_hours("Mon-Fri 09:00-17:00").open_at(moment) is open_


def test_a_holiday_is_after_hours_all_day() -> None:
    hours = settings(MATTERLINE_OFFICE_CLOSED="2026-12-25, 2027-01-01").office
    assert hours.open_at(datetime(2026, 12, 25, 11, 0, tzinfo=NY)) is False  # a Friday
    assert hours.open_at(datetime(2026, 12, 24, 11, 0, tzinfo=NY)) is True
    with pytest.raises(SettingsError, match="MATTERLINE_OFFICE_CLOSED"):
        settings(MATTERLINE_OFFICE_CLOSED="Christmas")


@pytest.mark.parametrize("text", ["Monday-Friday 9-5", "Mon-Fri", "Mon-Xyz 09:00-17:00", "Mon-Fri 17:00-09:00"])
def test_office_hours_that_cannot_be_read_say_so(text: str) -> None:
    with pytest.raises(ValueError, match="'"):
        schedule.parse_office_hours(text)


def test_bad_guardrail_settings_stop_the_program_naming_each() -> None:
    with pytest.raises(SettingsError) as raised:
        settings(
            MATTERLINE_QUIET_HOURS="8am-8pm",
            MATTERLINE_QUIET_HOURS_BY_STATE="ZZ=09:00-20:00",
            MATTERLINE_OFFICE_HOURS="weekdays",
        )
    text = str(raised.value)
    for name in ("MATTERLINE_QUIET_HOURS", "MATTERLINE_QUIET_HOURS_BY_STATE", "MATTERLINE_OFFICE_HOURS"):
        assert name in text


def test_a_broken_rules_file_is_refused_at_start_with_every_error(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "rules": [
                    {"id": "a", "action": "shout", "patterns": ["x"], "message": "m", "suggestion": "s"},
                    {"id": "b", "action": "warn", "patterns": ["[unclosed"], "message": "m", "suggestion": "s"},
                ],
            }
        )
    )
    with pytest.raises(SettingsError) as raised:
        settings(MATTERLINE_CONTENT_RULES_FILE=str(path))
    text = str(raised.value)
    assert "rules[0].action" in text
    assert "rules[1].patterns[0]" in text


def test_an_edit_that_breaks_the_rules_file_leaves_the_old_rules_in_force(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = rules_file(tmp_path / "rules.json", r"\bpineapple\b", mtime=1_000_000)
    firm = settings(MATTERLINE_CONTENT_RULES_FILE=str(path))
    assert [f.rule_id for f in rules_in_force.content_rules(firm).check("the pineapple has landed")] == ["codeword"]
    rules_file(path, "[broken", action="yell", mtime=2_000_000)
    still = rules_in_force.content_rules(firm)
    assert [f.rule_id for f in still.check("the pineapple has landed")] == ["codeword"]
    [logged] = [r.getMessage() for r in caplog.records if "not reloaded" in r.getMessage()]
    assert "rules[0].action" in logged  # every error of the broken edit, for the admin
    assert "rules[0].patterns[0]" in logged
    rules_file(path, r"\bmango\b", mtime=3_000_000)
    fixed = rules_in_force.content_rules(firm)
    assert fixed.check("the pineapple has landed") == []
    assert [f.rule_id for f in fixed.check("mango time")] == ["codeword"]


def test_with_no_rules_in_force_a_broken_file_stops_sends_instead_of_dropping_the_checks(
    tmp_path: Path, engine: Engine
) -> None:
    seed(engine)
    path = rules_file(tmp_path / "rules.json", r"\bok\b")
    firm = settings(MATTERLINE_CONTENT_RULES_FILE=str(path))
    rules_file(path, "[broken", mtime=6_000_000)  # broken before this process ever read it
    with pytest.raises(RulesError):
        rules_in_force.content_rules(firm)
    with pytest.raises(MatterlineError) as refused:
        services.messages.send(engine, firm, matter_cms_id="101", body="hello", actor=Actor("alice"))
    assert (refused.value.kind, refused.value.code) == (Kind.UNAVAILABLE, "rules_unavailable")


def test_the_emergency_reply_never_answers_and_adds_the_crisis_line_for_self_harm() -> None:
    firm = settings()
    plain = emergency_reply(firm, self_harm=False)
    assert "Doe & Roe LLP" in plain
    assert "911" in plain
    assert "988" not in plain
    assert "988" in emergency_reply(firm, self_harm=True)
    own = settings(MATTERLINE_EMERGENCY_REPLY="Closed. Emergencies: call 555-0100.")
    assert emergency_reply(own, self_harm=True).startswith("Closed. Emergencies: call 555-0100. ")
