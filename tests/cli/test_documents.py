"""`matterline documents save|try|preview`: an admin's new version from a file, checked and audited as on the
admin pages (every error at its JSON path on stderr, nothing saved), and trying an edit first."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, func, select

from connector.reminders.rules import SHIPPED_PATH
from connector.store.tables import audit_log, firm_documents
from tests.support.command import run

PINEAPPLE = {
    "version": 1,
    "rules": [{"id": "fruit", "action": "block", "patterns": [r"\bpineapple\b"], "message": "no", "suggestion": "x"}],
}


def _rows(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            documents = conn.execute(select(func.count()).select_from(firm_documents)).scalar_one()
            changes = conn.execute(select(func.count()).where(audit_log.c.action == "rules_change")).scalar_one()
        return documents, changes
    finally:
        engine.dispose()


def test_rules_saved_from_a_file_and_handed_back(env: dict[str, str], tmp_path: Path) -> None:
    assert run(env, "init")[0] == 0
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(PINEAPPLE))
    code, out, err = run(env, "documents", "save", "content_rules", str(rules), "--reason", "codeword")
    assert (code, err) == (0, "")
    assert out.strip() == "content_rules version 1 saved: in force"
    assert _rows(env["MATTERLINE_DATABASE_URL"]) == (1, 1)
    code, out, _ = run(env, "documents", "save", "content_rules", "--back-to-file", "--json")
    assert code == 0
    assert json.loads(out)["body"] is None
    assert run(env, "documents", "save", "content_rules")[0] == 2  # neither a file nor --back-to-file


def test_a_broken_file_prints_every_error_at_its_path_and_saves_nothing(env: dict[str, str], tmp_path: Path) -> None:
    assert run(env, "init")[0] == 0
    broken = tmp_path / "rules.json"
    broken.write_text(json.dumps({"version": 1, "rules": [{"id": "a", "action": "shout", "patterns": ["("]}]}))
    code, out, err = run(env, "documents", "save", "content_rules", str(broken))
    assert code == 1
    assert out == ""
    assert "invalid_document: the content rules has" in err
    assert "  $.rules[0].action:" in err
    assert "  $.rules[0].patterns[0]:" in err
    assert _rows(env["MATTERLINE_DATABASE_URL"]) == (0, 0)


def test_a_draft_is_tried_against_rules_in_a_file(env: dict[str, str], tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(PINEAPPLE))
    code, out, _ = run(env, "documents", "try", str(rules), "one pineapple please")
    assert code == 0
    assert out.splitlines() == ["block fruit: 'pineapple' - no x", "not sendable"]
    code, out, _ = run(env, "documents", "try", str(rules), "a mango", "--json")
    assert json.loads(out) == {"findings": [], "problems": [], "sendable": True}


def test_reminder_rules_are_saved_from_a_file_and_a_bad_placeholder_is_named(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert run(env, "init")[0] == 0
    rules = json.loads(SHIPPED_PATH.read_text(encoding="utf-8"))
    rules["rules"][0]["template"] += " Case: {summary}"
    edit = tmp_path / "reminders.json"
    edit.write_text(json.dumps(rules))
    code, out, err = run(env, "documents", "save", "reminder_rules", str(edit))
    assert (code, out) == (1, "")
    assert "  $.rules[0].template: unknown placeholder {summary}" in err
    rules["rules"][0]["moments"] = [{"days_before": 1, "at": "18:00"}]
    rules["rules"][0]["template"] = rules["rules"][0]["template"].removesuffix(" Case: {summary}")
    edit.write_text(json.dumps(rules))
    code, out, err = run(env, "documents", "save", "reminder_rules", str(edit), "--reason", "evening before")
    assert (code, err, out.strip()) == (0, "", "reminder_rules version 1 saved: in force")
    engine = create_engine(env["MATTERLINE_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            reasons = conn.execute(select(audit_log.c.details).where(audit_log.c.action == "reminders_change")).all()
    finally:
        engine.dispose()
    assert [row.details["reason"] for row in reasons] == ["evening before"]
