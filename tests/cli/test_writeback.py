"""Write-back from the command line: `file` closes conversation windows, `writebacks` lists the records for the
CMS, and `writebacks show|edit|file` is how staff review a summary draft before it goes onto the matter."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

from connector.messaging import intake, reception
from connector.store import make_engine
from connector.store.engine import utcnow
from tests.support import firm
from tests.support.command import run
from tests.support.firm import JANE
from tests.support.matter_history import text_in

AuditLog = Callable[..., list[dict[str, Any]]]
AddUser = Callable[..., dict[str, Any]]


def test_file_writebacks_and_outbox_commands(env: dict[str, str]) -> None:
    run(env, "init")
    engine = make_engine(env["MATTERLINE_DATABASE_URL"])
    firm.seed(engine)
    settings = firm.settings(MATTERLINE_DATABASE_URL=env["MATTERLINE_DATABASE_URL"])
    with engine.begin() as conn:
        reception.receive(
            conn, reception.parse(firm.inbound_form(firm.JANE, "Is the hearing on?"), settings), settings, utcnow()
        )
    intake.drain(engine, settings)
    engine.dispose()
    texting = {**env, "MATTERLINE_FIRM_NUMBERS": firm.FIRM_NUMBER}
    code, _, err = run(texting, "file")
    assert code == 2  # neither --thread nor --all
    code, out, _ = run(texting, "file", "--all", "--json")
    assert code == 0
    assert [(w["matter_cms_id"], w["messages"], w["writebacks"]) for w in json.loads(out)] == [("101", 1, 2)]
    code, out, _ = run(texting, "writebacks", "--json")
    rows = json.loads(out)
    assert [set(r) for r in rows] == [
        {"id", "kind", "thread_id", "matter_cms_id", "state", "cms_record_id", "attempts", "last_error"}
    ] * 2
    assert [(r["kind"], r["state"]) for r in rows] == [("transcript", "pending"), ("summary", "pending")]
    code, out, _ = run(texting, "outbox", "list", "--json")
    jobs = json.loads(out)
    assert {j["kind"] for j in jobs} == {"cms_write"}
    code, out, err = run(texting, "outbox", "discard", str(jobs[0]["id"]), "--reason", "written by hand in Clio")
    assert code == 0, err
    code, out, _ = run(texting, "outbox", "replay", str(jobs[0]["id"]))
    assert code == 1  # only dead letters can be replayed
    code, out, _ = run(texting, "outbox", "replay", "--all-dead")
    assert code == 0
    assert "replayed 0 jobs" in out


# -- reviewing a summary before it is written ----------------------------------------------------------------


@pytest.fixture
def reviewing(texting: dict[str, str]) -> dict[str, str]:
    """A firm whose summaries wait as drafts for staff to review."""
    return {**texting, "MATTERLINE_SUMMARY_REVIEW": "true"}


def listed(env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    code, out, err = run(env, *args, "--json")
    assert code == 0, err
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


def filed_conversation(env: dict[str, str], store: Engine) -> tuple[dict[str, Any], dict[str, Any]]:
    """Jane texts and the window is closed now: her transcript, and her summary draft, as `writebacks` lists them."""
    text_in(store, JANE, "Did you get the documents I mailed?", utcnow())
    code, out, err = run(env, "file", "--all", "--json")
    assert code == 0, err
    assert [(w["matter_cms_id"], w["messages"], w["writebacks"]) for w in json.loads(out)] == [("101", 1, 2)]
    transcript, summary = listed(env, "writebacks", "--matter", "101")
    assert (transcript["kind"], summary["kind"]) == ("transcript", "summary")
    return transcript, summary


def test_a_summary_waits_as_a_draft_and_writebacks_lists_it_by_state(reviewing: dict[str, str], store: Engine) -> None:
    transcript, summary = filed_conversation(reviewing, store)
    assert (transcript["state"], summary["state"]) == ("pending", "draft")
    assert listed(reviewing, "writebacks", "--state", "draft") == [summary]
    assert listed(reviewing, "writebacks", "--state", "pending") == [transcript]
    assert listed(reviewing, "writebacks", "--matter", "201") == []
    cms_writes = [j for j in listed(reviewing, "outbox", "list") if j["kind"] == "cms_write"]
    assert len(cms_writes) == 1  # only the transcript is queued for the CMS; the draft waits


def test_writebacks_show_prints_a_record_with_its_text(reviewing: dict[str, str], store: Engine) -> None:
    _, summary = filed_conversation(reviewing, store)
    code, out, err = run(reviewing, "writebacks", "show", str(summary["id"]))
    assert code == 0, err
    heading, subject, blank, *body = out.splitlines()
    assert heading == f"summary {summary['id']} for matter 101 (draft)"
    assert subject.endswith("]")  # the marker that makes the note findable in the CMS
    assert blank == ""
    assert body[0].startswith("Privileged & Confidential")
    assert "Did you get the documents I mailed?" in "\n".join(body)

    code, out, _ = run(reviewing, "writebacks", "show", str(summary["id"]), "--json")
    shown = json.loads(out)
    assert set(shown) == {
        "id",
        "kind",
        "thread_id",
        "matter_cms_id",
        "state",
        "subject",
        "body",
        "cms_record_id",
        "last_error",
    }
    assert (shown["kind"], shown["state"], shown["subject"]) == ("summary", "draft", subject)
    code, _, err = run(reviewing, "writebacks", "show", "99999")
    assert code == 1
    assert "matterline: not_found: no write-back 99999" in err


def test_writebacks_edit_changes_a_draft_keeping_its_marker(
    reviewing: dict[str, str], store: Engine, user: AddUser, audit_log: AuditLog
) -> None:
    avery = user("Avery Counsel", "avery@firm.example", "attorney")
    transcript, summary = filed_conversation(reviewing, store)
    code, out, _ = run(reviewing, "writebacks", "show", str(summary["id"]), "--json")
    drafted = json.loads(out)["subject"]
    marker = drafted[drafted.rindex("[") :]

    code, out, err = run(
        reviewing,
        "writebacks",
        "edit",
        str(summary["id"]),
        "--subject",
        "Documents received",
        "--body",
        "Jane asked whether we received her documents; we did.",
        "--as",
        "avery@firm.example",
        "--json",
    )
    assert code == 0, err
    edited = json.loads(out)
    assert (edited["subject"], edited["body"], edited["state"]) == (
        f"Documents received {marker}",
        "Jane asked whether we received her documents; we did.",
        "draft",
    )
    [entry] = audit_log("summary_edit")
    assert (entry["actor"], entry["subject_type"], entry["subject_id"], entry["matter_cms_id"]) == (
        f"user:{avery['id']}:avery@firm.example",
        "writeback",
        str(summary["id"]),
        "101",
    )
    assert entry["details"] == {"fields": ["body", "subject"]}

    code, _, err = run(reviewing, "writebacks", "edit", str(summary["id"]))
    assert code == 2  # neither --subject nor --body
    assert "give --subject, --body or both" in err
    code, _, err = run(reviewing, "writebacks", "edit", str(transcript["id"]), "--body", "rewritten")
    assert code == 1
    assert "matterline: not_editable: only summaries are edited" in err
    assert len(audit_log("summary_edit")) == 1


def test_writebacks_file_queues_a_reviewed_draft_for_the_cms(
    reviewing: dict[str, str], store: Engine, user: AddUser, audit_log: AuditLog
) -> None:
    avery = user("Avery Counsel", "avery@firm.example", "attorney")
    transcript, summary = filed_conversation(reviewing, store)
    code, out, err = run(reviewing, "writebacks", "file", str(summary["id"]), "--as", "avery@firm.example")
    assert code == 0, err
    assert out.splitlines()[0] == f"summary {summary['id']} for matter 101 (pending)"
    assert listed(reviewing, "writebacks", "--state", "draft") == []
    assert [w["id"] for w in listed(reviewing, "writebacks", "--state", "pending")] == [transcript["id"], summary["id"]]
    cms_writes = [j for j in listed(reviewing, "outbox", "list") if j["kind"] == "cms_write"]
    assert len(cms_writes) == 2  # the transcript's job, and now the summary's
    [entry] = audit_log("summary_filed")
    assert (entry["actor"], entry["subject_id"], entry["matter_cms_id"]) == (
        f"user:{avery['id']}:avery@firm.example",
        str(summary["id"]),
        "101",
    )

    code, _, err = run(reviewing, "writebacks", "file", str(summary["id"]))
    assert code == 1
    assert "matterline: not_a_draft: this write-back is pending, not a draft" in err
    assert len(audit_log("summary_filed")) == 1
