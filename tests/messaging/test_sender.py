"""Sending through the real twilio library to the Twilio stand-in: once, never twice, errors kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from connector import const, services
from connector.errors import Kind, MatterlineError
from connector.guardrails import optouts
from connector.jobs import outbox as outbox_queue
from connector.messaging import intake
from connector.messaging.sender import make_client, send_due
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
from connector.staff.users import Actor
from connector.store.engine import utcnow
from connector.store.tables import audit_log, messages, opt_outs, outbox, send_attempts
from tests.support.firm import FIRM_NUMBER, JANE, OMAR, seed
from tests.support.firm import settings as firm_settings
from tests.support.fixtures import twilio_form
from tests.support.queue import make_due
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


def assert_no_body_kept_in_errors(engine: Engine, *bodies: str) -> None:
    """What the queue and the attempts say about a failure never repeats what the client was told."""
    with engine.connect() as conn:
        texts = [
            *conn.execute(select(outbox.c.last_error)).scalars(),
            *conn.execute(select(send_attempts.c.detail)).scalars(),
        ]
    assert any(texts)
    assert [t for t in texts if t and any(body in t for body in bodies)] == []


def count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def test_a_text_is_sent_once_with_a_status_callback_and_delivered(
    store: Engine, twilio: TwilioServer, db_url: str
) -> None:
    app_settings = settings_for(twilio)
    with ServerThread(create_app(app_settings, store)) as app:
        settings = settings_for(twilio, public_url=app.url)
        queued = services.messages.send(
            store, settings, matter_cms_id="101", body="Your hearing moved to 3pm.", actor=Actor("test")
        )
        assert (queued.to, queued.encoding, queued.segments, queued.status) == (JANE, "GSM-7", 1, "pending")
        counts = send_due(store, settings)
        assert counts.sent == 1
        sent = row(store, queued.id)
        assert sent.sid.startswith("SM")
        assert sent.status in ("queued", "accepted")
        created = twilio.state.messages(to=JANE)
        assert len(created) == 1
        assert created[0]["body"] == "Your hearing moved to 3pm."
        twilio.state.deliver_callbacks(shuffle=True, seed=3)
    assert row(store, queued.id).status == "delivered"
    assert send_due(store, settings).sent == 0  # nothing left: the job is done


def test_an_opted_out_number_is_never_texted_and_the_attempt_is_audited(store: Engine, twilio: TwilioServer) -> None:
    settings = settings_for(twilio)
    with store.begin() as conn:
        optouts.record(conn, JANE, "opt_out", "keyword", keyword="STOP")
    with pytest.raises(MatterlineError) as caught:
        services.messages.send(store, settings, matter_cms_id="101", body="hello", actor=Actor("user:1:a@firm.example"))
    assert (caught.value.code, caught.value.kind) == ("recipient_opted_out", Kind.CONFLICT)
    assert count(store, messages, messages.c.direction == "outbound") == 0
    assert count(store, audit_log, audit_log.c.action == "send_blocked") == 1
    assert send_due(store, settings).sent == 0
    assert twilio.state.messages() == []


def test_an_opt_out_that_lands_after_queueing_blocks_the_send(store: Engine, twilio: TwilioServer) -> None:
    settings = settings_for(twilio)
    queued = services.messages.send(store, settings, matter_cms_id="101", body="hello", actor=Actor("test"))
    with store.begin() as conn:
        optouts.record(conn, JANE, "opt_out", "keyword", keyword="STOP")
    assert send_due(store, settings).blocked == 1
    assert row(store, queued.id).status == "blocked"
    assert twilio.state.messages() == []


def test_21610_from_twilio_feeds_the_ledger_and_is_not_retried(store: Engine, twilio: TwilioServer) -> None:
    settings = settings_for(twilio)
    twilio.state.opted_out.add(JANE)
    queued = services.messages.send(store, settings, to=JANE, body="hello", actor=Actor("test"))
    assert send_due(store, settings).failed == 1
    failed = row(store, queued.id)
    assert (failed.status, failed.error_code) == ("failed", 21610)
    with store.connect() as conn:
        assert optouts.state_of(conn, JANE).source == "error_21610"
    with pytest.raises(MatterlineError):
        services.messages.send(store, settings, to=JANE, body="hello again", actor=Actor("test"))


def test_a_landline_keeps_twilios_error_and_meaning(store: Engine, twilio: TwilioServer) -> None:
    settings = settings_for(twilio)
    twilio.state.landlines.add(OMAR)
    queued = services.messages.send(store, settings, to=OMAR, body="hello", actor=Actor("test"))
    send_due(store, settings)
    failed = row(store, queued.id)
    assert (failed.status, failed.error_code) == ("failed", 21614)
    assert "mobile" in failed.error_message
    make_due(store)
    assert send_due(store, settings).sent == 0  # final: not retried


def test_accepted_but_the_answer_lost_is_found_at_twilio_and_not_sent_again(
    store: Engine, twilio: TwilioServer
) -> None:
    settings = settings_for(twilio)
    twilio.state.faults.add(twilio_fault("applied_lost"))
    queued = services.messages.send(store, settings, to=JANE, body="Please call me back today.", actor=Actor("test"))
    first = send_due(store, settings)
    assert first.retried == 1
    assert row(store, queued.id).status == "pending"
    make_due(store)
    second = send_due(store, settings)
    assert second.adopted == 1
    assert len(twilio.state.messages(to=JANE)) == 1  # never double-texted
    adopted = row(store, queued.id)
    assert adopted.sid == twilio.state.messages(to=JANE)[0]["sid"]
    with store.connect() as conn:
        outcomes = conn.execute(select(send_attempts.c.outcome).order_by(send_attempts.c.id)).scalars().all()
    assert outcomes == ["adopted"]


def test_answers_lost_while_twilio_queues_the_texts_are_adopted_and_each_text_goes_once(
    store: Engine, twilio: TwilioServer
) -> None:
    """A burst from a long code waits in Twilio's queue (`queued`, no `date_sent`); losing the answers to its
    creates must not make the retries send the texts again."""
    settings = settings_for(twilio)
    twilio.state.send_rate = 1 / 45  # each text after the first waits 45 s in the number's queue
    bodies = [f"Update {n} on your case" for n in range(5)]
    twilio.state.faults.add(twilio_fault("applied_lost", times=len(bodies)))
    queued = [services.messages.send(store, settings, to=JANE, body=b, actor=Actor("test")).id for b in bodies]
    assert send_due(store, settings).retried == len(bodies)
    assert [m["status"] for m in twilio.state.messages(to=JANE)].count("queued") == len(bodies) - 1
    make_due(store)
    assert send_due(store, settings).adopted == len(bodies)
    make_due(store)
    assert send_due(store, settings).sent == 0
    at_twilio = twilio.state.messages(to=JANE)
    assert sorted(m["body"] for m in at_twilio) == bodies  # the client gets each text once
    assert {row(store, i).sid for i in queued} == {m["sid"] for m in at_twilio}
    assert_no_body_kept_in_errors(store, *bodies)


def test_a_text_sent_again_is_not_mistaken_for_the_same_words_sent_before(store: Engine, twilio: TwilioServer) -> None:
    """The firm texts "Call me" twice; the second create is lost before Twilio has it. The look-up must not
    take the first "Call me" for the second: the second is sent."""
    settings = settings_for(twilio)
    earlier = services.messages.send(store, settings, to=JANE, body="Call me", actor=Actor("test"))
    assert send_due(store, settings).sent == 1
    twilio.state.faults.add(twilio_fault("drop"))
    again = services.messages.send(store, settings, to=JANE, body="Call me", actor=Actor("test"))
    assert send_due(store, settings).retried == 1
    make_due(store)
    assert send_due(store, settings).sent == 1
    at_twilio = twilio.state.messages(to=JANE)
    assert [m["body"] for m in at_twilio] == ["Call me", "Call me"]
    assert {row(store, earlier.id).sid, row(store, again.id).sid} == {m["sid"] for m in at_twilio}
    with store.connect() as conn:
        outcomes = conn.execute(
            select(send_attempts.c.outcome).where(send_attempts.c.message_id == again.id).order_by(send_attempts.c.id)
        ).scalars()
        assert list(outcomes) == ["not_sent", "sent"]
    assert_no_body_kept_in_errors(store, "Call me")


def test_a_dropped_connection_before_twilio_created_anything_is_sent_on_the_next_round(
    store: Engine, twilio: TwilioServer
) -> None:
    settings = settings_for(twilio)
    twilio.state.faults.add(twilio_fault("drop"))
    queued = services.messages.send(store, settings, to=JANE, body="one text", actor=Actor("test"))
    assert send_due(store, settings).retried == 1
    make_due(store)
    assert send_due(store, settings).sent == 1
    assert len(twilio.state.messages(to=JANE)) == 1
    with store.connect() as conn:
        outcomes = conn.execute(select(send_attempts.c.outcome).order_by(send_attempts.c.id)).scalars().all()
    assert outcomes == ["not_sent", "sent"]
    assert row(store, queued.id).sid is not None


def test_20429_backs_off_and_then_sends(store: Engine, twilio: TwilioServer) -> None:
    settings = settings_for(twilio)
    twilio.state.faults.add(twilio_fault("rate_limit"))
    services.messages.send(store, settings, to=JANE, body="busy", actor=Actor("test"))
    assert send_due(store, settings).retried == 1
    make_due(store)
    assert send_due(store, settings).sent == 1
    assert len(twilio.state.messages(to=JANE)) == 1


def test_an_undelivered_callback_keeps_30007(store: Engine, twilio: TwilioServer) -> None:
    app_settings = settings_for(twilio)
    twilio.state.undeliverable[JANE] = 30007
    with ServerThread(create_app(app_settings, store)) as app:
        settings = settings_for(twilio, public_url=app.url)
        queued = services.messages.send(store, settings, to=JANE, body="filtered?", actor=Actor("test"))
        send_due(store, settings)
        twilio.state.deliver_callbacks()
    failed = row(store, queued.id)
    assert (failed.status, failed.error_code) == ("undelivered", 30007)


def test_a_messaging_service_sends_from_its_pool(store: Engine, twilio: TwilioServer) -> None:
    settings = settings_for(twilio, TWILIO_MESSAGING_SERVICE_SID=SANDBOX_MESSAGING_SERVICE_SID)
    queued = services.messages.send(store, settings, to=JANE, body="from the pool", actor=Actor("test"))
    assert send_due(store, settings).sent == 1
    created = twilio.state.messages(to=JANE)[0]
    assert created["messaging_service_sid"] == SANDBOX_MESSAGING_SERVICE_SID
    assert row(store, queued.id).from_number == SANDBOX_MESSAGING_SERVICE_SID


@pytest.mark.parametrize(
    ("body", "code", "kind"),
    [("x" * 1601, "body_too_long", Kind.INVALID), ("   ", "empty_message", Kind.INVALID)],
)
def test_bad_bodies_are_refused_before_anything_is_stored(
    store: Engine, twilio: TwilioServer, body: str, code: str, kind: Kind
) -> None:
    with pytest.raises(MatterlineError) as caught:
        services.messages.send(store, settings_for(twilio), to=JANE, body=body, actor=Actor("test"))
    assert (caught.value.code, caught.value.kind) == (code, kind)
    assert count(store, messages) == 0


def test_segments_and_encoding_are_returned(store: Engine, twilio: TwilioServer) -> None:
    queued = services.messages.send(store, settings_for(twilio), to=JANE, body="Court at 9 ☺ " * 6, actor=Actor("test"))
    assert (queued.encoding, queued.segments) == ("UCS-2", 2)


def test_the_ledger_survives_as_an_append_only_record(store: Engine, twilio: TwilioServer) -> None:
    with store.begin() as conn:
        assert optouts.record(conn, JANE, "opt_out", "keyword") is True
        assert optouts.record(conn, JANE, "opt_out", "keyword") is False
        assert optouts.record(conn, JANE, "opt_in", "keyword") is True
    assert count(store, opt_outs, opt_outs.c.phone == JANE) == 3


def test_a_send_waits_while_the_recipients_newest_text_is_not_taken_in(store: Engine, twilio: TwilioServer) -> None:
    from connector.messaging import reception
    from connector.store.engine import utcnow

    settings = settings_for(twilio)
    queued = services.messages.send(store, settings, to=JANE, body="One more thing about Tuesday", actor=Actor("test"))
    form = twilio_form("sms__plain", AccountSid=SANDBOX_ACCOUNT_SID, From=JANE, Body="please stop texting me")
    assert form["To"] == FIRM_NUMBER
    with store.begin() as conn:
        reception.receive(conn, reception.parse(form, settings), settings, utcnow())
    assert send_due(store, settings).retried == 1  # deferred: the client's text may say stop
    assert twilio.state.messages() == []
    intake.drain(store, settings)  # the worker takes it in: a plain-language revocation
    make_due(store)
    counts = send_due(store, settings)
    assert counts.blocked == 1
    assert row(store, queued.id).status == "blocked"
    sent = twilio.state.messages(to=JANE)
    assert len(sent) == 1  # only the one confirmation went out
    assert "you will not get more texts" in sent[0]["body"]


def test_a_5xx_from_twilio_is_looked_up_before_the_text_is_sent_again(store: Engine, twilio: TwilioServer) -> None:
    settings = settings_for(twilio)
    twilio.state.faults.add(twilio_fault("status", status=500))
    queued = services.messages.send(store, settings, to=JANE, body="after the outage", actor=Actor("test"))
    assert send_due(store, settings).retried == 1
    with store.connect() as conn:
        assert conn.execute(select(send_attempts.c.outcome)).scalars().all() == ["ambiguous"]
    make_due(store)
    assert send_due(store, settings).sent == 1
    assert len(twilio.state.messages(to=JANE)) == 1
    with store.connect() as conn:
        outcomes = conn.execute(select(send_attempts.c.outcome).order_by(send_attempts.c.id)).scalars().all()
    assert outcomes == ["not_sent", "sent"]
    assert row(store, queued.id).sid is not None


def test_a_create_twilio_carries_out_after_our_timeout_is_adopted_not_sent_again(
    store: Engine, twilio: TwilioServer
) -> None:
    """Twilio holds a create past the sender's timeout and then makes the message (the fault run's doubles).

    The round right after the timeout must not look the text up yet (Twilio has nothing to show) and so
    must not send it again; once the claim on the unanswered call ends, the look-up finds and adopts it.
    """
    settings = settings_for(twilio)

    def impatient(given: Settings) -> Client:
        client = make_client(given)
        client.http_client = TwilioHttpClient(timeout=0.5)
        return client

    twilio.state.faults.add(twilio_fault("slow", delay=1.5))
    queued = services.messages.send(store, settings, to=JANE, body="Court moved to 2 pm", actor=Actor("t"))
    assert send_due(store, settings, client_factory=impatient).retried == 1
    with store.begin() as conn:  # due again at once, as a short backoff would make it
        conn.execute(update(outbox).values(next_attempt_at=outbox.c.created_at))
    assert send_due(store, settings, client_factory=impatient).retried == 1
    deadline = time.monotonic() + 10
    while not twilio.state.messages(to=JANE) and time.monotonic() < deadline:
        time.sleep(0.1)  # the held create lands at Twilio
    make_due(store)  # the claim has run out
    assert send_due(store, settings, client_factory=impatient).adopted == 1
    assert [m["body"] for m in twilio.state.messages(to=JANE)] == ["Court moved to 2 pm"]
    assert row(store, queued.id).sid == twilio.state.messages(to=JANE)[0]["sid"]


@pytest.mark.parametrize("stop", ["STOP", "please stop texting me"])
def test_a_stop_that_lands_while_an_unanswered_attempt_is_looked_up_blocks_the_text(
    store: Engine, twilio: TwilioServer, stop: str
) -> None:
    """The guardrails run after the look-up of an unanswered attempt and immediately before the call.

    The first call is lost (a dropped connection, nothing created at Twilio). On the next round the
    sender asks Twilio whether it went; while it asks, the client texts STOP (or says it in words) and
    the webhook answers 200. Twilio has no such message, and the text must not go: the opt-out (or the
    client's text still waiting for intake) is checked in the transaction that records the new attempt.
    """

    app_settings = settings_for(twilio)
    with ServerThread(create_app(app_settings, store)) as app:
        settings = settings_for(twilio, public_url=app.url)
        twilio.state.faults.add(twilio_fault("drop"))
        queued = services.messages.send(store, settings, to=JANE, body="Call me about Tuesday", actor=Actor("test"))
        assert send_due(store, settings).retried == 1
        assert twilio.state.messages(to=JANE) == []
        answers: list[int] = []

        def client_that_hears_a_stop(for_settings: Settings) -> Any:
            client = make_client(for_settings)
            look_up = client.messages.stream

            def list_while_the_client_says_stop(**kwargs: Any) -> Any:
                found = list(look_up(**kwargs))
                reply = twilio.state.inbound(f"{app.url}/webhooks/twilio/sms", from_=JANE, to=FIRM_NUMBER, body=stop)
                answers.append(reply.status_code)
                return iter(found)

            client.messages.stream = list_while_the_client_says_stop  # type: ignore[method-assign]
            return client

        make_due(store)
        first = send_due(store, settings, client_factory=client_that_hears_a_stop)
        assert answers == [200]
        intake.drain(store, settings)  # the worker takes the STOP in words in
        make_due(store)
        later = send_due(store, settings)
        assert first.sent == 0
        assert (first.blocked + later.blocked, row(store, queued.id).status) == (1, "blocked")
        to_jane = [m["body"] for m in twilio.state.messages(to=JANE)]
        assert "Call me about Tuesday" not in to_jane
        # The only text Jane gets is the one confirmation a revocation in words is owed.
        assert len(to_jane) == (1 if stop != "STOP" else 0)
        with store.connect() as conn:
            outcomes = conn.execute(
                select(send_attempts.c.outcome)
                .where(send_attempts.c.message_id == queued.id)
                .order_by(send_attempts.c.id)
            ).scalars()
            assert list(outcomes) == ["not_sent"]  # looked up, not found; no second attempt was ever made
        assert count(store, audit_log, audit_log.c.action == "send_blocked") == 1


def test_a_delivery_error_without_twilios_words_gets_its_meaning(store: Engine, twilio: TwilioServer) -> None:
    from connector.messaging import delivery
    from connector.store.engine import utcnow

    settings = settings_for(twilio)
    queued = services.messages.send(store, settings, to=JANE, body="hello", actor=Actor("test"))
    send_due(store, settings)
    sid = row(store, queued.id).sid
    with store.begin() as conn:
        form = twilio_form("status__undelivered_30006", MessageSid=sid, AccountSid=SANDBOX_ACCOUNT_SID)
        assert "ErrorMessage" not in form
        delivery.apply(conn, form, utcnow())
    failed = row(store, queued.id)
    assert (failed.status, failed.error_code, failed.error_message) == (
        "undelivered",
        30006,
        "landline or unreachable carrier: call instead",
    )


# -- several workers at once ----------------------------------------------------------------------------


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def started_attempts(engine: Engine) -> int:
    return count(engine, send_attempts, send_attempts.c.outcome == "started")


def flush(engine: Engine, settings: Settings) -> None:
    """Every claim and lease long over: whatever is left goes, or is found at Twilio."""
    later = utcnow() + const.SEND_CLAIM + const.LEASE
    send_due(engine, settings, now=later)
    assert count(engine, outbox, outbox.c.state == "pending") == 0


def test_a_second_worker_never_sends_a_text_the_first_is_still_sending(
    store: Engine, twilio: TwilioServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker A leases both texts; Twilio is slow to take the first, and A's leases run out meanwhile. Worker B
    then takes the jobs: it must leave the text A is sending alone, and send the other once."""
    monkeypatch.setattr(outbox_queue, "LEASE", timedelta(seconds=1))  # the two minutes, in a test's time
    settings = settings_for(twilio)
    twilio.state.faults.add(twilio_fault("slow", delay=3.0))
    first = services.messages.send(store, settings, to=JANE, body="First: your hearing moved", actor=Actor("t"))
    second = services.messages.send(store, settings, to=OMAR, body="Second: sign the letter", actor=Actor("t"))
    errors: list[BaseException] = []

    def worker(owner: str) -> None:
        try:
            send_due(store, settings, owner=owner)
        except BaseException as exc:  # reported below
            errors.append(exc)

    a = threading.Thread(target=worker, args=("worker-a",))
    a.start()
    wait_for(lambda: started_attempts(store) == 1)  # A's call for the first text is under way
    time.sleep(1.2)  # A's leases are over
    b = threading.Thread(target=worker, args=("worker-b",))
    b.start()
    a.join(30)
    b.join(30)
    assert errors == []
    flush(store, settings)
    assert sorted(m["body"] for m in twilio.state.messages()) == [
        "First: your hearing moved",
        "Second: sign the letter",
    ]
    assert {row(store, first.id).sid, row(store, second.id).sid} == {m["sid"] for m in twilio.state.messages()}


KILLED_WORKER = """
import sys
from connector.messaging.sender import send_due
from connector.store import make_engine
from tests.support.firm import settings
send_due(make_engine(sys.argv[1]), settings(
    TWILIO_ACCOUNT_SID=sys.argv[2], TWILIO_AUTH_TOKEN=sys.argv[3], MATTERLINE_TWILIO_API_URL=sys.argv[4],
    MATTERLINE_PUBLIC_URL="",
))
"""


def test_a_worker_killed_mid_call_leaves_its_text_to_be_found_at_twilio_once_its_claim_ends(
    store: Engine, twilio: TwilioServer, db_url: str
) -> None:
    settings = settings_for(twilio)
    twilio.state.send_rate = 1 / 600  # after this first text, the firm number's next waits in Twilio's queue
    services.messages.send(store, settings, to=OMAR, body="Your file is ready", actor=Actor("t"))
    assert send_due(store, settings).sent == 1
    twilio.state.faults.add(
        twilio_fault("slow", delay=5.0)
    )  # room to kill the worker while it waits, even on a busy box
    queued = services.messages.send(store, settings, to=JANE, body="Your deposition is Friday", actor=Actor("t"))
    worker = subprocess.Popen(
        [sys.executable, "-c", KILLED_WORKER, db_url, SANDBOX_ACCOUNT_SID, SANDBOX_AUTH_TOKEN, twilio.origin],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        wait_for(lambda: started_attempts(store) == 1, timeout=30)
        wait_for(lambda: twilio.state.stats.snapshot()["faults_fired"] == 1)  # Twilio has the create: slow to answer
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    wait_for(lambda: len(twilio.state.messages(to=JANE)) == 1, timeout=30)  # Twilio had the request: it creates it
    assert send_due(store, settings).sent == 0  # the dead worker's claim and lease still stand
    assert row(store, queued.id).status == "pending"
    later = send_due(store, settings, now=utcnow() + const.SEND_CLAIM + const.LEASE)
    assert (later.adopted, later.sent) == (1, 0)
    assert [(m["sid"], m["status"]) for m in twilio.state.messages(to=JANE)] == [(row(store, queued.id).sid, "queued")]


@pytest.mark.parametrize("stop", ["STOP", "please stop texting me"])
def test_no_text_whose_create_starts_after_a_stop_is_answered_exists(
    store: Engine, twilio: TwilioServer, stop: str
) -> None:
    """A worker sends a burst while the client's STOP (a keyword, or in words) is answered 200 over HTTP by the
    signed webhook. No create the worker starts after that 200 may be a text to the client (the one
    confirmation a STOP in words is owed aside); each text either went before, or is blocked."""
    twilio.state.builtin_opt_out = False  # our own ledger, not Twilio's block list, must stop the texts
    bodies = [f"Note {n} about your case" for n in range(15)]
    twilio.state.faults.add(twilio_fault("slow", delay=0.3, times=len(bodies)))
    app_settings = settings_for(twilio)
    with ServerThread(create_app(app_settings, store)) as app:
        settings = settings_for(twilio, public_url=app.url)
        queued = [services.messages.send(store, settings, to=JANE, body=b, actor=Actor("t")).id for b in bodies]
        creates: list[tuple[float, str]] = []  # (when the worker's create started, its body)

        def watched_client(for_settings: Settings) -> Any:
            client = make_client(for_settings)
            create = client.messages.create

            def timed_create(**kwargs: Any) -> Any:
                creates.append((time.monotonic(), str(kwargs.get("body"))))
                return create(**kwargs)

            client.messages.create = timed_create  # type: ignore[method-assign]
            return client

        done = threading.Event()
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                while not done.is_set():
                    intake.drain(store, settings)
                    send_due(store, settings, client_factory=watched_client)
                    time.sleep(0.05)
            except BaseException as exc:  # reported below
                errors.append(exc)

        running = threading.Thread(target=worker)
        running.start()
        wait_for(lambda: len(creates) >= 3)
        answer = twilio.state.inbound(f"{app.url}/webhooks/twilio/sms", from_=JANE, to=FIRM_NUMBER, body=stop)
        answered = time.monotonic()
        assert answer.status_code == 200
        wait_for(lambda: all(row(store, i).status not in const.UNSENT_STATUSES for i in queued), timeout=30)
        done.set()
        running.join(30)
    assert errors == []
    after = [body for started, body in creates if started > answered and body in bodies]
    assert after == []
    went = {m["body"] for m in twilio.state.messages(to=JANE)}
    statuses = [row(store, i).status for i in queued]
    assert all((status == "blocked") == (body not in went) for body, status in zip(bodies, statuses, strict=True))
    assert 3 <= len(went & set(bodies)) < len(bodies)
