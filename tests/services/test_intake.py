"""An admin puts set-aside texts back for intake once the cause is fixed; a retry is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from connector import queries, services
from connector.errors import Kind, MatterlineError
from connector.messaging import intake
from connector.staff.users import Actor
from connector.store.tables import messages
from tests.support.firm import JANE, NOW, seed, settings
from tests.support.inbox import audit_rows, set_aside

ADMIN = Actor("user:1:gc@firm.example", request_id="req-intake")


def test_a_retried_text_is_taken_in_by_the_next_intake_and_the_retry_is_audited(engine: Engine) -> None:
    seed(engine)
    held = set_aside(engine)
    assert intake.drain(engine, settings()) == 0  # held texts are not taken on their own
    assert services.intake.retry(engine, [held], actor=ADMIN) == [held]
    assert queries.intake.listing(engine) == []
    assert intake.drain(engine, settings()) == 1
    with engine.connect() as conn:
        assert conn.execute(select(messages.c.thread_id).where(messages.c.id == held)).scalar() is not None
    [entry] = audit_rows(engine, "intake_retry")
    assert (entry.actor, entry.request_id, entry.details) == (ADMIN.label, "req-intake", {"was": "ValueError: boom"})


def test_naming_a_text_that_is_not_set_aside_retries_nothing(engine: Engine) -> None:
    seed(engine)
    held = set_aside(engine)
    with pytest.raises(MatterlineError) as caught:
        services.intake.retry(engine, [held, 999_999], actor=ADMIN)
    assert (caught.value.kind, caught.value.code, caught.value.details) == (
        Kind.CONFLICT,
        "not_set_aside",
        {"messages": [999_999]},
    )
    assert [s.id for s in queries.intake.listing(engine)] == [held]
    assert audit_rows(engine, "intake_retry") == []


def test_a_set_aside_text_does_not_hold_up_a_send_to_its_sender(engine: Engine) -> None:
    from connector.guardrails import pipeline

    seed(engine)
    set_aside(engine)
    queued = services.messages.send(engine, settings(), to=JANE, body="We got your text", actor=Actor("alice"))
    with engine.begin() as conn:
        row = conn.execute(select(messages).where(messages.c.id == queued.id)).one()
        assert pipeline.at_send(conn, settings(), row, NOW).action != "wait"
