"""Group commit: concurrent webhook requests share one transaction, and each answers only after it commits.

A burst of inbound texts would otherwise pay a BEGIN, a COMMIT and a connection checkout each. Here the
first request to arrive becomes the leader: it takes every request waiting at that moment, writes them
in one transaction, hands each its own result, and passes leadership to whoever queued meanwhile. A
lone request is its own batch, so latency at low load is unchanged; nothing is acknowledged before it
is durable.

A batch shares a transaction but not a fate: when it fails, its items are written again one by one,
each in its own transaction, so only the item the store refuses fails (an inbound text that is
answered 500 is lost: Twilio does not retry it). The exception is a store that cannot be reached or
locked (OperationalError, a lock wait that timed out): one by one would only wait longer for each.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from connector.const import GROUP_COMMIT_MAX

T = TypeVar("T")
R = TypeVar("R")


@dataclass(eq=False)
class _Slot(Generic[T, R]):
    item: T
    ready: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    result: R | None = None
    error: BaseException | None = None


class GroupCommit(Generic[T, R]):
    """Runs `write(conn, items)` for batches of items, one transaction per batch; one result per item."""

    def __init__(
        self,
        engine: Engine,
        write: Callable[[Connection, list[T]], list[R]],
        *,
        one_statement: Callable[[list[T]], bool] | None = None,
    ) -> None:
        """`one_statement(items)` says the write of these items is a single statement (PostgreSQL only).

        Such a batch runs on a connection in autocommit: PostgreSQL commits the statement before it answers,
        exactly as durably, in one round trip instead of BEGIN, the statement and COMMIT (a third of the
        inbound webhook's CPU went to the two it saves). Any other batch gets its transaction as before.
        """
        self._engine = engine
        self._write = write
        self._one_statement = one_statement if engine.dialect.name == "postgresql" else None
        self._auto: Connection | None = None
        self._lock = threading.Lock()
        self._queue: list[_Slot[T, R]] = []
        self._leading = False
        # Only the leader touches it, so one connection serves every batch without a pool checkout each.
        self._conn: Connection | None = None

    def submit(self, item: T) -> R:
        """Write `item` and return its result once its transaction has committed.

        Raises:
            BaseException: whatever the write or the commit raised for this item.
        """
        slot: _Slot[T, R] = _Slot(item)
        with self._lock:
            self._queue.append(slot)
            if not self._leading:
                self._leading = slot.lead = True
        if not slot.lead:
            slot.ready.wait()
        if slot.lead:
            self._run_batch()
        if slot.error is not None:
            raise slot.error
        assert slot.result is not None or slot.ready.is_set()
        return slot.result  # type: ignore[return-value]

    def _discard(self) -> None:
        """Drop the connections after a failure; the next batch opens fresh ones."""
        conns, self._conn, self._auto = (self._conn, self._auto), None, None
        for conn in conns:
            if conn is not None:
                with contextlib.suppress(Exception):  # a broken connection may refuse even to close
                    conn.close()

    def close(self) -> None:
        """Release the connection (the app is shutting down)."""
        self._discard()

    def _commit(self, batch: list[_Slot[T, R]]) -> None:
        """Write `batch` in one transaction and hand out the results; raises (rolled back) when it fails."""
        items = [slot.item for slot in batch]
        try:
            if self._one_statement is not None and self._one_statement(items):
                if self._auto is None:
                    self._auto = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                results = self._write(self._auto, items)
            else:
                if self._conn is None:
                    self._conn = self._engine.connect()
                with self._conn.begin():
                    results = self._write(self._conn, items)
        except BaseException:
            self._discard()
            raise
        for slot, result in zip(batch, results, strict=True):
            slot.result = result

    def _run_batch(self) -> None:
        with self._lock:
            batch, self._queue = self._queue[:GROUP_COMMIT_MAX], self._queue[GROUP_COMMIT_MAX:]
        try:
            self._commit(batch)
        except Exception as exc:  # rolled back whole: find the item at fault by writing each alone
            unavailable = isinstance(exc, OperationalError | TimeoutError)  # alone, each would only wait longer
            for slot in batch:
                if unavailable or len(batch) == 1:
                    slot.error = exc
                    continue
                try:
                    self._commit([slot])
                except Exception as alone:
                    slot.error = alone
        except BaseException as exc:  # interrupted: nothing is known to be written
            for slot in batch:
                slot.error = exc
        with self._lock:
            successor = self._queue[0] if self._queue else None
            if successor is None:
                self._leading = False
            else:
                successor.lead = True
        for slot in batch:
            slot.lead = False
            slot.ready.set()
        if successor is not None:
            successor.ready.set()
