"""`/api/messages/<id>/triage` and `/api/triage/corrections` (`webhooks/api/triage.py`): why triage flagged a text
(or did not), staff correcting it with the thread and the attorney following, and the corrected texts exported
for retraining, admins only and audited without a word of the texts."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import select

from connector.queries.triage import Corrected
from connector.store.tables import messages, writebacks
from connector.store.triage_tables import triage_corrections
from tests.support.firm import JANE, OMAR
from tests.webhooks.api.harness import DOC, Firm, audit_rows, count, error, text_in, thread_id_of
from webhooks.api.triage import CORRECTIONS_SCHEMA

ARREST = "They arrested my son last night, he's in county jail"
ROUTINE = "Thanks, see you at the meeting next month"
NOTE = "the client quoted the jail's phone number to us"


def texted(firm: Firm, phone: str, body: str) -> int:
    """A client text taken in through the webhook and intake, so triage decides it; its message id."""
    text_in(firm.admin.client, phone, body)
    with firm.store.connect() as conn:
        return int(
            conn.execute(
                select(messages.c.id)
                .where(messages.c.from_number == phone, messages.c.direction == "inbound")
                .order_by(messages.c.id.desc())
                .limit(1)
            ).scalar_one()
        )


def thread_urgent(firm: Firm, phone: str) -> bool:
    thread = firm.staff.get(f"/api/threads/{thread_id_of(firm.store, phone)}").get_json()["thread"]
    return bool(thread["urgent"])


def tasks(firm: Firm) -> list[str | None]:
    with firm.store.connect() as conn:
        return list(conn.execute(select(writebacks.c.matter_cms_id).where(writebacks.c.kind == "task")).scalars())


def test_get_shows_what_triage_decided_and_why(firm: Firm) -> None:
    urgent = texted(firm, JANE, ARREST)
    routine = texted(firm, OMAR, ROUTINE)

    response = firm.staff.get(f"/api/messages/{urgent}/triage")
    assert response.status_code == 200
    view = response.get_json()["triage"]
    assert view["message_id"] == urgent
    assert (view["urgent"], view["decided_urgent"]) == (True, True)
    assert (view["category"], view["situation"]) == ("arrest_custody", "arrest or custody")
    assert view["reasons"]  # what made it urgent, as a person reads it
    assert view["version"].startswith("triage-")
    assert 0.0 <= view["probability"] <= 1.0
    datetime.fromisoformat(view["decided_at"])
    assert view["corrections"] == []

    calm = firm.attorney.get(f"/api/messages/{routine}/triage").get_json()["triage"]
    assert (calm["urgent"], calm["situation"], calm["corrections"]) == (False, None, [])


def test_marking_an_urgent_text_not_urgent_clears_the_flag_and_keeps_who_and_when(firm: Firm) -> None:
    message_id = texted(firm, JANE, ARREST)
    assert thread_urgent(firm, JANE) is True

    response = firm.staff.post(f"/api/messages/{message_id}/triage", {"urgent": False, "note": NOTE})
    assert response.status_code == 200
    view = response.get_json()["triage"]
    assert (view["urgent"], view["category"], view["situation"]) == (False, None, None)
    assert (view["decided_urgent"], view["decided_category"]) == (True, "arrest_custody")  # triage's stays
    [correction] = view["corrections"]
    assert correction["by"] == "The staff"  # the person's name, as the thread shows it
    datetime.fromisoformat(correction["at"])
    assert (correction["urgent"], correction["was_urgent"], correction["note"]) == (False, True, NOTE)
    assert correction["version"] == view["version"]
    assert thread_urgent(firm, JANE) is False
    assert firm.staff.get(f"/api/messages/{message_id}/triage").get_json()["triage"] == view


def test_marking_a_missed_text_urgent_flags_the_thread_and_tasks_the_attorney_once(firm: Firm) -> None:
    message_id = texted(firm, JANE, ROUTINE)
    assert thread_urgent(firm, JANE) is False
    assert tasks(firm) == []

    body = {"urgent": True, "category": "court_deadline"}
    response = firm.attorney.post(f"/api/messages/{message_id}/triage", body)
    assert response.status_code == 200
    view = response.get_json()["triage"]
    assert (view["urgent"], view["situation"], view["decided_urgent"]) == (True, "court date or deadline", False)
    assert view["corrections"][0]["was_urgent"] is False
    assert thread_urgent(firm, JANE) is True
    assert tasks(firm) == ["101"]  # the attorney of Jane's matter, told as triage would have

    again = firm.staff.post(f"/api/messages/{message_id}/triage", body).get_json()["triage"]
    assert len(again["corrections"]) == 2  # every correction is kept
    assert tasks(firm) == ["101"]  # one task per thread per day, however often it is said


def test_a_refused_correction_stores_nothing(firm: Firm) -> None:
    message_id = texted(firm, JANE, ROUTINE)
    path = f"/api/messages/{message_id}/triage"

    unknown = firm.staff.post(path, {"urgent": True, "category": "alien_abduction"})
    assert unknown.status_code == 400
    assert error(unknown)["code"] == "invalid_body"
    assert "category" in error(unknown)["details"]
    needs_urgent = firm.staff.post(path, {"urgent": False, "category": "housing"})
    assert needs_urgent.status_code == 422
    assert error(needs_urgent)["code"] == "category_needs_urgent"
    assert error(needs_urgent)["details"] == {"field": "category"}
    for bad in ({"urgent": "yes"}, {}, {"urgent": True, "note": "x" * 501}, {"urgent": True, "why": "x"}):
        refused = firm.staff.post(path, bad)
        assert refused.status_code == 400, bad
        assert error(refused)["code"] == "invalid_body"

    assert count(firm.store, triage_corrections) == 0
    assert audit_rows(firm.store, "triage_corrected") == []
    assert thread_urgent(firm, JANE) is False
    assert tasks(firm) == []


def test_an_unknown_or_sent_message_is_not_found(firm: Firm, jane: int) -> None:
    sent = firm.staff.post(f"/api/threads/{jane}/messages", {"body": "We have it"}).get_json()["message"]["id"]
    for message_id in (999_999, sent):
        path = f"/api/messages/{message_id}/triage"
        assert error(firm.staff.get(path))["code"] == "not_found"
        refused = firm.staff.post(path, {"urgent": True})
        assert refused.status_code == 404
        assert error(refused)["code"] == "not_found"
    assert count(firm.store, triage_corrections) == 0


def test_only_admins_export_the_corrected_texts_with_their_new_labels(firm: Firm) -> None:
    missed = texted(firm, JANE, ROUTINE)
    wrong = texted(firm, OMAR, ARREST)
    texted(firm, JANE, "Is my hearing still on?")  # not corrected: not exported
    firm.staff.post(f"/api/messages/{missed}/triage", {"urgent": True})
    firm.staff.post(f"/api/messages/{missed}/triage", {"urgent": True, "category": "court_deadline"})
    firm.staff.post(f"/api/messages/{wrong}/triage", {"urgent": False})

    for caller in (firm.staff, firm.attorney):
        refused = caller.get("/api/triage/corrections")
        assert refused.status_code == 403
        assert error(refused)["code"] == "forbidden_role"
    assert audit_rows(firm.store, "export") == []

    response = firm.admin.get("/api/triage/corrections")
    assert response.status_code == 200
    exported = response.get_json()["corrections"]
    assert [(c["id"], c["text"], c["urgent"], c["category"]) for c in exported] == [
        (f"msg-{missed}", ROUTINE, True, "court_deadline"),  # the newest label of the two
        (f"msg-{wrong}", ARREST, False, "none"),
    ]
    assert exported[1]["was_urgent"] is True
    assert all(datetime.fromisoformat(c["received_at"]).tzinfo is None for c in exported)  # the client's own time
    assert {c["corrected_by"] for c in exported} == {"The staff"}
    [entry] = audit_rows(firm.store, "export")
    assert entry.actor == f"user:{firm.ids['admin']}:admin@firm.example"
    assert (entry.subject_type, entry.details) == ("triage_corrections", {"texts": 2})


def test_the_audit_log_keeps_the_correction_but_never_the_text_or_the_note(firm: Firm) -> None:
    message_id = texted(firm, JANE, ARREST)
    firm.staff.post(
        f"/api/messages/{message_id}/triage",
        {"urgent": False, "note": NOTE},
        headers={"X-Request-Id": "correct-1"},
    )
    [entry] = audit_rows(firm.store, "triage_corrected")
    assert (entry.subject_type, entry.subject_id, entry.matter_cms_id) == ("message", str(message_id), "101")
    assert entry.actor == f"user:{firm.ids['staff']}:staff@firm.example"
    assert entry.request_id == "correct-1"
    assert entry.details["urgent"] is False
    assert entry.details["was_urgent"] is True
    said = str(entry.details)
    assert "jail" not in said
    assert "phone number" not in said
    assert "note" not in entry.details
    listed = firm.admin.get("/api/audit?action=triage_corrected").get_json()["entries"]
    assert [e["subject_id"] for e in listed] == [str(message_id)]


def test_the_export_is_documented_field_for_field_with_the_local_time_as_it_is() -> None:
    item = CORRECTIONS_SCHEMA["properties"]["corrections"]["items"]
    assert list(item["properties"]) == [f.name for f in dataclasses.fields(Corrected)]
    assert "format" not in item["properties"]["received_at"]  # no offset: not an RFC 3339 date-time
    operations = [op for path in DOC["paths"].values() for op in path.values() if "triage" in op["tags"]]
    assert sorted(op["operationId"] for op in operations) == ["correctTriage", "getTriage", "listTriageCorrections"]
    assert "403" in DOC["paths"]["/api/triage/corrections"]["get"]["responses"]
    assert "403" not in DOC["paths"]["/api/messages/{message_id}/triage"]["post"]["responses"]
