"""The fault run for sending (`make bench`, issue 10): texts sent once, never after a STOP, never lost.

On PostgreSQL (MATTERLINE_TEST_DATABASE_URL): texts are queued through the real send service to a few
hundred consenting recipients, then `matterline worker` processes send them through the Twilio stand-in
over real HTTP while
- each worker is killed with SIGKILL at random moments and started again (for the first
  FAULTBENCH_KILL_SECONDS, then the queue is left to drain, within FAULTBENCH_DEADLINE);
- about 30% of Twilio creates fail in mixed ways: a create held longer than the sender's 15 s timeout
  and made after it gave up (the lease, `connector.const.LEASE`, has no setting to shorten it, so the
  hold is measured against the sender's timeout instead), a create made with its answer lost, a 500/503
  before anything is made, and slow answers inside the timeout;
- 10% of the recipients text STOP mid-run (half "STOP", half "please stop texting me") to Matterline's
  webhook, served by waitress in its own process and signed as Twilio signs; each answer's 200 is timed.

The stand-in is the witness: it records every message it made, with the moment. Three figures, goal 0/0/0:
texts created more than once, texts created after their recipient's STOP was answered, and texts lost
(neither created nor marked blocked or failed with a reason). They are printed, not asserted: today's
figures are the "before" evidence. Sizes are environment variables (see `RunSizes.from_env`).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import quote

import pytest
import requests
from sqlalchemy import Engine, func, select, text

from connector import services
from connector.const import LEASE, TWILIO_TIMEOUT, UNSENT_STATUSES
from connector.jobs import kinds
from connector.sandbox import twilio_fault
from connector.settings import Settings
from connector.staff.users import Actor
from connector.store import make_engine, upgrade
from connector.store.engine import utcnow
from connector.store.tables import messages, outbox
from tests.bench.test_webhook_bench import served
from tests.bench.witness import Created, WitnessServer, WitnessState, creates_by_body
from tests.support.firm import FIRM_NUMBER, PUBLIC_URL, TWILIO_SID, TWILIO_TOKEN, inbound_form, signed
from tests.support.firm import settings as firm_settings

pytestmark = pytest.mark.bench

PG_URL = os.environ.get("MATTERLINE_TEST_DATABASE_URL")
SMS_PATH = "/webhooks/twilio/sms"
AREA_CODES = ("212", "312", "415", "617", "713", "206", "303", "404")
STOP_WORDS = ("STOP", "please stop texting me")
# A create held this long is made after the sender (timeout TWILIO_TIMEOUT) has given up on it.
TIMEOUT_HOLD = TWILIO_TIMEOUT + 5.0


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


@dataclass(frozen=True, slots=True)
class RunSizes:
    """The run's sizes; the defaults are the issue's (2,000 texts, 4 workers, 30% failures, 10% STOPs)."""

    texts: int
    recipients: int
    workers: int
    failure_rate: float
    stop_share: float
    kill_seconds: float
    kill_every: tuple[float, float]
    deadline: float
    slow: float
    seed: int

    @classmethod
    def from_env(cls) -> RunSizes:
        """FAULTBENCH_TEXTS, _RECIPIENTS, _WORKERS, _FAILURE, _STOPS, _KILL_SECONDS, _KILL_MIN/_MAX, _DEADLINE,
        _SLOW (seconds a slow answer takes), _SEED."""
        return cls(
            texts=_env_int("FAULTBENCH_TEXTS", 2_000),
            recipients=_env_int("FAULTBENCH_RECIPIENTS", 300),
            workers=_env_int("FAULTBENCH_WORKERS", 4),
            failure_rate=_env_float("FAULTBENCH_FAILURE", 0.30),
            stop_share=_env_float("FAULTBENCH_STOPS", 0.10),
            kill_seconds=_env_float("FAULTBENCH_KILL_SECONDS", 60.0),
            kill_every=(_env_float("FAULTBENCH_KILL_MIN", 5.0), _env_float("FAULTBENCH_KILL_MAX", 25.0)),
            deadline=_env_float("FAULTBENCH_DEADLINE", 420.0),
            slow=_env_float("FAULTBENCH_SLOW", 1.0),
            seed=_env_int("FAULTBENCH_SEED", 10),
        )


@dataclass(frozen=True, slots=True)
class FaultShare:
    """One way a create fails, and the share of all creates that fail that way."""

    name: str
    kind: str
    share: float
    status: int = 500
    delay: float = 0.0


def fault_mix(sizes: RunSizes) -> list[FaultShare]:
    """~`failure_rate` of creates fail in mixed ways.

    Held-past-the-timeout creates are the rarest share: each one holds a worker for the full 15 s.
    """
    rate = sizes.failure_rate
    return [
        FaultShare("held past the timeout, then made", "slow", 0.10 * rate, delay=TIMEOUT_HOLD),
        FaultShare("made, answer lost", "applied_lost", 0.30 * rate),
        FaultShare("500", "status", 0.15 * rate, status=500),
        FaultShare("503", "status", 0.15 * rate, status=503),
        FaultShare(f"slow ({sizes.slow:g}s)", "slow", 0.30 * rate, delay=sizes.slow),
    ]


def arm(state: WitnessState, sizes: RunSizes) -> None:
    """Arm the mix on creates: each armed fault is tried in turn, so each draws its share of what is left."""
    left = 1.0
    for index, way in enumerate(fault_mix(sizes)):
        if way.share <= 0:
            continue
        probability = min(1.0, way.share / left)
        fault = twilio_fault(
            way.kind, times=10**9, status=way.status, delay=way.delay, probability=probability, seed=sizes.seed + index
        )
        state.faults.add(fault)
        left -= way.share


# -- the store, the recipients, the queue ----------------------------------------------------------------


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A schema of its own on the PostgreSQL server, dropped afterwards.

    Its sessions commit without waiting for the server's fsync: the run kills workers, never the database,
    so that durability is not what it measures, and a shared two-core machine is spared the waits.
    """
    if not PG_URL:
        pytest.skip("the fault run needs PostgreSQL (four workers share one queue): set MATTERLINE_TEST_DATABASE_URL")
    schema = f"fb_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options={quote(f'-csearch_path={schema} -csynchronous_commit=off')}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def recipients(count: int, rng: random.Random) -> list[str]:
    """`count` distinct, valid US mobile-style numbers."""
    numbers: set[str] = set()
    while len(numbers) < count:
        numbers.add(f"+1{rng.choice(AREA_CODES)}{rng.randint(200, 989)}{rng.randint(0, 9999):04d}")
    return sorted(numbers)


def queue_texts(engine: Engine, settings: Settings, phones: list[str], sizes: RunSizes, tag: str) -> dict[str, int]:
    """Consent for every recipient, then `sizes.texts` texts through the send service; body -> message id."""
    actor = Actor("bench")
    for phone in phones:
        services.consents.record(engine, settings, phone, method="engagement_letter", actor=actor)
    rng = random.Random(sizes.seed)
    queued: dict[str, int] = {}
    for n in range(sizes.texts):
        body = f"Your case file is ready to review, item {tag}-{n:05d}"
        queued[body] = services.messages.send(engine, settings, to=rng.choice(phones), body=body, actor=actor).id
    return queued


def pending_sends(engine: Engine) -> int:
    """Send jobs neither done nor dead (the run's own texts and any confirmation a STOP queued)."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(outbox).where(outbox.c.kind == kinds.SEND, outbox.c.state == "pending")
            ).scalar_one()
        )


def still_pending(engine: Engine) -> list[str]:
    """Why send jobs are still pending: leased or waiting (and how long), by attempts, and their last errors."""
    now = utcnow()
    with engine.connect() as conn:
        rows = conn.execute(
            select(outbox.c.attempts, outbox.c.next_attempt_at, outbox.c.leased_until, outbox.c.last_error).where(
                outbox.c.kind == kinds.SEND, outbox.c.state == "pending"
            )
        ).all()
    if not rows:
        return []
    leased = sum(1 for r in rows if r.leased_until is not None and r.leased_until > now)
    waits = [(r.next_attempt_at - now).total_seconds() for r in rows]
    errors = Counter((r.last_error or "none")[:70] for r in rows)
    return [
        f"{len(rows)} send jobs pending: {leased} under a live lease, {sum(w <= 0 for w in waits)} due now, "
        f"longest wait {max(waits):.0f}s; attempts {dict(sorted(Counter(r.attempts for r in rows).items()))}",
        *(f"    last error x{n}: {error}" for error, n in errors.most_common(3)),
    ]


def resolved_share(engine: Engine, first: int, last: int) -> float:
    """The share of the run's texts that are no longer waiting to go."""
    with engine.connect() as conn:
        waiting = conn.execute(
            select(func.count())
            .select_from(messages)
            .where(messages.c.id.between(first, last), messages.c.status.in_(UNSENT_STATUSES))
        ).scalar_one()
    return 1 - waiting / (last - first + 1)


# -- the processes ----------------------------------------------------------------------------------------


def worker_env(db_url: str, twilio_origin: str) -> dict[str, str]:
    """What a deployed worker is given: the store, the firm's number and Twilio account; nothing inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MATTERLINE_", "TWILIO_"))}
    env.update(
        MATTERLINE_DATABASE_URL=db_url,
        MATTERLINE_FIRM_NUMBERS=FIRM_NUMBER,
        MATTERLINE_FIRM_NAME="Doe & Roe LLP",
        MATTERLINE_PUBLIC_URL=PUBLIC_URL,
        MATTERLINE_QUIET_HOURS="off",
        MATTERLINE_TWILIO_API_URL=twilio_origin,
        TWILIO_ACCOUNT_SID=TWILIO_SID,
        TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
    )
    return env


class Workers:
    """`matterline worker` processes in their slots, each killed and restarted on its own random schedule."""

    def __init__(self, env: dict[str, str], count: int, logs: Path, rng: random.Random, every: tuple[float, float]):
        self._env, self._logs, self._rng, self._every = env, logs, rng, every
        self._logs.mkdir(parents=True, exist_ok=True)
        self._files: list[IO[bytes]] = []
        self.kills = 0
        self.starts = 0
        self._slots = [self._start(slot) for slot in range(count)]

    def _start(self, slot: int) -> tuple[subprocess.Popen[bytes], float]:
        log = (self._logs / f"worker-{slot}.log").open("ab")
        self._files.append(log)
        proc = subprocess.Popen(
            [sys.executable, "-m", "connector.cli", "worker", "--interval", "0.2"],
            env=self._env,
            cwd=self._logs,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        self.starts += 1
        return proc, time.monotonic() + self._rng.uniform(*self._every)

    def kill_due(self) -> None:
        """SIGKILL every worker whose moment has come, and start it again at once."""
        for slot, (proc, kill_at) in enumerate(self._slots):
            if proc.poll() is not None:  # it died on its own: start it again, and say so in the report
                self._slots[slot] = self._start(slot)
            elif time.monotonic() >= kill_at:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
                self.kills += 1
                self._slots[slot] = self._start(slot)

    def stop(self) -> None:
        """End every worker (they run until told)."""
        for proc, _ in self._slots:
            if proc.poll() is None:
                proc.terminate()
        for proc, _ in self._slots:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
        for log in self._files:
            log.close()


def text_stop(port: int, phone: str, body: str) -> float:
    """A signed inbound STOP to Matterline's webhook, as Twilio posts it; the moment its 200 was answered."""
    form = inbound_form(phone, body)
    answer = requests.post(f"http://127.0.0.1:{port}{SMS_PATH}", data=form, headers=signed(SMS_PATH, form), timeout=30)
    answered = time.time()
    assert answer.status_code == 200, f"the webhook answered {answer.status_code} to a STOP"
    return answered


# -- the figures ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figures:
    """What the witness and the store say happened to the run's texts."""

    duplicated: int
    extra_creates: int
    duplicated_after_hold: int
    after_stop: int
    after_stop_in_flight: int
    lost: int
    lost_by_status: Counter[str]
    statuses: Counter[str]
    created_but_failed: int


def figures(
    engine: Engine, queued: dict[str, int], created: list[Created], stops: dict[str, float], first: int, last: int
) -> Figures:
    """Count the three figures from the witness's record, and the final statuses from the store."""
    by_body = creates_by_body(note for note in created if note.body in queued)
    with engine.connect() as conn:
        rows = {
            r.id: r
            for r in conn.execute(
                select(messages.c.id, messages.c.status, messages.c.error_message).where(
                    messages.c.id.between(first, last)
                )
            )
        }
    duplicated = sum(1 for notes in by_body.values() if len(notes) > 1)
    extra = sum(len(notes) - 1 for notes in by_body.values() if len(notes) > 1)
    # A create the stand-in held past the sender's timeout, and made after the sender had given up on it.
    after_hold = sum(
        1
        for notes in by_body.values()
        if len(notes) > 1 and any(note.made - note.arrived > TWILIO_TIMEOUT for note in notes)
    )
    late = [note for notes in by_body.values() for note in notes if note.to in stops and note.made > stops[note.to]]
    in_flight = sum(1 for note in late if note.arrived <= stops[note.to])
    lost_by_status: Counter[str] = Counter()
    created_but_failed = 0
    for body, message_id in queued.items():
        row = rows[message_id]
        if body in by_body:
            created_but_failed += row.status in {"failed", "blocked"}
            continue
        if row.status in {"blocked", "failed"} and row.error_message:
            continue
        lost_by_status[row.status] += 1
    return Figures(
        duplicated=duplicated,
        extra_creates=extra,
        duplicated_after_hold=after_hold,
        after_stop=len(late),
        after_stop_in_flight=in_flight,
        lost=sum(lost_by_status.values()),
        lost_by_status=lost_by_status,
        statuses=Counter(rows[i].status for i in queued.values()),
        created_but_failed=created_but_failed,
    )


# -- the run ----------------------------------------------------------------------------------------------


@pytest.mark.timeout(3600)
def test_sending_through_kills_faults_and_stops(pg_url: str, tmp_path: Path) -> None:
    """The fault run; prints the three figures (goal 0/0/0), the final statuses, the kills and the wall time."""
    sizes = RunSizes.from_env()
    rng = random.Random(sizes.seed)
    engine = make_engine(pg_url)
    upgrade(engine)
    settings = firm_settings(MATTERLINE_DATABASE_URL=pg_url)
    phones = recipients(sizes.recipients, rng)
    tag = uuid.uuid4().hex[:6]
    started = time.perf_counter()
    queued = queue_texts(engine, settings, phones, sizes, tag)
    first, last = min(queued.values()), max(queued.values())
    queue_seconds = time.perf_counter() - started
    stopping = rng.sample(phones, max(1, round(sizes.stop_share * len(phones))))
    # Each STOP goes when this share of the run's texts has left the queue (or when the kills end).
    plan = sorted((rng.uniform(0.05, 0.6), phone, STOP_WORDS[i % 2]) for i, phone in enumerate(stopping))
    stops: dict[str, float] = {}

    state = WitnessState(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN, incoming_numbers=(FIRM_NUMBER,))
    arm(state, sizes)
    with WitnessServer(state) as twilio, served("matterline", pg_url) as port:
        env = worker_env(pg_url, twilio.origin)
        run_started = time.perf_counter()
        workers = Workers(env, sizes.workers, tmp_path / "workers", rng, sizes.kill_every)
        try:
            while True:
                elapsed = time.perf_counter() - run_started
                share = resolved_share(engine, first, last)
                while plan and (plan[0][0] <= share or elapsed >= sizes.kill_seconds):
                    _, phone, words = plan.pop(0)
                    stops[phone] = text_stop(port, phone, words)
                pending = pending_sends(engine)
                if not plan and pending == 0:
                    break
                if elapsed >= sizes.deadline:
                    break
                if elapsed < sizes.kill_seconds:
                    workers.kill_due()
                time.sleep(0.5)
        finally:
            workers.stop()
        run_seconds = time.perf_counter() - run_started
        settled = twilio.settle(TIMEOUT_HOLD + 5)
        created = list(state.created)
        stats = state.stats.snapshot()
    result = figures(engine, queued, created, stops, first, last)
    left = pending_sends(engine)
    diagnosis = still_pending(engine)
    engine.dispose()

    creates = stats["by_endpoint"].get("POST /Messages.json", 0)
    print()
    print(
        f"fault run: {sizes.texts} texts to {len(phones)} recipients, {sizes.workers} workers on PostgreSQL; "
        f"queued in {queue_seconds:.1f}s"
    )
    mix = ", ".join(f"{way.name} {way.share:.1%}" for way in fault_mix(sizes))
    print(f"  Twilio creates failing: {mix}")
    print(
        f"  {creates} create requests, {stats['faults_fired']} faults fired "
        f"({stats['faults_fired'] / max(1, creates):.1%}); {stats['lists']} look-ups; "
        f"the lease is {LEASE.total_seconds():.0f}s (no setting), the sender's timeout {TWILIO_TIMEOUT:.0f}s"
    )
    print(
        f"  {workers.kills} SIGKILLs in the first {sizes.kill_seconds:.0f}s ({workers.starts} worker starts); "
        f"{len(stops)} STOPs answered 200 ({len(stopping) - len(stopping) // 2} 'STOP', "
        f"{len(stopping) // 2} in words)"
    )
    drained = "drained" if left == 0 else f"NOT drained: {left} send jobs still pending at the deadline"
    print(f"  wall time {run_seconds:.1f}s ({drained}); witness settled: {settled}")
    for line in diagnosis:
        print(f"  {line}")
    print(f"  final statuses: {dict(sorted(result.statuses.items()))}")
    print(
        f"  delivered twice:  {result.duplicated} texts ({result.extra_creates} extra creates at Twilio; "
        f"{result.duplicated_after_hold} of them one held past the sender's timeout)"
    )
    print(
        f"  sent after STOP:  {result.after_stop} "
        f"({result.after_stop_in_flight} of them had reached Twilio before the STOP was answered)"
    )
    print(f"  lost:             {result.lost} {dict(result.lost_by_status) or ''}")
    print(f"  (created at Twilio yet marked failed/blocked in Matterline: {result.created_but_failed})")
    print(f"  goal 0/0/0; measured {result.duplicated}/{result.after_stop}/{result.lost}")
    assert len(stops) == len(stopping), "every STOP was answered 200"
    assert created, "the witness recorded no creates: the run proves nothing"
