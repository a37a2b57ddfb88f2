"""Restoring: an older backup is upgraded like `matterline init`, and the restore is recorded in the log it restored."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from connector.compliance import audit
from connector.errors import MatterlineError
from connector.services import backups
from connector.store import backup, current_revision, head_revision, make_engine, upgrade
from connector.store.tables import audit_log

NOW = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)


def test_an_older_backup_is_upgraded_and_keyed_like_init_and_its_restore_is_the_newest_entry(tmp_path: Path) -> None:
    old = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(old, "0016")  # the version before the workflow issue, and a log kept before a key was set
    with old.begin() as conn:
        audit.append(conn, actor="cli:admin", action=audit.Action.HOLD_SET, subject_type="matter", subject_id="101")
    old.dispose()
    saved = backup.backup(f"sqlite:///{tmp_path / 'old.db'}", str(tmp_path / "old-backup.db"))
    assert saved.revision == "0016"

    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    audit.use_key(fresh, "a-secret-key-of-32-characters-ok")
    done = backups.restore(
        fresh, str(fresh.url), str(tmp_path / "old-backup.db"), replace=False, actor="cli:admin", now=NOW
    )
    assert (done.revision_before, done.revision) == ("0016", head_revision())
    assert current_revision(fresh) == head_revision()
    assert done.verdict.intact
    assert done.verdict.entries == 2  # the backup's entry, and the one that keys the log from here on
    assert done.verdict.keyed_from is not None
    assert done.kept is None
    with fresh.connect() as conn:
        actions = [row.action for row in conn.execute(select(audit_log).order_by(audit_log.c.id))]
        last = conn.execute(select(audit_log.c.details).order_by(audit_log.c.id.desc()).limit(1)).scalar_one()
    assert actions == ["hold_set", "chain_rekeyed", "store_restored"]
    assert last["backup_revision"] == "0016"
    assert last["sha256"] == done.sha256 == backup.sha256(tmp_path / "old-backup.db")
    assert audit.verify(fresh).intact
    fresh.dispose()


def test_nothing_is_touched_when_the_backup_is_not_a_store(tmp_path: Path) -> None:
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a database")
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    with pytest.raises(MatterlineError) as refused:
        backups.restore(fresh, str(fresh.url), str(tmp_path / "photo.jpg"), replace=True, actor="cli:admin")
    assert refused.value.code == "not_a_store"
    assert not (tmp_path / "fresh.db").exists()
