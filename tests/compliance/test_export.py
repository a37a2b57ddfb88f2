"""A matter's export: the files a recipient gets, that they are whole and escaped, what they hold and never hold."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, insert, select

from connector import jsonable, services
from connector.compliance import export as export_module
from connector.compliance.export import CSV_COLUMNS, export_matter
from connector.compliance.retention import purge
from connector.errors import MatterlineError
from connector.settings import Settings
from connector.staff.users import Actor
from connector.store.tables import audit_log, consents, messages
from tests.support.command import run
from tests.support.firm import JANE, OMAR, TWILIO_TOKEN, seed, settings
from tests.support.matter_history import (
    MEDIA_URL,
    close_windows,
    confirm_written,
    file_omar_to,
    reply,
    text_in,
)
from tests.support.people import add_user

NY = ZoneInfo("America/New_York")
T0 = datetime(2026, 11, 2, 9, 14, tzinfo=NY)  # EST: daylight saving ended the day before
CMS_TOKEN = "cms-access-token-do-not-leak-7f3a"
SECRET_KEY = "matterline-secret-key-do-not-leak"
SCRIPT = '<script>alert("pwned")</script> & more'
FILES = {"export.json", "messages.csv", "transcript.html", "manifest.json"}


def export_settings() -> Settings:
    return settings(
        MATTERLINE_CMS_ACCESS_TOKEN=CMS_TOKEN,
        MATTERLINE_CMS_REFRESH_TOKEN=CMS_TOKEN + "-refresh",
        MATTERLINE_SECRET_KEY=SECRET_KEY,
    )


@pytest.fixture
def store(engine: Engine) -> Engine:
    """Jane's matter 101: an old window (written, later purged), then a photo, an answer delivered, a text
    with markup in it, a STOP and a START. Omar's matter 201 has a text of its own."""
    seed(engine)
    text_in(engine, JANE, "An old question from years ago", T0)
    close_windows(engine, T0 + timedelta(minutes=30))
    confirm_written(engine, T0 + timedelta(hours=1))
    purge(engine, settings(), now=T0 + timedelta(hours=1, days=2556))
    text_in(engine, JANE, "Here is the letter", T0 + timedelta(hours=2), media=True)
    reply(engine, "101", "Thanks, got it.", T0 + timedelta(hours=2, minutes=5))
    text_in(engine, JANE, SCRIPT, T0 + timedelta(hours=2, minutes=7))
    text_in(engine, JANE, "STOP", T0 + timedelta(hours=3))
    text_in(engine, JANE, "START", T0 + timedelta(hours=3, minutes=1))
    text_in(engine, OMAR, "Omar's private note about the lease", T0 + timedelta(hours=4))
    file_omar_to(engine, "201", T0 + timedelta(hours=4, minutes=1))
    with engine.begin() as conn:
        conn.execute(
            insert(consents).values(
                phone=JANE,
                action="grant",
                method="verbal",
                scope="all matters",
                source="intake call",
                captured_by="user:1:ann@firm.example",
                client_cms_id="1",
                captured_at=T0 - timedelta(days=1),
                created_at=T0 - timedelta(days=1),
            )
        )
    return engine


def do_export(engine: Engine, out: Path) -> dict[str, Any]:
    result = services.exports.export_matter(engine, export_settings(), "101", out_dir=out, actor=Actor("cli:paralegal"))
    assert result.out_dir == str(out.absolute())
    exported: dict[str, Any] = jsonable.plain(result)
    return exported


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def matter_message_ids(engine: Engine, matter: str) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(select(messages.c.id).where(messages.c.matter_cms_id == matter)).scalars())


def test_the_export_writes_four_files_and_the_manifest_hashes_match_their_bytes(store: Engine, tmp_path: Path) -> None:
    out = tmp_path / "exports" / "doe-101"
    result = do_export(store, out)
    assert {p.name for p in out.iterdir()} == FILES
    manifest = read_json(out / "manifest.json")
    listed = {f["name"]: f for f in manifest["files"]}
    assert set(listed) == FILES - {"manifest.json"}
    for name, entry in listed.items():
        data = (out / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), name
        assert entry["bytes"] == len(data)
    assert manifest["matter_cms_id"] == "101"
    reported = {f["name"]: f["sha256"] for f in result["files"]}
    assert reported == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()}
    # Nothing left beside it: the staging directory was renamed into place.
    assert [p.name for p in out.parent.iterdir()] == ["doe-101"]


def test_the_json_holds_the_matters_messages_with_status_history_filing_and_ledgers(
    store: Engine, tmp_path: Path
) -> None:
    do_export(store, tmp_path / "out")
    data = read_json(tmp_path / "out" / "export.json")
    assert data["matter"]["cms_id"] == "101"
    assert data["matter"]["client_name"] == "Jane Doe"
    assert data["time_zone"] == "America/New_York"
    exported = data["messages"]
    assert sorted(m["id"] for m in exported) == sorted(matter_message_ids(store, "101"))
    assert all("Omar" not in (m["body"] or "") for m in exported)
    answer = next(m for m in exported if m["body"] == "Thanks, got it.")
    assert answer["sid"].startswith("SM")
    assert answer["status"] == "delivered"
    assert [e["status"] for e in answer["status_history"]] == ["sent", "delivered"]
    photo = next(m for m in exported if m["body"] == "Here is the letter")
    assert photo["media"] == [{"url": MEDIA_URL, "content_type": "image/jpeg"}]
    assert photo["body_sha256"] == hashlib.sha256(b"Here is the letter").hexdigest()
    # Filing decisions: how each of Jane's texts came to sit on 101.
    decided = {d["message_id"]: d["rule"] for d in data["filing_decisions"] if d["message_id"] is not None}
    assert decided[photo["id"]] in ("only_open_matter", "recent_thread")
    assert all(d["matter_cms_id"] == "101" or d["previous_matter_cms_id"] == "101" for d in data["filing_decisions"])
    assert [(o["phone"], o["action"]) for o in data["opt_outs"]] == [(JANE, "opt_out"), (JANE, "opt_in")]
    assert ("verbal", "intake call") in {(c["method"], c["source"]) for c in data["consents"]}
    assert all(c["phone"] == JANE for c in data["consents"])
    assert data["phones"] == [JANE]
    assert OMAR not in json.dumps(data)
    # Where the transcripts went in the CMS, never what they say.
    assert {w["kind"] for w in data["writebacks"]} == {"transcript", "summary"}
    assert all("body" not in w for w in data["writebacks"])


def test_the_json_carries_the_matters_audit_entries_only(store: Engine, tmp_path: Path) -> None:
    with store.connect() as conn:
        expected = list(conn.execute(select(audit_log.c.id).where(audit_log.c.matter_cms_id == "101")).scalars())
        others = list(conn.execute(select(audit_log.c.id).where(audit_log.c.matter_cms_id == "201")).scalars())
    assert expected
    assert others
    do_export(store, tmp_path / "out")
    entries = read_json(tmp_path / "out" / "export.json")["audit"]
    assert [e["id"] for e in entries] == expected
    assert {e["action"] for e in entries} >= {"receive", "send", "window_closed", "purge"}


def test_a_purged_message_exports_its_metadata_without_a_body(store: Engine, tmp_path: Path) -> None:
    do_export(store, tmp_path / "out")
    data = read_json(tmp_path / "out" / "export.json")
    [purged] = [m for m in data["messages"] if m["purged_at"] is not None]
    assert purged["body"] is None
    assert purged["body_sha256"] == hashlib.sha256(b"An old question from years ago").hexdigest()
    assert purged["sid"].startswith("SM")
    assert purged["status"] == "received"
    html = (tmp_path / "out" / "transcript.html").read_text(encoding="utf-8")
    assert "removed under the firm's retention policy" in html
    assert purged["body_sha256"] in html
    for name in FILES:
        assert "An old question from years ago" not in (tmp_path / "out" / name).read_text(encoding="utf-8")


def test_the_csv_has_one_row_per_message(store: Engine, tmp_path: Path) -> None:
    do_export(store, tmp_path / "out")
    text = (tmp_path / "out" / "messages.csv").read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert sorted(int(r["id"]) for r in rows) == sorted(matter_message_ids(store, "101"))
    photo = next(r for r in rows if r["body"] == "Here is the letter")
    assert photo["media_urls"] == MEDIA_URL
    assert photo["created_at_local"] == "2026-11-02 11:14 EST"
    purged = next(r for r in rows if r["purged_at"])
    assert (purged["body"], len(purged["body_sha256"])) == ("", 64)


def test_a_spreadsheet_formula_in_a_text_is_shown_not_run(store: Engine, tmp_path: Path) -> None:
    text_in(store, JANE, '=HYPERLINK("https://evil.example","click")', T0 + timedelta(hours=5))
    do_export(store, tmp_path / "out")
    text = (tmp_path / "out" / "messages.csv").read_bytes().decode("utf-8-sig")
    bodies = [r["body"] for r in csv.DictReader(io.StringIO(text))]
    assert '\'=HYPERLINK("https://evil.example","click")' in bodies
    assert not any(b.startswith("=") for b in bodies)
    data = read_json(tmp_path / "out" / "export.json")  # the JSON keeps the text exactly
    assert '=HYPERLINK("https://evil.example","click")' in [m["body"] for m in data["messages"]]


# Cells a spreadsheet would run: OWASP's leading characters, and a separator hiding a formula mid-text.
HOSTILE_BODIES = ("ok;=1+1", "=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1+1", "\r=1+1")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def test_every_cell_of_a_hostile_row_is_quoted_and_shown_not_run(store: Engine, tmp_path: Path) -> None:
    at = T0 + timedelta(hours=5)
    for offset, body in enumerate(HOSTILE_BODIES):
        text_in(store, JANE, body, at + timedelta(minutes=offset))
    text_in(store, JANE, "see photo", at + timedelta(minutes=10), media=True, media_url="=IMPORTXML(CONCAT(A1))")
    mallory, _ = add_user(store, name='=HYPERLINK("https://evil.example")', email="m@firm.example", role="staff")
    reply(
        store,
        "101",
        "On my way",
        at + timedelta(minutes=11),
        actor=Actor.of(mallory),
        outcome={"MessageStatus": "undelivered", "ErrorCode": "30003", "ErrorMessage": "@cmd|' /C calc'!A0"},
    )
    do_export(store, tmp_path / "out")
    text = (tmp_path / "out" / "messages.csv").read_bytes().decode("utf-8-sig")

    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    by_column = [dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]]
    hostile = [r for r in by_column if r["created_at_utc"] >= at.astimezone(UTC).isoformat()]
    assert len(hostile) == len(HOSTILE_BODIES) + 2
    for row in hostile:
        for column, cell in row.items():
            assert not cell.startswith(FORMULA_START), (column, cell)
    assert sorted(r["body"] for r in hostile) == sorted(
        ["ok;=1+1", "'=1+1", "'+1+1", "'-1+1", "'@SUM(A1)", "'\t=1+1", "'\r=1+1", "see photo", "On my way"]
    )
    [photo] = [r for r in hostile if r["body"] == "see photo"]
    assert photo["media_urls"] == "'=IMPORTXML(CONCAT(A1))"
    [answer] = [r for r in hostile if r["body"] == "On my way"]
    assert answer["author"] == '\'=HYPERLINK("https://evil.example")'
    assert answer["error_message"] == "'@cmd|' /C calc'!A0"
    assert answer["to"] == "'" + JANE  # a number is shown as the number, not summed
    # Every field is quoted, so a spreadsheet that splits on ';' keeps "ok;=1+1" in one cell.
    assert text.splitlines()[0] == ",".join(f'"{column}"' for column in CSV_COLUMNS)
    assert '"ok;=1+1"' in text


def test_the_html_is_escaped_printable_self_contained_and_in_the_firms_zone(store: Engine, tmp_path: Path) -> None:
    do_export(store, tmp_path / "out")
    html = (tmp_path / "out" / "transcript.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; more" in html
    assert "@media print" in html
    assert "default-src 'none'" in html
    assert "http://" not in html.replace(MEDIA_URL, "")
    assert "<img" not in html  # nothing loaded from anywhere
    assert "<link" not in html
    assert "2026-11-02 09:14 EST" in html  # 14:14 UTC, shown as the firm reads it
    assert "America/New_York" in html
    assert "Doe &amp; Roe LLP" in html
    assert MEDIA_URL in html


def test_no_secret_appears_in_any_exported_file(store: Engine, tmp_path: Path) -> None:
    do_export(store, tmp_path / "out")
    secrets = [TWILIO_TOKEN, CMS_TOKEN, CMS_TOKEN + "-refresh", SECRET_KEY]
    for path in (tmp_path / "out").iterdir():
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, (path.name, secret)


def test_the_export_is_audited_with_the_files_it_wrote(store: Engine, tmp_path: Path) -> None:
    result = do_export(store, tmp_path / "out")
    with store.connect() as conn:
        [entry] = conn.execute(select(audit_log).where(audit_log.c.action == "export")).all()
    assert (entry.actor, entry.subject_type, entry.subject_id, entry.matter_cms_id) == (
        "cli:paralegal",
        "matter",
        "101",
        "101",
    )
    assert entry.id == result["audit_id"]
    manifest = read_json(tmp_path / "out" / "manifest.json")
    assert entry.details["files"] == {f["name"]: f["sha256"] for f in result["files"]}
    assert {f["name"]: f["sha256"] for f in manifest["files"]}.items() <= entry.details["files"].items()
    assert entry.details["messages"] == len(matter_message_ids(store, "101"))


def test_an_unknown_matter_writes_nothing(store: Engine, tmp_path: Path) -> None:
    with pytest.raises(MatterlineError, match="no matter 999"):
        export_matter(store, export_settings(), "999", tmp_path / "out", actor="cli:x")
    assert list(tmp_path.iterdir()) == []
    with store.connect() as conn:
        assert conn.execute(select(func.count()).where(audit_log.c.action == "export")).scalar_one() == 0


def test_a_non_empty_directory_is_refused_and_an_empty_one_is_used(store: Engine, tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    (old / "export.json").write_text("an earlier export")
    with pytest.raises(MatterlineError, match="not empty"):
        export_matter(store, export_settings(), "101", old, actor="cli:x")
    assert [p.name for p in old.iterdir()] == ["export.json"]
    assert (old / "export.json").read_text() == "an earlier export"
    empty = tmp_path / "empty"
    empty.mkdir()
    do_export(store, empty)
    assert {p.name for p in empty.iterdir()} == FILES


def test_a_failure_part_way_leaves_nothing_behind(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any) -> bytes:
        raise RuntimeError("disk full")

    monkeypatch.setattr(export_module, "_html", broken)
    with pytest.raises(RuntimeError):
        export_matter(store, export_settings(), "101", tmp_path / "out", actor="cli:x")
    assert list(tmp_path.iterdir()) == []

    def failing_rename(self: Path, target: Path) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.undo()
    monkeypatch.setattr(Path, "rename", failing_rename)
    with pytest.raises(MatterlineError, match="could not move"):
        export_matter(store, export_settings(), "101", tmp_path / "out", actor="cli:x")
    assert list(tmp_path.iterdir()) == []
    with store.connect() as conn:  # the audit entry went with the export that did not happen
        assert conn.execute(select(func.count()).where(audit_log.c.action == "export")).scalar_one() == 0


# -- the command line ----------------------------------------------------------------------------------------


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    return {
        "MATTERLINE_DATABASE_URL": db_url,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "MATTERLINE_CMS_ACCESS_TOKEN": CMS_TOKEN,
    }


def test_cli_export(store: Engine, env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "cli-out"
    code, stdout, _ = run(env, "export", "--matter", "101", "--out", str(out), "--json")
    assert code == 0
    result = json.loads(stdout)
    assert set(result) == {"matter_cms_id", "out_dir", "messages", "files", "audit_id"}
    assert {f["name"] for f in result["files"]} == FILES
    assert result["messages"] == len(matter_message_ids(store, "101"))
    for path in out.iterdir():
        assert TWILIO_TOKEN.encode() not in path.read_bytes()
        assert CMS_TOKEN.encode() not in path.read_bytes()
    code, _, err = run(env, "export", "--matter", "101", "--out", str(out))
    assert code == 1
    assert "not empty" in err


def test_cli_export_of_an_unknown_matter_is_a_clear_error(store: Engine, env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "nothing-here"
    code, stdout, err = run(env, "export", "--matter", "999", "--out", str(out))
    assert code == 1
    assert "no matter 999" in err
    assert stdout == ""
    assert not out.exists()
