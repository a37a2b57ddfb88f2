"""The store's engine: SQLite pragmas, serialised writers, UTC timestamps, migrations."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, column, insert, select, table, update
from sqlalchemy.exc import StatementError

from connector import const
from connector.store import current_revision, head_revision, make_engine, upgrade
from connector.store.tables import (
    UTCDateTime,
    messages,
    send_attempts,
    status_events,
    sync_state,
    thread_reads,
    thread_unread,
    threads,
    users,
)


def test_sqlite_runs_in_wal_with_a_busy_timeout(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == const.SQLITE_BUSY_TIMEOUT_MS
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_upgrade_twice_is_harmless_and_reaches_head(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/twice.db")
    assert current_revision(engine) is None
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()


def test_concurrent_sqlite_read_then_write_transactions_lose_nothing(sqlite_engine: Engine) -> None:
    # SQLite's writers are serialised from BEGIN; PostgreSQL code paths use atomic updates and row locks.
    engine = sqlite_engine
    with engine.begin() as conn:
        conn.execute(insert(sync_state).values(resource="counter", run_seq=0, run_full=False))
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(25):
                with engine.begin() as conn:
                    seq = conn.execute(select(sync_state.c.run_seq).where(sync_state.c.resource == "counter")).scalar()
                    conn.execute(update(sync_state).where(sync_state.c.resource == "counter").values(run_seq=seq + 1))
        except BaseException as exc:  # the assertion below reports it
            errors.append(exc)

    workers = [threading.Thread(target=bump) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(select(sync_state.c.run_seq)).scalar() == 150


def test_a_thread_nesting_two_sqlite_write_transactions_fails_instead_of_hanging(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(const, "SQLITE_BUSY_TIMEOUT_MS", 200)
    with sqlite_engine.begin(), pytest.raises(TimeoutError, match="database is locked"), sqlite_engine.begin():
        pass
    with sqlite_engine.begin() as conn:  # the slot was released on the way out
        conn.exec_driver_sql("SELECT 1")


def test_timestamps_come_back_aware_in_utc_and_naive_ones_are_refused(engine: Engine) -> None:
    eastern = timezone(timedelta(hours=-5))
    moment = datetime(2026, 11, 27, 9, 30, 15, 123456, tzinfo=eastern)
    with engine.begin() as conn:
        conn.execute(insert(sync_state).values(resource="clients", run_seq=0, run_full=False, bookmark=moment))
    with engine.connect() as conn:
        stored = conn.execute(select(sync_state.c.bookmark)).scalar_one()
    assert stored == moment
    assert stored.tzinfo == UTC
    with pytest.raises(StatementError, match="naive datetime"), engine.begin() as conn:
        conn.execute(update(sync_state).values(bookmark=datetime(2026, 1, 1)))


def test_sqlite_commits_are_durable_before_anything_is_acknowledged(tmp_path: Path) -> None:
    """WAL with synchronous=NORMAL may lose the last commits when the power goes: texts and STOPs already
    answered 200. FULL syncs the WAL at every commit, so an answered text is on disk."""
    engine = make_engine(f"sqlite:///{tmp_path}/durable.db")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    engine.dispose()


def test_an_attempt_under_way_at_the_upgrade_keeps_its_claim(db_url: str) -> None:
    """Upgrading to send claims gives a call started before it the claim it would have had; others get none."""
    engine = make_engine(db_url)
    upgrade(engine, "0006")
    started = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    with engine.begin() as conn:
        message_id = conn.execute(
            table(
                "messages",
                column("id"),
                column("direction"),
                column("kind"),
                column("from_number"),
                column("to_number"),
                column("body"),
                column("num_media"),
                column("status"),
                column("created_at", UTCDateTime()),
            )
            .insert()
            .values(
                direction="outbound",
                kind="message",
                from_number="+16175550100",
                to_number="+12025550123",
                body="hello",
                num_media=0,
                status="pending",
                created_at=started,
            )
            .returning(column("id"))
        ).scalar_one()
        attempts = table("send_attempts", column("message_id"), column("started_at", UTCDateTime()), column("outcome"))
        for outcome in ("started", "sent"):
            conn.execute(attempts.insert().values(message_id=message_id, started_at=started, outcome=outcome))
    upgrade(engine)
    with engine.connect() as conn:
        claims = conn.execute(
            select(send_attempts.c.outcome, send_attempts.c.claimed_until).order_by(send_attempts.c.id)
        ).all()
    assert [tuple(c) for c in claims] == [("started", started + const.SEND_CLAIM), ("sent", None)]


def test_the_migration_keeps_the_first_of_each_repeated_status_callback(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0006")
    at = datetime(2026, 12, 1, tzinfo=UTC)
    rows = [
        ("SM" + "a" * 32, "delivered", None),
        ("SM" + "a" * 32, "delivered", None),
        ("SM" + "a" * 32, "undelivered", 30007),
        ("SM" + "a" * 32, "undelivered", 30007),
        ("SM" + "a" * 32, "undelivered", 30006),
        ("SM" + "b" * 32, "delivered", None),
    ]
    with engine.begin() as conn:
        for sid, status, code in rows:
            conn.execute(insert(status_events).values(sid=sid, status=status, error_code=code, received_at=at))
    upgrade(engine)
    with engine.begin() as conn:
        kept = conn.execute(select(status_events.c.id, status_events.c.status, status_events.c.error_code)).all()
        assert [(r.status, r.error_code) for r in sorted(kept)] == [
            ("delivered", None),
            ("undelivered", 30007),
            ("undelivered", 30006),
            ("delivered", None),
        ]
        assert [r.id for r in sorted(kept)] == [1, 3, 5, 6]
    engine.dispose()


def test_people_added_before_sign_in_existed_are_kept_without_a_password(db_url: str) -> None:
    """Upgrading to sessions keeps every user and their token; none can sign in until given a password."""
    engine = make_engine(db_url)
    upgrade(engine, "0009")
    added = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    people = table("users", column("name"), column("email"), column("role"), column("created_at", UTCDateTime()))
    with engine.begin() as conn:
        conn.execute(people.insert().values(name="Pat", email="pat@firm.example", role="staff", created_at=added))
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(select(users.c.email, users.c.created_at, users.c.password_hash)).all()
    assert [tuple(r) for r in rows] == [("pat@firm.example", added, None)]
    engine.dispose()


def test_the_unread_rows_start_from_what_each_person_had_unread_before_the_upgrade(db_url: str) -> None:
    """Pat and Alice keep exactly the unread threads they had; a disabled person and a read thread get none."""
    engine = make_engine(db_url)
    upgrade(engine, "0013")
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with engine.begin() as conn:
        for n, (name, disabled) in enumerate((("pat", None), ("alice", None), ("dee", at)), start=1):
            conn.execute(
                insert(users).values(
                    id=n, name=name, email=f"{name}@firm.example", role="staff", created_at=at, disabled_at=disabled
                )
            )
        # 1: the shared queue; 2: Alice's; 3: the queue, read by Pat; 4: the firm's text only.
        for thread_id, assignee in ((1, None), (2, 2), (3, None), (4, None)):
            conn.execute(
                insert(threads).values(
                    id=thread_id,
                    firm_number="+14155550100",
                    client_phone=f"+1415555100{thread_id}",
                    state="needs_filing",
                    filing_rule="needs_filing",
                    assignee_id=assignee,
                    urgent=False,
                    message_count=1,
                    created_at=at,
                    last_message_at=at,
                    last_inbound_at=None if thread_id == 4 else at,
                    last_message_id=thread_id,
                )
            )
            conn.execute(
                insert(messages).values(
                    id=thread_id,
                    thread_id=thread_id,
                    direction="outbound" if thread_id == 4 else "inbound",
                    kind="message",
                    from_number="+14155551001",
                    to_number="+14155550100",
                    body="hi",
                    num_media=0,
                    status="received",
                    created_at=at,
                )
            )
        conn.execute(insert(thread_reads).values(thread_id=3, user_id=1, last_read_message_id=3, read_at=at))
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(select(thread_unread.c.user_id, thread_unread.c.thread_id)).all()
    assert sorted(tuple(r) for r in rows) == [(1, 1), (2, 1), (2, 2), (2, 3)]
    engine.dispose()
