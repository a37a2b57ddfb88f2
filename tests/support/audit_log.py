"""A short audit log across two matters, appended the way the code paths append entries."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import JSON, Engine, Integer, String, column, insert, select, table, update

from connector.compliance import audit
from connector.store.tables import UTCDateTime, audit_log

START: Final = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
MATTERS: Final = ("101", "201", "101", None, "101", "201")


def six_entries(engine: Engine) -> list[int]:
    """Six entries, a minute apart, across matters 101 and 201 and one about no matter; their ids."""
    ids = []
    with engine.begin() as conn:
        for n, matter in enumerate(MATTERS):
            ids.append(
                audit.append(
                    conn,
                    actor=f"user:{n}",
                    action=audit.Action.REFILE if matter else audit.Action.REPLAY,
                    subject_type="message" if matter else "outbox",
                    subject_id=100 + n,
                    matter_cms_id=matter,
                    details={"n": n, "to_matter": matter},
                    at=START + timedelta(minutes=n),
                )
            )
    return ids


# A secret key as an admin would set it; the keyed chain's key is derived from it.
SECRET_KEY: Final = "audit-test-secret-key-0123456789"


def _plain_digest(row: dict[str, Any]) -> str:
    """The entry hash as the unkeyed log computed it: SHA-256 of the canonical JSON of its fields."""
    material = {name: row[name] for name in _CHAINED}
    material["at"] = row["at"].isoformat(timespec="microseconds")
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


_CHAINED: Final = (
    "at",
    "actor",
    "action",
    "subject_type",
    "subject_id",
    "matter_cms_id",
    "request_id",
    "details",
    "prev_hash",
)


# The log's columns before it was keyed.
_OLD_LOG: Final = table(
    "audit_log",
    column("id", Integer),
    column("at", UTCDateTime()),
    *(column(name, String) for name in ("actor", "action", "subject_type", "subject_id", "matter_cms_id")),
    column("request_id", String),
    column("details", JSON),
    column("prev_hash", String),
    column("hash", String),
)


def rechain_plain(engine: Engine, *, through: int | None = None) -> None:
    """What someone with write access to the database does after editing entries: recompute every hash
    from the first entry on (through entry `through`, else to the end) with plain SHA-256, so each
    entry again fits the one before it."""
    log = audit_log
    previous = "0" * 64
    with engine.begin() as conn:
        query = select(log).order_by(log.c.id)
        if through is not None:
            query = query.where(log.c.id <= through)
        rows = [dict(r._mapping) for r in conn.execute(query)]
        for row in rows:
            # A placeholder first, so two rows never hold the same hash for a moment (the column is unique).
            conn.execute(update(log).where(log.c.id == row["id"]).values(hash=f"x{row['id']}"))
        for row in rows:
            row["prev_hash"] = previous
            values: dict[str, Any] = {"prev_hash": previous, "hash": _plain_digest(row)}
            if "chain_version" in log.c:
                values["chain_version"] = 1
            conn.execute(update(log).where(log.c.id == row["id"]).values(**values))
            previous = values["hash"]


def old_entries(engine: Engine, count: int) -> None:
    """Entries as the unkeyed log wrote them (plain SHA-256 chain), straight into a store of that age."""
    previous = "0" * 64
    with engine.begin() as conn:
        for n in range(count):
            row: dict[str, Any] = {
                "at": START + timedelta(minutes=n),
                "actor": f"user:{n}",
                "action": "refile",
                "subject_type": "message",
                "subject_id": str(100 + n),
                "matter_cms_id": "101",
                "request_id": None,
                "details": {"n": n},
                "prev_hash": previous,
            }
            row["hash"] = previous = _plain_digest(row)
            conn.execute(insert(_OLD_LOG).values(**row))
