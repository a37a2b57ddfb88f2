"""One way to open the store, so SQLite gets WAL and a busy timeout everywhere it is used."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from connector import const


def utcnow() -> datetime:
    """Now, aware and in UTC: the only clock the store accepts."""
    return datetime.now(UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Open the database at `url` (sqlite:// or postgresql://) with Matterline's connection settings.

    SQL parameters are message bodies and phone numbers: they never appear in a database error's text
    or in SQLAlchemy's own log lines (`hide_parameters`).
    """
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("psycopg2", ""):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": const.SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        _WriterQueue().install(engine)
        return engine
    # A host that does not answer must fail /readyz quickly rather than hang it.
    connect_args = {"connect_timeout": const.POSTGRES_CONNECT_TIMEOUT_S}
    return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite would BEGIN lazily (deferred) before the first write; Matterline begins itself instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={const.SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # FULL: a commit is on disk before the webhook answers 200 (NORMAL can lose it when the power goes).
        cursor.execute("PRAGMA synchronous=FULL")
    finally:
        cursor.close()


class _WriterQueue:
    """Every SQLite transaction takes the write lock at BEGIN, and the threads of one process queue for it.

    A deferred transaction that reads and then writes fails with SQLITE_BUSY when another writer
    committed in between (WAL cannot upgrade a stale snapshot), which is exactly the shape of the
    dedupe-then-insert and read-last-hash-then-append work Matterline does; hence BEGIN IMMEDIATE.
    Threads that find the lock taken would then sleep in SQLite's busy handler (1, 2, 5, 10… ms at a
    time), which under a burst of webhooks costs far more than the work; a mutex hands the lock over
    the moment it is released. Other processes still meet the busy timeout. SQLite has one writer at
    a time anyway; PostgreSQL is the path for concurrency.
    """

    _HELD = "matterline_writer"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def install(self, engine: Engine) -> None:
        dialect = engine.dialect
        commit, rollback = dialect.do_commit, dialect.do_rollback

        def do_commit(dbapi_connection: Any) -> None:
            try:
                commit(dbapi_connection)
            finally:
                self._release(dbapi_connection)

        def do_rollback(dbapi_connection: Any) -> None:
            try:
                rollback(dbapi_connection)
            finally:
                self._release(dbapi_connection)

        dialect.do_commit = do_commit  # type: ignore[method-assign]
        dialect.do_rollback = do_rollback  # type: ignore[method-assign]
        event.listen(engine, "begin", self._begin)

    def _begin(self, conn: Connection) -> None:
        dbapi_connection: Any = conn.connection.dbapi_connection
        if not self._lock.acquire(timeout=const.SQLITE_BUSY_TIMEOUT_MS / 1000):
            # Same limit and meaning as SQLite's own busy timeout; a thread nesting two write transactions
            # would otherwise wait forever.
            raise TimeoutError(f"database is locked: no write slot within {const.SQLITE_BUSY_TIMEOUT_MS} ms")
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise
        self._holders.add(id(dbapi_connection))

    @property
    def _holders(self) -> set[int]:
        holders: set[int] = self.__dict__.setdefault(self._HELD, set())
        return holders

    def _release(self, dbapi_connection: Any) -> None:
        # SQLAlchemy hands the pool's proxy here; the key is the raw connection underneath.
        key = id(getattr(dbapi_connection, "dbapi_connection", dbapi_connection))
        if key in self._holders:
            self._holders.discard(key)
            self._lock.release()
