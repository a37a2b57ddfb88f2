"""Empty stores to migrate: a SQLite file, or a PostgreSQL schema of their own when MATTERLINE_TEST_DATABASE_URL is set.

Shared by the per-test `db_url` fixture and by tests that build one store for a whole module.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest
from sqlalchemy import text

from connector.store import make_engine

PG_URL = os.environ.get("MATTERLINE_TEST_DATABASE_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextmanager
def empty_store_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of an empty store on `backend`; a PostgreSQL schema is dropped afterwards (skips without a server)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('store') / 'matterline.db'}"
        return
    if not PG_URL:
        pytest.skip("MATTERLINE_TEST_DATABASE_URL is not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
