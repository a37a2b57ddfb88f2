"""Crash safety of write-back: a worker killed with SIGKILL loses nothing and duplicates nothing.

The sandbox CMS runs in its own process, so killing a worker never takes the CMS (and its records) down
with it; workers run as `matterline worker` subprocesses against a real store (a SQLite file, and
PostgreSQL when MATTERLINE_TEST_DATABASE_URL is set), exactly as they would in production. The CMS
itself is the witness: after everything settles it must hold exactly one record per marker.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import requests
from sqlalchemy import Engine, func, insert, select, update

from connector.cms.connect import build_client
from connector.jobs.kinds import WRITE as WRITE_KIND
from connector.messaging.filing import thread_for
from connector.retry import RetryPolicy
from connector.sandbox import DEFAULT_TOKEN
from connector.settings import load_settings
from connector.store import make_engine, upgrade
from connector.store.engine import utcnow
from connector.store.tables import matters, outbox, writebacks
from connector.sync.syncer import Syncer
from connector.writeback.writer import enqueue
from mappings import load_mapping
from tests.support.sandbox_process import control, sandbox_process

CLIO = load_mapping("clio")
JOBS = 1_000
KILLS = 6
FOUR_WORKERS_JOBS = 2_000
# Settling rounds after the kills; each is a full `worker --drain` run. Generous, but bounded.
MAX_SETTLE_RUNS = 80


# -- the sandbox CMS in a process of its own ----------------------------------------------------------


@pytest.fixture
def cms() -> Iterator[str]:
    """`python -m connector.sandbox` as a child; yields its API base URL."""
    with sandbox_process(40, 20, "--seed", "11") as base_url:
        yield base_url


def _walk(base_url: str, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {DEFAULT_TOKEN}"
    url: str | None = f"{base_url}{path}"
    query: dict[str, Any] | None = {**params, "limit": 200}
    while url:
        response = session.get(url, params=query, timeout=30)
        response.raise_for_status()
        body = response.json()
        yield from body["data"]
        url, query = body["meta"]["paging"].get("next"), None


def cms_markers(base_url: str, prefix: str) -> tuple[Counter[str], Counter[str]]:
    """(communications per external-property marker, notes per subject marker) for markers with `prefix`.

    Read through the CMS API with the token, as an auditor would; records of other runs are ignored.
    """
    communications: Counter[str] = Counter()
    for record in _walk(base_url, "/communications.json", {"fields": "id,subject,external_properties{name,value}"}):
        for prop in record.get("external_properties") or ():
            if prop.get("name") == "matterline_key" and str(prop.get("value", "")).startswith(prefix):
                communications[str(prop["value"])] += 1
    notes: Counter[str] = Counter()
    for record in _walk(base_url, "/notes.json", {"type": "Matter", "fields": "id,subject"}):
        subject = str(record.get("subject") or "")
        if f"[{prefix}" in subject:
            notes[subject.rsplit("[", 1)[1].rstrip("]")] += 1
    return communications, notes


# -- the store ----------------------------------------------------------------------------------------


def worker_env(base_url: str, db_url: str) -> dict[str, str]:
    """What a deployed worker is given: the store, the CMS and its token; nothing inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATTERLINE_")}
    env.update(
        MATTERLINE_DATABASE_URL=db_url,
        MATTERLINE_CMS_BASE_URL=base_url,
        MATTERLINE_CMS_ACCESS_TOKEN=DEFAULT_TOKEN,
    )
    return env


def synced_store(base_url: str, db_url: str) -> Engine:
    """A migrated store with the sandbox firm synced in (write-back needs the matters to be live)."""
    engine = make_engine(db_url)
    upgrade(engine)
    settings = load_settings(
        {"MATTERLINE_CMS_BASE_URL": base_url, "MATTERLINE_CMS_ACCESS_TOKEN": DEFAULT_TOKEN}, env_file=None
    )
    client = build_client(settings, CLIO, engine, policy=RetryPolicy(max_attempts=1))
    Syncer(engine, client, CLIO, progress=False).run(full=True)
    return engine


def add_jobs(engine: Engine, count: int, prefix: str) -> dict[str, str]:
    """`count` write-back rows and their jobs, half transcripts and half summaries, over a few matters.

    Inserted directly (like tests/test_writeback.py does) so the test is about the worker alone.
    Returns marker -> kind.
    """
    now = utcnow()
    kinds: dict[str, str] = {}
    with engine.begin() as conn:
        live = sorted(conn.execute(select(matters.c.cms_id).where(matters.c.deleted_at.is_(None))).scalars(), key=str)[
            :5
        ]
        assert live, "the sync found no matters"
        thread = thread_for(conn, "+14155550100", "+14158675309", now).id
        for i in range(count):
            kind = "transcript" if i % 2 == 0 else "summary"
            marker = f"{prefix}{i:05d}"
            kinds[marker] = kind
            writeback_id = conn.execute(
                insert(writebacks)
                .values(
                    kind=kind,
                    thread_id=thread,
                    matter_cms_id=live[i % len(live)],
                    part=1,
                    marker=marker,
                    subject=f"SMS {kind} — Jane Doe [{marker}]",
                    body=f"09:14 Jane: message {i}",
                    state="pending",
                    ambiguous=False,
                    created_at=now,
                )
                .returning(writebacks.c.id)
            ).scalar_one()
            enqueue(conn, writeback_id, now)
    return kinds


def pending_jobs(engine: Engine) -> int:
    """Write-back jobs neither done nor dead."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(outbox).where(outbox.c.kind == WRITE_KIND, outbox.c.state == "pending")
            ).scalar_one()
        )


def stand_in_for_time(engine: Engine) -> None:
    """Make every pending write-back job takeable now.

    A SIGKILLed worker's leases would expire after outbox.LEASE (2 minutes) and retry backoff can reach
    minutes; clearing `leased_until` and moving `next_attempt_at` to now stands in for that time passing,
    so the test takes seconds. It never touches a job that is done, so it cannot hide a lost write.
    """
    with engine.begin() as conn:
        conn.execute(
            update(outbox)
            .where(outbox.c.kind == WRITE_KIND, outbox.c.state == "pending")
            .values(leased_until=None, next_attempt_at=utcnow())
        )


def states(engine: Engine) -> Counter[str]:
    """Write-back rows by state."""
    with engine.connect() as conn:
        return Counter(conn.execute(select(writebacks.c.state)).scalars())


# Each worker's log, by pid: a file, as the journal takes it. A pipe nobody reads while the test waits on
# another worker fills after a few hundred job lines and stalls the worker writing to it.
_LOGS: dict[int, IO[bytes]] = {}


def worker(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    """`matterline worker ARGS` as a child process, its log kept in a file."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by `finish`
    proc = subprocess.Popen(
        [sys.executable, "-m", "connector.cli", "worker", *args], env=env, stdout=subprocess.DEVNULL, stderr=log
    )
    _LOGS[proc.pid] = log
    return proc


def finish(proc: subprocess.Popen[bytes], timeout: float) -> str:
    """Wait for `proc` to end; what it logged."""
    proc.wait(timeout=timeout)
    with _LOGS.pop(proc.pid) as log:
        log.seek(0)
        return log.read().decode(errors="replace")


def settle(engine: Engine, env: dict[str, str]) -> int:
    """Run `worker --drain` until no write-back job is pending; returns how many runs it took."""
    for runs in range(1, MAX_SETTLE_RUNS + 1):
        stand_in_for_time(engine)
        proc = worker(env, "--drain")
        err = finish(proc, 120)
        assert proc.returncode == 0, err
        if pending_jobs(engine) == 0:
            return runs
    raise AssertionError(f"{pending_jobs(engine)} write-back jobs still pending after {MAX_SETTLE_RUNS} drains")


def assert_each_written_once(engine: Engine, base_url: str, kinds: dict[str, str], prefix: str) -> None:
    """Every row written, and the CMS holds exactly one record per marker, of the right kind, nothing else."""
    assert states(engine) == Counter({"written": len(kinds)})
    communications, notes = cms_markers(base_url, prefix)
    transcripts = {m for m, k in kinds.items() if k == "transcript"}
    summaries = {m for m, k in kinds.items() if k == "summary"}
    duplicated = sorted(m for m, n in (communications + notes).items() if n > 1)
    assert duplicated == [], f"{len(duplicated)} markers written more than once, e.g. {duplicated[:5]}"
    for kind, found, wanted in (
        ("transcripts", set(communications), transcripts),
        ("summaries", set(notes), summaries),
    ):
        assert found == wanted, f"{kind}: missing {sorted(wanted - found)[:5]}, extra {sorted(found - wanted)[:5]}"
    with engine.connect() as conn:
        recorded = conn.execute(select(func.count(func.distinct(writebacks.c.cms_record_id)))).scalar_one()
    assert recorded == len(kinds)


# -- the tests ------------------------------------------------------------------------------------------


def test_a_worker_killed_again_and_again_loses_nothing_and_duplicates_nothing(cms: str, db_url: str) -> None:
    """SIGKILL a draining worker at random moments, restart it, and check the CMS has each record once.

    Some writes are also armed to be applied by the CMS with the answer lost, so both kinds of
    ambiguity happen: the network's (the client knows it does not know) and the crash's (the process
    that knew is gone).
    """
    engine = synced_store(cms, db_url)
    prefix = f"mlk{uuid.uuid4().hex[:6]}-"
    kinds = add_jobs(engine, JOBS, prefix)
    env = worker_env(cms, db_url)
    rng = random.Random(os.environ.get("MATTERLINE_CRASH_SEED"))  # kill timing only
    kills = 0
    for _ in range(KILLS):
        for path in ("/communications.json", "/notes.json"):
            control(cms, "faults", {"kind": "applied_lost", "method": "POST", "path": path, "times": 2})
        stand_in_for_time(engine)
        # A continuous worker (rounds back to back), so every kill lands mid-drain.
        proc = worker(env, "--interval", "0")
        time.sleep(rng.uniform(0.3, 1.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        finish(proc, 30)
    written_before = states(engine)["written"]
    runs = settle(engine, env)
    print(f"\n{kills} kills with {written_before} of {JOBS} written; settled in {runs} drain runs")
    assert kills >= KILLS - 1, "the worker finished before it could be killed; the test proves nothing"
    assert written_before < JOBS, "every job was written before the last kill; the test proves nothing"
    assert_each_written_once(engine, cms, kinds, prefix)
    engine.dispose()


def test_one_drain_writes_every_due_job(cms: str, tmp_path: Path) -> None:
    """`worker --drain` promises to keep going until only dead letters are left; 200 due jobs, one run."""
    db_url = f"sqlite:///{tmp_path / 'drain.db'}"
    engine = synced_store(cms, db_url)
    add_jobs(engine, 200, f"mld{uuid.uuid4().hex[:6]}-")
    proc = worker(worker_env(cms, db_url), "--drain")
    err = finish(proc, 120)
    assert proc.returncode == 0, err
    left = pending_jobs(engine)
    engine.dispose()
    assert left == 0, f"{left} of 200 due write-back jobs left after one `worker --drain`"


@pytest.mark.postgres
def test_four_workers_on_postgresql_write_every_job_exactly_once(cms: str, db_url: str) -> None:
    """Four `worker --drain` processes share one PostgreSQL queue; SKIP LOCKED must keep them apart."""
    if not db_url.startswith("postgresql"):
        pytest.skip("four concurrent workers need PostgreSQL")
    engine = synced_store(cms, db_url)
    prefix = f"ml4w{uuid.uuid4().hex[:6]}-"
    kinds = add_jobs(engine, FOUR_WORKERS_JOBS, prefix)
    env = worker_env(cms, db_url)
    started = time.perf_counter()
    rounds = 0
    while pending_jobs(engine) and rounds < MAX_SETTLE_RUNS:
        rounds += 1
        procs = [worker(env, "--drain") for _ in range(4)]
        for proc in procs:
            err = finish(proc, 300)
            assert proc.returncode == 0, err
    seconds = time.perf_counter() - started
    print(f"\nfour workers on PostgreSQL: {FOUR_WORKERS_JOBS} jobs in {seconds:.1f}s over {rounds} drain rounds")
    assert_each_written_once(engine, cms, kinds, prefix)
    engine.dispose()


@pytest.mark.parametrize("path", ["/communications.json", "/notes.json"])
def test_a_429_on_the_lookup_keeps_the_write_ambiguous(cms: str, tmp_path: Path, path: str) -> None:
    """Applied but the answer lost, then the lookup is refused with a 429: the record must still land once."""
    from connector.writeback.writer import run_due

    db_url = f"sqlite:///{tmp_path / 'lookup.db'}"
    engine = synced_store(cms, db_url)
    prefix = f"mll{uuid.uuid4().hex[:6]}-"
    kinds = add_jobs(engine, 2, prefix)
    settings = load_settings(
        {"MATTERLINE_CMS_BASE_URL": cms, "MATTERLINE_CMS_ACCESS_TOKEN": DEFAULT_TOKEN}, env_file=None
    )
    client = build_client(settings, CLIO, engine, policy=RetryPolicy(max_attempts=1))
    control(cms, "faults", {"kind": "applied_lost", "method": "POST", "path": path})
    control(cms, "faults", {"kind": "rate_limit", "method": "GET", "path": path, "retry_after": 0})
    for _ in range(4):
        stand_in_for_time(engine)
        run_due(engine, settings, CLIO, client)
    assert_each_written_once(engine, cms, kinds, prefix)
    engine.dispose()
