"""The store's documents in force: the newest version wins; a store from before the table has none; a stored
version this code cannot read leaves the one in force (said once in the log), and with none before it, stops."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, create_engine, insert

from connector.store.documents import InForce, history, newest, newest_id
from connector.store.engine import utcnow
from connector.store.tables import firm_documents


def _store(engine: Engine, kind: str, body: str | None) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(firm_documents).values(kind=kind, body=body, digest="d" * 64, actor="test", changed_at=utcnow())
        )


def test_the_newest_version_of_a_kind_is_in_force_and_history_is_newest_first(engine: Engine) -> None:
    reads: list[str] = []
    cached = InForce("notes", lambda text: reads.append(text) or json.loads(text))
    assert cached.get(engine) is None
    _store(engine, "notes", '{"n": 1}')
    _store(engine, "other", '{"n": 99}')
    assert cached.get(engine) == {"n": 1}
    assert cached.get(engine) == {"n": 1}
    assert reads == ['{"n": 1}']  # read once, then only the newest id is asked for
    _store(engine, "notes", '{"n": 2}')
    assert cached.get(engine) == {"n": 2}
    _store(engine, "notes", None)
    assert cached.get(engine) is None  # handed back to the file
    assert [v.body for v in history(engine, "notes")] == [None, '{"n": 2}', '{"n": 1}']
    found = newest(engine, "notes")
    assert found is not None
    assert found.id == newest_id(engine, "notes")


def test_a_store_from_before_the_table_has_no_documents() -> None:
    bare = create_engine("sqlite://")
    assert newest_id(bare, "notes") is None
    assert InForce("notes", json.loads).get(bare) is None


def test_an_unreadable_version_leaves_the_one_in_force_and_is_logged_once(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    cached = InForce("notes", json.loads)
    _store(engine, "notes", '{"n": 1}')
    assert cached.get(engine) == {"n": 1}
    _store(engine, "notes", "{broken")
    assert cached.get(engine) == {"n": 1}
    assert cached.get(engine) == {"n": 1}
    logged = [r.getMessage() for r in caplog.records if "not put in force" in r.getMessage()]
    assert len(logged) == 1
    assert "notes version" in logged[0]


def test_an_unreadable_version_with_none_before_it_stops_the_caller(engine: Engine) -> None:
    _store(engine, "notes", "{broken")
    with pytest.raises(json.JSONDecodeError):
        InForce("notes", json.loads).get(engine)
