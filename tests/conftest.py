"""Shared fixtures: a migrated store on SQLite and, when MATTERLINE_TEST_DATABASE_URL is set, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, create_engine, text

from connector.store import make_engine, upgrade

PG_URL = os.environ.get("MATTERLINE_TEST_DATABASE_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _pg_admin() -> Engine:
    assert PG_URL is not None
    return make_engine(PG_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database URL of an empty store; PostgreSQL gets a schema of its own per test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('store') / 'matterline.db'}"
        return
    if not PG_URL:
        pytest.skip("MATTERLINE_TEST_DATABASE_URL is not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated store."""
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: os.PathLike[str]) -> Iterator[Engine]:
    """A migrated SQLite store, for tests that are not about the store itself."""
    eng = make_engine(f"sqlite:///{tmp_path}/matterline.db")
    upgrade(eng)
    yield eng
    eng.dispose()


__all__ = ["create_engine"]


@pytest.fixture
def env(db_url: str, tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Settings for a CLI test: the store only, run from an empty folder so no stray .env is read."""
    monkeypatch.chdir(tmp_path)
    return {"MATTERLINE_DATABASE_URL": db_url}
