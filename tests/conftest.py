"""Shared fixtures: a migrated store on SQLite and, when MATTERLINE_TEST_DATABASE_URL is set, PostgreSQL."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

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


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store migrated once per test run; each test gets a copy (migrating costs ~0.2 s a test).

    The migrations themselves are tested on empty stores (`db_url`) in tests/store.
    """
    path = tmp_path_factory.mktemp("template") / "matterline.db"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    eng.dispose()
    return path


def _sqlite_copy(template: Path, url: str) -> None:
    target = Path(url.removeprefix("sqlite:///"))
    if not target.exists():
        shutil.copyfile(template, target)


@pytest.fixture
def engine(db_url: str, _migrated_sqlite: Path) -> Iterator[Engine]:
    """A migrated store (on SQLite, a copy of one migrated once)."""
    if db_url.startswith("sqlite:///"):
        _sqlite_copy(_migrated_sqlite, db_url)
    eng = make_engine(db_url)
    if not db_url.startswith("sqlite:///"):
        upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: os.PathLike[str], _migrated_sqlite: Path) -> Iterator[Engine]:
    """A migrated SQLite store, for tests that are not about the store itself."""
    url = f"sqlite:///{tmp_path}/matterline.db"
    _sqlite_copy(_migrated_sqlite, url)
    eng = make_engine(url)
    yield eng
    eng.dispose()


__all__ = ["create_engine"]


@pytest.fixture
def env(db_url: str, tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Settings for a CLI test: the store only, run from an empty folder so no stray .env is read."""
    monkeypatch.chdir(tmp_path)
    return {"MATTERLINE_DATABASE_URL": db_url}
