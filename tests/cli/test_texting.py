"""Texting from the command line: `send`, `cancel`, `check`, the `threads` inbox and what staff do to a thread,
`messages`, `optouts` and `consent`, each as an operator sees it and as the store and the audit log keep it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select

from connector import queries
from connector.cli import cli_actor
from connector.guardrails import optouts
from connector.store import make_engine
from connector.store.engine import utcnow
from connector.store.tables import messages
from tests.support import firm
from tests.support.command import run
from tests.support.firm import JANE, OMAR
from tests.support.matter_history import text_in

AuditLog = Callable[..., list[dict[str, Any]]]
AddUser = Callable[..., dict[str, Any]]


def test_send_queue_worker_threads_and_messages(texting: dict[str, str]) -> None:
    run(texting, "users", "add", "--name", "Avery Counsel", "--email", "avery@firm.example", "--role", "attorney")
    code, out, err = run(
        texting,
        "send",
        "--matter",
        "101",
        "--body",
        "Your hearing is at 9:30 ☺",
        "--as",
        "avery@firm.example",
        "--json",
    )
    assert code == 0, err
    queued = json.loads(out)
    assert (queued["to"], queued["status"], queued["encoding"], queued["segments"]) == (
        "+14158675309",
        "pending",
        "UCS-2",
        1,
    )
    code, out, _ = run(texting, "worker", "--once")
    assert code == 0
    assert "1 sent" in out
    code, out, _ = run(texting, "threads", "--json")
    threads = json.loads(out)
    assert [set(t) for t in threads] == [
        {
            "id",
            "firm_number",
            "client_phone",
            "client_cms_id",
            "matter_cms_id",
            "state",
            "filing_rule",
            "urgent",
            "assignee",
            "message_count",
            "last_message_at",
        }
    ]
    assert (threads[0]["matter_cms_id"], threads[0]["client_phone"]) == ("101", "+14158675309")
    code, out, _ = run(texting, "messages", "--thread", str(threads[0]["id"]), "--json")
    messages = json.loads(out)
    assert [set(m) for m in messages] == [
        {"id", "sid", "direction", "body", "status", "error_code", "matter_cms_id", "author", "created_at"}
    ]
    assert messages[0]["sid"].startswith("SM")
    assert messages[0]["author"] == "avery@firm.example"
    assert messages[0]["status"] in ("queued", "sent", "delivered")


def test_send_to_an_opted_out_number_exits_1_and_optouts_lists_it(texting: dict[str, str]) -> None:
    engine = make_engine(texting["MATTERLINE_DATABASE_URL"])
    with engine.begin() as conn:
        optouts.record(conn, "+14158675309", "opt_out", "keyword", keyword="STOP")
    engine.dispose()
    code, _, err = run(texting, "send", "--to", "(415) 867-5309", "--body", "hello")
    assert code == 1
    assert "recipient_opted_out" in err
    code, out, _ = run(texting, "optouts", "--json")
    listing = json.loads(out)
    assert [set(row) for row in listing] == [{"phone", "opted_out", "since", "source"}]
    assert (listing[0]["phone"], listing[0]["opted_out"], listing[0]["source"]) == ("+14158675309", True, "keyword")


def test_send_refuses_a_body_over_1600_characters(texting: dict[str, str]) -> None:
    code, _, err = run(texting, "send", "--to", "+14158675309", "--body", "x" * 1601)
    assert code == 1
    assert "body_too_long" in err


def test_send_is_for_one_client_about_their_matter(texting: dict[str, str]) -> None:
    code, _, err = run(texting, "send", "--to", "+14158675309, +12128675309", "--body", "Office closed Friday")
    assert (code, "bulk_refused" in err, "marketing tool" in err) == (1, True, True)
    code, _, err = run(texting, "send", "--matter", "101", "--body", "Use promo code SPRING!")
    assert (code, "marketing_refused" in err) == (1, True)
    code, _, err = run(texting, "send", "--matter", "101", "--body", "Thanks!", "--purpose", "notice")
    assert (code, "template_required" in err) == (1, True)


def test_consent_is_recorded_withdrawn_and_listed(texting: dict[str, str]) -> None:
    code, out, err = run(
        texting,
        "consent",
        "record",
        "--phone",
        "(202) 555-0143",
        "--method",
        "web_form",
        "--source",
        "form 88",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["phone"] == "+12025550143"
    code, _, err = run(texting, "send", "--to", "+12025550143", "--body", "Welcome to the firm")
    assert code == 0, err
    code, _, _ = run(texting, "consent", "revoke", "--phone", "+12025550143", "--method", "verbal")
    assert code == 0
    code, _, err = run(texting, "send", "--to", "+12025550143", "--body", "One more thing")
    assert code == 1
    assert "consent_required" in err
    code, out, _ = run(texting, "consent", "list", "--phone", "202-555-0143", "--json")
    assert [(r["action"], r["method"]) for r in json.loads(out)] == [("grant", "web_form"), ("revoke", "verbal")]
    code, _, err = run(texting, "consent", "record", "--phone", "call me maybe", "--method", "verbal")
    assert code == 2
    assert "is not a phone number" in err


def test_a_send_with_a_warning_needs_an_override_reason_and_a_block_cannot_be_sent(texting: dict[str, str]) -> None:
    code, _, err = run(texting, "send", "--matter", "101", "--body", "They offered $45,000")
    assert code == 1
    assert "content_rule" in err
    assert "warn settlement_amount:" in err
    assert "$45,000" in err
    code, out, err = run(
        texting,
        "send",
        "--matter",
        "101",
        "--body",
        "They offered $45,000",
        "--override-reason",
        "client asked",
        "--json",
    )
    assert code == 0, err
    assert [w["rule"] for w in json.loads(out)["warnings"]] == ["settlement_amount"]
    code, _, err = run(
        texting, "send", "--matter", "101", "--body", "SSN 123-45-6789", "--override-reason", "client asked"
    )
    assert code == 1
    assert "block ssn" in err


def test_a_send_at_night_is_held_and_says_when_it_goes(texting: dict[str, str]) -> None:
    window = firm.shut_window()
    start = int(window[:2])
    night = {**texting, "MATTERLINE_QUIET_HOURS": window}
    code, out, err = run(night, "send", "--matter", "101", "--body", "See you tomorrow", "--json")
    assert code == 0, err
    held = json.loads(out)
    assert held["status"] == "scheduled"
    opens = datetime.fromisoformat(held["scheduled_for"]).astimezone(ZoneInfo("America/Los_Angeles"))
    assert (opens.hour, opens.minute) == (start, 0)
    code, out, err = run(
        night, "send", "--matter", "101", "--body", "Hearing moved", "--quiet-hours-reason", "hearing moved", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["status"] == "pending"
    run(night, "users", "add", "--name", "Sam Staff", "--email", "sam@firm.example", "--role", "staff")
    code, _, err = run(
        night, "send", "--matter", "101", "--body", "Hi", "--quiet-hours-reason", "urgent", "--as", "sam@firm.example"
    )
    assert code == 1
    assert "forbidden_role" in err
    code, out, err = run(night, "cancel", str(held["id"]), "--reason", "client called instead")
    assert code == 0, err
    assert f"canceled message {held['id']}" in out
    code, _, err = run(night, "cancel", str(held["id"]), "--reason", "again")
    assert code == 1
    assert "not_cancelable" in err


# -- what staff do to a thread ------------------------------------------------------------------------------


def thread_with(texting: dict[str, str], phone: str) -> dict[str, Any]:
    """The conversation with `phone`, as `matterline threads --json` lists it."""
    code, out, err = run(texting, "threads", "--json")
    assert code == 0, err
    return next(t for t in json.loads(out) if t["client_phone"] == phone)


def listed(texting: dict[str, str], *args: str) -> list[dict[str, Any]]:
    """What a listing command prints with `--json`."""
    code, out, err = run(texting, *args, "--json")
    assert code == 0, err
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


def unread(store: Engine, thread_id: int, user_id: int) -> int:
    view = queries.threads.get(store, thread_id, user_id)
    assert view is not None
    return view.unread


def test_threads_assign_gives_a_thread_to_a_person_and_back_to_nobody(
    texting: dict[str, str], store: Engine, user: AddUser, audit_log: AuditLog
) -> None:
    avery = user("Avery Counsel", "avery@firm.example", "attorney")
    sam = user("Sam Staff", "sam@firm.example", "staff")
    text_in(store, JANE, "Did you get the documents I mailed?", utcnow())
    thread_id = thread_with(texting, JANE)["id"]

    code, out, err = run(
        texting, "threads", "assign", str(thread_id), "--to", "sam@firm.example", "--as", "avery@firm.example"
    )
    assert code == 0, err
    assert out == f"thread {thread_id}: assigned to sam@firm.example\n"
    assert thread_with(texting, JANE)["assignee"] == "sam@firm.example"
    assert [t["id"] for t in listed(texting, "threads", "--filter", "mine", "--as", "sam@firm.example")] == [thread_id]
    [given] = audit_log("assign")
    assert given["actor"] == f"user:{avery['id']}:avery@firm.example"
    assert (given["subject_type"], given["subject_id"], given["matter_cms_id"]) == ("thread", str(thread_id), "101")
    assert given["details"] == {"from": None, "to": sam["id"], "to_email": "sam@firm.example"}

    code, out, err = run(texting, "threads", "assign", str(thread_id), "--json")  # no --to: to nobody
    assert code == 0, err
    assert json.loads(out)["assignee"] is None
    assert listed(texting, "threads", "--filter", "mine", "--as", "sam@firm.example") == []
    taken_back = audit_log("assign")[-1]
    assert (taken_back["actor"], taken_back["details"]) == (
        cli_actor(),
        {"from": sam["id"], "to": None, "to_email": None},
    )

    code, _, err = run(texting, "threads", "assign", str(thread_id), "--to", "nobody@firm.example")
    assert code == 1
    assert "matterline: unknown_user: no active user 'nobody@firm.example'" in err
    assert thread_with(texting, JANE)["assignee"] is None
    assert len(audit_log("assign")) == 2


def test_threads_read_and_unread_move_only_that_persons_read_mark(
    texting: dict[str, str], store: Engine, user: AddUser, audit_log: AuditLog
) -> None:
    avery = user("Avery Counsel", "avery@firm.example", "attorney")
    sam = user("Sam Staff", "sam@firm.example", "staff")
    first = text_in(store, JANE, "Did you get the documents I mailed?", utcnow())
    second = text_in(store, JANE, "I can bring copies on Monday", utcnow())
    thread_id = thread_with(texting, JANE)["id"]
    assert (unread(store, thread_id, avery["id"]), unread(store, thread_id, sam["id"])) == (2, 2)

    code, out, err = run(texting, "threads", "read", str(thread_id), "--as", "avery@firm.example")
    assert code == 0, err
    assert out == f"thread {thread_id}: read up to message {second}\n"
    assert (unread(store, thread_id, avery["id"]), unread(store, thread_id, sam["id"])) == (0, 2)
    # The listing shows each person their own count.
    for who, count in (("avery@firm.example", 0), ("sam@firm.example", 2)):
        code, out, _ = run(texting, "threads", "--as", who)
        assert f"  {count:>3} unread  " in out.splitlines()[0]
    # A read mark only moves forward: reading up to an older text leaves it where it is.
    code, out, _ = run(texting, "threads", "read", str(thread_id), "--as", "avery@firm.example", "--up-to", str(first))
    assert (code, out) == (0, f"thread {thread_id}: read up to message {second}\n")

    code, out, err = run(texting, "threads", "unread", str(thread_id), "--as", "avery@firm.example")
    assert code == 0, err
    assert out == f"thread {thread_id}: read up to message {first}; the rest is unread\n"
    assert unread(store, thread_id, avery["id"]) == 1
    code, out, _ = run(texting, "threads", "unread", str(thread_id), "--as", "avery@firm.example", "--from", str(first))
    assert (code, out) == (0, f"thread {thread_id}: read up to message {first - 1}; the rest is unread\n")
    assert (unread(store, thread_id, avery["id"]), unread(store, thread_id, sam["id"])) == (2, 2)

    marks = [e for e in audit_log() if e["action"] in ("read", "unread")]
    assert {e["actor"] for e in marks} == {f"user:{avery['id']}:avery@firm.example"}
    assert [(e["action"], e["details"]) for e in marks] == [
        ("read", {"up_to": second, "read_mark": second}),  # the read up to `first` moved nothing: not audited
        ("unread", {"from": second, "read_mark": first}),
        ("unread", {"from": first, "read_mark": first - 1}),
    ]


def test_threads_read_and_unread_need_to_know_whose_read_state_it_is(
    texting: dict[str, str], store: Engine, user: AddUser, audit_log: AuditLog
) -> None:
    user("Avery Counsel", "avery@firm.example", "attorney")
    text_in(store, JANE, "Did you get the documents I mailed?", utcnow())
    thread_id = thread_with(texting, JANE)["id"]
    for verb in ("read", "unread"):
        code, _, err = run(texting, "threads", verb, str(thread_id))
        assert code == 2
        assert "Missing option '--as'" in err
    code, _, err = run(texting, "threads", "read", str(thread_id), "--as", "avery@firm.example", "--up-to", "99999")
    assert code == 1
    assert f"matterline: invalid_message: no message 99999 in thread {thread_id}" in err
    assert [e for e in audit_log() if e["action"] in ("read", "unread")] == []


def test_threads_urgent_flags_a_thread_and_off_clears_it(
    texting: dict[str, str], store: Engine, user: AddUser, audit_log: AuditLog
) -> None:
    avery = user("Avery Counsel", "avery@firm.example", "attorney")
    text_in(store, JANE, "Did you get the documents I mailed?", utcnow())
    thread_id = thread_with(texting, JANE)["id"]
    assert listed(texting, "threads", "--filter", "urgent") == []

    code, out, err = run(texting, "threads", "urgent", str(thread_id), "--as", "avery@firm.example")
    assert code == 0, err
    assert out == f"thread {thread_id}: flagged urgent\n"
    assert [t["id"] for t in listed(texting, "threads", "--filter", "urgent")] == [thread_id]

    code, out, err = run(texting, "threads", "urgent", str(thread_id), "--off", "--json")
    assert code == 0, err
    assert (json.loads(out)["id"], json.loads(out)["urgent"]) == (thread_id, False)
    assert listed(texting, "threads", "--filter", "urgent") == []
    assert [(e["actor"], e["subject_id"], e["details"]) for e in audit_log("urgent")] == [
        (f"user:{avery['id']}:avery@firm.example", str(thread_id), {"urgent": True, "was": False}),
        (cli_actor(), str(thread_id), {"urgent": False, "was": True}),
    ]

    code, _, err = run(texting, "threads", "urgent", "99999")
    assert code == 1
    assert "matterline: not_found: no thread 99999" in err


def test_threads_refile_files_a_thread_that_needs_filing_and_its_texts_with_it(
    texting: dict[str, str], store: Engine, audit_log: AuditLog
) -> None:
    lease = text_in(store, OMAR, "About the lease renewal: the landlord called again", utcnow())
    [waiting] = listed(texting, "threads", "--filter", "needs-filing")  # Omar has two open matters
    assert (waiting["client_phone"], waiting["state"], waiting["matter_cms_id"]) == (OMAR, "needs_filing", None)

    code, _, err = run(texting, "threads", "refile", str(waiting["id"]), "--matter", "999")
    assert code == 1
    assert "matterline: unknown_matter: no matter '999' in the store" in err
    assert [t["id"] for t in listed(texting, "threads", "--filter", "needs-filing")] == [waiting["id"]]
    assert audit_log("refile") == []

    code, out, err = run(texting, "threads", "refile", str(waiting["id"]), "--matter", "202")
    assert code == 0, err
    assert out == f"thread {waiting['id']}: filed to matter 202; 1 texts moved with it\n"
    assert listed(texting, "threads", "--filter", "needs-filing") == []
    [filed] = listed(texting, "threads", "--matter", "202")
    assert (filed["id"], filed["state"], filed["matter_cms_id"]) == (waiting["id"], "filed", "202")
    assert [(m["id"], m["matter_cms_id"]) for m in listed(texting, "messages", "--thread", str(filed["id"]))] == [
        (lease, "202")
    ]
    [entry] = audit_log("refile")
    assert (entry["actor"], entry["subject_type"], entry["matter_cms_id"]) == (cli_actor(), "thread", "202")
    assert entry["details"] == {"from_matter": None, "to_matter": "202", "messages": 1}


def test_messages_refile_moves_one_text_and_a_written_one_gets_a_correction_on_both_matters(
    texting: dict[str, str], store: Engine, user: AddUser, audit_log: AuditLog
) -> None:
    avery = user("Avery Counsel", "avery@firm.example", "attorney")
    lease = text_in(store, OMAR, "About the lease renewal: the landlord called again", utcnow())
    thread_id = thread_with(texting, OMAR)["id"]
    assert run(texting, "threads", "refile", str(thread_id), "--matter", "201")[0] == 0  # the DUI matter, by mistake
    assert run(texting, "file", "--thread", str(thread_id))[0] == 0  # its transcript is queued for matter 201

    code, _, err = run(texting, "messages", "refile", str(lease), "--matter", "999")
    assert code == 1
    assert "matterline: unknown_matter: no matter '999' in the store" in err

    code, out, err = run(texting, "messages", "refile", str(lease), "--matter", "202", "--as", "avery@firm.example")
    assert code == 0, err
    assert out == f"message {lease}: filed to matter 202\n"
    assert [(m["id"], m["matter_cms_id"]) for m in listed(texting, "messages", "--thread", str(thread_id))] == [
        (lease, "202")
    ]
    corrections = [r for r in listed(texting, "writebacks") if r["kind"] == "correction"]
    assert [(r["matter_cms_id"], r["state"]) for r in corrections] == [("201", "pending"), ("202", "pending")]
    [moved] = [e for e in audit_log("refile") if e["subject_type"] == "message"]
    assert (moved["actor"], moved["subject_id"], moved["matter_cms_id"]) == (
        f"user:{avery['id']}:avery@firm.example",
        str(lease),
        "202",
    )
    assert moved["details"] == {"from_matter": "201", "to_matter": "202"}


# -- checking a draft, and who a send or cancel is by --------------------------------------------------------


def stored_messages(store: Engine) -> int:
    with store.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(messages)).scalar_one())


def test_check_says_whether_a_draft_may_be_sent_and_stores_nothing(
    texting: dict[str, str], store: Engine, audit_log: AuditLog
) -> None:
    before = audit_log()
    code, out, _ = run(texting, "check", "See you at the courthouse on Monday")
    assert (code, out) == (0, "may be sent\n")

    code, out, _ = run(texting, "check", "They offered $45,000")
    assert code == 0
    assert out.startswith("warn settlement_amount: 'offered $45,000' - ")
    assert out.endswith("\nneeds --override-reason to send\n")

    code, out, _ = run(texting, "check", "My SSN is 123-45-6789")
    assert code == 1
    assert out.startswith("block ssn: '123-45-6789' - ")
    assert out.endswith("\nblocked: cannot be sent\n")
    code, out, _ = run(texting, "check", "My SSN is 123-45-6789", "--json")
    assert code == 1
    draft = json.loads(out)
    assert (draft["sendable"], draft["needs_override_reason"]) == (False, False)
    assert [(f["action"], f["rule"], f["match"]) for f in draft["findings"]] == [("block", "ssn", "123-45-6789")]

    assert stored_messages(store) == 0
    assert audit_log() == before


def test_send_and_cancel_as_a_person_are_audited_under_their_name(
    texting: dict[str, str], user: AddUser, audit_log: AuditLog
) -> None:
    avery = user("Avery Counsel", "avery@firm.example", "attorney")
    code, out, err = run(
        texting, "send", "--matter", "101", "--body", "Hearing moved to 10am", "--as", "avery@firm.example", "--json"
    )
    assert code == 0, err
    queued = json.loads(out)
    code, out, err = run(
        texting, "cancel", str(queued["id"]), "--reason", "wrong time, resending", "--as", "avery@firm.example"
    )
    assert code == 0, err
    assert out == f"canceled message {queued['id']}; it will not be sent\n"

    avery_label = f"user:{avery['id']}:avery@firm.example"
    [sent] = audit_log("send")
    assert (sent["actor"], sent["subject_type"], sent["subject_id"], sent["matter_cms_id"]) == (
        avery_label,
        "message",
        str(queued["id"]),
        "101",
    )
    [canceled] = audit_log("send_canceled")
    assert (canceled["actor"], canceled["subject_id"]) == (avery_label, str(queued["id"]))
    assert canceled["details"] == {"reason": "wrong time, resending", "was": "pending"}
    [message] = listed(texting, "messages", "--thread", str(queued["thread_id"]))
    assert (message["status"], message["author"]) == ("canceled", "avery@firm.example")


@pytest.mark.parametrize("blank", ["", "   "])
def test_cancel_with_a_blank_reason_exits_2_and_the_text_still_goes(
    texting: dict[str, str], audit_log: AuditLog, blank: str
) -> None:
    code, out, err = run(texting, "send", "--matter", "101", "--body", "See you Monday", "--json")
    assert code == 0, err
    queued = json.loads(out)
    code, _, err = run(texting, "cancel", str(queued["id"]), "--reason", blank)
    assert code == 2
    assert "needs a reason" in err
    assert audit_log("send_canceled") == []
    assert [m["status"] for m in listed(texting, "messages", "--thread", str(queued["thread_id"]))] == ["pending"]
    code, out, _ = run(texting, "worker", "--once")
    assert code == 0
    assert "1 sent" in out
