"""Whether a client's text is urgent, as intake asks it: the shipped model, or the escalation rules when the
model file cannot be read.

A broken install (the model file missing or corrupt) must not stop urgent texts being flagged, so it
falls back to the rules, which need no file, says so in the log once, and records "rules" as the version
on every decision it makes, so an admin can see which texts were judged without the model.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime
from typing import Final

from connector.guardrails import urgency
from connector.triage import model
from connector.triage.model import SELF_HARM, Decision, Model

__all__ = ["RULES_VERSION", "SITUATIONS", "STAFF_VERSION", "decide", "rules_decision", "situation"]

RULES_VERSION: Final = "rules"
# The version a correction's decision carries: a person decided, not a model.
STAFF_VERSION: Final = "staff"
# Each situation as staff read it, in the thread and the attorney's task.
SITUATIONS: Final = {
    "arrest_custody": "arrest or custody",
    "court_deadline": "court date or deadline",
    "child_safety": "child safety or custody exchange",
    "protective_threat": "protective order or threat",
    "housing": "housing lockout or eviction",
    "immigration": "immigration detention or check-in",
    SELF_HARM: "self-harm or crisis",
    "other": "other emergency",
}
# The escalation rules' categories, as situations, when the rules decide: the first one found names it.
_FROM_RULES: Final = {
    "self_harm": SELF_HARM,
    "safety": "protective_threat",
    "arrest": "arrest_custody",
    "police": "arrest_custody",
    "custody": "child_safety",
    "court_date": "court_deadline",
    "deadline": "court_deadline",
}
_LOG = logging.getLogger(__name__)


def situation(category: str | None) -> str:
    """The situation's name as staff read it ("court date or deadline")."""
    return SITUATIONS.get(category or "", category or "urgent")


@functools.cache
def _model() -> Model | None:
    try:
        return Model.load(model.MODEL_FILE)
    except ValueError as exc:
        _LOG.error("triage model unreadable, the escalation rules decide instead: %s", exc)
        return None


def rules_decision(text: str) -> Decision:
    """What the escalation rules alone say about `text`, as a decision."""
    found = urgency.classify(text)
    if found is None:
        return Decision(False, None, None, (), None, None, RULES_VERSION)
    category = next(named for rule, named in _FROM_RULES.items() if rule in found.categories)
    reasons = tuple(f'escalation rule: "{match}"' for match in found.matches[:3])
    return Decision(True, None, category, reasons, None, "self_harm" if found.self_harm else None, RULES_VERSION)


def decide(text: str, received_at: datetime) -> Decision:
    """Whether `text`, arrived at `received_at` (the client's local wall-clock time), is urgent, and why."""
    model = _model()
    return rules_decision(text) if model is None else model.decide(text, received_at)
