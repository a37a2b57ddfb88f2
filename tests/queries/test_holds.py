"""The matters on legal hold now: the newest ledger row per matter decides, and each names its matter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete

from connector import queries, services
from connector.staff.users import Actor
from connector.store.tables import matters
from tests.support.firm import seed

T0 = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
GC = Actor("user:1:gc@firm.example")


def test_held_matters_with_who_when_why_and_the_matter_as_the_cms_names_it(engine: Engine) -> None:
    seed(engine, consent=False)
    services.holds.set_hold(engine, "201", reason="Subpoena 114", actor=GC, now=T0)
    services.holds.set_hold(engine, "101", reason="Custody dispute", actor=GC, now=T0 + timedelta(minutes=1))
    services.holds.release(engine, "101", reason="Settled", actor=GC, now=T0 + timedelta(minutes=2))
    services.holds.set_hold(engine, "301", reason="Preserve", actor=GC, now=T0 + timedelta(minutes=3))
    held = queries.holds.listing(engine)
    assert [(h.matter_cms_id, h.reason, h.actor, h.since) for h in held] == [
        ("201", "Subpoena 114", GC.label, T0),
        ("301", "Preserve", GC.label, T0 + timedelta(minutes=3)),
    ]
    assert [(h.display_number, h.description) for h in held] == [
        ("00201-Haddad", "Haddad DUI"),
        ("00301-Lee", "Lee v. Lee"),
    ]


def test_a_hold_outlives_its_matter_in_the_store(engine: Engine) -> None:
    seed(engine, consent=False)
    services.holds.set_hold(engine, "202", reason="Lease dispute", actor=GC, now=T0)
    with engine.begin() as conn:
        conn.execute(delete(matters).where(matters.c.cms_id == "202"))
    [held] = queries.holds.listing(engine)
    assert (held.matter_cms_id, held.display_number, held.description) == ("202", None, None)
