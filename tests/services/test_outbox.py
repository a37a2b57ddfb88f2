"""An admin's two levers on the outbox: put dead letters back in the queue, or give up on a job with a reason;
both audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from connector import queries, services
from connector.cms.connect import build_client
from connector.errors import Kind, MatterlineError
from connector.jobs import kinds, outbox
from connector.messaging import filing
from connector.messaging.sender import send_due
from connector.retry import RetryPolicy
from connector.sandbox import (
    DEFAULT_TOKEN,
    SANDBOX_ACCOUNT_SID,
    SANDBOX_AUTH_TOKEN,
    ClioState,
    Fault,
    SandboxServer,
    TwilioServer,
    TwilioState,
    generate_firm,
    twilio_fault,
)
from connector.settings import load_settings
from connector.staff.users import Actor
from connector.store.engine import utcnow
from connector.store.tables import messages
from connector.store.tables import outbox as jobs
from connector.sync.syncer import Syncer
from connector.writeback import writer
from mappings import load_mapping
from tests.support.firm import FIRM_NUMBER, JANE, NOW, seed, settings
from tests.support.inbox import audit_rows
from tests.support.queue import make_due

CLIO = load_mapping("clio")
ADMIN = Actor("user:1:gc@firm.example", request_id="req-ops")
WORKER = "worker-1"


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine)
    return engine


def queued_send(engine: Engine, matter: str = "101") -> int:
    """A staff text queued for Twilio; its outbox job's id."""
    queued = services.messages.send(
        engine, settings(), matter_cms_id=matter, body="Your papers are ready", actor=Actor("alice"), now=NOW
    )
    with engine.connect() as conn:
        return int(
            conn.execute(select(jobs.c.id).where(jobs.c.idempotency_key == kinds.send_key(queued.id))).scalar_one()
        )


def give_up(engine: Engine, job_id: int) -> None:
    """The worker tried the job and failed for the last time: it is a dead letter now (others it took go back)."""
    leased = outbox.lease(engine, WORKER, now=NOW)
    with engine.begin() as conn:
        for taken in leased:
            if taken.id == job_id:
                assert outbox.retry(conn, taken, WORKER, "Twilio 500", delay=timedelta(minutes=1), max_attempts=1)
            else:
                outbox.defer(conn, taken, WORKER, "not this one", delay=timedelta(0), now=NOW)
    assert job_id in [taken.id for taken in leased]


def job(engine: Engine, job_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(jobs).where(jobs.c.id == job_id)).one()


# -- replaying dead letters ------------------------------------------------------------------------------


def test_a_dead_job_replayed_is_pending_again_with_fresh_attempts_and_audited(store: Engine) -> None:
    dead = queued_send(store)
    give_up(store, dead)
    assert (job(store, dead).state, job(store, dead).attempts) == ("dead", 1)

    assert services.outbox.replay(store, [dead], actor=ADMIN) == [dead]

    replayed = job(store, dead)
    assert (replayed.state, replayed.attempts, replayed.leased_until) == ("pending", 0, None)
    assert [j.id for j in outbox.lease(store, WORKER)] == [dead]  # due now: the worker takes it up again
    [entry] = audit_rows(store, "replay")
    assert (entry.actor, entry.request_id, entry.subject_type, entry.subject_id) == (
        ADMIN.label,
        "req-ops",
        "outbox",
        str(dead),
    )


def test_replaying_every_dead_letter_leaves_the_other_jobs_alone(store: Engine) -> None:
    first, second, alive = queued_send(store, "101"), queued_send(store, "201"), queued_send(store, "301")
    give_up(store, first)
    give_up(store, second)
    assert sorted(services.outbox.replay(store, None, actor=ADMIN)) == [first, second]
    assert job(store, alive).state == "pending"
    assert sorted(int(e.subject_id) for e in audit_rows(store, "replay")) == [first, second]
    assert services.outbox.replay(store, None, actor=ADMIN) == []


def test_naming_a_job_that_is_not_dead_replays_nothing(store: Engine) -> None:
    dead, alive = queued_send(store, "101"), queued_send(store, "201")
    give_up(store, dead)
    with pytest.raises(MatterlineError) as caught:
        services.outbox.replay(store, [dead, alive], actor=ADMIN)
    assert (caught.value.kind, caught.value.code) == (Kind.CONFLICT, "not_dead")
    assert caught.value.details == {"jobs": [alive]}
    assert job(store, dead).state == "dead"  # one refusal, and the dead letter named with it stays dead
    assert audit_rows(store, "replay") == []
    with pytest.raises(MatterlineError) as missing:
        services.outbox.replay(store, [999_999], actor=ADMIN)
    assert missing.value.code == "not_dead"


# -- discarding a job --------------------------------------------------------------------------------------


def test_a_discarded_job_keeps_its_reason_is_audited_and_never_runs(store: Engine) -> None:
    job_id = queued_send(store)
    services.outbox.discard(store, job_id, reason="  sent by hand from the office phone ", actor=ADMIN)
    discarded = job(store, job_id)
    assert (discarded.state, discarded.last_error) == ("discarded", "discarded: sent by hand from the office phone")
    assert outbox.lease(store, WORKER, now=NOW + timedelta(days=1)) == []
    [entry] = audit_rows(store, "discard")
    assert (entry.actor, entry.request_id, entry.subject_id) == (ADMIN.label, "req-ops", str(job_id))
    assert entry.details == {"reason": "sent by hand from the office phone"}


def test_a_discarded_text_shows_as_never_sent_with_why(store: Engine) -> None:
    job_id = queued_send(store)
    message_id = int(job(store, job_id).payload["message_id"])
    services.outbox.discard(store, job_id, reason="sent by hand from the office phone", actor=ADMIN)
    with store.connect() as conn:
        row = conn.execute(select(messages.c.status, messages.c.error_message).where(messages.c.id == message_id)).one()
    assert row.status == "canceled"  # not left "pending" in the thread for ever
    assert row.error_message == f"discarded by {ADMIN.label}: sent by hand from the office phone"


def test_a_job_is_discarded_once_and_keeps_its_first_reason(store: Engine) -> None:
    job_id = queued_send(store)
    services.outbox.discard(store, job_id, reason="first reason", actor=ADMIN)
    with pytest.raises(MatterlineError) as caught:
        services.outbox.discard(store, job_id, reason="second reason", actor=ADMIN)
    assert caught.value.code == "not_discardable"
    assert job(store, job_id).last_error == "discarded: first reason"
    assert len(audit_rows(store, "discard")) == 1


def test_a_dead_letter_can_be_discarded_too(store: Engine) -> None:
    job_id = queued_send(store)
    give_up(store, job_id)
    services.outbox.discard(store, job_id, reason="client called instead", actor=ADMIN)
    assert job(store, job_id).state == "discarded"


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_discard_needs_a_reason(store: Engine, reason: str) -> None:
    job_id = queued_send(store)
    with pytest.raises(MatterlineError) as caught:
        services.outbox.discard(store, job_id, reason=reason, actor=ADMIN)
    assert (caught.value.kind, caught.value.code) == (Kind.INVALID, "empty_reason")
    assert job(store, job_id).state == "pending"
    assert audit_rows(store, "discard") == []


def test_a_finished_or_unknown_job_cannot_be_discarded(store: Engine) -> None:
    job_id = queued_send(store)
    [leased] = outbox.lease(store, WORKER, now=NOW)
    with store.begin() as conn:
        outbox.complete(conn, leased, WORKER)
    for target in (job_id, 999_999):
        with pytest.raises(MatterlineError) as caught:
            services.outbox.discard(store, target, reason="too late", actor=ADMIN)
        assert (caught.value.kind, caught.value.code, caught.value.details) == (
            Kind.CONFLICT,
            "not_discardable",
            {"job": target},
        )
    assert job(store, job_id).state == "done"
    assert audit_rows(store, "discard") == []


# -- a replayed dead letter is tried again -----------------------------------------------------------------
# The README: "after MATTERLINE_OUTBOX_MAX_ATTEMPTS the job is a dead letter ... dead letters wait for
# `outbox replay`". A replay puts the job back; the worker must then do the work it carries.


@pytest.fixture
def twilio() -> Iterator[TwilioServer]:
    with TwilioServer(TwilioState(incoming_numbers=(FIRM_NUMBER,))) as server:
        yield server


def test_a_dead_text_replayed_after_the_outage_is_sent(store: Engine, twilio: TwilioServer) -> None:
    s = settings(
        TWILIO_ACCOUNT_SID=SANDBOX_ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=SANDBOX_AUTH_TOKEN,
        MATTERLINE_TWILIO_API_URL=twilio.origin,
        MATTERLINE_PUBLIC_URL="",
        MATTERLINE_OUTBOX_MAX_ATTEMPTS="1",
    )
    twilio.state.faults.add(twilio_fault("status", status=500))  # one outage: the only attempt is used up
    queued = services.messages.send(store, s, matter_cms_id="101", body="Hearing moved", actor=Actor("alice"))
    assert send_due(store, s).dead == 1
    [dead] = queries.outbox.listing(store, state="dead")

    services.outbox.replay(store, [dead.id], actor=ADMIN)
    make_due(store)  # later: the 5xx may have created the text, so it is looked up once the call has settled
    send_due(store, s)

    assert len(twilio.state.messages(to=JANE)) == 1
    with store.connect() as conn:
        assert conn.execute(select(messages.c.sid).where(messages.c.id == queued.id)).scalar_one() is not None


@pytest.fixture
def clio() -> Iterator[SandboxServer]:
    with SandboxServer(ClioState(generate_firm(30, 20, seed=4))) as server:
        yield server


def test_a_dead_cms_write_replayed_after_the_outage_is_written(engine: Engine, clio: SandboxServer) -> None:
    s = load_settings(
        {
            "MATTERLINE_CMS_BASE_URL": clio.base_url,
            "MATTERLINE_CMS_ACCESS_TOKEN": DEFAULT_TOKEN,
            "MATTERLINE_OUTBOX_MAX_ATTEMPTS": "1",
        },
        env_file=None,
    )
    client = build_client(s, CLIO, engine, policy=RetryPolicy(max_attempts=1))
    Syncer(engine, client, CLIO, progress=False).run(full=True)
    matter = str(sorted(m["id"] for m in clio.state.find("matters", lambda m: m["status"] == "Open"))[0])
    with engine.begin() as conn:
        now = utcnow()
        thread = filing.thread_for(conn, FIRM_NUMBER, JANE, now).id
        writeback_id = writer.queue(
            conn, "summary", thread_id=thread, matter_cms_id=matter, subject="SMS summary", body="Jane asked", now=now
        )
    assert writeback_id is not None
    clio.state.faults.add(Fault("status", method="*", path="/notes.json", status=500, times=1))
    assert writer.run_due(engine, s, CLIO, client).dead == 1
    assert queries.writebacks.get(engine, writeback_id).state == "dead"
    [dead] = queries.outbox.listing(engine, state="dead")

    services.outbox.replay(engine, [dead.id], actor=ADMIN)
    writer.run_due(engine, s, CLIO, client)

    assert queries.writebacks.get(engine, writeback_id).state == "written"
    assert len(clio.state.find("notes", lambda r: "SMS summary" in str(r.get("subject", "")))) == 1


@pytest.mark.parametrize("role", ["staff", "attorney"])
def test_only_admins_and_operators_replay_or_discard(store: Engine, role: str) -> None:
    caller = Actor.of(
        services.users.add(store, name="Caller", email=f"{role}@firm.example", role=role, actor=ADMIN).user
    )
    job_id = queued_send(store)
    give_up(store, job_id)
    for refused in (
        lambda: services.outbox.replay(store, [job_id], actor=caller),
        lambda: services.outbox.replay(store, None, actor=caller),
        lambda: services.outbox.discard(store, job_id, reason="not mine to drop", actor=caller),
    ):
        with pytest.raises(MatterlineError) as caught:
            refused()
        assert (caught.value.kind, caught.value.code) == (Kind.FORBIDDEN, "forbidden_role")
    assert job(store, job_id).state == "dead"
    assert audit_rows(store, "replay") == audit_rows(store, "discard") == []
