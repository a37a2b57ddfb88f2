"""The worker: one loop for everything that happens outside a request.

Each round takes in the texts the webhook stored (thread, filing, audit), plans calendar reminders and queues
the due ones, sends the texts that are due, fetches CMS records that webhooks announced, keeps the CMS webhook
subscriptions alive, and signs a daily checkpoint of the audit log. `--once` runs one round; `--drain` keeps
going through retries until only dead letters (or work scheduled for later than the drain allows) are left.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Engine, func, select

from connector import logs
from connector.cms.client import CmsClient
from connector.cms.in_force import mapping_in_force
from connector.compliance import audit, retention
from connector.const import AUDIT_CHECKPOINT_EVERY, DRAIN_HORIZON, LOGGER, PURGE_EVERY, RENEW_EVERY, REPLY_ALERTS_EVERY
from connector.jobs import kinds
from connector.jobs.registry import HANDLERS
from connector.messaging import intake, replies
from connector.messaging.sender import ClientFactory, SendCounts, make_client
from connector.redaction import describe
from connector.reminders.run import RunCounts
from connector.reminders.run import run as run_reminders
from connector.settings import Settings
from connector.store.engine import utcnow
from connector.store.tables import outbox, pending_refresh
from connector.sync.subscriptions import renew
from connector.sync.syncer import Syncer
from connector.writeback import windows, writer
from mappings.model import Mapping

T = TypeVar("T")


@dataclass
class Round:
    """What one round did."""

    taken_in: int = 0
    # Client texts left unanswered past the firm's limit that got their one alert this round.
    reply_alerts: int = 0
    # What the reminders step planned and queued (None when it failed or did not run).
    reminders: RunCounts | None = None
    # What each kind of outbox job did (the handler's counts), by kind.
    jobs: dict[str, Any] = field(default_factory=dict)
    windows: int = 0
    refreshed: int = 0
    renewals: list[str] = field(default_factory=list)
    purged: int | None = None
    checkpoint: int | None = None  # the audit checkpoint signed this round
    # Steps that failed this round, each "step: error"; the others ran.
    errors: list[str] = field(default_factory=list)

    @property
    def sends(self) -> SendCounts:
        """What sending texts did this round."""
        found: SendCounts = self.jobs.get(kinds.SEND) or SendCounts()
        return found

    @property
    def writes(self) -> writer.WriteCounts:
        """What writing records to the CMS did this round."""
        found: writer.WriteCounts = self.jobs.get(kinds.WRITE) or writer.WriteCounts()
        return found


def round_counts(result: Round) -> dict[str, int]:
    """What a round did, flat and without the zeros, for its log line: `taken_in=2 sms_send.sent=1 errors=1`."""
    counts: dict[str, int] = {}

    def add(name: str, value: Any) -> None:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            for item in dataclasses.fields(value):
                add(f"{name}.{item.name}", getattr(value, item.name))
        elif isinstance(value, int) and value:
            counts[name] = int(value)

    add("taken_in", result.taken_in)
    add("reply_alerts", result.reply_alerts)
    add("reminders", result.reminders)
    for kind, outcome in result.jobs.items():
        add(kind, outcome)
    add("windows", result.windows)
    add("refreshed", result.refreshed)
    add("renewals", len(result.renewals))
    add("purged", result.purged or 0)
    add("checkpoints", int(result.checkpoint is not None))
    add("errors", len(result.errors))
    return counts


class Worker:
    """Holds the long-lived pieces; `round()` does one pass."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        cms_client: Callable[[], CmsClient],
        *,
        twilio: ClientFactory = make_client,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self._cms_client = cms_client
        self._twilio_factory = twilio
        self._renewed_at: float | None = None
        self._purged_at: float | None = None
        self._alerted_at: float | None = None

    @property
    def mapping(self) -> Mapping:
        """The field mapping in force this round: an admin's saved override applies without a restart."""
        return mapping_in_force(self.settings, self.engine)

    def cms_client(self) -> CmsClient:
        """The CMS client (built on first use)."""
        return self._cms_client()

    def twilio(self) -> ClientFactory:
        """How the sender makes its Twilio client."""
        return self._twilio_factory

    def _cms_configured(self) -> bool:
        s = self.settings
        return bool(s.cms_access_token or (s.cms_refresh_token and s.cms_client_id))

    def round(self) -> Round:
        """One pass: take texts in, run each kind of job, close windows, refresh, renew and purge when due.

        Each step runs on its own: one that fails (a CMS that is down, a bug) is logged and reported in
        `Round.errors`, and the steps after it still run, so a failing write-back never stops texts.
        """
        started = time.perf_counter()
        result = Round()
        result.taken_in = self._step(result, "intake", lambda: intake.drain(self.engine, self.settings), 0)
        # Right after intake and before the handlers, so a reminder queued this round is sent this round.
        result.reminders = self._step(
            result, "reminders", lambda: run_reminders(self.engine, self.settings, utcnow()), None
        )
        # Before the handlers too, so an alert's CMS task is written this round.
        result.reply_alerts = self._step(result, "reply alerts", self._alert_overdue, 0)
        for kind, handler in HANDLERS.items():
            if kind == kinds.WRITE:
                # Windows that closed this round are written in the same round.
                result.windows = self._step(result, "windows", self._close_windows, 0)
            if not handler.needs_cms or self._cms_configured():
                outcome = self._step(result, kind, partial(handler.run, self), None)
                if outcome is not None:
                    result.jobs[kind] = outcome
        self._step(result, "refresh", lambda: self._refresh(result), None)
        self._step(result, "renew", lambda: self._renew(result), None)
        self._step(result, "purge", lambda: self._purge(result), None)
        self._step(result, "audit checkpoint", lambda: self._checkpoint(result), None)
        done = round_counts(result)
        # INFO only when the round did something, so an idle worker polling every few seconds stays quiet.
        level = logging.INFO if done else logging.DEBUG
        logs.log_event(LOGGER, level, "worker.round", ms=round((time.perf_counter() - started) * 1000, 1), **done)
        return result

    def _step(self, result: Round, name: str, step: Callable[[], T], failed: T) -> T:
        """Run one step; when it fails, log it, report it in `result.errors`, and answer `failed`."""
        try:
            return step()
        except Exception as exc:  # one failing step must not stop the others
            LOGGER.exception("worker.step_failed step=%s", name)
            result.errors.append(f"{name}: {describe(exc)}")
            return failed

    def _alert_overdue(self) -> int:
        if self._alerted_at is not None and time.monotonic() - self._alerted_at < REPLY_ALERTS_EVERY.total_seconds():
            return 0
        self._alerted_at = time.monotonic()
        return replies.alert_overdue(self.engine, self.settings, now=utcnow())

    def _close_windows(self) -> int:
        return len(windows.close_due(self.engine, self.settings))

    def _refresh(self, result: Round) -> None:
        with self.engine.connect() as conn:
            announced = conn.execute(select(func.count()).select_from(pending_refresh)).scalar_one()
        if announced:
            syncer = Syncer(
                self.engine,
                self._cms_client(),
                self.mapping,
                default_region=self.settings.default_region,
                progress=False,
            )
            result.refreshed = syncer.refresh_pending().fetched

    def _renew(self, result: Round) -> None:
        due = self._renewed_at is None or time.monotonic() - self._renewed_at >= RENEW_EVERY.total_seconds()
        if due and self.mapping.webhooks is not None and self.settings.public_url and self._cms_configured():
            actions = renew(
                self.engine,
                self._cms_client(),
                self.mapping,
                public_url=self.settings.public_url,
                secret_key=self.settings.secret_key,
            )
            result.renewals = [f"{a.model}: {a.action}" for a in actions if a.action != "current"]
            self._renewed_at = time.monotonic()

    def _purge(self, result: Round) -> None:
        if self._purged_at is None or time.monotonic() - self._purged_at >= PURGE_EVERY.total_seconds():
            self._purged_at = time.monotonic()  # a failing purge waits for tomorrow, not the next round
            result.purged = retention.purge(self.engine, self.settings, actor="worker").purged

    def _checkpoint(self, result: Round) -> None:
        # Due by the store's own clock, so rounds of `worker --once` from cron sign one a day too.
        if audit.checkpoint_due(self.engine, AUDIT_CHECKPOINT_EVERY):
            result.checkpoint = audit.checkpoint(self.engine, actor="worker").id

    def next_due_in(self) -> float | None:
        """Seconds until the next pending text or CMS write is due (0 when one is due now); None when none is."""
        running = [kind for kind, handler in HANDLERS.items() if not handler.needs_cms or self._cms_configured()]
        with self.engine.connect() as conn:
            soonest = conn.execute(
                select(func.min(outbox.c.next_attempt_at)).where(
                    outbox.c.state == "pending", outbox.c.kind.in_(running)
                )
            ).scalar()
        if soonest is None:
            return None
        wait: float = max(0.0, (soonest - utcnow()).total_seconds())
        return wait

    def drain(
        self, *, sleep: Callable[[float], None] = time.sleep, on_round: Callable[[Round], None] | None = None
    ) -> None:
        """Run rounds until nothing is pending within the drain horizon."""
        while True:
            result = self.round()
            if on_round is not None:
                on_round(result)
            wait = self.next_due_in()
            if wait is None or wait > DRAIN_HORIZON.total_seconds():
                return
            sleep(min(wait, 5.0) if wait > 0 else 0.05)
