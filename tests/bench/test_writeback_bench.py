"""Write-back benchmarks (run with `make bench`); each prints figures and a ratio against a same-run baseline.

Targets (issue 4):
- with the sandbox enforcing 50 requests per minute (window compressed here), write-back runs at 95% or
  more of the allowed rate with at most one 429;
- with no rate limit, one worker writes at least 200 jobs a second to the local sandbox;
- with 30% of CMS calls failing in mixed ways, 1,000 windows end as exactly 1,000 transcripts and 1,000
  summaries, with no duplicates and nothing lost.

The write-back runs in this process through `connector.writeback.writer.run_due` (the worker's write step), so
the figures measure write-back, not process start-ups; tests/test_writeback_crash.py drives the real
`matterline worker --drain` processes.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine, func, select

from connector.cms.connect import build_client
from connector.messaging import intake, reception
from connector.messaging.filing import LIVE_STATUSES
from connector.retry import CMS_CALLS, RetryPolicy
from connector.sandbox import DEFAULT_TOKEN
from connector.settings import Settings, load_settings
from connector.store import make_engine, upgrade
from connector.store.engine import utcnow
from connector.store.tables import contact_phones, contacts, matters, outbox, writebacks
from connector.sync.syncer import Syncer
from connector.writeback import windows
from connector.writeback.writer import WriteCounts, run_due
from mappings import load_mapping
from tests.bench.test_sync_bench import ideal_seconds
from tests.support.firm import inbound_form
from tests.support.firm import settings as firm_settings
from tests.support.sandbox_process import control, sandbox_process
from tests.writeback.test_writer_crash import add_jobs, assert_each_written_once, cms_markers, pending_jobs

pytestmark = pytest.mark.bench

CLIO = load_mapping("clio")
# In the failures run every failed call goes back to the outbox (its own retry path, the one that can
# duplicate or lose) instead of being retried inside the client with real sleeps.
NO_CLIENT_RETRY = RetryPolicy(max_attempts=1)


def _settings(base_url: str, db: Path) -> Settings:
    return load_settings(
        {
            "MATTERLINE_DATABASE_URL": f"sqlite:///{db}",
            "MATTERLINE_CMS_BASE_URL": base_url,
            "MATTERLINE_CMS_ACCESS_TOKEN": DEFAULT_TOKEN,
        },
        env_file=None,
    )


def _store(base_url: str, db: Path) -> tuple[Settings, Engine]:
    settings = _settings(base_url, db)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    Syncer(engine, build_client(settings, CLIO, engine), CLIO, progress=False).run(full=True)
    return settings, engine


def _drain(
    engine: Engine, settings: Settings, *, limit: int, policy: RetryPolicy = CMS_CALLS
) -> tuple[WriteCounts, float]:
    """One `run_due` over every due job with one client, as one worker round would; (counts, seconds)."""
    client = build_client(settings, CLIO, engine, policy=policy)
    started = time.perf_counter()
    counts = run_due(engine, settings, CLIO, client, limit=limit)
    return counts, time.perf_counter() - started


def _bare_posts(base_url: str, count: int, matter: str) -> float:
    """Baseline: the same POSTs (half communications, half notes) in a bare `requests` loop, no store."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {DEFAULT_TOKEN}"
    started = time.perf_counter()
    for i in range(count):
        marker = f"mlbare-{uuid.uuid4().hex[:8]}-{i}"
        if i % 2 == 0:
            data = {
                "type": "PhoneCommunication",
                "subject": f"SMS transcript [{marker}]",
                "body": "09:14 Jane: hello",
                "date": "2024-05-01",
                "received_at": "2024-05-01T09:14:00+00:00",
                "matter": {"id": int(matter)},
                "external_properties": [{"name": "matterline_key", "value": marker}],
            }
            path = "/communications.json"
        else:
            data = {
                "type": "Matter",
                "matter": {"id": int(matter)},
                "subject": f"SMS summary [{marker}]",
                "detail": "09:14 Jane: hello",
                "detail_text_type": "plain_text",
                "date": "2024-05-01",
            }
            path = "/notes.json"
        response = session.post(f"{base_url}{path}", params={"fields": "id,subject,date"}, json={"data": data})
        response.raise_for_status()
    return time.perf_counter() - started


def test_unlimited_write_back_throughput(tmp_path: Path) -> None:
    """One worker's write step against the local sandbox with no rate limit: target >= 200 jobs/s."""
    jobs = 1_000
    with sandbox_process(40, 20, "--seed", "3") as base_url:
        settings, engine = _store(base_url, tmp_path / "throughput.db")
        kinds = add_jobs(engine, jobs, f"mltp{uuid.uuid4().hex[:6]}-")
        assert len(kinds) == jobs
        with engine.connect() as conn:
            matter = str(conn.execute(select(writebacks.c.matter_cms_id).limit(1)).scalar_one())
        bare = _bare_posts(base_url, jobs, matter)
        counts, seconds = _drain(engine, settings, limit=jobs)
        rate, bare_rate = counts.written / seconds, jobs / bare
        print()
        print(f"baseline: {jobs} bare POSTs with requests, no store: {bare:.2f}s ({bare_rate:,.0f}/s)")
        print(f"write-back, no rate limit, one worker (SQLite store): {counts.written} written in {seconds:.2f}s")
        print(f"  {rate:,.0f} jobs/s (target >= 200); ratio write-back/baseline throughput {rate / bare_rate:.2f}")
        assert counts.written == jobs  # the figure is printed beside its baseline; no timed assert


def test_rate_limited_write_back_keeps_to_the_allowed_pace(tmp_path: Path) -> None:
    """50 requests a minute, the window compressed twelve-fold: >= 95% of the allowed rate, <= one 429."""
    limit, window, jobs = 50, 5.0, 200
    with sandbox_process(40, 20, "--seed", "3") as base_url:
        settings, engine = _store(base_url, tmp_path / "rate.db")
        add_jobs(engine, 20, f"mlwarm{uuid.uuid4().hex[:6]}-")
        warm, warm_seconds = _drain(engine, settings, limit=20)
        per_request = warm_seconds / max(1, warm.written)
        add_jobs(engine, jobs, f"mlrl{uuid.uuid4().hex[:6]}-")
        control(base_url, "rate_limit", {"limit": limit, "window_seconds": window})
        before = control(base_url, "stats")
        started = time.time()
        counts, seconds = _drain(engine, settings, limit=jobs)
        after = control(base_url, "stats")
        limited = after["rate_limited"] - before["rate_limited"]
        made = after["total_requests"] - before["total_requests"]
        ideal = ideal_seconds(made, started, limit, int(window), per_request)
        share = ideal / seconds
        print()
        print(f"baseline, no limit: {per_request * 1000:.1f} ms per write")
        print(
            f"rate-limited write-back ({limit} per {window:.0f}s window): {counts.written} written, "
            f"{made} requests in {seconds:.2f}s, {limited} answered 429, {counts.retried} to retry"
        )
        print(
            f"  ideal pace {limit / window:.1f} req/s; ideal fixed-window schedule {ideal:.2f}s; "
            f"achieved {made / seconds:.2f} req/s = {share:.1%} of the allowed rate (target >= 95%)"
        )
        assert limited <= 1
        assert share >= 0.95
        assert pending_jobs(engine) == 0


def due_jobs(engine: Engine) -> int:
    """Pending write-back jobs due now."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(outbox)
                .where(outbox.c.state == "pending", outbox.c.next_attempt_at <= utcnow())
            ).scalar_one()
        )


def writeback_rows(engine: Engine, markers: list[str]) -> list[dict[str, object]]:
    """The rows (with their job's attempts) behind some markers, to show how a duplicate came about."""
    with engine.connect() as conn:
        rows = conn.execute(select(writebacks).where(writebacks.c.marker.in_(markers))).all()
        jobs = {r.idempotency_key: r.attempts for r in conn.execute(select(outbox)).all()}
    return [
        {
            "marker": r.marker,
            "kind": r.kind,
            "state": r.state,
            "ambiguous": r.ambiguous,
            "attempts": jobs.get(f"wb:{r.id}"),
            "last_error": (r.last_error or "")[:160],
        }
        for r in rows
    ]


FAULT_MIX = (
    {"kind": "status", "status": 500},
    {"kind": "status", "status": 503},
    {"kind": "rate_limit", "retry_after": 0},
    {"kind": "drop"},
    {"kind": "applied_lost"},
    {"kind": "slow", "delay": 0.2},
)


def close_windows(engine: Engine, settings: Settings, count: int) -> dict[str, str]:
    """`count` real conversations, taken in, filed and closed as the worker does; marker -> kind.

    Each comes from a client with one live matter (so the filing chain files it without staff): two texts
    in through the webhook's insert, intake files them, and an hour later `close_due` closes the windows
    and queues one transcript and one summary each.
    """
    live = (
        select(matters.c.client_cms_id, func.count().label("n"))
        .where(matters.c.status.in_(LIVE_STATUSES), matters.c.deleted_at.is_(None))
        .group_by(matters.c.client_cms_id)
        .subquery()
    )
    unshared = (
        select(contact_phones.c.e164)
        .where(contact_phones.c.e164.is_not(None))
        .group_by(contact_phones.c.e164)
        .having(func.count() == 1)
    )
    with engine.connect() as conn:
        phones = (
            conn.execute(
                select(func.min(contact_phones.c.e164))
                .join(contacts, contacts.c.id == contact_phones.c.contact_id)
                .join(live, live.c.client_cms_id == contacts.c.client_key)
                .where(live.c.n == 1, contacts.c.is_client, contacts.c.deleted_at.is_(None))
                .where(contact_phones.c.e164.in_(unshared))
                .group_by(contacts.c.id)
                .order_by(contacts.c.id)
            )
            .scalars()
            .all()
        )
    assert len(phones) >= count, f"the sandbox firm has only {len(phones)} clients with one live matter"
    start = utcnow() - timedelta(hours=2)
    batch = [
        reception.parse(inbound_form(phone, text), settings)
        for phone in phones[:count]
        for text in ("Did you get the documents I sent?", "Can you call me tomorrow at 3pm?")
    ]
    with engine.begin() as conn:
        reception.receive_many(conn, batch, settings, start)
    intake.drain(engine, settings)
    closed = windows.close_due(engine, settings, now=utcnow())
    assert [c.messages for c in closed] == [2] * count, "every conversation is one filed window of two texts"
    with engine.connect() as conn:
        return dict(conn.execute(select(writebacks.c.marker, writebacks.c.kind)).all())


@pytest.mark.timeout(1800)
def test_thirty_percent_failures_end_with_each_record_once(tmp_path: Path) -> None:
    """~30% of CMS calls fail in mixed ways; 1,000 closed windows land as 1,000 transcripts and 1,000 summaries.

    The windows are real: texts in, filed by intake, closed by `close_due`. Before every round, faults are
    armed for ~30% of the jobs due in it, on reads and writes of both endpoints (injected 429s ask for a
    0 s wait); retries wait out their real backoff.
    """
    conversations, per_round = 1_000, 200
    rng = random.Random(4)
    with sandbox_process(8_000, 7_000, "--seed", "3") as base_url:
        _, engine = _store(base_url, tmp_path / "faults.db")
        settings = firm_settings(
            MATTERLINE_DATABASE_URL=f"sqlite:///{tmp_path / 'faults.db'}",
            MATTERLINE_CMS_BASE_URL=base_url,
            MATTERLINE_CMS_ACCESS_TOKEN=DEFAULT_TOKEN,
        )
        kinds = close_windows(engine, settings, conversations)
        prefix = "ml-"
        before = control(base_url, "stats")
        started = time.perf_counter()
        armed: Counter[str] = Counter()
        rounds = 0
        totals = WriteCounts()
        while pending_jobs(engine) and rounds < 2_000:
            due = due_jobs(engine)
            if not due:
                time.sleep(0.25)  # retries wait out their real backoff
                continue
            rounds += 1
            for _ in range(round(0.3 * min(due, per_round))):
                fault = dict(rng.choice(FAULT_MIX))
                path = rng.choice(("/communications.json", "/notes.json"))
                control(base_url, "faults", {**fault, "method": "*", "path": path})
                armed[str(fault.get("status", fault["kind"]))] += 1
            counts, _ = _drain(engine, settings, limit=per_round, policy=NO_CLIENT_RETRY)
            for name in ("written", "adopted", "retried", "dead"):
                setattr(totals, name, getattr(totals, name) + getattr(counts, name))
        requests.delete(f"{base_url.split('/api/v4')[0]}/_sandbox/faults", timeout=30).raise_for_status()
        seconds = time.perf_counter() - started
        after = control(base_url, "stats")
        communications, notes = cms_markers(base_url, prefix)
        calls = after["total_requests"] - before["total_requests"]
        fired = after["faults_fired"] - before["faults_fired"]
        print()
        print(f"{conversations} closed windows: {Counter(kinds.values())}")
        print(f"  faults armed {dict(armed)}; fired {fired} of {calls} CMS calls ({fired / calls:.1%})")
        print(
            f"  {rounds} rounds in {seconds:.1f}s: {totals.written} written, {totals.adopted} adopted after an "
            f"ambiguous failure, {totals.retried} retries, {totals.dead} dead"
        )
        print(
            f"  sandbox holds {sum(communications.values())} transcripts ({len(communications)} distinct) and "
            f"{sum(notes.values())} summaries ({len(notes)} distinct)"
        )
        duplicated = sorted(m for m, n in (communications + notes).items() if n > 1)
        for row in writeback_rows(engine, duplicated[:5]):
            print(f"  duplicated: {row}")
        assert_each_written_once(engine, base_url, kinds, prefix)
        assert sum(communications.values()) == sum(notes.values()) == conversations
