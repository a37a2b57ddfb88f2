"""Shared fixtures: a migrated store on SQLite and, when MATTERLINE_TEST_DATABASE_URL is set, PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine

from connector.store import make_engine, upgrade
from tests.support.stores import BACKENDS, empty_store_url

# The browser fixtures (browser, page, console, live_url) and the hook that keeps a failed page's trace.
pytest_plugins = ["tests.support.browser"]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database URL of an empty store; PostgreSQL gets a schema of its own per test."""
    with empty_store_url(request.param, tmp_path_factory) as url:
        yield url


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
