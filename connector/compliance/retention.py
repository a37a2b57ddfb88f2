"""Retention and legal hold: message bodies and media go once the CMS has kept the record long enough.

The CMS is the firm's system of record. Once a text's transcript has been confirmed written there and
`MATTERLINE_RETENTION_DAYS` have passed since, Matterline no longer needs its own copy of what was said:
`purge` blanks the body, drops the media references and the raw Twilio form (which repeats the body),
and keeps everything else (SID, status, times, the matter, the window) plus a SHA-256 of the body, so
the firm can still prove which text was which. Triage's reasons for a text and staff's notes on it, which may quote it,
go with it.
The written transcript and summary records of a window
whose texts are all purged lose their bodies too: they are verbatim copies of those texts.

Nothing is purged that the CMS has not confirmed: a text whose transcript is still pending or dead, or
that never reached a window, is skipped and reported. A matter on legal hold is never purged. Holds are
an append-only ledger (`legal_holds`); a matter is on hold while its newest row says "set". Purges,
holds and releases are audited; the audit entries never carry bodies.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    case,
    exists,
    func,
    null,
    select,
    update,
)

from connector.compliance import audit
from connector.settings import Settings
from connector.store import dialect
from connector.store.engine import utcnow
from connector.store.tables import legal_holds, messages, windows, writebacks
from connector.store.triage_tables import triage_corrections, triage_decisions

BATCH: Final = 500
"""Messages purged per transaction: short write locks, and an interrupted run keeps what it finished."""

# Holds and purge batches take one PostgreSQL advisory lock, so a hold set while a purge runs is seen
# by the purge's next batch instead of racing it. (SQLite: every write transaction is already exclusive.)
_PG_LOCK_KEY: Final = 0x4D4C_484F  # "MLHO"

SET, RELEASE = "set", "release"

# Why a message was not purged although it is old enough.
NOT_WRITTEN: Final = "not_written"  # never part of a closed window, so no transcript carries it
TRANSCRIPT_PENDING: Final = "transcript_pending"
TRANSCRIPT_DEAD: Final = "transcript_dead"

# Write-back records that hold verbatim message text (corrections and tasks quote no bodies).
_VERBATIM_KINDS: Final = ("transcript", "summary")


@dataclass(frozen=True, slots=True)
class Skipped:
    """An old-enough message left alone because the CMS has not confirmed its transcript."""

    message_id: int
    window_id: int | None
    matter_cms_id: str | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        """The `retention purge --json` row."""
        return {
            "message_id": self.message_id,
            "window_id": self.window_id,
            "matter_cms_id": self.matter_cms_id,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """What a purge did (or, in a dry run, would do)."""

    dry_run: bool
    retention_days: int
    cutoff: datetime
    purged: int
    bytes_freed: int
    records_cleared: int
    skipped_on_hold: Mapping[str, int] = field(default_factory=dict)
    skipped_pending_writeback: tuple[Skipped, ...] = ()
    not_due: int = 0

    def to_json(self) -> dict[str, Any]:
        """The `matterline retention purge --json` object."""
        return {
            "dry_run": self.dry_run,
            "retention_days": self.retention_days,
            "cutoff": self.cutoff.isoformat(),
            "purged": self.purged,
            "bytes_freed": self.bytes_freed,
            "records_cleared": self.records_cleared,
            "skipped_on_hold": dict(sorted(self.skipped_on_hold.items())),
            "skipped_pending_writeback": [s.to_json() for s in self.skipped_pending_writeback],
            "not_due": self.not_due,
        }


# -- legal holds ------------------------------------------------------------------------------------------


def lock(conn: Connection) -> None:
    """Serialise with purges and other hold changes until this transaction ends."""
    dialect.advisory_lock(conn, _PG_LOCK_KEY)


def on_hold(conn: Connection, matter_cms_id: str) -> bool:
    """Whether the matter's newest hold row says "set"."""
    return _held(conn, [matter_cms_id]) == {matter_cms_id}


def _held(conn: Connection, matter_ids: Iterable[str]) -> set[str]:
    """Which of `matter_ids` are on hold now."""
    wanted = sorted(set(matter_ids))
    if not wanted:
        return set()
    newest = (
        select(func.max(legal_holds.c.id))
        .where(legal_holds.c.matter_cms_id.in_(wanted))
        .group_by(legal_holds.c.matter_cms_id)
    )
    rows = conn.execute(
        select(legal_holds.c.matter_cms_id).where(legal_holds.c.id.in_(newest), legal_holds.c.action == SET)
    )
    return set(rows.scalars())


def _all_held(conn: Connection) -> set[str]:
    newest = select(func.max(legal_holds.c.id)).group_by(legal_holds.c.matter_cms_id)
    rows = conn.execute(
        select(legal_holds.c.matter_cms_id).where(legal_holds.c.id.in_(newest), legal_holds.c.action == SET)
    )
    return set(rows.scalars())


# -- purge ------------------------------------------------------------------------------------------------


def body_sha256(body: str) -> str:
    """The hex SHA-256 of a body's UTF-8 bytes: what a purged message keeps of what it said."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _size(row: Any) -> int:
    """Bytes a purge frees from one row: the body, and the media and raw form as stored JSON."""
    total = len((row.body or "").encode("utf-8"))
    for value in (row.media, row.raw):
        if value is not None:
            total += len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    return total


@dataclass
class _Plan:
    due: list[int] = field(default_factory=list)
    on_hold: Counter[str] = field(default_factory=Counter)
    skipped: list[Skipped] = field(default_factory=list)
    not_due: int = 0


def _transcripts() -> Any:
    """Per window: how many transcript parts, how many written or dead, and the last written_at."""
    return (
        select(
            writebacks.c.window_id,
            func.count().label("parts"),
            func.sum(case((writebacks.c.state == "written", 1), else_=0)).label("written"),
            func.sum(case((writebacks.c.state == "dead", 1), else_=0)).label("dead"),
            func.max(writebacks.c.written_at).label("written_at"),
        )
        .where(writebacks.c.kind == "transcript", writebacks.c.window_id.is_not(None))
        .group_by(writebacks.c.window_id)
        .subquery()
    )


def _plan(conn: Connection, cutoff: datetime) -> _Plan:
    """Sort every unpurged message older than the cutoff into due, on hold, unconfirmed or not yet due.

    A message cannot be due before it exists, so only messages created before the cutoff are looked at.
    """
    tw = _transcripts()
    query = (
        select(
            messages.c.id,
            messages.c.window_id,
            messages.c.matter_cms_id,
            windows.c.matter_cms_id.label("window_matter"),
            tw.c.parts,
            tw.c.written,
            tw.c.dead,
            tw.c.written_at,
        )
        .select_from(messages)
        .outerjoin(windows, windows.c.id == messages.c.window_id)
        .outerjoin(tw, tw.c.window_id == messages.c.window_id)
        .where(messages.c.purged_at.is_(None), messages.c.created_at < cutoff)
        .order_by(messages.c.id)
    )
    held = _all_held(conn)
    plan = _Plan()
    for row in conn.execution_options(yield_per=5000).execute(query):
        if row.window_id is None or not row.parts:
            plan.skipped.append(Skipped(row.id, row.window_id, row.matter_cms_id, NOT_WRITTEN))
            continue
        if int(row.written or 0) < int(row.parts):
            reason = TRANSCRIPT_DEAD if int(row.dead or 0) else TRANSCRIPT_PENDING
            plan.skipped.append(Skipped(row.id, row.window_id, row.matter_cms_id, reason))
            continue
        if row.written_at is None or row.written_at >= cutoff:
            plan.not_due += 1
            continue
        # A text re-filed after its transcript was written sits on one matter and in another's record:
        # a hold on either keeps it.
        holder = _holder(held, row.matter_cms_id, row.window_matter)
        if holder is not None:
            plan.on_hold[holder] += 1
            continue
        plan.due.append(row.id)
    return plan


def _holder(held: set[str], *matter_ids: str | None) -> str | None:
    for matter in matter_ids:
        if matter is not None and matter in held:
            return matter
    return None


def purge(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    actor: str = "cli",
    batch_size: int = BATCH,
) -> PurgeReport:
    """Purge the bodies and media of every message whose transcript the CMS has kept for the retention period.

    With `dry_run` nothing changes (not even the audit log) and the report gives the same figures.
    """
    moment = now or utcnow()
    cutoff = moment - timedelta(days=settings.retention_days)
    with engine.connect() as conn:
        plan = _plan(conn, cutoff)
    if dry_run:
        with engine.connect() as conn:
            freed, cleared = _estimate(conn, plan.due)
            tasks = len(_old_tasks(conn, cutoff))
        return _report(True, settings, cutoff, len(plan.due), freed, cleared + tasks, plan)
    purged = freed = cleared = 0
    for start in range(0, len(plan.due), batch_size):
        chunk = plan.due[start : start + batch_size]
        with engine.begin() as conn:
            done, size, records = _purge_batch(conn, chunk, plan, settings, cutoff, moment, actor)
        purged, freed, cleared = purged + done, freed + size, cleared + records
    with engine.begin() as conn:
        lock(conn)
        cleared += _clear_tasks(conn, cutoff, moment, actor)
    return _report(False, settings, cutoff, purged, freed, cleared, plan)


def _old_tasks(conn: Connection, cutoff: datetime) -> list[Any]:
    """Written escalation tasks older than the retention period whose matter is not on hold.

    A task quotes the urgent text (unless private previews are on), so it is a copy of a body too.
    """
    rows = conn.execute(
        select(writebacks.c.id, writebacks.c.matter_cms_id).where(
            writebacks.c.kind == "task",
            writebacks.c.state == "written",
            writebacks.c.written_at < cutoff,
            writebacks.c.body != "",
        )
    ).all()
    held = _held(conn, {r.matter_cms_id for r in rows})
    return [r for r in rows if r.matter_cms_id not in held]


def _clear_tasks(conn: Connection, cutoff: datetime, now: datetime, actor: str) -> int:
    rows = _old_tasks(conn, cutoff)
    by_matter: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        by_matter[row.matter_cms_id].append(row.id)
    for matter, ids in sorted(by_matter.items()):
        conn.execute(update(writebacks).where(writebacks.c.id.in_(ids)).values(body=""))
        audit.append(
            conn,
            actor=actor,
            action=audit.Action.PURGE,
            subject_type="matter",
            subject_id=matter,
            matter_cms_id=matter,
            details={"tasks_cleared": len(ids), "writeback_ids": ids, "cutoff": cutoff.isoformat()},
            at=now,
        )
    return len(rows)


def _report(
    dry_run: bool, settings: Settings, cutoff: datetime, purged: int, freed: int, cleared: int, plan: _Plan
) -> PurgeReport:
    return PurgeReport(
        dry_run=dry_run,
        retention_days=settings.retention_days,
        cutoff=cutoff,
        purged=purged,
        bytes_freed=freed,
        records_cleared=cleared,
        skipped_on_hold=dict(sorted(plan.on_hold.items())),
        skipped_pending_writeback=tuple(plan.skipped),
        not_due=plan.not_due,
    )


def _chunks(ids: Sequence[int], size: int = BATCH) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _estimate(conn: Connection, due: Sequence[int]) -> tuple[int, int]:
    """A dry run's bytes freed and write-back records that would lose their bodies."""
    freed = 0
    touched: set[int] = set()
    for chunk in _chunks(due):
        rows = conn.execute(
            select(messages.c.body, messages.c.media, messages.c.raw, messages.c.window_id).where(
                messages.c.id.in_(chunk)
            )
        )
        for row in rows:
            freed += _size(row)
            touched.add(row.window_id)
    due_set = set(due)
    complete: list[int] = []
    for chunk in _chunks(sorted(touched)):
        remaining: dict[int, set[int]] = defaultdict(set)
        for left in conn.execute(
            select(messages.c.id, messages.c.window_id).where(
                messages.c.window_id.in_(chunk), messages.c.purged_at.is_(None)
            )
        ):
            remaining[left.window_id].add(left.id)
        complete.extend(w for w in chunk if remaining[w] <= due_set)
    cleared = 0
    for chunk in _chunks(complete):
        cleared += int(
            conn.execute(
                select(func.count())
                .select_from(writebacks)
                .where(
                    writebacks.c.window_id.in_(chunk),
                    writebacks.c.kind.in_(_VERBATIM_KINDS),
                    writebacks.c.state == "written",
                    writebacks.c.body != "",
                )
            ).scalar_one()
        )
    return freed, cleared


_PURGE_ROW = (
    update(messages)
    .where(messages.c.id == bindparam("mid"), messages.c.purged_at.is_(None))
    .values(body="", body_sha256=bindparam("sha"), media=null(), raw=null(), purged_at=bindparam("at"))
)


def _purge_batch(
    conn: Connection,
    ids: Sequence[int],
    plan: _Plan,
    settings: Settings,
    cutoff: datetime,
    now: datetime,
    actor: str,
) -> tuple[int, int, int]:
    """Purge one batch in the caller's transaction, re-checking holds and state; one audit entry per matter."""
    lock(conn)
    query = (
        select(
            messages.c.id,
            messages.c.body,
            messages.c.media,
            messages.c.raw,
            messages.c.matter_cms_id,
            messages.c.window_id,
            windows.c.matter_cms_id.label("window_matter"),
        )
        .select_from(messages)
        .join(windows, windows.c.id == messages.c.window_id)
        .where(messages.c.id.in_(ids), messages.c.purged_at.is_(None))
        .order_by(messages.c.id)
    )
    rows = conn.execute(query.with_for_update(of=messages)).all()
    # A hold set (or a text re-filed) since the plan was made wins over the plan.
    held = _held(conn, [m for r in rows for m in (r.matter_cms_id, r.window_matter) if m is not None])
    by_matter: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        holder = _holder(held, row.matter_cms_id, row.window_matter)
        if holder is not None:
            plan.on_hold[holder] += 1
            continue
        by_matter[row.matter_cms_id or row.window_matter].append(row)
    purging = [row for group in by_matter.values() for row in group]
    if not purging:
        return 0, 0, 0
    conn.execute(_PURGE_ROW, [{"mid": r.id, "sha": body_sha256(r.body or ""), "at": now} for r in purging])
    # Triage's reasons and the date it read quote the text, and so may staff's notes on it: they go with it;
    # the verdicts, who gave them and the model stay.
    purged_ids = [r.id for r in purging]
    conn.execute(
        update(triage_decisions).where(triage_decisions.c.message_id.in_(purged_ids)).values(reasons=[], date_read=None)
    )
    conn.execute(update(triage_corrections).where(triage_corrections.c.message_id.in_(purged_ids)).values(note=None))
    cleared = _clear_records(conn, {r.window_id for r in purging})
    freed = 0
    # A window's records are cleared with the batch that purges its last text; they are counted under the
    # window's matter, which a re-filed text may not share.
    for matter in sorted(set(by_matter) | set(cleared)):
        group = by_matter.get(matter, [])
        size = sum(_size(r) for r in group)
        freed += size
        audit.append(
            conn,
            actor=actor,
            action=audit.Action.PURGE,
            subject_type="matter",
            subject_id=matter,
            matter_cms_id=matter,
            details={
                "messages": len(group),
                "message_ids": [r.id for r in group],
                "bytes": size,
                "windows": sorted({r.window_id for r in group}),
                "records_cleared": cleared.get(matter, 0),
                "retention_days": settings.retention_days,
                "cutoff": cutoff.isoformat(),
            },
            at=now,
        )
    return len(purging), freed, sum(cleared.values())


def _clear_records(conn: Connection, window_ids: set[int]) -> Counter[str]:
    """Blank the written transcript and summary bodies of windows whose messages are now all purged.

    Returns how many records were cleared, per matter. The subject (matter, client, date) stays.
    """
    unpurged = exists().where(messages.c.window_id == writebacks.c.window_id, messages.c.purged_at.is_(None))
    target = and_(
        writebacks.c.window_id.in_(sorted(window_ids)),
        writebacks.c.kind.in_(_VERBATIM_KINDS),
        writebacks.c.state == "written",
        writebacks.c.body != "",
        ~unpurged,
    )
    rows = conn.execute(select(writebacks.c.id, writebacks.c.matter_cms_id).where(target)).all()
    if rows:
        conn.execute(update(writebacks).where(writebacks.c.id.in_([r.id for r in rows])).values(body=""))
    return Counter(r.matter_cms_id for r in rows)
