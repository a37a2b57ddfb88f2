"""Restoring a backup into the configured store: checked first, upgraded like `init`, its audit chain verified.

A restore replaces the audit log itself, so the restored chain is verified (as `matterline audit verify`
does) and then records its own restore as `store_restored`, with the backup's SHA-256 and what the
verification found: the log says when the store's history was rolled back to the backup, and from which
file. Taking a backup is a read and is not audited (`connector.store.backup`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from connector.compliance import audit
from connector.const import UNSENT_STATUSES
from connector.errors import MatterlineError
from connector.store import backup, current_revision, upgrade
from connector.store.engine import utcnow
from connector.store.tables import messages, send_attempts, writebacks

__all__ = ["Restored", "restore"]


@dataclass(frozen=True, slots=True)
class Restored:
    """What a restore did: the backup as checked, the store it kept aside, the migrations, the chain's verdict."""

    backup: backup.Copy
    sha256: str
    kept: str | None
    revision_before: str
    revision: str | None
    verdict: audit.Verdict
    entry_id: int  # the `store_restored` entry that records this restore
    # Texts and CMS records still to go out, each now looked up at Twilio or the CMS before it is sent.
    looked_up_first: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        """The restore as `matterline restore --json` prints it."""
        return {
            "backup": self.backup.to_json(),
            "sha256": self.sha256,
            "kept": self.kept,
            "revision_before": self.revision_before,
            "revision": self.revision,
            "audit": self.verdict.to_json(),
            "entry_id": self.entry_id,
            "looked_up_first": self.looked_up_first,
        }


def restore(engine: Engine, url: str, path: str, *, replace: bool, actor: str, now: datetime | None = None) -> Restored:
    """Restore the SQLite backup at `path` into the store at `url` (which `engine` opens).

    Nothing connects to the store before the backup is checked and the target found empty (or `replace`
    given), and nothing connects at all for a PostgreSQL store (the refusal names pg_restore).

    Raises:
        MatterlineError: `use_pg_restore`, `in_memory_store`, `not_a_store`, `store_damaged`,
            `backup_too_new`, `store_not_empty`; `audit_key_missing` after the copy when the restored log
            is keyed and no key is set (the store is restored; set the key and run `matterline audit verify`).
    """
    target = backup.sqlite_file(url, path, restoring=True)
    source = Path(path)
    checked = backup.check(source)
    digest = backup.sha256(source)
    kept = backup.copy_in(source, target, replace=replace, now=now or utcnow())
    engine.dispose()  # connections opened before the copy see the new file afresh
    upgrade(engine)
    if audit.keyed(engine):
        # As `matterline init` does: a log kept plain before a key was set is keyed from here on. A plain
        # chain that is broken stays as it is, for the verify below to name where.
        with contextlib.suppress(MatterlineError):
            audit.rekey(engine, actor=actor)
    verdict = audit.verify(engine)
    # After the verify, so the verdict is the backup's chain's; appended whatever it found (verify raised
    # already when the log is keyed and this process has no key).
    with engine.begin() as conn:
        looked_up = _look_up_first(conn)
        entry_id = audit.append(
            conn,
            actor=actor,
            action=audit.Action.STORE_RESTORED,
            subject_type="store",
            details={
                "backup": source.name,
                "sha256": digest,
                "backup_revision": checked.revision,
                "messages": checked.messages,
                "audit_entries": checked.audit_entries,
                "verified": verdict.intact,
                "kept": None if kept is None else kept.name,
                "looked_up_first": looked_up,
            },
        )
    return Restored(
        checked,
        digest,
        None if kept is None else str(kept),
        checked.revision,
        current_revision(engine),
        verdict,
        entry_id,
        looked_up,
    )


def _look_up_first(conn: Connection) -> dict[str, int]:
    """Make every text and CMS record still to go out be looked up before it is sent or written.

    A backup is a moment: a text queued then may have reached Twilio, and a note the CMS, after it, and the
    restored store cannot know. Each unsent text gets an unanswered attempt dated when it was queued (the
    sender then asks Twilio for a message with its words to that number first and adopts one it finds), and
    each pending record is marked ambiguous (the writer looks its marker up in the CMS first). Nothing goes out
    twice because a store was restored.
    """
    unsent = list(
        conn.execute(select(messages.c.id, messages.c.created_at).where(messages.c.status.in_(UNSENT_STATUSES)))
    )
    if unsent:
        conn.execute(
            insert(send_attempts),
            [
                {
                    "message_id": row.id,
                    "started_at": row.created_at,
                    "outcome": "ambiguous",
                    "owner": "restore",
                    "detail": "restored from a backup: looked up at Twilio before it is sent",
                }
                for row in unsent
            ],
        )
    records = conn.execute(
        update(writebacks)
        .where(writebacks.c.state == "pending", writebacks.c.ambiguous.is_(False))
        .values(ambiguous=True)
    ).rowcount
    return {"texts": len(unsent), "records": int(records or 0)}
