"""Empty stores to migrate: a SQLite file, or a PostgreSQL schema of their own when MATTERLINE_TEST_DATABASE_URL is set.

Shared by the per-test `db_url` fixture and by tests that build one store for a whole module.
"""

from __future__ import annotations

import atexit
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import make_url, text

from connector.store import make_engine, upgrade

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


# -- migrated stores: migrating costs 0.2 s (SQLite) to 0.6 s (PostgreSQL) a test, so it is done once per
# worker process and each test gets a copy. The migrations themselves are tested on empty stores (db_url).

_templates: dict[str, str] = {}


def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if "sqlite" not in _templates:
        path = tmp_path_factory.mktemp("template") / "matterline.db"
        eng = make_engine(f"sqlite:///{path}")
        upgrade(eng)
        eng.dispose()
        _templates["sqlite"] = str(path)
    return Path(_templates["sqlite"])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pg_template() -> str:
    """A database migrated once for this process, copied (CREATE DATABASE … TEMPLATE) for each test."""
    if "postgresql" not in _templates:
        assert PG_URL is not None
        name = f"ml_template_{os.getpid()}"
        admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            # A killed run leaves its template behind (atexit never ran): drop those of processes gone.
            for (stale,) in conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE 'ml_template_%'")):
                if not _alive(int(stale.rsplit("_", 1)[1])):
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)'))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        eng = make_engine(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
        upgrade(eng)
        eng.dispose()
        _templates["postgresql"] = name

        def _drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        atexit.register(_drop)
    return _templates["postgresql"]


@contextmanager
def migrated_store_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a store migrated to head on `backend`: a copy of one migrated once (skips without a server)."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("store") / "matterline.db"
        shutil.copyfile(_sqlite_template(tmp_path_factory), path)
        yield f"sqlite:///{path}"
        return
    if not PG_URL:
        pytest.skip("MATTERLINE_TEST_DATABASE_URL is not set")
    template = _pg_template()
    name = f"ml_{uuid.uuid4().hex[:16]}"
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
