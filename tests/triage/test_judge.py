"""What intake asks triage: the shipped model's decision, or the escalation rules' when no model can be read."""

from __future__ import annotations

from datetime import datetime

from connector.triage import judge
from connector.triage.corpus import CATEGORIES

EVENING = datetime(2026, 12, 1, 19, 30)


def test_every_situation_has_a_name_staff_can_read() -> None:
    assert set(judge.SITUATIONS) == set(CATEGORIES) - {"none"}
    assert judge.situation("court_deadline") == "court date or deadline"
    assert judge.situation(None) == "urgent"


def test_the_shipped_model_decides_and_names_itself() -> None:
    found = judge.decide("my son was arrested tonight and is at the precinct", EVENING)
    assert found.urgent
    assert found.category == "arrest_custody"
    assert found.version.startswith("triage-")
    assert found.probability is not None


def test_the_rules_name_the_gravest_situation_they_found() -> None:
    both = judge.rules_decision("they arrested him and I want to kill myself")
    assert (both.urgent, both.category, both.rule, both.version) == (True, "self_harm_crisis", "self_harm", "rules")
    assert both.self_harm
    assert both.reasons
    assert all(r.startswith('escalation rule: "') for r in both.reasons)
    nothing = judge.rules_decision("thanks, see you next month")
    assert (nothing.urgent, nothing.category, nothing.probability, nothing.reasons) == (False, None, None, ())
