"""The one place that knows SQLite from PostgreSQL: inserts that skip or merge on conflict, and locks.

Everything else writes portable SQLAlchemy Core and calls here where the two engines differ, so a
third engine (or a change of strategy) is one edit. Row locks need nothing here: SQLAlchemy leaves
`FOR UPDATE [SKIP LOCKED]` out on SQLite, whose single writer already excludes the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import Connection, Table, text
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

__all__ = ["advisory_lock", "insert", "insert_ignore", "postgres", "repeatable_read"]

_INSERTS: Final = {"postgresql": pg_insert, "sqlite": sqlite_insert}


def postgres(conn: Connection) -> bool:
    """Whether `conn` talks to PostgreSQL (several writers at once) rather than SQLite (one writer)."""
    return conn.dialect.name == "postgresql"


def insert(conn: Connection | str, table: Table) -> PgInsert | SqliteInsert:
    """The dialect's INSERT for `table` (`conn`, or a dialect name for a statement built once and reused),
    which knows ON CONFLICT; both engines spell it the same way."""
    name = conn if isinstance(conn, str) else conn.dialect.name
    maker: Any = _INSERTS[name]
    statement: PgInsert | SqliteInsert = maker(table)
    return statement


def insert_ignore(
    conn: Connection, table: Table, values: Mapping[str, Any] | Sequence[Mapping[str, Any]], conflict: Sequence[str]
) -> int:
    """Insert unless a row with the same `conflict` columns exists; how many rows were added.

    The database decides, so two writers racing on the same key both succeed and one row lands.
    """
    statement = insert(conn, table).on_conflict_do_nothing(index_elements=list(conflict))
    # Without preserve_rowcount, SQLAlchemy 2.1 reports -1 for an INSERT on PostgreSQL: a row added would read as none.
    counted = conn.execution_options(preserve_rowcount=True)
    result = counted.execute(statement.values(values) if isinstance(values, Mapping) else statement, values)
    return int(result.rowcount or 0)


def advisory_lock(conn: Connection, key: int) -> None:
    """Serialise transactions on `key` until this one ends (PostgreSQL); SQLite transactions already are."""
    if postgres(conn):
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def repeatable_read(conn: Connection) -> Connection:
    """`conn` reading one consistent snapshot for its whole transaction (SQLite's transactions already do)."""
    return conn.execution_options(isolation_level="REPEATABLE READ") if postgres(conn) else conn
