"""Write-back: each transcript, summary, correction or task lands on its matter in the CMS exactly once.

Every write is an outbox job carrying a `writebacks` row. A write that failed in a way that leaves its
outcome unknown (timeout, dropped connection, 5xx after sending) is marked ambiguous, and the next try
first looks the record up by its marker (Clio communications: an external property; notes and tasks: a
token in the subject found with `query=`) and adopts it instead of writing it again.
"""

from __future__ import annotations

import hashlib
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from connector import const, logs, metrics
from connector.cms.client import CmsClient
from connector.cms.errors import AmbiguousWriteError, CmsError, ConfigError, FatalError, RateLimitedError
from connector.compliance import audit
from connector.const import AUTH_PAUSE
from connector.jobs import kinds, outbox
from connector.redaction import describe
from connector.retry import JOBS
from connector.settings import Settings
from connector.staff import coverage
from connector.store import dialect
from connector.store.engine import utcnow
from connector.store.tables import matters, windows, writebacks
from mappings.model import Mapping, WriteSpec
from mappings.templates import render_request


@dataclass
class WriteCounts:
    """What one round of write-back did."""

    written: int = 0
    adopted: int = 0
    retried: int = 0
    dead: int = 0
    paused: bool = False


def _ident(value: str) -> int | str:
    """CMS ids are integers in Clio's schema; keep text ids (UUIDs) as they are."""
    return int(value) if value.isdigit() else value


def _values(row: Any, settings: Settings, now: datetime, assignee: str | None) -> dict[str, Any]:
    local = now.astimezone(settings.zone)
    return {
        "matter_id": _ident(row.matter_cms_id),
        "client_id": None,
        "subject": row.subject,
        "body": row.body,
        "date": local.date().isoformat(),
        "received_at": now.isoformat(timespec="seconds"),
        "due_at": local.replace(hour=23, minute=59, second=0, microsecond=0).isoformat(timespec="seconds"),
        "assignee_id": _ident(assignee) if assignee else None,
        "marker": row.marker,
    }


def _find(client: CmsClient, spec: WriteSpec, values: dict[str, Any], marker: str) -> str | None:
    """The record an earlier, unanswered attempt created, if it did."""
    if spec.find is None:
        return None
    request = render_request(spec.find, values)
    body = client.request(request.method, request.path, params=request.params or None).body
    path = spec.find.records_path
    records = path.get(body) if path is not None else (body.get("data") if isinstance(body, dict) else body)
    for record in records if isinstance(records, list) else []:
        if spec.find.match_path is not None and marker not in str(spec.find.match_path.get(record) or ""):
            continue
        found = spec.find.id_path.get(record) if spec.find.id_path is not None else record.get("id")
        if found is not None:
            return str(found)
    return None


def run_due(
    engine: Engine,
    settings: Settings,
    mapping: Mapping,
    client: CmsClient,
    *,
    limit: int = 50,
    owner: str | None = None,
) -> WriteCounts:
    """Write every due write-back job; the CMS's rate limit paces the client."""
    owner = owner or f"{socket.gethostname()}:{id(engine)}:cms"
    counts = WriteCounts()
    for job in logs.each_job(outbox.lease(engine, owner, kinds=(kinds.WRITE,), limit=limit), counts):
        wait = client.limiter.paused_for()
        if counts.paused or wait > const.RETRY_AFTER_CEILING:
            # The whole queue waits: a refused login, or a CMS that asked for a long wait (429 or 503
            # with Retry-After). Untried jobs are put back without counting an attempt.
            reason = (
                "paused: the CMS refused the credentials"
                if counts.paused
                else f"paused: the CMS asked Matterline to wait {wait:.0f}s"
            )
            with engine.begin() as conn:
                outbox.defer(conn, job, owner, reason, delay=AUTH_PAUSE if counts.paused else timedelta(seconds=wait))
            continue
        _write_one(engine, settings, mapping, client, job, owner, counts)
    return counts


def _write_one(
    engine: Engine,
    settings: Settings,
    mapping: Mapping,
    client: CmsClient,
    job: outbox.Job,
    owner: str,
    counts: WriteCounts,
) -> None:
    now = utcnow()
    with engine.connect() as conn:
        row = conn.execute(select(writebacks).where(writebacks.c.id == int(job.payload["writeback_id"]))).first()
        live = (
            None
            if row is None
            else conn.execute(
                select(matters.c.id, matters.c.status, matters.c.responsible_attorney_cms_id).where(
                    matters.c.cms_id == row.matter_cms_id, matters.c.deleted_at.is_(None)
                )
            ).first()
        )
        # Picked now, not when the task was queued: an attorney away today has their backup get it.
        assignee = (
            coverage.cms_assignee(conn, live.responsible_attorney_cms_id, now)
            if live is not None and live.responsible_attorney_cms_id
            else None
        )
    if row is None or row.state != "pending":
        with engine.begin() as conn:
            outbox.complete(conn, job, owner, now=now)
        return
    if live is None:
        _dead(engine, job, owner, row, f"matter {row.matter_cms_id} was deleted in the CMS", counts)
        return
    if row.kind == "task" and not live.responsible_attorney_cms_id:
        _dead(engine, job, owner, row, f"matter {row.matter_cms_id} has no responsible attorney to assign", counts)
        return
    spec = mapping.writes[mapping.write_targets[row.kind]]
    values = _values(row, settings, now, assignee)
    # Whether the create call itself was refused (then nothing was written). A refusal of the lookup
    # says nothing about an earlier attempt, which must stay unresolved.
    creating = False
    try:
        found = _find(client, spec, values, row.marker) if row.ambiguous else None
        if found is not None:
            _written(engine, job, owner, row, found, adopted=True)
            counts.adopted += 1
            return
        request = render_request(spec.create, values)
        if not row.ambiguous:
            # On record before the call: if this process dies after the CMS applied the write, the next
            # attempt looks the marker up instead of writing again. Only while still pending: staff may
            # have withdrawn it since it was read (`withdraw_task`), and then nothing is written.
            with engine.begin() as conn:
                claimed = conn.execute(
                    update(writebacks)
                    .where(writebacks.c.id == row.id, writebacks.c.state == "pending")
                    .values(ambiguous=True)
                ).rowcount
                if not claimed:
                    outbox.complete(conn, job, owner, now=now)
            if not claimed:
                return
        creating = True
        body = client.request(request.method, request.path, params=request.params or None, json=request.body).body
    except AmbiguousWriteError as exc:
        error = describe(exc)
        _retry(engine, job, owner, row, error, counts, ambiguous=True, max_attempts=settings.outbox_max_attempts)
        return
    except RateLimitedError as exc:
        # Not the job's fault: it waits as long as asked without using up an attempt. A refused create
        # wrote nothing, so no lookup is needed next time.
        error = describe(exc)
        with engine.begin() as conn:
            outbox.defer(conn, job, owner, error, delay=timedelta(seconds=exc.retry_after))
            resolved = {"ambiguous": False} if creating else {}
            conn.execute(update(writebacks).where(writebacks.c.id == row.id).values(last_error=error, **resolved))
        counts.retried += 1
        return
    except ConfigError as exc:
        counts.paused = True
        error = f"{exc.code}: {describe(exc)}"
        with engine.begin() as conn:
            outbox.defer(conn, job, owner, f"paused: {error}", delay=AUTH_PAUSE)
            resolved = {"ambiguous": False} if creating else {}
            conn.execute(update(writebacks).where(writebacks.c.id == row.id).values(last_error=error, **resolved))
        return
    except FatalError as exc:
        # A CMS that refuses writes to a closed matter says so in its own words; name the cause first.
        closed = f"matter {row.matter_cms_id} is closed in the CMS: " if live.status == "closed" else ""
        _dead(engine, job, owner, row, f"{closed}{describe(exc)}", counts)
        return
    except CmsError as exc:  # retryable (5xx on a lookup, bad body): try again later
        _retry(engine, job, owner, row, describe(exc), counts, max_attempts=settings.outbox_max_attempts)
        return
    record_id = spec.create.id_path.get(body) if spec.create.id_path is not None else None
    _written(engine, job, owner, row, None if record_id is None else str(record_id), adopted=False)
    counts.written += 1


def _written(engine: Engine, job: outbox.Job, owner: str, row: Any, record_id: str | None, *, adopted: bool) -> None:
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            update(writebacks)
            .where(writebacks.c.id == row.id)
            .values(state="written", cms_record_id=record_id, written_at=now, last_error=None)
        )
        outbox.complete(conn, job, owner, now=now)
        audit.append(
            conn,
            actor="worker",
            action=audit.Action.WRITEBACK,
            subject_type="writeback",
            subject_id=row.id,
            matter_cms_id=row.matter_cms_id,
            details={"kind": row.kind, "cms_record_id": record_id, "adopted": adopted},
            at=now,
        )
        closed_at = conn.execute(select(windows.c.closed_at).where(windows.c.id == row.window_id)).scalar()
    if closed_at is not None:  # a window's transcript or summary: how long after the window closed it landed
        metrics.writeback_landed((now - closed_at).total_seconds())


def _retry(
    engine: Engine,
    job: outbox.Job,
    owner: str,
    row: Any,
    error: str,
    counts: WriteCounts,
    *,
    ambiguous: bool = False,
    applied: bool | None = None,
    delay: timedelta | None = None,
    max_attempts: int,
) -> None:
    with engine.begin() as conn:
        dead = outbox.retry(conn, job, owner, error, delay=delay or JOBS.delay(job.attempts), max_attempts=max_attempts)
        values: dict[str, Any] = {"last_error": error[:2000], "state": "dead" if dead else "pending"}
        if ambiguous:
            values["ambiguous"] = True
        elif applied is False:
            values["ambiguous"] = False
        conn.execute(update(writebacks).where(writebacks.c.id == row.id).values(**values))
    counts.dead += dead
    counts.retried += not dead


def _dead(engine: Engine, job: outbox.Job, owner: str, row: Any, error: str, counts: WriteCounts) -> None:
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(update(writebacks).where(writebacks.c.id == row.id).values(state="dead", last_error=error[:2000]))
        outbox.retry(conn, job, owner, error, delay=timedelta(0), max_attempts=0)
        audit.append(
            conn,
            actor="worker",
            action=audit.Action.WRITEBACK_DEAD,
            subject_type="writeback",
            subject_id=row.id,
            matter_cms_id=row.matter_cms_id,
            details={"kind": row.kind, "error": error[:500]},
            at=now,
        )
    counts.dead += 1


def enqueue(conn: Connection, writeback_id: int, now: datetime) -> None:
    """The job that carries a write-back row out; stored in the caller's transaction."""
    outbox.enqueue(conn, kinds.WRITE, kinds.write_key(writeback_id), {"writeback_id": writeback_id}, now=now)


def _marker() -> str:
    return f"ml-{secrets.token_hex(6)}"


def queue(
    conn: Connection,
    kind: str,
    *,
    thread_id: int,
    matter_cms_id: str,
    subject: str,
    body: str,
    now: datetime,
    window_id: int | None = None,
    part: int = 1,
    marker: str | None = None,
    draft: bool = False,
) -> int | None:
    """Store one record to write and its job in the caller's transaction; None when `marker` already exists.

    The marker goes into the subject (found by the CMS's `query=` search) and, for tasks, the description.
    """
    marker = marker or _marker()
    if kind == "task":
        body = f"{body}\n\n[{marker}]"
    writeback_id = conn.execute(
        dialect.insert(conn, writebacks)
        .values(
            kind=kind,
            window_id=window_id,
            thread_id=thread_id,
            matter_cms_id=matter_cms_id,
            part=part,
            marker=marker,
            subject=f"{subject} [{marker}]",
            body=body,
            state="draft" if draft else "pending",
            ambiguous=False,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["marker"])
        .returning(writebacks.c.id)
    ).scalar()
    if writeback_id is None:
        return None
    if not draft:
        enqueue(conn, int(writeback_id), now)
    return int(writeback_id)


def _task_marker(trigger: str) -> str:
    return "ml-task-" + hashlib.sha256(trigger.encode()).hexdigest()[:16]


def queue_task(
    conn: Connection, *, thread_id: int, matter_cms_id: str, trigger: str, subject: str, body: str, now: datetime
) -> int | None:
    """A CMS task for the matter's responsible attorney, due today, high priority: once per `trigger`.

    A task withdrawn for `trigger` (`withdraw_task`) is put back as it was; None when the task is already queued.
    """
    marker = _task_marker(trigger)
    queued = queue(
        conn,
        "task",
        thread_id=thread_id,
        matter_cms_id=matter_cms_id,
        subject=subject,
        body=body,
        now=now,
        marker=marker,
    )
    if queued is not None:
        return queued
    restored = conn.execute(
        update(writebacks)
        .where(writebacks.c.marker == marker, writebacks.c.state == "withdrawn")
        .values(state="pending", last_error=None)
        .returning(writebacks.c.id)
    ).scalar()
    if restored is not None:
        outbox.reopen(conn, kinds.write_key(restored), now=utcnow())
    return restored


def queue_correction(
    conn: Connection, message: Any, old_matter: str, new_matter: str, actor: str, now: datetime
) -> int:
    """After a written text is re-filed, both matters get a short note: the record is never silently wrong.

    Returns how many notes were queued (0 when the text was never part of a transcript).
    """
    if message.window_id is None:
        return 0
    written = (
        conn.execute(
            select(writebacks.c.subject).where(
                writebacks.c.window_id == message.window_id, writebacks.c.kind == "transcript"
            )
        )
        .scalars()
        .first()
    )
    if written is None:
        return 0
    when = message.created_at.isoformat(timespec="minutes")
    text = (
        f"Correction: the text message of {when} UTC (message {message.id}) that appears in the transcript "
        f'"{written}" belongs to matter {new_matter}, not {old_matter}. It was re-filed by {actor}.'
    )
    for matter in (old_matter, new_matter):
        queue(
            conn,
            "correction",
            thread_id=message.thread_id,
            matter_cms_id=matter,
            subject=f"SMS transcript correction — message {message.id}",
            body=text,
            now=now,
        )
    return 2


def withdraw_task(conn: Connection, *, trigger: str, why: str) -> int | None:
    """Take back the task `queue_task` queued for `trigger` if it has not started out to the CMS: its record is
    "withdrawn", with why, and never written. None when there was none, or it is written or on its way (an
    attempt that may have reached the CMS has to be looked up, never assumed away).
    """
    withdrawn = conn.execute(
        update(writebacks)
        .where(
            writebacks.c.marker == _task_marker(trigger),
            writebacks.c.state == "pending",
            writebacks.c.ambiguous.is_(False),
        )
        .values(state="withdrawn", last_error=why[:2000])
        .returning(writebacks.c.id)
    ).scalar()
    if withdrawn is not None:
        outbox.finish(conn, kinds.write_key(withdrawn), why)
    return withdrawn


def revive(conn: Connection, payload: dict[str, Any]) -> None:
    """A dead write was replayed: its record is pending again (an ambiguous one is still looked up first)."""
    conn.execute(
        update(writebacks)
        .where(writebacks.c.id == int(payload["writeback_id"]), writebacks.c.state == "dead")
        .values(state="pending")
    )


def abandon(conn: Connection, payload: dict[str, Any], why: str) -> None:
    """An admin discarded the write: its record is dead, with why, and never written."""
    conn.execute(
        update(writebacks)
        .where(writebacks.c.id == int(payload["writeback_id"]), writebacks.c.state.in_(("pending", "dead")))
        .values(state="dead", last_error=why[:2000])
    )
