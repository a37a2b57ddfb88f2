"""The reminder planner: a hearing gets its two reminders at the client's local times; an entry moved in the CMS
moves them, one deleted or no longer matching cancels them with a reason staff read; a time already past is
not planned; a client with no number is counted; and a batch reads the store a fixed number of times however
many entries it holds, while two planners at once plan each entry once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert

from connector.reminders import planner
from connector.store.workflow_tables import calendar_entries
from tests.support.calendar import change, entry, planned
from tests.support.firm import FIRM_NUMBER, JANE, NOW, seed, settings

# Tuesday, December 8, 9:30 AM in Los Angeles, where Jane's 415 number is.
HEARING = datetime(2026, 12, 8, 17, 30, tzinfo=UTC)
TWO_DAYS_BEFORE = datetime(2026, 12, 6, 17, 0, tzinfo=UTC)  # 9:00 AM PST
MORNING_OF = datetime(2026, 12, 8, 16, 0, tzinfo=UTC)  # 8:00 AM PST, when quiet hours end


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine)
    return engine


def plan(engine: Engine, **env: str) -> planner.PlanCounts:
    return planner.plan(engine, settings(**env), now=NOW)


def states(engine: Engine, cms_id: str) -> list[tuple[str, str, datetime, str | None]]:
    return [(r.moment, r.state, r.due_at, r.reason) for r in planned(engine, cms_id)]


def test_a_hearing_gets_two_reminders_at_the_clients_local_times_and_is_planned_once(store: Engine) -> None:
    entry(store, "e1", starts_at=HEARING)
    assert plan(store) == planner.PlanCounts(planned=2, entries=1)
    rows = planned(store, "e1")
    assert [(r.rule, r.moment, r.due_at, r.state) for r in rows] == [
        ("hearing", "2 days before at 09:00", TWO_DAYS_BEFORE, "scheduled"),
        ("hearing", "the day of at 08:00", MORNING_OF, "scheduled"),
    ]
    assert {(r.client_phone, r.firm_number, r.matter_cms_id) for r in rows} == {(JANE, FIRM_NUMBER, "101")}
    body = rows[0].body
    assert "Doe & Roe LLP" in body
    assert "Tuesday, December 8 at 9:30 AM, Courtroom 4B, 100 Main St" in body
    assert "Custody" not in body
    assert "school records" not in body
    assert plan(store) == planner.PlanCounts()  # nothing marked: nothing planned again


def test_an_entry_moved_in_the_cms_moves_its_reminders_and_a_deleted_one_cancels_them(store: Engine) -> None:
    entry(store, "e1", starts_at=HEARING)
    plan(store)
    change(store, "e1", starts_at=HEARING + timedelta(days=1), location="Courtroom 9")
    assert plan(store) == planner.PlanCounts(moved=2, entries=1)
    moved = planned(store, "e1")
    assert [r.due_at for r in moved] == [TWO_DAYS_BEFORE + timedelta(days=1), MORNING_OF + timedelta(days=1)]
    assert all("Wednesday, December 9" in r.body and "Courtroom 9" in r.body for r in moved)
    change(store, "e1", deleted_at=NOW)
    assert plan(store) == planner.PlanCounts(cancelled=2, entries=1)
    assert {(r.state, r.reason) for r in planned(store, "e1")} == {
        ("cancelled", "the calendar entry was deleted in the CMS")
    }


def test_an_entry_the_rules_no_longer_match_is_cancelled_and_scheduled_again_when_they_do(store: Engine) -> None:
    entry(store, "e1", starts_at=HEARING)
    plan(store)
    change(store, "e1", event_type="Deposition")
    assert plan(store) == planner.PlanCounts(cancelled=2, entries=1)
    assert {r.reason for r in planned(store, "e1")} == {planner.NO_RULE}
    change(store, "e1", event_type="court date")
    assert plan(store) == planner.PlanCounts(planned=2, entries=1)
    assert [s[1:] for s in states(store, "e1")] == [
        ("scheduled", TWO_DAYS_BEFORE, None),
        ("scheduled", MORNING_OF, None),
    ]


def test_a_time_already_past_is_not_planned_and_entries_without_a_reminder_plan_nothing(store: Engine) -> None:
    tomorrow = NOW + timedelta(days=1)  # 2 days before is gone; the morning of is still ahead
    entry(store, "soon", starts_at=tomorrow)
    entry(store, "closed", matter="102", starts_at=HEARING)  # Jane's estate matter is closed
    entry(store, "unfiled", matter=None, starts_at=HEARING)
    entry(store, "deposition", event_type="Deposition", starts_at=HEARING)
    assert plan(store) == planner.PlanCounts(planned=1, entries=4)
    assert [r.moment for r in planned(store)] == ["the day of at 08:00"]


def test_a_client_with_no_number_to_text_from_is_counted(store: Engine) -> None:
    entry(store, "e1", starts_at=HEARING)
    assert plan(store, MATTERLINE_FIRM_NUMBERS="") == planner.PlanCounts(no_number=1, entries=1)
    assert planned(store) == []


def _many(engine: Engine, count: int, first: int = 0) -> None:
    rows = [
        {
            "cms_id": f"bulk{n}",
            "matter_cms_id": ("101", "201", "202")[n % 3],
            "event_type": "Hearing",
            "location": "Room 1",
            "starts_at": HEARING + timedelta(hours=n),
            "all_day": False,
            "fingerprint": "f" * 40,
            "synced_at": NOW,
            "needs_plan": True,
        }
        for n in range(first, first + count)
    ]
    with engine.begin() as conn:
        conn.execute(insert(calendar_entries), rows)


def test_a_batch_reads_the_store_as_often_for_sixty_entries_as_for_three(store: Engine) -> None:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    _many(store, 3)
    plan(store)  # the first read of the saved rules looks the table up once per engine; not counted
    event.listen(store, "before_cursor_execute", count)
    try:
        _many(store, 3, first=3)
        statements.clear()
        plan(store)
        few = len(statements)
        _many(store, 60, first=6)
        statements.clear()
        counts = plan(store)
    finally:
        event.remove(store, "before_cursor_execute", count)
    assert counts == planner.PlanCounts(planned=120, entries=60)
    assert len(statements) == few


@pytest.mark.postgres
def test_two_planners_at_once_plan_each_entry_once(store: Engine) -> None:
    if store.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: planners never run at once")
    _many(store, 120)
    results: list[planner.PlanCounts] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(planner.plan(store, settings(), now=NOW, batch=10))
        except BaseException as exc:  # a duplicate plan would fail on the unique (entry, rule, moment)
            errors.append(exc)

    workers = [threading.Thread(target=run) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert sum(r.entries for r in results) == 120
    assert sum(r.planned for r in results) == 240
    assert len(planned(store)) == 240
