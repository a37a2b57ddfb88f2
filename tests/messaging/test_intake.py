"""Intake, the worker's half of an inbound text: every text is threaded and filed, and one that cannot be is
set aside with its reason for an admin, while every other text goes on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from connector import queries
from connector.guardrails import optouts
from connector.messaging import intake, reception, urgent
from connector.store.tables import audit_log, messages, threads
from tests.support.firm import FIRM_NUMBER, JANE, NOW, new_sid, seed, settings

SERVICE = "MG" + "b2" * 16
# A Messaging Service can deliver RCS or WhatsApp senders: longer than any phone number.
WHATSAPP = "whatsapp:+14155550123456789"


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine)
    return engine


def arrives(engine: Engine, sender: str, body: str, minutes: int = 0, **extra: str) -> str:
    """A text stored by the webhook (not yet taken in); its SID."""
    s = settings(TWILIO_MESSAGING_SERVICE_SID=SERVICE)
    sid = new_sid()
    form = {"MessageSid": sid, "From": sender, "To": FIRM_NUMBER, "Body": body, "NumMedia": "0", **extra}
    with engine.begin() as conn:
        reception.receive(conn, reception.parse(form, s), s, NOW + timedelta(minutes=minutes))
    return sid


def threaded(engine: Engine, sid: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(messages.c.thread_id, messages.c.intake_error).where(messages.c.sid == sid)).one()


def test_a_sender_longer_than_a_phone_number_is_threaded_and_holds_up_nothing(store: Engine) -> None:
    odd = arrives(store, WHATSAPP, "hola, ¿está el abogado?", MessagingServiceSid=SERVICE)
    jane = arrives(store, JANE, "Is my hearing still on?", minutes=1)
    intake.drain(store, settings(TWILIO_MESSAGING_SERVICE_SID=SERVICE))
    assert threaded(store, odd).thread_id is not None
    assert threaded(store, jane).thread_id is not None
    with store.connect() as conn:
        assert conn.execute(select(threads.c.client_phone).where(threads.c.client_phone == WHATSAPP)).scalar()


def test_a_text_intake_cannot_take_is_set_aside_with_its_reason_and_the_others_go_on(
    store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = urgent.escalate

    def breaks_on_one(conn: Any, row: Any, *args: Any, **kwargs: Any) -> Any:
        if row.body == "the one that breaks":
            raise ValueError("a bug in one step")
        return real(conn, row, *args, **kwargs)

    monkeypatch.setattr(urgent, "escalate", breaks_on_one)
    before = arrives(store, JANE, "first", minutes=0)
    bad = arrives(store, "+14155550177", "the one that breaks", minutes=1)
    after = arrives(store, JANE, "third", minutes=2)

    assert intake.drain(store, settings()) == 2  # it ends: the bad text is not taken again and again
    assert threaded(store, before).thread_id is not None
    assert threaded(store, after).thread_id is not None
    assert threaded(store, bad).thread_id is None
    # The reason names what failed, never its text (which may repeat a body or a number); the log has the trace.
    assert threaded(store, bad).intake_error == "ValueError"
    [held] = queries.intake.listing(store)
    assert (held.sid, held.from_number, held.reason) == (bad, "+14155550177", "ValueError")
    with store.connect() as conn:  # nothing of the bad text's half-done intake is left behind
        odd_threads = select(func.count()).select_from(threads).where(threads.c.client_phone == "+14155550177")
        assert conn.execute(odd_threads).scalar() == 0


def opted_out(engine: Engine, phone: str) -> bool:
    with engine.connect() as conn:
        return optouts.is_opted_out(conn, phone)


def test_start_after_a_stop_in_words_wins_though_intake_reads_the_words_later(store: Engine) -> None:
    arrives(store, JANE, "please stop texting me", minutes=0)
    arrives(store, JANE, "START", minutes=1)  # the webhook applies the keyword at once
    intake.drain(store, settings())
    assert not opted_out(store, JANE)
    with store.connect() as conn:  # the words are still on record, and were not applied
        details = conn.execute(
            select(audit_log.c.details).where(audit_log.c.action == "opt_out").order_by(audit_log.c.id)
        ).scalar_one()
    assert details["source"] == "plain_language"
    assert details["changed"] is False


def test_start_in_the_same_group_commit_as_a_stop_in_words_still_wins(store: Engine) -> None:
    s = settings()
    forms = [
        {"MessageSid": new_sid(), "From": JANE, "To": FIRM_NUMBER, "Body": body, "NumMedia": "0"}
        for body in ("please stop texting me", "START")
    ]
    with store.begin() as conn:  # one batch: both arrive at the same instant, in this order
        reception.receive_many(conn, [reception.parse(form, s) for form in forms], s, NOW)
    intake.drain(store, s)
    assert not opted_out(store, JANE)


def test_a_stop_in_words_after_start_still_opts_out(store: Engine) -> None:
    arrives(store, JANE, "START", minutes=0)
    arrives(store, JANE, "please stop texting me", minutes=1)
    intake.drain(store, settings())
    assert opted_out(store, JANE)
