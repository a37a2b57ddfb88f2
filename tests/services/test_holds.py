"""Legal holds: an admin puts a matter's texts beyond retention's reach and later releases them; each change is
a row of an append-only ledger and an audit entry with its reason."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from connector import queries, services
from connector.compliance.retention import on_hold
from connector.errors import Kind, MatterlineError
from connector.staff.users import Actor
from connector.store.tables import audit_log, legal_holds
from tests.support.firm import seed


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine)
    return engine


def audit_rows(engine: Engine, action: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.id)))


def test_holds_are_an_append_only_ledger_and_audited_with_their_reason(store: Engine) -> None:
    services.holds.set_hold(store, "101", reason="  Subpoena 2026-114  ", actor=Actor("user:1:gc@firm.example"))
    with store.connect() as conn:
        assert on_hold(conn, "101")
        assert not on_hold(conn, "201")
    assert [(h.matter_cms_id, h.reason, h.actor) for h in queries.holds.listing(store)] == [
        ("101", "Subpoena 2026-114", "user:1:gc@firm.example")
    ]
    services.holds.release(store, "101", reason="Subpoena withdrawn", actor=Actor("user:1:gc@firm.example"))
    services.holds.set_hold(store, "101", reason="New subpoena", actor=Actor("user:2:partner@firm.example"))
    with store.connect() as conn:
        ledger = conn.execute(select(legal_holds.c.action, legal_holds.c.reason).order_by(legal_holds.c.id)).all()
    assert [tuple(r) for r in ledger] == [
        ("set", "Subpoena 2026-114"),
        ("release", "Subpoena withdrawn"),
        ("set", "New subpoena"),
    ]
    entries = audit_rows(store, "hold_set") + audit_rows(store, "hold_release")
    assert sorted((e.action, e.matter_cms_id, e.details["reason"]) for e in entries) == [
        ("hold_release", "101", "Subpoena withdrawn"),
        ("hold_set", "101", "New subpoena"),
        ("hold_set", "101", "Subpoena 2026-114"),
    ]


@pytest.mark.parametrize(
    ("action", "matter", "reason", "code", "kind"),
    [
        ("set", "101", "   ", "empty_reason", Kind.INVALID),
        ("release", "101", "", "empty_reason", Kind.INVALID),
        ("set", "999", "preserve", "not_found", Kind.NOT_FOUND),
        ("release", "101", "nothing to release", "not_on_hold", Kind.CONFLICT),
    ],
)
def test_refused_holds(store: Engine, action: str, matter: str, reason: str, code: str, kind: Kind) -> None:
    change = services.holds.set_hold if action == "set" else services.holds.release
    with pytest.raises(MatterlineError) as caught:
        change(store, matter, reason=reason, actor=Actor("user:1"))
    assert (caught.value.code, caught.value.kind) == (code, kind)
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(legal_holds)).scalar_one() == 0
    assert audit_rows(store, f"hold_{action}") == []


def test_a_matter_already_on_hold_cannot_be_held_twice(store: Engine) -> None:
    services.holds.set_hold(store, "101", reason="preserve", actor=Actor("user:1"))
    with pytest.raises(MatterlineError, match="already on legal hold") as caught:
        services.holds.set_hold(store, "101", reason="again", actor=Actor("user:1"))
    assert caught.value.code == "already_on_hold"
    assert len(audit_rows(store, "hold_set")) == 1
