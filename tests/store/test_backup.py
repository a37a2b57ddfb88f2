"""SQLite backups taken while texts keep arriving, and the checks a restore makes before it changes anything."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from connector.errors import MatterlineError
from connector.store import backup, head_revision
from connector.store.tables import messages
from tests.support.firm import JANE, OMAR, inbound_form, seed, settings, signed
from webhooks import create_app

SMS = "/webhooks/twilio/sms"
NOW = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)
PG_URL = "postgresql+psycopg://matterline:hunter2-not-printed@db.invalid:5432/firm"


def sids(path: Path) -> set[str]:
    """The MessageSids of the texts stored in the SQLite file at `path`."""
    conn = sqlite3.connect(path)
    try:
        return {sid for (sid,) in conn.execute("SELECT sid FROM messages")}
    finally:
        conn.close()


def sqlite_path(engine: Engine) -> Path:
    assert engine.url.database is not None
    return Path(engine.url.database)


def test_an_online_backup_holds_every_text_acknowledged_before_it_began(sqlite_engine: Engine, tmp_path: Path) -> None:
    seed(sqlite_engine)
    app = create_app(settings(), sqlite_engine)

    def text(client: FlaskClient, phone: str, body: str) -> str:
        form = inbound_form(phone, body)
        response = client.post(SMS, data=form, headers=signed(SMS, form))
        assert response.status_code == 200  # acknowledged: Twilio will not send it again
        return form["MessageSid"]

    before = {text(app.test_client(), JANE, f"before {n}") for n in range(20)}
    stop, during = threading.Event(), []

    def keep_texting() -> None:
        client = app.test_client()
        while not stop.is_set() or len(during) < 5:
            during.append(text(client, OMAR, "while the backup runs"))

    writer = threading.Thread(target=keep_texting)
    writer.start()
    try:
        while len(during) < 2:  # the writer is under way before the backup begins
            stop.wait(0.005)
        copy = backup.backup(str(sqlite_engine.url), str(tmp_path / "nightly.db"))
    finally:
        stop.set()
        writer.join()

    in_copy = sids(tmp_path / "nightly.db")
    assert before <= in_copy
    assert copy.integrity == "ok"
    assert copy.revision == head_revision()
    assert copy.messages == len(in_copy) >= 22
    assert backup.check(tmp_path / "nightly.db").integrity == "ok"  # the file as it lies, read again
    # The store kept taking texts: everything the writer was told 200 for is in the live store.
    with sqlite_engine.connect() as conn:
        assert set(conn.execute(select(messages.c.sid)).scalars()) >= before | set(during)
    assert not list(tmp_path.glob(".nightly.db.partial-*"))  # no half-written file left beside it


def test_a_backup_does_not_overwrite_a_file_unless_forced(sqlite_engine: Engine, tmp_path: Path) -> None:
    target = tmp_path / "nightly.db"
    target.write_bytes(b"last week's backup")
    with pytest.raises(MatterlineError) as refused:
        backup.backup(str(sqlite_engine.url), str(target))
    assert refused.value.code == "backup_exists"
    assert target.read_bytes() == b"last week's backup"
    with pytest.raises(MatterlineError) as refused:
        backup.backup(str(sqlite_engine.url), str(sqlite_path(sqlite_engine)), force=True)
    assert refused.value.code == "same_file"  # not even with --force: the live store stays as it is
    copy = backup.backup(str(sqlite_engine.url), str(target), force=True)
    assert copy.bytes == target.stat().st_size > len(b"last week's backup")
    assert backup.check(target).revision == head_revision()


def test_a_file_that_is_not_a_matterline_store_is_refused(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE things (id INTEGER)").connection.commit()
    for path in (notes, other, tmp_path / "missing.db"):
        with pytest.raises(MatterlineError) as refused:
            backup.check(path)
        assert refused.value.code == "not_a_store", path


def test_a_backup_from_a_newer_version_is_refused(sqlite_engine: Engine, tmp_path: Path) -> None:
    future = tmp_path / "future.db"
    backup.backup(str(sqlite_engine.url), str(future))
    conn = sqlite3.connect(future)
    conn.execute("UPDATE alembic_version SET version_num = '0099'")
    conn.commit()
    conn.close()
    with pytest.raises(MatterlineError) as refused:
        backup.check(future)
    assert refused.value.code == "backup_too_new"
    assert "0099" in refused.value.message
    assert "newer version" in refused.value.message


def test_restoring_over_a_store_that_holds_data_needs_replace_and_keeps_the_old_one(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    saved = tmp_path / "saved.db"
    backup.backup(str(sqlite_engine.url), str(saved))  # a store with nothing in it yet but its tables
    seed(sqlite_engine)
    form = inbound_form(JANE, "newer than the backup")
    client = create_app(settings(), sqlite_engine).test_client()
    assert client.post(SMS, data=form, headers=signed(SMS, form)).status_code == 200
    sqlite_engine.dispose()
    target = sqlite_path(sqlite_engine)

    with pytest.raises(MatterlineError) as refused:
        backup.copy_in(saved, target, replace=False, now=NOW)
    assert refused.value.code == "store_not_empty"
    assert sids(target) == {form["MessageSid"]}  # nothing changed

    kept = backup.copy_in(saved, target, replace=True, now=NOW)
    assert kept == target.with_name(f"{target.name}.before-restore-20261208T030000Z")
    assert sids(kept) == {form["MessageSid"]}
    assert sids(target) == set()


def test_postgresql_is_refused_with_the_pg_dump_recipe_and_no_password(tmp_path: Path) -> None:
    with pytest.raises(MatterlineError) as dump:
        backup.backup(PG_URL, str(tmp_path / "firm.dump"))
    with pytest.raises(MatterlineError) as restore:
        backup.sqlite_file(PG_URL, str(tmp_path / "firm.dump"), restoring=True)
    assert dump.value.code == "use_pg_dump"
    assert (
        f"pg_dump --format=custom --file {tmp_path / 'firm.dump'} "
        "postgresql://matterline@db.invalid:5432/firm" in dump.value.message
    )
    assert restore.value.code == "use_pg_restore"
    assert "pg_restore --clean --if-exists" in restore.value.message
    for refusal in (dump.value, restore.value):
        assert "hunter2" not in refusal.message
        assert 'README "Backups and restore"' in refusal.message
    assert not (tmp_path / "firm.dump").exists()
