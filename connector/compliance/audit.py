"""The audit log: append-only and hash-chained, so an edited, deleted or reordered entry is detectable.

Each entry's hash covers its own fields and the previous entry's hash. Entries never hold message
bodies: the log proves who did what, when and in which matter, not what was said.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from connector.store import dialect
from connector.store.engine import utcnow
from connector.store.tables import audit_log


class Action(StrEnum):
    """Every action the log records, in one spelling (snake_case), so a filter never misses one."""

    RECEIVE = "receive"
    SEND = "send"
    SEND_BLOCKED = "send_blocked"
    SEND_CANCELED = "send_canceled"
    SEND_FAILED = "send_failed"
    DELIVERY_FAILED = "delivery_failed"
    OVERRIDE = "override"
    QUIET_HOURS_OVERRIDE = "quiet_hours_override"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    CONSENT = "consent"
    CONSENT_REVOKED = "consent_revoked"
    ASSIGN = "assign"
    READ = "read"
    UNREAD = "unread"
    URGENT = "urgent"
    REFILE = "refile"
    ESCALATE = "escalate"
    WINDOW_CLOSED = "window_closed"
    WRITEBACK = "writeback"
    WRITEBACK_DEAD = "writeback_dead"
    SUMMARY_EDIT = "summary_edit"
    SUMMARY_FILED = "summary_filed"
    REPLAY = "replay"
    DISCARD = "discard"
    EXPORT = "export"
    PURGE = "purge"
    HOLD_SET = "hold_set"
    HOLD_RELEASE = "hold_release"
    MAPPING_CHANGE = "mapping_change"
    LOGIN = "login"
    USER_ADDED = "user_added"
    USER_DISABLED = "user_disabled"
    TOKEN_REVOKED = "token_revoked"  # noqa: S105 - an action's name, not a secret
    TOKEN_ROTATED = "token_rotated"  # noqa: S105 - an action's name, not a secret
    INTAKE_RETRY = "intake_retry"


GENESIS = "0" * 64
# One PostgreSQL advisory lock serialises appends, so two writers never chain onto the same entry.
_PG_LOCK_KEY = 0x4D4C_4155  # "MLAU"


def _digest(entry: Mapping[str, Any]) -> str:
    canonical = json.dumps(entry, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _material(row: Mapping[str, Any]) -> dict[str, Any]:
    at: datetime = row["at"]
    return {
        "at": at.isoformat(timespec="microseconds"),
        "actor": row["actor"],
        "action": row["action"],
        "subject_type": row["subject_type"],
        "subject_id": row["subject_id"],
        "matter_cms_id": row["matter_cms_id"],
        "request_id": row["request_id"],
        "details": row["details"],
        "prev_hash": row["prev_hash"],
    }


def append(
    conn: Connection,
    *,
    actor: str,
    action: Action,
    subject_type: str,
    subject_id: str | int | None = None,
    matter_cms_id: str | None = None,
    request_id: str | None = None,
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> int:
    """Append one entry inside the caller's transaction; it lands or vanishes with the change it records."""
    dialect.advisory_lock(conn, _PG_LOCK_KEY)
    last = conn.execute(select(audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)).scalar()
    row: dict[str, Any] = {
        "at": (at or utcnow()).astimezone(UTC),
        "actor": actor,
        "action": str(action),
        "subject_type": subject_type,
        "subject_id": None if subject_id is None else str(subject_id),
        "matter_cms_id": matter_cms_id,
        "request_id": request_id,
        "details": dict(details) if details else None,
        "prev_hash": last or GENESIS,
    }
    row["hash"] = _digest(_material(row))
    return int(conn.execute(insert(audit_log).values(**row).returning(audit_log.c.id)).scalar_one())


@dataclass(frozen=True, slots=True)
class Verdict:
    """The result of checking the chain: `broken_id` names the first entry that does not fit."""

    entries: int
    broken_id: int | None
    reason: str | None
    head: str | None = None  # the newest entry's hash: record it elsewhere to catch a cut-off tail later

    @property
    def intact(self) -> bool:
        """True when every entry checks out."""
        return self.broken_id is None and self.reason is None


def verify(engine: Engine, *, expect_head: str | None = None) -> Verdict:
    """Walk the log in order and recompute every hash.

    A chain cannot show that its newest entries were cut off: `expect_head`, a head hash recorded
    earlier outside the store (printed by every verify), must still be in the chain.
    """
    previous = GENESIS
    count = 0
    seen_head = expect_head is None
    with engine.connect() as conn:
        for row in _rows(conn):
            count += 1
            if row["prev_hash"] != previous:
                return Verdict(count, row["id"], "does not follow the entry before it (deleted or reordered)")
            if _digest(_material(row)) != row["hash"]:
                return Verdict(count, row["id"], "its contents do not match its hash (edited)")
            previous = row["hash"]
            seen_head = seen_head or previous == expect_head
    if not seen_head:
        return Verdict(
            count, None, f"the recorded head {expect_head} is not in the log: entries were deleted", previous
        )
    return Verdict(count, None, None, None if count == 0 else previous)


def _rows(conn: Connection) -> Iterator[Mapping[str, Any]]:
    result = conn.execution_options(yield_per=1000).execute(select(audit_log).order_by(audit_log.c.id))
    for row in result:
        yield dict(row._mapping)


def entries(engine: Engine, *, matter_cms_id: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Entries, oldest first, optionally for one matter."""
    query = select(audit_log).order_by(audit_log.c.id)
    if matter_cms_id is not None:
        query = query.where(audit_log.c.matter_cms_id == matter_cms_id)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def note_mapping(engine: Engine, vendor: str, files: Mapping[str, bytes], *, actor: str) -> bool:
    """Record the field mapping in force when it differs from the one last recorded; True when it did.

    Who changed a mapping, and when, decides which matter a text was filed to: the log keeps the SHA-256
    of the bundled file and of the firm's override each time the combination changes.
    """
    digests = {name: hashlib.sha256(content).hexdigest() for name, content in sorted(files.items())}
    combined = _digest({"vendor": vendor, "files": digests})
    with engine.begin() as conn:
        last = conn.execute(
            select(audit_log.c.details)
            .where(audit_log.c.action == Action.MAPPING_CHANGE, audit_log.c.subject_id == vendor)
            .order_by(audit_log.c.id.desc())
            .limit(1)
        ).scalar()
        if isinstance(last, dict) and last.get("digest") == combined:
            return False
        append(
            conn,
            actor=actor,
            action=Action.MAPPING_CHANGE,
            subject_type="mapping",
            subject_id=vendor,
            details={"digest": combined, "files": digests, "first": last is None},
        )
    return True
