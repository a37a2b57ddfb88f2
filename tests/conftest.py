"""Shared fixtures: a migrated store on SQLite and, when MATTERLINE_TEST_DATABASE_URL is set, PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, create_engine

from connector.staff import passwords
from connector.store import make_engine
from tests.support.stores import BACKENDS, empty_store_url, migrated_store_url

# The browser fixtures (browser, page, console, live_url) and the hook that keeps a failed page's trace.
pytest_plugins = ["tests.support.browser"]

# What the program hashes passwords with (argon2id, 64 MiB, three passes): tests/staff/test_passwords.py pins it.
PRODUCTION_HASHER = passwords._HASHER


@pytest.fixture(autouse=True, scope="session")
def _quick_password_hashing() -> Iterator[None]:
    """The same argon2id at its lowest cost for the suite: a quarter second a hash, for every person every page
    test signs in, was minutes of the suite's budget. Processes the tests start (the CLI, workers) keep the
    program's own cost."""
    quick = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_HASHER", quick)
        patch.setattr(passwords, "_DECOY", quick.hash("matterline decoy password"))
        yield


# The files that keep one worker busy for a minute or more: started first, so that no worker is left running one
# of them alone while the others are done (`make test` runs a file per worker at a time, in collection order).
_LONGEST_FIRST = (
    "tests/writeback/test_writer_crash.py",
    "tests/sandbox/test_firm.py",
    "tests/test_packaging.py",
    "tests/webhooks/pages/admin/test_connection.py",
    "tests/webhooks/pages/admin/test_rules.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the longest files to the front; everything else keeps its order (the sort is stable)."""
    rank = {path: index for index, path in enumerate(_LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database URL: of an empty store, or, when the test also asks for `engine`, of a migrated one.

    PostgreSQL gets a schema (empty) or a database copied from a migrated template of its own per test.
    """
    store = migrated_store_url if "engine" in request.fixturenames else empty_store_url
    with store(request.param, tmp_path_factory) as url:
        yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated store (a copy of one migrated once per worker; see tests/support/stores.py)."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated SQLite store, for tests that are not about the store itself."""
    with migrated_store_url("sqlite", tmp_path_factory) as url:
        eng = make_engine(url)
        yield eng
        eng.dispose()


__all__ = ["create_engine"]


@pytest.fixture
def env(db_url: str, tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Settings for a CLI test: the store only, run from an empty folder so no stray .env is read."""
    monkeypatch.chdir(tmp_path)
    return {"MATTERLINE_DATABASE_URL": db_url}
