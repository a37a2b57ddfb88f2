"""The store's dialect helpers, on SQLite and PostgreSQL: what they report must be true on both."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from connector.store import dialect
from connector.store.tables import pending_refresh
from tests.support.firm import NOW


def test_insert_ignore_counts_the_rows_it_added_on_either_store(engine: Engine) -> None:
    row = {"resource": "matters", "cms_id": "1", "event": "updated", "received_at": NOW}
    with engine.begin() as conn:
        # PostgreSQL once read -1 here (SQLAlchemy keeps no INSERT row count unless asked): "added" was never true.
        assert dialect.insert_ignore(conn, pending_refresh, row, ["resource", "cms_id"]) == 1
        assert dialect.insert_ignore(conn, pending_refresh, row, ["resource", "cms_id"]) == 0
        more = [row, {**row, "cms_id": "2"}, {**row, "cms_id": "3"}]
        assert dialect.insert_ignore(conn, pending_refresh, more, ["resource", "cms_id"]) == 2
        assert conn.execute(select(func.count()).select_from(pending_refresh)).scalar_one() == 3
