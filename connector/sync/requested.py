"""Syncs an admin asked for ("Sync now"): outbox jobs the worker runs, so a web request never waits on the CMS.

The request is a `cms_sync` job carrying who asked; the worker leases it, runs the same `Syncer` as
`matterline sync`, and records what the run did (its counts per resource, the unreadable phone numbers,
the CMS's rate-limit window as last seen) in an audit entry written with the job's completion, so the
connection page can show "done: N fetched" for that request and the counts of the last run per resource.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from connector import logs
from connector.cms.client import CmsClient
from connector.cms.errors import CmsError, RetryableError
from connector.compliance import audit
from connector.jobs import kinds, outbox
from connector.redaction import describe
from connector.retry import JOBS
from connector.settings import Settings
from connector.store.engine import utcnow
from connector.sync.syncer import Syncer, SyncReport
from mappings.model import Mapping

__all__ = ["SyncRuns", "abandon", "rate_limit_seen", "revive", "run_due"]


@dataclass
class SyncRuns:
    """What one round of requested syncs did."""

    done: int = 0
    retried: int = 0
    dead: int = 0


def rate_limit_seen(client: CmsClient) -> dict[str, Any]:
    """The CMS's rate-limit window as the client last saw it (None where the CMS sent no header)."""
    limiter = client.limiter
    reset = datetime.fromtimestamp(limiter.reset_at, UTC).isoformat(timespec="seconds") if limiter.reset_at else None
    return {
        "limit": limiter.limit,
        "remaining": limiter.remaining,
        "reset_at": reset,
        "paused_for": round(limiter.paused_for(), 1),
        "rate_limited": client.stats.rate_limited,
    }


def _details(report: SyncReport, requested_by: str, full: bool, client: CmsClient) -> dict[str, Any]:
    data = report.to_json()
    return {
        "outcome": "done",
        "requested_by": requested_by,
        "full": full,
        "resources": {name: {**data[name], "deleted": data["deleted"].get(name, 0)} for name in report.counts},
        "phones": data["phones"],
        "requests": data["requests"],
        "seconds": data["seconds"],
        "rate_limit": rate_limit_seen(client),
    }


def run_due(
    engine: Engine,
    settings: Settings,
    mapping: Mapping,
    client: Callable[[], CmsClient],
    *,
    owner: str | None = None,
) -> SyncRuns:
    """Run each requested sync that is due, one after another; the CMS client is built only when one is.

    A transient failure (the CMS down, a rate limit that outlasted the client's retries) waits and tries
    again, resuming where the run stopped; anything else (refused credentials, a broken mapping) is a dead
    job with its reason, for the admin to fix and ask again.
    """
    owner = owner or f"{socket.gethostname()}:{id(engine)}:sync"
    runs = SyncRuns()
    for job in logs.each_job(outbox.lease(engine, owner, kinds=(kinds.SYNC,), limit=5), runs):
        full = bool(job.payload.get("full"))
        requested_by = str(job.payload.get("requested_by") or "worker")
        try:
            cms = client()
            report = Syncer(engine, cms, mapping, default_region=settings.default_region, progress=False).run(full=full)
        except RetryableError as exc:
            with engine.begin() as conn:
                dead = outbox.retry(
                    conn,
                    job,
                    owner,
                    describe(exc),
                    delay=JOBS.delay(job.attempts),
                    max_attempts=settings.outbox_max_attempts,
                )
                if dead:
                    _failed(conn, job, requested_by, describe(exc))
            runs.dead += dead
            runs.retried += not dead
            continue
        except CmsError as exc:
            with engine.begin() as conn:
                outbox.retry(conn, job, owner, describe(exc), delay=timedelta(0), max_attempts=0)
                _failed(conn, job, requested_by, describe(exc))
            runs.dead += 1
            continue
        now = utcnow()
        with engine.begin() as conn:
            outbox.complete(conn, job, owner, now=now)
            audit.append(
                conn,
                actor="worker",
                action=audit.Action.SYNC_RUN,
                subject_type="sync",
                subject_id=job.id,
                details=_details(report, requested_by, full, cms),
                at=now,
            )
        runs.done += 1
    return runs


def _failed(conn: Connection, job: outbox.Job, requested_by: str, error: str) -> None:
    audit.append(
        conn,
        actor="worker",
        action=audit.Action.SYNC_RUN,
        subject_type="sync",
        subject_id=job.id,
        details={"outcome": "failed", "requested_by": requested_by, "error": error[:500]},
    )


def revive(conn: Connection, payload: dict[str, Any]) -> None:
    """A replayed sync job needs nothing else made live: the job is the whole request."""


def abandon(conn: Connection, payload: dict[str, Any], reason: str) -> None:
    """A discarded sync job leaves nothing behind: the sync state is only written by runs."""
