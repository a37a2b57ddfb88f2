"""The audit log as people read it: oldest first, narrowed by matter, actor, action and time, or only the newest few."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from connector import queries, services
from connector.staff.users import Actor
from tests.support.firm import seed

NY = ZoneInfo("America/New_York")
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=NY)
GC = Actor("user:1:gc@firm.example", request_id="req-gc")
PARTNER = Actor("user:2:partner@firm.example")


@pytest.fixture
def log(engine: Engine) -> list[int]:
    """Five hold changes a minute apart by two people on two matters, then a person added (no matter)."""
    seed(engine, consent=False)  # the consent ledger would add entries of its own
    steps: list[tuple[Any, str, Actor]] = [
        (services.holds.set_hold, "101", GC),
        (services.holds.set_hold, "201", PARTNER),
        (services.holds.release, "101", GC),
        (services.holds.release, "201", PARTNER),
        (services.holds.set_hold, "101", PARTNER),
    ]
    for n, (change, matter, actor) in enumerate(steps):
        change(engine, matter, reason=f"step {n}", actor=actor, now=T0 + timedelta(minutes=n))
    services.users.add(engine, name="Pat Paralegal", email="pat@firm.example", role="staff", actor=GC)
    entries = queries.audit.listing(engine)
    assert len(entries) == 6
    return [entry.id for entry in entries]


def ids(engine: Engine, **kw: Any) -> list[int]:
    return [entry.id for entry in queries.audit.listing(engine, **kw)]


def test_every_entry_oldest_first_in_one_chain(engine: Engine, log: list[int]) -> None:
    entries = queries.audit.listing(engine)
    assert [entry.id for entry in entries] == sorted(log)
    assert [entry.action for entry in entries] == [
        "hold_set",
        "hold_set",
        "hold_release",
        "hold_release",
        "hold_set",
        "user_added",
    ]
    first = entries[0]
    assert (first.actor, first.subject_type, first.subject_id, first.matter_cms_id) == (
        GC.label,
        "matter",
        "101",
        "101",
    )
    assert (first.request_id, first.details["reason"], first.at) == ("req-gc", "step 0", T0)
    assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(entries))


def test_entries_of_one_matter_one_actor_or_one_action(engine: Engine, log: list[int]) -> None:
    assert ids(engine, matter_cms_id="101") == [log[0], log[2], log[4]]
    assert ids(engine, matter_cms_id="201") == [log[1], log[3]]
    assert ids(engine, actor=GC.label) == [log[0], log[2], log[5]]
    assert ids(engine, action="hold_release") == [log[2], log[3]]
    assert ids(engine, actor=PARTNER.label, matter_cms_id="101") == [log[4]]
    assert ids(engine, matter_cms_id="999") == []
    assert ids(engine, action="purge") == []


def test_entries_in_a_time_range_from_since_up_to_until(engine: Engine, log: list[int]) -> None:
    assert ids(engine, since=T0 + timedelta(minutes=2), matter_cms_id="101") == [log[2], log[4]]
    assert ids(engine, until=T0 + timedelta(minutes=2)) == [log[0], log[1]]  # until is not included
    assert ids(engine, since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=3)) == [log[1], log[2]]
    # A moment in another zone is the same moment.
    assert ids(engine, since=(T0 + timedelta(minutes=4)).astimezone(UTC), until=T0 + timedelta(hours=1)) == [log[4]]


def test_the_newest_few_still_oldest_first(engine: Engine, log: list[int]) -> None:
    assert ids(engine, newest=2) == [log[4], log[5]]
    assert ids(engine, newest=2, matter_cms_id="101") == [log[2], log[4]]
    assert ids(engine, newest=1, action="hold_release") == [log[3]]
    assert ids(engine, newest=100) == log


def test_before_an_entry_pages_back_through_the_log(engine: Engine, log: list[int]) -> None:
    assert ids(engine, newest=2, before=log[4]) == [log[2], log[3]]
    assert ids(engine, newest=2, before=log[2]) == [log[0], log[1]]
    assert ids(engine, newest=2, before=log[0]) == []
    assert ids(engine, before=log[3], matter_cms_id="101") == [log[0], log[2]]


def test_one_entry_by_id(engine: Engine, log: list[int]) -> None:
    found = queries.audit.entry(engine, log[1])
    assert found is not None
    assert (found.id, found.action, found.actor, found.matter_cms_id) == (log[1], "hold_set", PARTNER.label, "201")
    assert found == queries.audit.listing(engine)[1]
    assert queries.audit.entry(engine, max(log) + 1) is None
