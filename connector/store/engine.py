"""One way to open the store, so SQLite gets WAL and a busy timeout everywhere it is used."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from connector import const


def utcnow() -> datetime:
    """Now, aware and in UTC: the only clock the store accepts."""
    return datetime.now(UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Open the database at `url` (sqlite:// or postgresql://) with Matterline's connection settings."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("psycopg2", ""):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": const.SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
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
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    """Every SQLite transaction takes the write lock at BEGIN.

    A deferred transaction that reads and then writes fails with SQLITE_BUSY when another writer
    committed in between (WAL cannot upgrade a stale snapshot), which is exactly the shape of the
    dedupe-then-insert and read-last-hash-then-append work Matterline does. SQLite has one writer at a
    time anyway; PostgreSQL is the path for concurrency.
    """
    conn.exec_driver_sql("BEGIN IMMEDIATE")
