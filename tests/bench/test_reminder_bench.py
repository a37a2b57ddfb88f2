"""Reminder scheduling benchmark (run with `make bench`): 10,000 calendar entries synced from the sandbox CMS
and planned into reminders, then 100 moved and 50 deleted and planned again. Prints time, CMS requests and
SQL statements, with a same-run baseline: a bare walk of the same calendar pages that stores nothing.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, event, func, select

from connector.cms.connect import build_client
from connector.reminders import planner
from connector.sandbox import DEFAULT_TOKEN
from connector.settings import load_settings
from connector.store import make_engine, upgrade
from connector.store.engine import utcnow
from connector.store.workflow_tables import calendar_entries, reminders
from connector.sync import cms_webhooks
from connector.sync.syncer import Syncer
from mappings import load_mapping
from tests.support.sandbox_process import control, sandbox_process

pytestmark = pytest.mark.bench

ENTRIES = 10_000
CALENDAR = "calendar_entries.json"
CALENDAR_KEY = "calendar_entries"
FIELDS = str(load_mapping("clio").resources[CALENDAR_KEY].params["fields"])


@contextmanager
def _statements(engine: Engine) -> Iterator[list[int]]:
    """Count the SQL statements `engine` runs inside the block."""
    seen = [0]

    def count(*_: Any) -> None:
        seen[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _calendar_requests(base_url: str) -> int:
    stats = control(base_url, "stats")
    return sum(n for key, n in stats["by_endpoint"].items() if key.startswith("GET ") and CALENDAR in key)


def _bare_walk(base_url: str) -> tuple[float, int, int]:
    """Baseline: page through /calendar_entries.json with bare requests and JSON parsing, storing nothing."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {DEFAULT_TOKEN}"
    started = time.perf_counter()
    url: str | None = f"{base_url}/{CALENDAR}"
    params: dict[str, Any] | None = {"fields": FIELDS, "limit": 200}
    records = pages = 0
    while url:
        body = session.get(url, params=params, timeout=60).json()
        pages += 1
        records += len(body["data"])
        url, params = body["meta"]["paging"].get("next"), None
    return time.perf_counter() - started, records, pages


def test_ten_thousand_calendar_entries_are_synced_and_planned(tmp_path: Path) -> None:
    with sandbox_process(24_000, 12_000, "--seed", "11", "--calendar", str(ENTRIES)) as base_url:
        settings = load_settings(
            {
                "MATTERLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'bench.db'}",
                "MATTERLINE_CMS_BASE_URL": base_url,
                "MATTERLINE_CMS_ACCESS_TOKEN": DEFAULT_TOKEN,
                "MATTERLINE_FIRM_NUMBERS": "+14155550100",
            },
            env_file=None,
        )
        mapping = load_mapping("clio")
        engine = make_engine(settings.database_url)
        upgrade(engine)
        syncer = Syncer(engine, build_client(settings, mapping, engine), mapping, progress=False)
        bare_seconds, bare_records, bare_pages = _bare_walk(base_url)

        # The calendar alone first (into the empty store), then everything else the planner reads.
        calendar_only = dataclasses.replace(mapping, resources={"calendar_entries": mapping.resources[CALENDAR_KEY]})
        before = _calendar_requests(base_url)
        started = time.perf_counter()
        fetched = (
            Syncer(engine, syncer.client, calendar_only, progress=False)
            .run(full=True)
            .to_json()[CALENDAR_KEY]["fetched"]
        )
        calendar_seconds = time.perf_counter() - started
        calendar_requests = _calendar_requests(base_url) - before
        started = time.perf_counter()
        report = syncer.run(full=True).to_json()
        sync_seconds = time.perf_counter() - started
        with _statements(engine) as statements:
            started = time.perf_counter()
            counts = planner.plan(engine, settings, now=utcnow())
            plan_seconds = time.perf_counter() - started
        with engine.connect() as conn:
            scheduled = conn.execute(
                select(func.count()).select_from(reminders).where(reminders.c.state == "scheduled")
            ).scalar_one()
            marked = conn.execute(
                select(func.count()).select_from(calendar_entries).where(calendar_entries.c.needs_plan)
            ).scalar_one()
        print()
        print(
            f"calendar sync: {fetched:,} entries in {calendar_seconds:.2f}s, {calendar_requests} requests "
            f"(minimum {math.ceil(ENTRIES / 200)}); then a full sync of the whole firm: {report['requests']} requests, "
            f"{sync_seconds:.1f}s"
        )
        print(
            f"  baseline: bare walk of the calendar pages, {bare_records:,} records, {bare_pages} pages, "
            f"{bare_seconds:.2f}s"
        )
        print(
            f"plan: {counts.entries:,} entries -> {counts.planned:,} reminders scheduled "
            f"({counts.no_number:,} entries with no number to text) in {plan_seconds:.2f}s, "
            f"{statements[0]} SQL statements; {counts.entries / plan_seconds:,.0f} entries/s"
        )
        print(
            f"  ratios against the bare walk: calendar sync {calendar_seconds / bare_seconds:.2f}, "
            f"plan {plan_seconds / bare_seconds:.2f}, "
            f"sync and plan {(calendar_seconds + plan_seconds) / bare_seconds:.2f}"
        )
        assert fetched == ENTRIES == bare_records
        assert calendar_requests <= math.ceil(ENTRIES / 200) + 1
        assert counts.entries == ENTRIES
        assert scheduled == counts.planned
        assert marked == 0

        # 100 entries move a week later and 50 are deleted in the CMS; the next incremental sync and plan.
        with engine.connect() as conn:
            rows = conn.execute(
                select(calendar_entries.c.cms_id, calendar_entries.c.starts_at, calendar_entries.c.all_day)
                .join(reminders, reminders.c.entry_cms_id == calendar_entries.c.cms_id)
                .where(reminders.c.state == "scheduled", calendar_entries.c.all_day.is_(False))
                .group_by(calendar_entries.c.cms_id, calendar_entries.c.starts_at, calendar_entries.c.all_day)
                .order_by(calendar_entries.c.cms_id)
                .limit(150)
            ).all()
        for row in rows[:100]:
            later = (row.starts_at + timedelta(days=7)).isoformat()
            control(
                base_url,
                "mutate",
                {"op": "move_calendar_entry", "args": {"entry_id": int(row.cms_id), "start_at": later}},
            )
        for row in rows[100:]:
            control(base_url, "mutate", {"op": "delete_calendar_entry", "args": {"entry_id": int(row.cms_id)}})
        before = _calendar_requests(base_url)
        started = time.perf_counter()
        incremental = syncer.run().to_json()
        # Clio lists no deletions: its "deleted" webhooks say them, applied as the CMS webhook route applies them.
        for row in rows[100:]:
            cms_webhooks.retire(engine, "calendar_entries", row.cms_id, utcnow())
        inc_sync = time.perf_counter() - started
        inc_requests = _calendar_requests(base_url) - before
        with _statements(engine) as statements:
            started = time.perf_counter()
            again = planner.plan(engine, settings, now=utcnow())
            inc_plan = time.perf_counter() - started
        print(
            f"incremental after 100 moved and 50 deleted entries: sync {inc_sync:.2f}s, calendar requests "
            f"{inc_requests} ({incremental['calendar_entries']}); plan {again.entries} entries in {inc_plan:.3f}s "
            f"({statements[0]} SQL statements): {again.moved} reminders moved, {again.cancelled} cancelled"
        )
        assert inc_requests <= 2
        assert again.entries == 150
        assert again.moved >= 100
        assert again.cancelled >= 50
        engine.dispose()
