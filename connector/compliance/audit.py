"""The audit log: append-only and hash-chained, so an edited, deleted or reordered entry is detectable.

Each entry's hash covers its own fields and the previous entry's hash. A plain SHA-256 chain can be
recomputed by anyone who can edit the database, so the chain is keyed: HMAC-SHA256 under a key derived
(HKDF) from MATTERLINE_AUDIT_KEY, else MATTERLINE_SECRET_KEY. Entries written before a store had a key
stay plain (chain version 1) and are checked as such up to the first keyed entry, whose HMAC covers the
last plain hash; nothing is ever re-hashed. Signed checkpoints of the head show entries cut off the end.
Entries never hold message bodies: the log proves who did what, when and in which matter, not what was said.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, func, insert, select

from connector.crypto import derive_key
from connector.errors import MatterlineError, conflict, malformed, unavailable
from connector.store import dialect
from connector.store.engine import utcnow
from connector.store.tables import audit_checkpoints, audit_log


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
    TRIAGE_CORRECTED = "triage_corrected"
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
    RULES_CHANGE = "rules_change"
    TEMPLATES_CHANGE = "templates_change"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    CMS_LINKED = "cms_linked"
    CUSTOM_ACTIONS = "custom_actions"
    PASSWORD_SET = "password_set"  # noqa: S105 - an action's name, not a secret
    LINK_ISSUED = "link_issued"
    LINK_REDEEMED = "link_redeemed"
    LINK_REFUSED = "link_refused"
    PRIVACY_SET = "privacy_set"
    USER_ADDED = "user_added"
    USER_DISABLED = "user_disabled"
    ROLE_CHANGED = "role_changed"
    SESSIONS_ENDED = "sessions_ended"
    TOKEN_REVOKED = "token_revoked"  # noqa: S105 - an action's name, not a secret
    TOKEN_ROTATED = "token_rotated"  # noqa: S105 - an action's name, not a secret
    INTAKE_RETRY = "intake_retry"
    CHAIN_REKEYED = "chain_rekeyed"
    AUDIT_CHECKPOINT = "audit_checkpoint"
    CMS_CHECK = "cms_check"
    WEBHOOKS_RENEWED = "webhooks_renewed"
    SYNC_REQUESTED = "sync_requested"
    SYNC_RUN = "sync_run"
    REMINDERS_CHANGE = "reminders_change"
    AWAY_SET = "away_set"
    AWAY_ENDED = "away_ended"
    REPLY_OVERDUE = "reply_overdue"
    STORE_RESTORED = "store_restored"
    SECRETS_RESEALED = "secrets_resealed"


GENESIS = "0" * 64
# How an entry's hash was made: plain SHA-256 (entries from before the chain was keyed), or HMAC-SHA256
# under the audit key. A plain entry may only come before the first keyed one.
PLAIN = 1
KEYED = 2
# One PostgreSQL advisory lock serialises appends, so two writers never chain onto the same entry.
_PG_LOCK_KEY = 0x4D4C_4155  # "MLAU"
_KEY_LABEL = b"matterline/audit-chain/v1"
_CHECKPOINT_LABEL = "matterline/audit-checkpoint/v1"
_CHECKPOINT_PREFIX = "mlcp1"
_CHECKPOINT_AT = "%Y%m%dT%H%M%S.%fZ"
_CHECKPOINT_TEXT = re.compile(
    rf"{_CHECKPOINT_PREFIX}\.(?P<entry_id>[0-9]{{1,18}})\.(?P<entries>[0-9]{{1,18}})\.(?P<entry_hash>[0-9a-f]{{64}})"
    r"\.(?P<at>[0-9]{8}T[0-9]{6}\.[0-9]{6}Z)\.(?P<signature>[0-9a-f]{64})"
)

# The audit key of each open store. It lives beside the engine, not in each caller, so every code path
# that appends an entry keys it without knowing about keys.
_KEYS: WeakKeyDictionary[Engine, bytes] = WeakKeyDictionary()


def use_key(engine: Engine, secret: str | None) -> None:
    """Key the chain of entries appended through `engine` with a key derived from `secret` (None: unkeyed).

    `secret` is MATTERLINE_AUDIT_KEY, else MATTERLINE_SECRET_KEY (`Settings.audit_secret`).
    """
    if secret:
        _KEYS[engine] = derive_key(secret, _KEY_LABEL)
    else:
        _KEYS.pop(engine, None)


def keyed(engine: Engine) -> bool:
    """Whether entries appended through `engine` are keyed."""
    return engine in _KEYS


def key_missing() -> MatterlineError:
    """Refused: the log is keyed, and this process has no key to append to or check it with."""
    return unavailable(
        "audit_key_missing",
        "the audit log is keyed and no key is set: set MATTERLINE_SECRET_KEY (or MATTERLINE_AUDIT_KEY) as "
        "the other Matterline processes have it; nothing was done",
    )


def _canonical(entry: Mapping[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False).encode()


def _digest(entry: Mapping[str, Any]) -> str:
    return hashlib.sha256(_canonical(entry)).hexdigest()


def _seal(row: Mapping[str, Any], key: bytes | None) -> str:
    """The entry's hash: plain SHA-256 for a version-1 entry, else HMAC-SHA256 (the version included)."""
    if row["chain_version"] == PLAIN:
        return _digest(_material(row))
    if key is None:
        raise key_missing()
    material = {**_material(row), "chain_version": row["chain_version"]}
    return hmac.new(key, _canonical(material), hashlib.sha256).hexdigest()


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
    """Append one entry inside the caller's transaction; it lands or vanishes with the change it records.

    Keyed whenever the store has a key. Without one, a log that is already keyed refuses the entry (and
    so the action with it) rather than take an entry anyone could forge.

    Raises:
        MatterlineError: `audit_key_missing`.
    """
    dialect.advisory_lock(conn, _PG_LOCK_KEY)
    last = conn.execute(
        select(audit_log.c.hash, audit_log.c.chain_version).order_by(audit_log.c.id.desc()).limit(1)
    ).first()
    key = _KEYS.get(conn.engine)
    if key is None and last is not None and last.chain_version != PLAIN:
        raise key_missing()
    row: dict[str, Any] = {
        "at": (at or utcnow()).astimezone(UTC),
        "actor": actor,
        "action": str(action),
        "subject_type": subject_type,
        "subject_id": None if subject_id is None else str(subject_id),
        "matter_cms_id": matter_cms_id,
        "request_id": request_id,
        "details": dict(details) if details else None,
        "prev_hash": GENESIS if last is None else last.hash,
        "chain_version": PLAIN if key is None else KEYED,
    }
    row["hash"] = _seal(row, key)
    return int(conn.execute(insert(audit_log).values(**row).returning(audit_log.c.id)).scalar_one())


# -- checkpoints ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement that the log held `entries` entries, the newest `entry_id` with `entry_hash`."""

    at: datetime
    entry_id: int
    entry_hash: str
    entries: int
    signature: str
    id: int | None = None  # its row in audit_checkpoints; None for one read from text

    @property
    def text(self) -> str:
        """One line an admin keeps away from the store, for `audit verify --checkpoint`."""
        at = self.at.astimezone(UTC).strftime(_CHECKPOINT_AT)
        return f"{_CHECKPOINT_PREFIX}.{self.entry_id}.{self.entries}.{self.entry_hash}.{at}.{self.signature}"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Read a checkpoint as `text` printed it.

        Raises:
            MatterlineError: `invalid_checkpoint`.
        """
        found = _CHECKPOINT_TEXT.fullmatch(text.strip())
        if found is None:
            raise malformed(
                "invalid_checkpoint",
                f"not a checkpoint as `matterline audit checkpoint` prints it ({_CHECKPOINT_PREFIX}.…)",
            )
        at = datetime.strptime(found["at"], _CHECKPOINT_AT).replace(tzinfo=UTC)
        return cls(at, int(found["entry_id"]), found["entry_hash"], int(found["entries"]), found["signature"])

    def to_json(self) -> dict[str, Any]:
        """The checkpoint as the CLI and the API print it."""
        return {
            "id": self.id,
            "at": self.at,
            "entry_id": self.entry_id,
            "entry_hash": self.entry_hash,
            "entries": self.entries,
            "checkpoint": self.text,
        }


def _signature(key: bytes, at: datetime, entry_id: int, entry_hash: str, entries: int) -> str:
    at_text = at.astimezone(UTC).strftime(_CHECKPOINT_AT)
    message = f"{_CHECKPOINT_LABEL}|{entry_id}|{entries}|{entry_hash}|{at_text}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _signed(key: bytes, checkpoint: Checkpoint) -> bool:
    expected = _signature(key, checkpoint.at, checkpoint.entry_id, checkpoint.entry_hash, checkpoint.entries)
    return hmac.compare_digest(expected, checkpoint.signature)


def checkpoint(engine: Engine, *, actor: str) -> Checkpoint:
    """Sign the head of an intact log, keep the checkpoint, and record that in the log itself.

    The entry that records it is what shows a checkpoint deleted from its table, and the checkpoint is
    what shows entries cut off the end; only a printed one (kept away from the store) survives someone
    who deletes both.

    Raises:
        MatterlineError: `audit_key_missing`, `audit_log_broken`, `audit_log_empty`.
    """
    key = _KEYS.get(engine)
    if key is None:
        raise key_missing()
    verdict = verify(engine)
    if not verdict.intact:
        raise conflict(
            "audit_log_broken", f"the audit log is broken, so no checkpoint was signed: {verdict.describe()}"
        )
    if verdict.head_id is None or verdict.head is None:
        raise conflict("audit_log_empty", "the audit log has no entries to sign")
    at = utcnow()
    signature = _signature(key, at, verdict.head_id, verdict.head, verdict.entries)
    signed = Checkpoint(at, verdict.head_id, verdict.head, verdict.entries, signature)
    with engine.begin() as conn:
        values = {"at": at, "actor": actor, "entry_id": signed.entry_id, "entry_hash": signed.entry_hash}
        values |= {"entries": signed.entries, "signature": signature}
        new_id = int(
            conn.execute(insert(audit_checkpoints).values(**values).returning(audit_checkpoints.c.id)).scalar_one()
        )
        append(
            conn,
            actor=actor,
            action=Action.AUDIT_CHECKPOINT,
            subject_type="audit_checkpoint",
            subject_id=new_id,
            details={"entry_id": signed.entry_id, "entries": signed.entries},
            at=at,
        )
    return replace(signed, id=new_id)


def checkpoint_due(engine: Engine, every: timedelta) -> bool:
    """Whether the log is keyed, has entries, and its last checkpoint is older than `every`."""
    if not keyed(engine):
        return False
    with engine.connect() as conn:
        last = conn.execute(select(func.max(audit_checkpoints.c.at))).scalar()
        anything = conn.execute(select(audit_log.c.id).limit(1)).first() is not None
    return anything and (last is None or utcnow() - last >= every)


def rekey(engine: Engine, *, actor: str) -> int | None:
    """Key a log kept so far with plain SHA-256: check it, then append a keyed `chain_rekeyed` entry.

    That entry's HMAC covers the last plain hash, so from then on an old entry cannot be edited and
    re-chained without the key; old entries keep their hashes (nothing is rewritten). The entry's id,
    or None when there was nothing to key (an empty log, or one keyed already).

    Raises:
        MatterlineError: `audit_key_missing`, `audit_log_broken` (the plain chain does not verify).
    """
    if not keyed(engine):
        raise key_missing()
    with engine.connect() as conn:
        walk = _walk(conn, _KEYS[engine])
    if walk.broken_id is not None or walk.reason is not None:
        raise conflict(
            "audit_log_broken",
            f"the audit log is broken at entry {walk.broken_id} ({walk.reason}), so it was not keyed",
            {"broken_id": walk.broken_id},
        )
    if walk.count == 0 or walk.keyed_from is not None:
        return None
    with engine.begin() as conn:
        dialect.advisory_lock(conn, _PG_LOCK_KEY)
        last = conn.execute(select(audit_log.c.chain_version).order_by(audit_log.c.id.desc()).limit(1)).scalar()
        if last != PLAIN:
            return None  # keyed meanwhile, by another process
        return append(
            conn,
            actor=actor,
            action=Action.CHAIN_REKEYED,
            subject_type="audit_log",
            details={"plain_entries": walk.count, "plain_head": walk.previous},
        )


# -- verifying -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    """The result of checking the chain and its checkpoints: `broken_id` names the first entry that does
    not fit, `broken_checkpoint_id` a checkpoint that does not."""

    entries: int
    broken_id: int | None
    reason: str | None
    head: str | None = None  # the newest entry's hash: record it elsewhere to catch a cut-off tail later
    head_id: int | None = None
    keyed_from: int | None = None  # the first keyed entry; None while the log is plain SHA-256
    checkpoints: int = 0
    last_checkpoint: Checkpoint | None = None
    broken_checkpoint_id: int | None = None

    @property
    def intact(self) -> bool:
        """True when every entry and every checkpoint checks out."""
        return self.broken_id is None and self.reason is None

    def describe(self) -> str:
        """Where it broke and why, in one line."""
        if self.broken_id is not None:
            return f"at entry {self.broken_id}: {self.reason}"
        return self.reason or "intact"

    def to_json(self) -> dict[str, Any]:
        """The verdict as the CLI and the API print it."""
        return {
            "intact": self.intact,
            "entries": self.entries,
            "broken_id": self.broken_id,
            "broken_checkpoint_id": self.broken_checkpoint_id,
            "reason": self.reason,
            "head": self.head,
            "head_id": self.head_id,
            "keyed_from": self.keyed_from,
            "checkpoints": self.checkpoints,
            "last_checkpoint": None if self.last_checkpoint is None else self.last_checkpoint.to_json(),
        }


@dataclass
class _Walk:
    """What one pass over the log found."""

    count: int = 0
    previous: str = GENESIS
    head_id: int | None = None
    keyed_from: int | None = None
    broken_id: int | None = None
    reason: str | None = None
    # entry id -> (its hash, its position), for the entries checkpoints name
    named: dict[int, tuple[str, int]] = field(default_factory=dict)
    recorded_checkpoints: set[int] = field(default_factory=set)


def _walk(conn: Connection, key: bytes | None, named: frozenset[int] = frozenset()) -> _Walk:
    """Recompute every hash in order; stop at the first entry that does not fit."""
    walk = _Walk()
    for row in _rows(conn):
        walk.count += 1
        if row["prev_hash"] != walk.previous:
            walk.broken_id, walk.reason = row["id"], "does not follow the entry before it (deleted or reordered)"
            return walk
        if row["chain_version"] == PLAIN and walk.keyed_from is not None:
            walk.broken_id, walk.reason = (
                row["id"],
                "an unkeyed entry after the log was keyed (rewritten without the key)",
            )
            return walk
        if row["chain_version"] != PLAIN and walk.keyed_from is None:
            walk.keyed_from = row["id"]
        if row["chain_version"] != PLAIN and key is None:
            raise key_missing()
        if not hmac.compare_digest(_seal(row, key), row["hash"]):
            walk.broken_id, walk.reason = (
                row["id"],
                "its contents do not match its hash (edited, or keyed with another key)",
            )
            return walk
        walk.previous, walk.head_id = row["hash"], row["id"]
        if row["id"] in named:
            walk.named[row["id"]] = (row["hash"], walk.count)
        if row["action"] == Action.AUDIT_CHECKPOINT and row["subject_id"] is not None:
            walk.recorded_checkpoints.add(int(row["subject_id"]))
    return walk


def verify(engine: Engine, *, expect_head: str | None = None, kept: Checkpoint | None = None) -> Verdict:
    """Walk the log in order and recompute every hash, then hold it against every checkpoint.

    A chain alone cannot show that its newest entries were cut off: the checkpoints can (each names an
    entry that must still be there, with the same hash and the same number of entries up to it), and
    so can `kept`, a checkpoint printed earlier and kept away from the store, or `expect_head`, a head
    hash recorded earlier.

    Raises:
        MatterlineError: `audit_key_missing` (the log is keyed and no key is set).
    """
    key = _KEYS.get(engine)
    with engine.connect() as conn:
        stored = [
            Checkpoint(r.at, r.entry_id, r.entry_hash, r.entries, r.signature, r.id)
            for r in conn.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.id))
        ]
        names = frozenset(c.entry_id for c in [*stored, *([kept] if kept else [])])
        walk = _walk(conn, key, names)
    found = Verdict(
        walk.count,
        walk.broken_id,
        walk.reason,
        None if walk.count == 0 else walk.previous,
        walk.head_id,
        walk.keyed_from,
        len(stored),
        stored[-1] if stored else None,
    )
    if not found.intact:
        return found
    if key is not None and walk.count and walk.keyed_from is None:
        return replace(
            found,
            reason="no entry is keyed although an audit key is set: the log was re-hashed without the key, "
            "or was never keyed (then run `matterline audit rekey`)",
        )
    problem = _checkpoint_problem(key, walk, stored, kept)
    if problem is not None:
        return replace(found, reason=problem[1], broken_checkpoint_id=problem[0])
    if expect_head is not None and not _holds(engine, expect_head):
        return replace(found, reason=f"the recorded head {expect_head} is not in the log: entries were deleted")
    return found


def _checkpoint_problem(
    key: bytes | None, walk: _Walk, stored: list[Checkpoint], kept: Checkpoint | None
) -> tuple[int | None, str] | None:
    """The first checkpoint the log does not fit, with why; None when all fit."""
    for checkpoint in [*stored, *([kept] if kept else [])]:
        name = f"checkpoint {checkpoint.id}" if checkpoint.id is not None else "the checkpoint"
        if key is None:
            raise key_missing()
        if not _signed(key, checkpoint):
            return checkpoint.id, f"{name}: its signature does not match (forged, altered, or signed with another key)"
        if checkpoint.entry_id not in walk.named:
            if walk.head_id is None or checkpoint.entry_id > walk.head_id:
                last = "the last checkpoint" if checkpoint.id is not None else "the checkpoint"
                return checkpoint.id, (
                    f"fewer entries than {last} ({walk.count} now; it signed {checkpoint.entries}, through "
                    f"entry {checkpoint.entry_id}): entries were cut off the end"
                )
            return checkpoint.id, f"entry {checkpoint.entry_id}, which {name} signed, is gone: entries were deleted"
        entry_hash, position = walk.named[checkpoint.entry_id]
        if entry_hash != checkpoint.entry_hash or position != checkpoint.entries:
            return checkpoint.id, f"entry {checkpoint.entry_id} is not the one {name} signed: the log was rewritten"
    missing = sorted(walk.recorded_checkpoints - {c.id for c in stored})
    if missing:
        return missing[
            0
        ], f"checkpoint {missing[0]}, recorded in the log, is missing from its table: checkpoints were deleted"
    for checkpoint in stored:
        if checkpoint.id not in walk.recorded_checkpoints:
            return checkpoint.id, f"checkpoint {checkpoint.id} is not in the log: entries after it were deleted"
    return None


def _holds(engine: Engine, entry_hash: str) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(audit_log.c.id).where(audit_log.c.hash == entry_hash)).first() is not None


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
