"""The content rules in force: a broken rules file refused at start, and one edited while running read again."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import Engine

from connector import services
from connector.errors import Kind, MatterlineError
from connector.guardrails import rules_in_force
from connector.guardrails.content import RulesError
from connector.settings import SettingsError
from connector.staff.users import Actor
from tests.support.firm import seed, settings


def rules_file(path: Path, pattern: str, action: str = "block", *, mtime: float | None = None) -> Path:
    document = {
        "version": 1,
        "rules": [
            {"id": "codeword", "action": action, "patterns": [pattern], "message": "no", "suggestion": "call instead"}
        ],
    }
    path.write_text(json.dumps(document))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def test_a_broken_rules_file_is_refused_at_start_with_every_error(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "rules": [
                    {"id": "a", "action": "shout", "patterns": ["x"], "message": "m", "suggestion": "s"},
                    {"id": "b", "action": "warn", "patterns": ["[unclosed"], "message": "m", "suggestion": "s"},
                ],
            }
        )
    )
    with pytest.raises(SettingsError) as raised:
        settings(MATTERLINE_CONTENT_RULES_FILE=str(path))
    text = str(raised.value)
    assert "rules[0].action" in text
    assert "rules[1].patterns[0]" in text


def test_an_edit_that_breaks_the_rules_file_leaves_the_old_rules_in_force(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, engine: Engine
) -> None:
    path = rules_file(tmp_path / "rules.json", r"\bpineapple\b", mtime=1_000_000)
    firm = settings(MATTERLINE_CONTENT_RULES_FILE=str(path))
    assert [f.rule_id for f in rules_in_force.content_rules(firm, engine).check("the pineapple has landed")] == [
        "codeword"
    ]
    rules_file(path, "[broken", action="yell", mtime=2_000_000)
    still = rules_in_force.content_rules(firm, engine)
    assert [f.rule_id for f in still.check("the pineapple has landed")] == ["codeword"]
    [logged] = [r.getMessage() for r in caplog.records if "not reloaded" in r.getMessage()]
    assert "rules[0].action" in logged  # every error of the broken edit, for the admin
    assert "rules[0].patterns[0]" in logged
    rules_file(path, r"\bmango\b", mtime=3_000_000)
    fixed = rules_in_force.content_rules(firm, engine)
    assert fixed.check("the pineapple has landed") == []
    assert [f.rule_id for f in fixed.check("mango time")] == ["codeword"]


def test_with_no_rules_in_force_a_broken_file_stops_sends_instead_of_dropping_the_checks(
    tmp_path: Path, engine: Engine
) -> None:
    seed(engine)
    path = rules_file(tmp_path / "rules.json", r"\bok\b")
    firm = settings(MATTERLINE_CONTENT_RULES_FILE=str(path))
    rules_file(path, "[broken", mtime=6_000_000)  # broken before this process ever read it
    with pytest.raises(RulesError):
        rules_in_force.content_rules(firm, engine)
    with pytest.raises(MatterlineError) as refused:
        services.messages.send(engine, firm, matter_cms_id="101", body="hello", actor=Actor("alice"))
    assert (refused.value.kind, refused.value.code) == (Kind.UNAVAILABLE, "rules_unavailable")
