"""`matterline reminders plan` plans what the calendar sync changed; `reminders list` shows them, by matter and
state, as lines or JSON."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import Engine

from connector.store.engine import utcnow
from tests.support import calendar, firm
from tests.support.command import run


def test_reminders_plan_then_list_by_matter_and_state(engine: Engine, env: dict[str, str]) -> None:
    firm.seed(engine)  # `engine` is the migrated store `env` names
    calendar.entry(engine, "e1", starts_at=utcnow() + timedelta(days=5))  # a hearing on Jane's matter 101
    calendar.entry(engine, "e2", matter="201", event_type="Consultation", starts_at=utcnow() + timedelta(days=5))
    texting = {**env, "MATTERLINE_FIRM_NUMBERS": firm.FIRM_NUMBER}
    code, out, err = run(texting, "reminders", "plan", "--json")
    assert code == 0, err
    assert json.loads(out) == {
        "planned": 3,
        "moved": 0,
        "cancelled": 0,
        "unchanged": 0,
        "no_number": 0,
        "entries": 2,
    }
    code, out, err = run(texting, "reminders", "list", "--matter", "101", "--json")
    assert code == 0, err
    listed = json.loads(out)
    assert [(r["rule"], r["moment"], r["state"], r["client_phone"]) for r in listed] == [
        ("hearing", "2 days before at 09:00", "scheduled", firm.JANE),
        ("hearing", "the day of at 08:00", "scheduled", firm.JANE),
    ]
    code, out, _ = run(texting, "reminders", "list", "--state", "scheduled")
    assert code == 0
    assert out.splitlines()[-1] == "3 reminders"
    assert "appointment: 24 hours before" in out
    code, out, _ = run(texting, "reminders", "list", "--state", "cancelled")
    assert out == "0 reminders\n"
    code, _, err = run(texting, "reminders", "list", "--state", "gone")
    assert code == 2
    assert "'gone' is not one of" in err
