"""`matterline init`, `backup` and `restore`: a store made, copied while in use, and brought back whole."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from connector.messaging import intake
from connector.store import make_engine
from connector.store.tables import audit_log, messages, opt_outs, threads
from tests.support import firm
from tests.support.command import run
from webhooks import create_app

SMS = "/webhooks/twilio/sms"
KEY = "a-secret-key-of-32-characters-ok"
SETTINGS = firm.settings(MATTERLINE_SECRET_KEY=KEY)


def test_init_is_safe_to_run_twice(env: dict[str, str]) -> None:
    code, out, _ = run(env, "init")
    assert code == 0
    assert "upgraded from empty" in out
    code, out, _ = run(env, "init")
    assert code == 0
    assert "is current" in out


def store_env(path: Path) -> dict[str, str]:
    return {"MATTERLINE_DATABASE_URL": f"sqlite:///{path}", "MATTERLINE_SECRET_KEY": KEY}


def rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """What a firm would miss: every text (id, sid, body, thread), thread and opt-out, as stored."""
    with engine.connect() as conn:
        return {
            "messages": [
                tuple(r)
                for r in conn.execute(
                    select(messages.c.id, messages.c.sid, messages.c.body, messages.c.thread_id).order_by(messages.c.id)
                )
            ],
            "threads": [tuple(r) for r in conn.execute(select(threads.c.id, threads.c.client_phone))],
            "opt_outs": [tuple(r) for r in conn.execute(select(opt_outs.c.id, opt_outs.c.phone, opt_outs.c.action))],
            "audit": [
                tuple(r) for r in conn.execute(select(audit_log.c.id, audit_log.c.hash).order_by(audit_log.c.id))
            ],
        }


@dataclass(frozen=True)
class Firm:
    """A firm's SQLite store with a keyed audit log, and the app that takes its texts."""

    env: dict[str, str]
    engine: Engine
    app: FlaskClient


@pytest.fixture
def firm_store(sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Firm:
    monkeypatch.chdir(tmp_path)
    assert sqlite_engine.url.database is not None
    firm.seed(sqlite_engine)
    app = create_app(SETTINGS, sqlite_engine).test_client()  # keys the audit log, as every process would
    return Firm(store_env(Path(sqlite_engine.url.database)), sqlite_engine, app)


def text(store: Firm, phone: str, body: str) -> None:
    """A client's text as Twilio posts it, answered 200, then taken in by the worker's intake."""
    form = firm.inbound_form(phone, body)
    assert store.app.post(SMS, data=form, headers=firm.signed(SMS, form)).status_code == 200
    intake.drain(store.engine, SETTINGS)


def test_a_backup_restored_into_a_fresh_store_loses_nothing_and_its_audit_log_verifies(
    firm_store: Firm, tmp_path: Path
) -> None:
    live, engine = firm_store.env, firm_store.engine
    text(firm_store, firm.JANE, "Is the hearing still on Friday?")
    text(firm_store, firm.OMAR, "Here is the lease you asked for")
    text(firm_store, firm.OMAR, "STOP")
    acknowledged = rows(engine)
    assert acknowledged["opt_outs"]
    assert len(acknowledged["threads"]) == 2
    assert len(acknowledged["audit"]) >= 4

    code, out, err = run(live, "backup", str(tmp_path / "nightly.db"), "--json")
    assert code == 0, err
    written = json.loads(out)
    assert written["messages"] == len(acknowledged["messages"])
    assert written["audit_entries"] == len(acknowledged["audit"])
    assert written["integrity"] == "ok"
    text(firm_store, firm.JANE, "sent after the backup")  # not in the backup, so not in the restored store

    fresh = store_env(tmp_path / "fresh.db")
    code, out, err = run(fresh, "restore", str(tmp_path / "nightly.db"))
    assert code == 0, err
    assert f"audit log intact: {len(acknowledged['audit'])} entries checked (keyed)" in out

    restored = make_engine(fresh["MATTERLINE_DATABASE_URL"])
    after = rows(restored)
    restored.dispose()
    assert {k: v for k, v in after.items() if k != "audit"} == {k: v for k, v in acknowledged.items() if k != "audit"}
    assert after["audit"][:-1] == acknowledged["audit"]
    code, out, err = run(fresh, "audit", "verify")
    assert code == 0, err
    assert f"{len(acknowledged['audit']) + 1} entries checked (keyed)" in out
    code, out, _ = run(fresh, "audit", "--json", "--limit", "1")
    (last,) = json.loads(out)
    assert last["action"] == "store_restored"
    assert last["details"]["backup"] == "nightly.db"
    assert last["details"]["verified"] is True


def test_a_restore_into_a_store_that_holds_data_changes_nothing_without_replace(
    firm_store: Firm, tmp_path: Path
) -> None:
    live, engine = firm_store.env, firm_store.engine
    assert run(live, "backup", str(tmp_path / "nightly.db"))[0] == 0
    text(firm_store, firm.JANE, "newer than the backup")
    before = rows(engine)

    code, _, err = run(live, "restore", str(tmp_path / "nightly.db"))
    assert code == 1
    assert "store_not_empty" in err
    assert "--replace" in err
    assert rows(engine) == before
    assert not list(Path(live["MATTERLINE_DATABASE_URL"].removeprefix("sqlite:///")).parent.glob("*.before-restore-*"))

    code, _, err = run(live, "backup", str(tmp_path / "nightly.db"))
    assert code == 1
    assert "backup_exists" in err


def test_a_restored_audit_log_that_does_not_verify_fails_the_restore(firm_store: Firm, tmp_path: Path) -> None:
    live = firm_store.env
    text(firm_store, firm.JANE, "Is the hearing still on Friday?")
    assert run(live, "backup", str(tmp_path / "nightly.db"))[0] == 0
    edited = sqlite3.connect(tmp_path / "nightly.db")
    first = edited.execute("SELECT min(id) FROM audit_log").fetchone()[0]
    edited.execute("UPDATE audit_log SET actor = 'someone else' WHERE id = ?", (first,))
    edited.commit()
    edited.close()

    code, out, err = run(store_env(tmp_path / "fresh.db"), "restore", str(tmp_path / "nightly.db"))
    assert code == 1
    assert f"broken: at entry {first}" in err
    assert "store_restored" in out  # the restore is on record all the same


@pytest.mark.parametrize("command", ["backup", "restore"])
def test_postgresql_gets_the_recipe_without_the_password_and_no_connection(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"MATTERLINE_DATABASE_URL": "postgresql://matterline:hunter2-not-printed@db.invalid:5432/firm"}
    code, out, err = run(env, command, str(tmp_path / "firm.dump"))
    assert code == 1
    tool = "pg_dump --format=custom --file" if command == "backup" else "pg_restore --clean --if-exists"
    assert tool in err
    assert "postgresql://matterline@db.invalid:5432/firm" in err  # had it tried db.invalid, it would say so
    assert "hunter2" not in out + err
    assert 'README "Backups and restore"' in err


def test_a_text_sent_after_the_backup_is_not_sent_again_by_the_restored_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The restored queue still holds the text; Twilio already has it: the worker adopts it, never texts twice."""
    from connector.sandbox import SANDBOX_ACCOUNT_SID, SANDBOX_AUTH_TOKEN, TwilioServer, TwilioState

    monkeypatch.chdir(tmp_path)
    live = store_env(tmp_path / "live.db")
    assert run(live, "init")[0] == 0
    engine = make_engine(live["MATTERLINE_DATABASE_URL"])
    firm.seed(engine)
    engine.dispose()
    with TwilioServer(TwilioState(incoming_numbers=(firm.FIRM_NUMBER,))) as twilio:
        texting = {
            "MATTERLINE_FIRM_NUMBERS": firm.FIRM_NUMBER,
            "TWILIO_ACCOUNT_SID": SANDBOX_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": SANDBOX_AUTH_TOKEN,
            "MATTERLINE_TWILIO_API_URL": twilio.origin,
            "MATTERLINE_QUIET_HOURS": "off",
        }
        code, _, err = run({**live, **texting}, "send", "--matter", "101", "--body", "Court moved to 10:00")
        assert code == 0, err
        assert run(live, "backup", str(tmp_path / "nightly.db"))[0] == 0
        code, out, _ = run({**live, **texting}, "worker", "--once")  # it goes out after the backup
        assert "1 sent" in out
        assert len(twilio.state.messages(to=firm.JANE)) == 1

        fresh = store_env(tmp_path / "fresh.db")
        code, out, err = run(fresh, "restore", str(tmp_path / "nightly.db"))
        assert code == 0, err
        assert "1 texts and 0 CMS records are looked up at Twilio and the CMS first, so none goes twice" in out
        code, out, _ = run({**fresh, **texting}, "worker", "--once")

        assert "1 found already sent" in out
        assert len(twilio.state.messages(to=firm.JANE)) == 1  # the client got it once
        restored = make_engine(fresh["MATTERLINE_DATABASE_URL"])
        with restored.connect() as conn:
            sid = conn.execute(select(messages.c.sid).where(messages.c.body == "Court moved to 10:00")).scalar()
        restored.dispose()
        assert sid == twilio.state.messages(to=firm.JANE)[0]["sid"]
