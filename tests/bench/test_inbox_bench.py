"""Inbox benchmark (`make bench`): listing threads and a page of messages with 1,000,000 stored messages.

Target: each listing stays under 50 ms with 1,000,000 messages in 50,000 threads. The baseline is the
same queries on a store of 1,000 messages in the same run, so the ratio shows how much size costs.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from connector.queries.messages import listing as list_messages
from connector.queries.threads import listing as list_threads
from connector.store import make_engine, upgrade
from connector.store.tables import metadata
from tests.support.people import add_user

pytestmark = pytest.mark.bench

THREADS, PER_THREAD = 50_000, 20
# Threads the bench's person has not read (of the newest); every other thread carries their read mark.
UNREAD = 30
START = datetime(2026, 1, 1, tzinfo=UTC)
RUNS = 30


def _seed(engine: Engine, threads: int, per_thread: int, author: int) -> None:
    """Bulk rows straight through the driver: the point is the queries, not the loading. `author` wrote the
    firm's texts (answers); one thread in fifty ends with the client's text, waiting for a reply."""
    firm = "+14155550100"
    thread_rows = []
    for t in range(1, threads + 1):
        last = START + timedelta(minutes=t)
        filed = t % 10 != 0
        thread_rows.append(
            (
                t,
                firm,
                f"+1415{t:07d}",
                "filed" if filed else "needs_filing",
                str(100_000 + t % 20_000) if filed else None,
                str(t % 30_000),
                "recent_thread" if filed else "needs_filing",
                t % 100 == 0,
                per_thread - (t % 50 == 0),
                last.replace(tzinfo=None),
                t * per_thread - (t % 50 == 0),  # a waiting thread's newest text is the client's
                START.replace(tzinfo=None),
                # The client's last text, the second newest of the thread (the firm answered it).
                (last + timedelta(seconds=per_thread - 2)).replace(tzinfo=None),
            )
        )
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO threads (id, firm_number, client_phone, state, matter_cms_id, client_cms_id, filing_rule,"
            " urgent, message_count, last_message_at, last_message_id, created_at, last_inbound_at)"
            " VALUES (" + ", ".join([_mark(engine)] * 13) + ")",
            thread_rows,
        )
    batch: list[tuple[Any, ...]] = []
    for t in range(1, threads + 1):
        for m in range(per_thread):
            inbound = m % 2 == 0
            batch.append(
                (
                    (t - 1) * per_thread + m + 1,
                    t,
                    "inbound" if inbound else "outbound",
                    "message",
                    f"+1415{t:07d}" if inbound else firm,
                    firm if inbound else f"+1415{t:07d}",
                    f"message {m} in thread {t}",
                    0,
                    "received" if inbound else "delivered",
                    (START + timedelta(minutes=t, seconds=m)).replace(tzinfo=None),
                    None if inbound else author,
                    "conversation",
                )
            )
        if t % 50 == 0:  # the firm's last answer not written yet: the thread waits
            batch.pop()
        if len(batch) >= 50_000:
            _insert_messages(engine, batch)
            batch = []
    if batch:
        _insert_messages(engine, batch)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.exec_driver_sql("SELECT setval('threads_id_seq', (SELECT max(id) FROM threads))")
            conn.exec_driver_sql("SELECT setval('messages_id_seq', (SELECT max(id) FROM messages))")


def read_all_but(engine: Engine, user_id: int, unread: int) -> None:
    """The person as a firm's diligent reader is after months of use: every thread read but the newest
    `unread`, each of which has its client's last text unread (a read mark on every thread, the worst
    case for anything that compares the marks with the threads)."""
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        newest = int(conn.exec_driver_sql("SELECT max(id) FROM threads").scalar_one())
        params = {"user": user_id, "cut": newest - unread}
        conn.execute(
            text(
                "INSERT INTO thread_reads (thread_id, user_id, last_read_message_id, read_at)"
                " SELECT id, :user, CASE WHEN id > :cut THEN last_message_id - 2 ELSE last_message_id END,"
                " created_at FROM threads"
            ),
            params,
        )
        conn.execute(
            text("INSERT INTO thread_unread (user_id, thread_id) SELECT :user, id FROM threads WHERE id > :cut"),
            params,
        )
        if postgres:
            conn.exec_driver_sql("ANALYZE thread_reads")
            conn.exec_driver_sql("ANALYZE thread_unread")


def _mark(engine: Engine) -> str:
    return "%s" if engine.dialect.name == "postgresql" else "?"


def _insert_messages(engine: Engine, rows: list[tuple[Any, ...]]) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO messages (id, thread_id, direction, kind, from_number, to_number, body, num_media, status,"
            " created_at, author_id, purpose) VALUES (" + ", ".join([_mark(engine)] * 12) + ")",
            rows,
        )


def _timed(fn: Callable[[], Any]) -> tuple[float, float]:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def _queries(engine: Engine, user_id: int, thread_id: int) -> dict[str, Callable[[], Any]]:
    _, cursor = list_threads(engine, user_id=user_id, limit=50)
    for _ in range(20):  # twenty pages in
        _, cursor = list_threads(engine, user_id=user_id, limit=50, before=cursor)
    return {
        "threads, first page of 50": lambda: list_threads(engine, user_id=user_id, limit=50),
        "threads, page 21": lambda: list_threads(engine, user_id=user_id, limit=50, before=cursor),
        "threads needing filing": lambda: list_threads(engine, user_id=user_id, needs_filing=True, limit=50),
        "urgent threads": lambda: list_threads(engine, user_id=user_id, urgent=True, limit=50),
        "unread threads": lambda: list_threads(engine, user_id=user_id, unread=True, limit=50),
        "threads waiting for a reply": lambda: list_threads(engine, user_id=user_id, waiting=True, limit=50),
        "threads of one matter": lambda: list_threads(engine, user_id=user_id, matter_cms_id="100007", limit=50),
        "newest 50 messages of a thread": lambda: list_messages(engine, thread_id, limit=50),
    }


def _store(url: str) -> Engine:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(engine)
    return engine


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_listing_stays_fast_with_a_million_messages(tmp_path: Path, backend: str) -> None:
    if backend == "postgresql":
        url = os.environ.get("MATTERLINE_TEST_DATABASE_URL")
        if not url:
            pytest.skip("MATTERLINE_TEST_DATABASE_URL is not set")
        small_url = big_url = url
    else:
        small_url, big_url = f"sqlite:///{tmp_path}/small.db", f"sqlite:///{tmp_path}/big.db"
    results: dict[str, dict[str, tuple[float, float]]] = {}
    for label, url, threads in (("baseline", small_url, 50), ("large", big_url, THREADS)):
        engine = _store(url)
        started = time.perf_counter()
        user, _ = add_user(engine, name="Bench User", email="bench@firm.example", role="attorney")
        _seed(engine, threads, PER_THREAD, user.id)
        read_all_but(engine, user.id, UNREAD)
        loaded = time.perf_counter() - started
        print(
            f"\n[{backend}] {label}: {threads * PER_THREAD:,} messages in {threads:,} threads (loaded in {loaded:.0f}s)"
        )
        results[label] = {name: _timed(fn) for name, fn in _queries(engine, user.id, threads // 2).items()}
        engine.dispose()
    for name, (median, p95) in results["large"].items():
        base = results["baseline"][name][0]
        print(
            f"[{backend}]   {name:<32} median {median:6.2f} ms  p95 {p95:6.2f} ms  "
            f"(baseline {base:5.2f} ms, ratio {median / base:5.2f})"
        )
    assert all(p95 < 50 for _, p95 in results["large"].values())
