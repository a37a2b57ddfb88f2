"""`/api/audit` (`webhooks/api/audit.py`): who did what, when, in which matter; the hash-chained log, filtered."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from sqlalchemy import Engine, update

from connector.compliance.audit import GENESIS
from connector.store.tables import audit_log
from tests.support.audit_log import SECRET_KEY
from tests.support.command import run
from tests.support.firm import JANE, OMAR, settings
from tests.support.people import add_user
from tests.webhooks.api.harness import Api, Firm, error, text_in, thread_id_of
from webhooks import create_app


def entries(api: Api, query: str = "") -> list[dict[str, Any]]:
    response = api.get(f"/api/audit{query}")
    assert response.status_code == 200, response.get_json()
    found: list[dict[str, Any]] = response.get_json()["entries"]
    return found


def busy_day(firm: Firm, jane: int) -> None:
    """Staff assign and flag Jane's thread; an attorney texts Omar about 201; an admin puts 101 on hold."""
    firm.staff.post(f"/api/threads/{jane}/assign", {"assignee": "staff@firm.example"}, headers={"X-Request-Id": "a1"})
    firm.staff.post(f"/api/threads/{jane}/urgent", {"urgent": True})
    firm.attorney.post("/api/matters/201/messages", {"body": "Court is at 9."})
    firm.admin.post("/api/matters/101/hold", {"reason": "litigation"})


@pytest.mark.parametrize("role", ["staff", "attorney"])
def test_only_admins_read_the_audit_log(firm: Firm, role: str) -> None:
    refused = getattr(firm, role).get("/api/audit")
    assert (refused.status_code, error(refused)["code"]) == (403, "forbidden_role")
    assert error(refused)["details"] == {"role": role, "allowed": ["admin"]}


def test_the_audit_log_is_oldest_first_and_one_hash_chain(firm: Firm, jane: int) -> None:
    busy_day(firm, jane)
    log = entries(firm.admin)
    assert [e["id"] for e in log] == sorted(e["id"] for e in log)
    assert log[0]["prev_hash"] == GENESIS
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in itertools.pairwise(log))
    staff = f"user:{firm.ids['staff']}:staff@firm.example"
    [assign] = [e for e in log if e["action"] == "assign"]
    assert (assign["actor"], assign["subject_type"], assign["subject_id"], assign["matter_cms_id"]) == (
        staff,
        "thread",
        str(jane),
        "101",
    )
    assert (assign["request_id"], assign["details"]["to"]) == ("a1", firm.ids["staff"])


def test_the_audit_log_is_filtered_by_matter_actor_and_action(firm: Firm, jane: int) -> None:
    busy_day(firm, jane)
    staff = f"user:{firm.ids['staff']}:staff@firm.example"
    by_matter = entries(firm.admin, "?matter=101")
    assert by_matter
    assert {e["matter_cms_id"] for e in by_matter} == {"101"}
    assert {"receive", "assign", "urgent", "hold_set"} <= {e["action"] for e in by_matter}
    assert "send" not in {e["action"] for e in by_matter}
    assert {e["action"] for e in entries(firm.admin, "?matter=201")} == {"send"}
    by_staff = entries(firm.admin, f"?actor={staff}")
    assert {e["actor"] for e in by_staff} == {staff}
    assert [e["action"] for e in by_staff] == ["login", "assign", "urgent"]
    assert [e["action"] for e in entries(firm.admin, "?action=hold_set")] == ["hold_set"]
    assert [e["action"] for e in entries(firm.admin, f"?action=urgent&actor={staff}&matter=101")] == ["urgent"]
    assert entries(firm.admin, "?action=urgent&matter=201") == []
    assert entries(firm.admin, "?actor=user:999:nobody@firm.example") == []


def test_limit_keeps_the_newest_entries_still_oldest_first(firm: Firm, jane: int) -> None:
    busy_day(firm, jane)
    log = entries(firm.admin)
    newest = entries(firm.admin, "?limit=2")
    assert [e["id"] for e in newest] == [e["id"] for e in log[-2:]]
    [one] = entries(firm.admin, "?action=receive&limit=1")
    assert one["id"] == max(e["id"] for e in log if e["action"] == "receive")


def test_the_audit_log_never_holds_a_message_body(firm: Firm) -> None:
    text_in(firm.admin.client, JANE, "My landlord Mr. Whitcombe changed the locks")
    text_in(firm.admin.client, OMAR, "STOP")
    jane = thread_id_of(firm.store, JANE)
    assert firm.staff.post(f"/api/threads/{jane}/messages", {"body": "Bring the blue folder"}).status_code == 201
    refused = firm.staff.post(f"/api/threads/{jane}/messages", {"body": "Your SSN 123-45-6789 is on file"})
    assert refused.status_code == 422
    warned = firm.staff.post(
        f"/api/threads/{jane}/messages", {"body": "They offered 45k for the car", "override_reason": "client asked"}
    )
    assert warned.status_code == 201
    blocked = firm.staff.post("/api/matters/201/messages", {"body": "Omar, your arraignment is Monday"})
    assert blocked.status_code == 409
    firm.staff.post("/api/guardrails/check", {"body": "Card 4111 1111 1111 1111"})
    firm.staff.post(f"/api/threads/{jane}/file", {})

    log = entries(firm.admin, "?limit=1000")
    assert {"receive", "send", "override", "send_blocked", "window_closed"} <= {e["action"] for e in log}
    text = json.dumps(log)  # an opt-out keeps the keyword that made it (STOP), which is no one's words
    for words in ("Whitcombe", "blue folder", "123-45-6789", "45k", "arraignment", "4111 1111"):
        assert words not in text, words


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("action=bogus", "action"),
        ("action=Assign", "action"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("matter=", "matter"),
        ("actor=" + "u" * 129, "actor"),
        ("matter=101&matter=102", "matter"),
    ],
)
def test_list_audit_refuses_bad_parameters_by_name(firm: Firm, query: str, parameter: str) -> None:
    response = firm.admin.get(f"/api/audit?{query}")
    assert response.status_code == 400
    assert error(response)["code"] == "invalid_parameter"
    assert error(response)["details"]["parameter"] == parameter


def test_admins_verify_the_log_over_the_api(engine: Engine, env: dict[str, str]) -> None:
    keyed = {**env, "MATTERLINE_SECRET_KEY": SECRET_KEY}
    app = create_app(settings(MATTERLINE_SECRET_KEY=SECRET_KEY), engine)
    _, admin_token = add_user(engine, name="Ada", email="ada@firm.example", role="admin")
    _, staff_token = add_user(engine, name="Sam", email="sam@firm.example", role="staff")
    base = Api(app.test_client(), app, None)
    admin, staff = base.as_(admin_token), base.as_(staff_token)
    refused = staff.get("/api/audit/verify")
    assert (refused.status_code, error(refused)["code"]) == (403, "forbidden_role")
    assert run(keyed, "audit", "checkpoint")[0] == 0
    admin.post("/api/users", {"name": "Lee", "email": "lee@firm.example", "role": "staff"})
    response = admin.get("/api/audit/verify")
    assert response.status_code == 200, response.get_json()
    verdict = response.get_json()
    log = entries(admin)
    assert (verdict["intact"], verdict["entries"], verdict["broken_id"]) == (True, len(log), None)
    assert (verdict["head_id"], verdict["head"]) == (log[-1]["id"], log[-1]["hash"])
    signed = [e["action"] for e in log].index("audit_checkpoint")  # it signed the entries before its own
    checkpoint = verdict["last_checkpoint"]
    assert (checkpoint["entries"], checkpoint["entry_id"]) == (signed, log[signed - 1]["id"])
    with engine.begin() as conn:  # someone edits who added Lee, straight in the database
        conn.execute(update(audit_log).where(audit_log.c.id == log[-1]["id"]).values(actor="cli:nobody"))
    verdict = admin.get("/api/audit/verify").get_json()
    assert (verdict["intact"], verdict["broken_id"]) == (False, log[-1]["id"])
    assert "edited" in verdict["reason"]
