"""Sending through the real twilio library to the Twilio stand-in: once, never twice, errors kept."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

from connector.guardrails import optouts
from connector.messaging.outbound import SendRefused, queue_send
from connector.messaging.sender import send_due
from connector.sandbox import (
    SANDBOX_ACCOUNT_SID,
    SANDBOX_AUTH_TOKEN,
    SANDBOX_MESSAGING_SERVICE_SID,
    SANDBOX_POOL_NUMBERS,
    TwilioServer,
    TwilioState,
    twilio_fault,
)
from connector.settings import Settings
from connector.store.tables import audit_log, messages, opt_outs, outbox, send_attempts
from tests.support.firm import FIRM_NUMBER, JANE, OMAR, seed
from tests.support.firm import settings as firm_settings
from webhooks import create_app
from webhooks.server import ServerThread


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine)
    return engine


@pytest.fixture
def twilio() -> Iterator[TwilioServer]:
    state = TwilioState(
        incoming_numbers=(FIRM_NUMBER,),
        messaging_service_sid=SANDBOX_MESSAGING_SERVICE_SID,
        messaging_service_numbers=SANDBOX_POOL_NUMBERS,
    )
    with TwilioServer(state) as server:
        yield server


def settings_for(twilio: TwilioServer, public_url: str | None = None, **env: str) -> Settings:
    extra = {"MATTERLINE_PUBLIC_URL": public_url} if public_url else {"MATTERLINE_PUBLIC_URL": ""}
    return firm_settings(
        TWILIO_ACCOUNT_SID=SANDBOX_ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=SANDBOX_AUTH_TOKEN,
        MATTERLINE_TWILIO_API_URL=twilio.origin,
        **extra,
        **env,
    )


def row(engine: Engine, message_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(messages).where(messages.c.id == message_id)).one()


def make_due(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(update(outbox).values(next_attempt_at=outbox.c.created_at))


def count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def test_a_text_is_sent_once_with_a_status_callback_and_delivered(
    store: Engine, twilio: TwilioServer, db_url: str
) -> None:
    app_settings = settings_for(twilio)
    with ServerThread(create_app(app_settings, store)) as app:
        settings = settings_for(twilio, public_url=app.url)
        queued = queue_send(store, settings, matter_cms_id="101", body="Your hearing moved to 3pm.", actor="test")
        assert (queued.to, queued.encoding, queued.segments, queued.status) == (JANE, "GSM-7", 1, "pending")
        counts = send_due(store, settings)
        assert counts.sent == 1
        sent = row(store, queued.message_id)
        assert sent.sid.startswith("SM")
        assert sent.status in ("queued", "accepted")
        created = twilio.state.messages(to=JANE)
        assert len(created) == 1
        assert created[0]["body"] == "Your hearing moved to 3pm."
        twilio.state.deliver_callbacks(shuffle=True, seed=3)
    assert row(store, queued.message_id).status == "delivered"
    assert send_due(store, settings).sent == 0  # nothing left: the job is done


def test_an_opted_out_number_is_never_texted_and_the_attempt_is_audited(store: Engine, twilio: TwilioServer) -> None:
    settings = settings_for(twilio)
    with store.begin() as conn:
        optouts.record(conn, JANE, "opt_out", "keyword", keyword="STOP")
    with pytest.raises(SendRefused) as caught:
        queue_send(store, settings, matter_cms_id="101", body="hello", actor="user:1:a@firm.example")
    assert (caught.value.code, caught.value.status) == ("recipient_opted_out", 409)
    assert count(store, messages, messages.c.direction == "outbound") == 0
    assert count(store, audit_log, audit_log.c.action == "send_blocked") == 1
    assert send_due(store, settings).sent == 0
    assert twilio.state.messages() == []


def test_an_opt_out_that_lands_after_queueing_blocks_the_send(store: Engine, twilio: TwilioServer) -> None:
    settings = settings_for(twilio)
    queued = queue_send(store, settings, matter_cms_id="101", body="hello", actor="test")
    with store.begin() as conn:
        optouts.record(conn, JANE, "opt_out", "keyword", keyword="STOP")
    assert send_due(store, settings).blocked == 1
    assert row(store, queued.message_id).status == "blocked"
    assert twilio.state.messages() == []


def test_21610_from_twilio_feeds_the_ledger_and_is_not_retried(store: Engine, twilio: TwilioServer) -> None:
    settings = settings_for(twilio)
    twilio.state.opted_out.add(JANE)
    queued = queue_send(store, settings, to=JANE, body="hello", actor="test")
    assert send_due(store, settings).failed == 1
    failed = row(store, queued.message_id)
    assert (failed.status, failed.error_code) == ("failed", 21610)
    with store.connect() as conn:
        assert optouts.state_of(conn, JANE).source == "error_21610"
    with pytest.raises(SendRefused):
        queue_send(store, settings, to=JANE, body="hello again", actor="test")


def test_a_landline_keeps_twilios_error_and_meaning(store: Engine, twilio: TwilioServer) -> None:
    settings = settings_for(twilio)
    twilio.state.landlines.add(OMAR)
    queued = queue_send(store, settings, to=OMAR, body="hello", actor="test")
    send_due(store, settings)
    failed = row(store, queued.message_id)
    assert (failed.status, failed.error_code) == ("failed", 21614)
    assert "mobile" in failed.error_message
    make_due(store)
    assert send_due(store, settings).sent == 0  # final: not retried


def test_accepted_but_the_answer_lost_is_found_at_twilio_and_not_sent_again(
    store: Engine, twilio: TwilioServer
) -> None:
    settings = settings_for(twilio)
    twilio.state.faults.add(twilio_fault("applied_lost"))
    queued = queue_send(store, settings, to=JANE, body="Please call me back today.", actor="test")
    first = send_due(store, settings)
    assert first.retried == 1
    assert row(store, queued.message_id).status == "pending"
    make_due(store)
    second = send_due(store, settings)
    assert second.adopted == 1
    assert len(twilio.state.messages(to=JANE)) == 1  # never double-texted
    adopted = row(store, queued.message_id)
    assert adopted.sid == twilio.state.messages(to=JANE)[0]["sid"]
    with store.connect() as conn:
        outcomes = conn.execute(select(send_attempts.c.outcome).order_by(send_attempts.c.id)).scalars().all()
    assert outcomes == ["adopted"]


def test_a_dropped_connection_before_twilio_created_anything_is_sent_on_the_next_round(
    store: Engine, twilio: TwilioServer
) -> None:
    settings = settings_for(twilio)
    twilio.state.faults.add(twilio_fault("drop"))
    queued = queue_send(store, settings, to=JANE, body="one text", actor="test")
    assert send_due(store, settings).retried == 1
    make_due(store)
    assert send_due(store, settings).sent == 1
    assert len(twilio.state.messages(to=JANE)) == 1
    with store.connect() as conn:
        outcomes = conn.execute(select(send_attempts.c.outcome).order_by(send_attempts.c.id)).scalars().all()
    assert outcomes == ["not_sent", "sent"]
    assert row(store, queued.message_id).sid is not None


def test_20429_backs_off_and_then_sends(store: Engine, twilio: TwilioServer) -> None:
    settings = settings_for(twilio)
    twilio.state.faults.add(twilio_fault("rate_limit"))
    queue_send(store, settings, to=JANE, body="busy", actor="test")
    assert send_due(store, settings).retried == 1
    make_due(store)
    assert send_due(store, settings).sent == 1
    assert len(twilio.state.messages(to=JANE)) == 1


def test_an_undelivered_callback_keeps_30007(store: Engine, twilio: TwilioServer) -> None:
    app_settings = settings_for(twilio)
    twilio.state.undeliverable[JANE] = 30007
    with ServerThread(create_app(app_settings, store)) as app:
        settings = settings_for(twilio, public_url=app.url)
        queued = queue_send(store, settings, to=JANE, body="filtered?", actor="test")
        send_due(store, settings)
        twilio.state.deliver_callbacks()
    failed = row(store, queued.message_id)
    assert (failed.status, failed.error_code) == ("undelivered", 30007)


def test_a_messaging_service_sends_from_its_pool(store: Engine, twilio: TwilioServer) -> None:
    settings = settings_for(twilio, TWILIO_MESSAGING_SERVICE_SID=SANDBOX_MESSAGING_SERVICE_SID)
    queued = queue_send(store, settings, to=JANE, body="from the pool", actor="test")
    assert send_due(store, settings).sent == 1
    created = twilio.state.messages(to=JANE)[0]
    assert created["messaging_service_sid"] == SANDBOX_MESSAGING_SERVICE_SID
    assert row(store, queued.message_id).from_number == SANDBOX_MESSAGING_SERVICE_SID


@pytest.mark.parametrize(
    ("body", "code", "status"),
    [("x" * 1601, "body_too_long", 422), ("   ", "empty_message", 422)],
)
def test_bad_bodies_are_refused_before_anything_is_stored(
    store: Engine, twilio: TwilioServer, body: str, code: str, status: int
) -> None:
    with pytest.raises(SendRefused) as caught:
        queue_send(store, settings_for(twilio), to=JANE, body=body, actor="test")
    assert (caught.value.code, caught.value.status) == (code, status)
    assert count(store, messages) == 0


def test_segments_and_encoding_are_returned(store: Engine, twilio: TwilioServer) -> None:
    queued = queue_send(store, settings_for(twilio), to=JANE, body="Court at 9 ☺ " * 6, actor="test")
    assert (queued.encoding, queued.segments) == ("UCS-2", 2)


def test_the_ledger_survives_as_an_append_only_record(store: Engine, twilio: TwilioServer) -> None:
    with store.begin() as conn:
        assert optouts.record(conn, JANE, "opt_out", "keyword") is True
        assert optouts.record(conn, JANE, "opt_out", "keyword") is False
        assert optouts.record(conn, JANE, "opt_in", "keyword") is True
    assert count(store, opt_outs, opt_outs.c.phone == JANE) == 3


def test_a_send_waits_while_the_recipients_newest_text_is_not_taken_in(store: Engine, twilio: TwilioServer) -> None:
    from connector.messaging import intake, reception
    from connector.store.engine import utcnow

    settings = settings_for(twilio)
    queued = queue_send(store, settings, to=JANE, body="One more thing about Tuesday", actor="test")
    form = {
        "MessageSid": "SM" + "c" * 32,
        "From": JANE,
        "To": FIRM_NUMBER,
        "Body": "please stop texting me",
        "NumMedia": "0",
    }
    with store.begin() as conn:
        reception.receive(conn, reception.parse(form, settings), settings, utcnow())
    assert send_due(store, settings).retried == 1  # deferred: the client's text may say stop
    assert twilio.state.messages() == []
    intake.drain(store, settings)  # the worker takes it in: a plain-language revocation
    make_due(store)
    counts = send_due(store, settings)
    assert counts.blocked == 1
    assert row(store, queued.message_id).status == "blocked"
    sent = twilio.state.messages(to=JANE)
    assert len(sent) == 1  # only the one confirmation went out
    assert "you will not get more texts" in sent[0]["body"]


def test_a_5xx_from_twilio_is_looked_up_before_the_text_is_sent_again(store: Engine, twilio: TwilioServer) -> None:
    settings = settings_for(twilio)
    twilio.state.faults.add(twilio_fault("status", status=500))
    queued = queue_send(store, settings, to=JANE, body="after the outage", actor="test")
    assert send_due(store, settings).retried == 1
    with store.connect() as conn:
        assert conn.execute(select(send_attempts.c.outcome)).scalars().all() == ["ambiguous"]
    make_due(store)
    assert send_due(store, settings).sent == 1
    assert len(twilio.state.messages(to=JANE)) == 1
    with store.connect() as conn:
        outcomes = conn.execute(select(send_attempts.c.outcome).order_by(send_attempts.c.id)).scalars().all()
    assert outcomes == ["not_sent", "sent"]
    assert row(store, queued.message_id).sid is not None


def test_a_delivery_error_without_twilios_words_gets_its_meaning(store: Engine, twilio: TwilioServer) -> None:
    from connector.messaging import delivery
    from connector.store.engine import utcnow

    settings = settings_for(twilio)
    queued = queue_send(store, settings, to=JANE, body="hello", actor="test")
    send_due(store, settings)
    sid = row(store, queued.message_id).sid
    with store.begin() as conn:
        delivery.apply(conn, {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30006"}, utcnow())
    failed = row(store, queued.message_id)
    assert (failed.status, failed.error_code, failed.error_message) == (
        "undelivered",
        30006,
        "landline or unreachable carrier: call instead",
    )
