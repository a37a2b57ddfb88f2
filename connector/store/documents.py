"""Reading the firm's documents (tables.firm_documents): which version of a kind is in force, and its text.

A kind's newest row is in force. Every reader asks for that row's id first (an index lookup) and reads the
body only when the id differs from the one it holds, so an app or worker sees an admin's change at its next
use without a restart, for the cost of one small query.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar
from weakref import WeakKeyDictionary, WeakSet

from sqlalchemy import Connection, Engine, inspect, select

from connector.const import LOGGER
from connector.store.tables import firm_documents

__all__ = ["InForce", "Stored", "history", "newest", "newest_id"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Stored:
    """One version of a document: `body` None hands the kind back to its file or the shipped default."""

    id: int
    kind: str
    body: str | None
    digest: str
    actor: str
    reason: str | None
    changed_at: datetime


# Stores known to have the table; one from before its migration has no documents (and `/readyz` says so).
_MIGRATED: WeakSet[Engine] = WeakSet()


def _migrated(store: Engine | Connection) -> bool:
    engine = store.engine if isinstance(store, Connection) else store
    if engine not in _MIGRATED:
        if not inspect(store).has_table(firm_documents.name):
            return False
        _MIGRATED.add(engine)
    return True


def newest_id(engine: Engine | Connection, kind: str) -> int | None:
    """The id of the version of `kind` in force, or None when none was ever saved."""
    if not _migrated(engine):
        return None
    query = select(firm_documents.c.id).where(firm_documents.c.kind == kind).order_by(firm_documents.c.id.desc())
    if isinstance(engine, Connection):
        return engine.execute(query.limit(1)).scalar()
    with engine.connect() as conn:
        return conn.execute(query.limit(1)).scalar()


def newest(engine: Engine | Connection, kind: str) -> Stored | None:
    """The version of `kind` in force, or None."""
    found = history(engine, kind, limit=1)
    return found[0] if found else None


def history(engine: Engine | Connection, kind: str, *, limit: int = 20) -> list[Stored]:
    """The newest `limit` versions of `kind`, newest first."""
    if not _migrated(engine):
        return []
    query = select(firm_documents).where(firm_documents.c.kind == kind)
    query = query.order_by(firm_documents.c.id.desc()).limit(limit)
    if isinstance(engine, Connection):
        rows = engine.execute(query).all()
    else:
        with engine.connect() as conn:
            rows = conn.execute(query).all()
    return [Stored(r.id, r.kind, r.body, r.digest, r.actor, r.reason, r.changed_at) for r in rows]


class InForce(Generic[T]):
    """A kind's stored version in force, parsed, for each store this process uses; re-read when a newer one lands.

    `get` answers None while nothing is stored for the kind (or its newest version hands it back to the file),
    so the caller falls back to the file or the default. A stored version this code can no longer read (after
    an upgrade, say) is logged and the version already in force stays; with none before it, the parse error
    is raised: nothing runs on a document nobody checked.
    """

    def __init__(self, kind: str, parse: Callable[[str], T]) -> None:
        self.kind = kind
        self._parse = parse
        self._lock = threading.Lock()
        self._held: WeakKeyDictionary[Engine, tuple[int, T | None]] = WeakKeyDictionary()

    def get(self, store: Engine | Connection) -> T | None:
        engine = store.engine if isinstance(store, Connection) else store
        current = newest_id(store, self.kind)
        if current is None:
            return None
        with self._lock:
            held = self._held.get(engine)
            if held is not None and held[0] == current:
                return held[1]
        stored = newest(store, self.kind)
        if stored is None:  # pragma: no cover - rows are never deleted
            return None
        try:
            value = None if stored.body is None else self._parse(stored.body)
        except Exception as exc:
            if held is None:
                raise
            LOGGER.error("%s version %s not put in force, version %s stays: %s", self.kind, stored.id, held[0], exc)
            with self._lock:
                self._held[engine] = (stored.id, held[1])  # said once, not at every use
            return held[1]
        with self._lock:
            self._held[engine] = (stored.id, value)
        return value
