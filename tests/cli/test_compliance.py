"""Compliance from the command line: legal `hold`s and the `audit` log, listed all, by matter, by action, the
newest few; each hold and send names who did it. (`retention purge` and `export` are tested beside the
rest of their behaviour, in tests/compliance/; the hash chain and `audit verify` in tests/compliance/test_audit.py.)"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

from connector.cli import cli_actor
from tests.support.audit_log import six_entries
from tests.support.command import run

AuditLog = Callable[..., list[dict[str, Any]]]
AddUser = Callable[..., dict[str, Any]]


@pytest.fixture
def log(engine: Engine) -> list[int]:
    """Six entries across two matters (and one about no matter), as the code paths append them."""
    return six_entries(engine)


def test_listing_all_entries_oldest_first_newest_last(env: dict[str, str], log: list[int]) -> None:
    code, out, _ = run(env, "audit", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["id"] for r in rows] == log
    assert set(rows[0]) == {
        "id",
        "at",
        "actor",
        "action",
        "subject_type",
        "subject_id",
        "matter_cms_id",
        "request_id",
        "details",
        "hash",
        "prev_hash",
    }
    assert rows[0]["details"] == {"n": 0, "to_matter": "101"}
    assert rows[1]["prev_hash"] == rows[0]["hash"]


def test_listing_one_matter_and_the_newest_few(env: dict[str, str], log: list[int]) -> None:
    code, out, _ = run(env, "audit", "--matter", "101", "--json")
    assert code == 0
    assert [r["id"] for r in json.loads(out)] == [log[0], log[2], log[4]]
    assert {r["matter_cms_id"] for r in json.loads(out)} == {"101"}
    code, out, _ = run(env, "audit", "--json", "--limit", "2")
    assert [r["id"] for r in json.loads(out)] == log[-2:]  # the newest two, still newest last
    code, out, _ = run(env, "audit", "--matter", "201", "--limit", "1", "--json")
    assert [r["id"] for r in json.loads(out)] == [log[5]]
    code, out, _ = run(env, "audit", "--matter", "nope", "--json")
    assert (code, json.loads(out)) == (0, [])


def test_the_text_listing(env: dict[str, str], log: list[int]) -> None:
    code, out, _ = run(env, "audit", "--matter", "201")
    assert code == 0
    lines = out.splitlines()
    assert lines[-1] == "2 entries"
    assert "refile" in lines[0]
    assert "matter 201" in lines[0]


def test_a_bad_limit_is_bad_input(env: dict[str, str], log: list[int]) -> None:
    code, _, err = run(env, "audit", "--limit", "0")
    assert code == 2
    assert "--limit" in err


def test_audit_action_lists_that_actions_entries_only(
    texting: dict[str, str], user: AddUser, audit_log: AuditLog
) -> None:
    avery = user("Avery Counsel", "avery@firm.example", "attorney")
    code, out, err = run(texting, "send", "--matter", "101", "--body", "Your hearing moved to 10am", "--json")
    assert code == 0, err
    first = json.loads(out)
    code, out, err = run(
        texting, "send", "--matter", "201", "--body", "Please call the office", "--as", "avery@firm.example", "--json"
    )
    assert code == 0, err
    second = json.loads(out)
    assert run(texting, "cancel", str(first["id"]), "--reason", "resending")[0] == 0

    code, out, err = run(texting, "audit", "--action", "send", "--json")
    assert code == 0, err
    sends = json.loads(out)
    assert {e["action"] for e in sends} == {"send"}
    assert [(e["actor"], e["subject_type"], e["subject_id"], e["matter_cms_id"]) for e in sends] == [
        (cli_actor(), "message", str(first["id"]), "101"),
        (f"user:{avery['id']}:avery@firm.example", "message", str(second["id"]), "201"),
    ]
    assert sends[0]["details"] == {
        "thread": first["thread_id"],
        "to": "+14158675309",
        "segments": 1,
        "media": 0,
        "scheduled_for": None,
        "purpose": "conversation",
    }
    assert {e["action"] for e in audit_log()} >= {"user_added", "send", "send_canceled"}
    code, out, _ = run(texting, "audit", "--action", "send", "--matter", "201", "--json")
    assert [e["subject_id"] for e in json.loads(out)] == [str(second["id"])]
    code, _, err = run(texting, "audit", "--action", "sent")
    assert code == 2  # not an action the log records
    assert "--action" in err


def test_a_hold_set_and_released_as_a_person_names_them(
    texting: dict[str, str], user: AddUser, audit_log: AuditLog
) -> None:
    avery = user("Avery Counsel", "avery@firm.example", "attorney")
    label = f"user:{avery['id']}:avery@firm.example"
    code, out, err = run(
        texting, "hold", "set", "--matter", "101", "--reason", "Litigation hold", "--as", "avery@firm.example"
    )
    assert code == 0, err
    assert out == "matter 101 is on legal hold: its messages will not be purged\n"
    code, out, _ = run(texting, "hold", "list", "--json")
    assert [(h["matter_cms_id"], h["actor"], h["reason"]) for h in json.loads(out)] == [
        ("101", label, "Litigation hold")
    ]
    code, out, err = run(
        texting, "hold", "release", "--matter", "101", "--reason", "Settled", "--as", "avery@firm.example", "--json"
    )
    assert code == 0, err
    assert (json.loads(out)["on_hold"], json.loads(out)["actor"]) == (False, label)
    holds = [e for e in audit_log() if e["action"] in ("hold_set", "hold_release")]
    assert [(e["action"], e["actor"], e["matter_cms_id"]) for e in holds] == [
        ("hold_set", label, "101"),
        ("hold_release", label, "101"),
    ]
    assert [e["details"]["reason"] for e in holds] == ["Litigation hold", "Settled"]


@pytest.mark.parametrize("blank", ["", "   "])
def test_hold_set_with_a_blank_reason_exits_2_and_sets_no_hold(
    texting: dict[str, str], audit_log: AuditLog, blank: str
) -> None:
    before = audit_log()
    code, out, err = run(texting, "hold", "set", "--matter", "101", "--reason", blank)
    assert code == 2
    assert "needs a reason" in err
    assert out == ""
    code, out, _ = run(texting, "hold", "list", "--json")
    assert json.loads(out) == []
    assert audit_log() == before
