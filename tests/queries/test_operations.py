"""The store's figures behind /metrics: what is waiting, how long the oldest has waited, and what is live."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, update

from connector.jobs import kinds, outbox
from connector.messaging.filing import thread_for
from connector.queries import operations
from connector.store.tables import messages, sessions, sync_state, windows, writebacks
from connector.store.tables import outbox as jobs
from tests.support.firm import FIRM_NUMBER, JANE, OMAR, settings
from tests.support.people import add_user

T0 = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def job(conn: Any, kind: str, key: str, *, created: datetime, due: datetime, state: str = "pending") -> None:
    outbox.enqueue(conn, kind, key, {}, now=created, due=due)
    if state != "pending":
        conn.execute(update(jobs).where(jobs.c.idempotency_key == key).values(state=state))


def inbound(conn: Any, sid: str, at: datetime, **values: Any) -> None:
    conn.execute(
        insert(messages).values(
            sid=sid,
            direction="inbound",
            kind="message",
            from_number=JANE,
            to_number=FIRM_NUMBER,
            body="hello",
            num_media=0,
            status="received",
            created_at=at,
            **values,
        )
    )


def window(conn: Any, thread_id: int, closed: datetime, state: str, marker: str) -> None:
    window_id = conn.execute(
        insert(windows)
        .values(
            thread_id=thread_id,
            matter_cms_id="101",
            sequence=1,
            opened_at=closed - minutes(60),
            closed_at=closed,
            close_reason="idle",
            message_count=1,
            created_at=closed,
        )
        .returning(windows.c.id)
    ).scalar_one()
    conn.execute(
        insert(writebacks).values(
            kind="transcript",
            window_id=window_id,
            thread_id=thread_id,
            matter_cms_id="101",
            part=1,
            marker=marker,
            subject="SMS transcript",
            body="…",
            state=state,
            ambiguous=False,
            created_at=closed,
        )
    )


def session(conn: Any, sid: str, user_id: int, created: datetime, seen: datetime, ended: datetime | None) -> None:
    conn.execute(
        insert(sessions).values(id=sid, user_id=user_id, created_at=created, last_seen_at=seen, ended_at=ended)
    )


def test_an_empty_store_reports_zeros_for_every_kind_and_nothing_synced(engine: Engine) -> None:
    ops = operations.snapshot(engine, settings(), now=T0)
    assert {(f.kind, f.state): (f.jobs, f.oldest_seconds) for f in ops.outbox} == {
        (kind, state): (0, 0.0) for kind in (kinds.SEND, kinds.WRITE, kinds.SYNC) for state in ("pending", "dead")
    }
    assert ops.dead_letters == {kinds.SEND: 0, kinds.WRITE: 0, kinds.SYNC: 0}
    assert (ops.writeback_pending_oldest_seconds, ops.sync_age_seconds) == (0.0, {})
    assert (ops.intake_backlog, ops.intake_oldest_seconds, ops.sessions) == (0, 0.0, 0)


def test_the_snapshot_counts_what_waits_and_ages_the_oldest(engine: Engine) -> None:
    user, _ = add_user(engine, name="Ada", email="ada@firm.example", role="staff")
    with engine.begin() as conn:
        # Sends: one overdue 5 minutes, one held until later (waiting, not late), one dead, one done.
        job(conn, kinds.SEND, "sms:1", created=T0 - minutes(10), due=T0 - minutes(5))
        job(conn, kinds.SEND, "sms:2", created=T0 - minutes(20), due=T0 + minutes(60))
        job(conn, kinds.SEND, "sms:3", created=T0 - minutes(30), due=T0, state="dead")
        job(conn, kinds.SEND, "sms:4", created=T0 - minutes(600), due=T0 - minutes(600), state="done")
        job(conn, kinds.WRITE, "wb:1", created=T0 - minutes(120), due=T0, state="dead")
        job(conn, kinds.WRITE, "wb:2", created=T0 - minutes(90), due=T0, state="discarded")
        thread = thread_for(conn, FIRM_NUMBER, OMAR, T0 - minutes(300)).id
        window(conn, thread, T0 - minutes(40), "pending", "ml-a")
        window(conn, thread, T0 - minutes(25), "pending", "ml-b")
        window(conn, thread, T0 - minutes(90), "written", "ml-c")  # landed: not waiting
        window(conn, thread, T0 - minutes(95), "draft", "ml-d")  # waits for staff, not for the CMS
        conn.execute(insert(sync_state).values(resource="clients", run_seq=1, last_completed_at=T0 - minutes(2)))
        conn.execute(insert(sync_state).values(resource="matters", run_seq=0, last_completed_at=None))
        inbound(conn, "SM" + "1" * 32, T0 - minutes(1))
        inbound(conn, "SM" + "2" * 32, T0 - minutes(3))
        inbound(conn, "SM" + "3" * 32, T0 - minutes(50), intake_error="no firm number")  # set aside, not waiting
        inbound(conn, "SM" + "4" * 32, T0 - minutes(70), thread_id=thread)  # taken in
        session(conn, "live", user.id, T0 - minutes(60), T0 - minutes(5), None)
        session(conn, "idle", user.id, T0 - minutes(60), T0 - minutes(31), None)  # idle limit is 30 minutes
        session(conn, "ended", user.id, T0 - minutes(60), T0 - minutes(1), T0 - minutes(1))
        session(conn, "too-old", user.id, T0 - minutes(13 * 60), T0 - minutes(1), None)  # 12 hours at most

    ops = operations.snapshot(engine, settings(), now=T0)

    figures = {(f.kind, f.state): (f.jobs, f.oldest_seconds) for f in ops.outbox}
    assert figures[(kinds.SEND, "pending")] == (2, 300.0)
    assert figures[(kinds.SEND, "dead")] == (1, 1800.0)
    assert figures[(kinds.WRITE, "pending")] == (0, 0.0)
    assert figures[(kinds.WRITE, "dead")] == (1, 7200.0)
    assert figures[(kinds.SYNC, "pending")] == (0, 0.0)
    assert ops.dead_letters == {kinds.SEND: 1, kinds.WRITE: 1, kinds.SYNC: 0}
    assert ops.writeback_pending_oldest_seconds == 2400.0
    assert ops.sync_age_seconds == {"clients": 120.0}
    assert (ops.intake_backlog, ops.intake_oldest_seconds) == (2, 180.0)
    assert ops.sessions == 1
