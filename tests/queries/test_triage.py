"""Triage's view of client texts: only the texts it decided, each labelled by staff's newest correction."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from connector import queries, services
from connector.errors import Kind, MatterlineError
from connector.staff.users import Actor
from tests.support.firm import JANE, seed
from tests.support.inbox import SETTINGS, text_in


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine)
    return engine


def test_each_decided_text_is_labelled_by_the_newest_correction(store: Engine) -> None:
    flagged = text_in(store, JANE, "They arrested my son last night, he's in county jail")
    routine = text_in(store, JANE, "ok thanks", minutes=1)
    operator = Actor("operator")
    services.triage.correct(store, SETTINGS, flagged.message_id, urgent=False, actor=operator)
    services.triage.correct(store, SETTINGS, flagged.message_id, urgent=True, category="other", actor=operator)
    views = queries.triage.for_messages(store, [flagged.message_id, routine.message_id, 12345])
    assert set(views) == {flagged.message_id, routine.message_id}  # a text it never decided is absent
    arrest = views[flagged.message_id]
    assert (arrest.urgent, arrest.category, arrest.situation) == (True, "other", "other emergency")
    assert (arrest.decided_urgent, arrest.decided_category) == (True, "arrest_custody")
    assert [c.urgent for c in arrest.corrections] == [False, True]
    assert arrest.corrected is not None
    assert arrest.corrected.by == "operator"
    assert views[routine.message_id].corrected is None
    assert views[routine.message_id].situation is None


def test_a_text_triage_never_decided_is_not_found(store: Engine) -> None:
    with pytest.raises(MatterlineError) as caught:
        queries.triage.require(store, 999)
    assert caught.value.kind == Kind.NOT_FOUND
    assert queries.triage.for_messages(store, []) == {}
