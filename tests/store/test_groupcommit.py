"""Group commit: requests that share a transaction do not share a failure."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, func, insert, select

from connector.store.engine import utcnow
from connector.store.groupcommit import GroupCommit
from connector.store.tables import opt_outs


def _write(conn: Connection, phones: list[str | None]) -> list[int]:
    """One ledger row per phone; None breaks the NOT NULL constraint, as a value the store refuses would."""
    ids = []
    for phone in phones:
        row = {"phone": phone, "action": "opt_out", "source": "test", "created_at": utcnow()}
        ids.append(int(conn.execute(insert(opt_outs).values(**row).returning(opt_outs.c.id)).scalar_one()))
    return ids


def _one_batch(
    engine: Engine, write: Callable[[Connection, list[str | None]], list[int]], items: list[str | None], **options: Any
) -> tuple[int, list[Future[int]], list[int]]:
    """Submit `items` while a first item's batch is held, so they all queue into one second batch; the first
    item's answer, the items' futures (done) and the size of each batch written."""
    release = threading.Event()
    seen: list[int] = []

    def held_first(conn: Connection, phones: list[str | None]) -> list[int]:
        seen.append(len(phones))
        if len(seen) == 1:
            release.wait(5)
        return write(conn, phones)

    writer: GroupCommit[str | None, int] = GroupCommit(engine, held_first, **options)
    with ThreadPoolExecutor(max_workers=len(items) + 1) as pool:
        first = pool.submit(writer.submit, "+14155559999")
        time.sleep(0.3)
        futures = [pool.submit(writer.submit, item) for item in items]
        time.sleep(0.5)
        release.set()
        answer = first.result()
        wait(futures)
    writer.close()
    return answer, futures, seen


def test_a_failed_batch_fails_only_the_item_that_cannot_be_written(engine: Engine) -> None:
    items: list[str | None] = [f"+1415555{n:04d}" for n in range(12)]
    items.insert(6, None)
    first, futures, seen = _one_batch(engine, _write, items)
    assert first > 0
    outcomes = [future.exception() for future in futures]
    assert seen[1] == len(items)  # they did share one batch
    assert [index for index, error in enumerate(outcomes) if error is not None] == [6]
    assert [future.result() > 0 for index, future in enumerate(futures) if index != 6] == [True] * 12
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(opt_outs)).scalar_one() == 13


def test_a_lone_failure_is_raised_to_its_caller(engine: Engine) -> None:
    writer: GroupCommit[str | None, int] = GroupCommit(engine, _write)
    with pytest.raises(Exception, match=r"(?i)null"):
        writer.submit(None)
    assert writer.submit("+14155550000") > 0
    writer.close()


def _one_insert(conn: Connection, phones: list[str | None]) -> list[int]:
    """The whole batch in one multi-row INSERT, as the inbound webhook writes plain texts."""
    rows = [{"phone": p, "action": "opt_out", "source": "test", "created_at": utcnow()} for p in phones]
    return [
        int(i)
        for i in conn.execute(insert(opt_outs).returning(opt_outs.c.id, sort_by_parameter_order=True), rows).scalars()
    ]


def test_a_one_statement_batch_is_written_whole_or_not_at_all_and_committed_before_it_answers(engine: Engine) -> None:
    """On PostgreSQL the statement runs in autocommit (one round trip): each answer means a committed row,
    and a statement the store refuses writes none of its rows, so the items are tried alone as before."""
    items: list[str | None] = [f"+1415556{n:04d}" for n in range(6)]
    items.insert(3, None)
    first, futures, seen = _one_batch(engine, _one_insert, items, one_statement=lambda _: True)
    assert futures[3].exception() is not None
    answered = [first] + [f.result() for i, f in enumerate(futures) if i != 3]
    with engine.connect() as other:  # another connection sees every answered row: committed, not just written
        stored = set(other.execute(select(opt_outs.c.id)).scalars())
    assert seen[1] == len(items)
    assert stored == set(answered)
