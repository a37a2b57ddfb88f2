"""`/api/writebacks` (`webhooks/api/writebacks.py`): the records for the CMS, and reviewing a summary."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, update

from connector.jobs import kinds
from connector.store.tables import outbox, writebacks
from tests.support.firm import JANE, OMAR, seed, settings
from tests.support.people import add_user
from tests.webhooks.api.harness import Api, Firm, audit_rows, count, error, text_in, thread_id_of
from webhooks import create_app


def _summary_id(firm: Firm) -> int:
    rows = firm.staff.get("/api/writebacks?state=draft").get_json()["writebacks"]
    rows = rows or firm.staff.get("/api/writebacks?state=pending").get_json()["writebacks"]
    return next(r["id"] for r in rows if r["kind"] == "summary")


def test_staff_read_edit_and_file_a_summary_draft(engine: Engine) -> None:
    seed(engine)
    app = create_app(settings(MATTERLINE_SUMMARY_REVIEW="true"), engine)
    _, token = add_user(engine, name="Pat Paralegal", email="pat@firm.example", role="staff")
    api = Api(app.test_client(), app, token)
    text_in(api.client, JANE, "Can you send me the retainer agreement in writing?")
    thread = thread_id_of(engine, JANE)
    assert api.post(f"/api/threads/{thread}/file", {}).status_code == 200
    drafts = api.get("/api/writebacks?state=draft").get_json()["writebacks"]
    assert [d["kind"] for d in drafts] == ["summary"]
    summary = api.get(f"/api/writebacks/{drafts[0]['id']}").get_json()["writeback"]
    assert summary["body"].startswith("Privileged & Confidential")
    marker = summary["subject"].rsplit("[", 1)[1].rstrip("]")
    edited = api.call(
        "PATCH",
        f"/api/writebacks/{summary['id']}",
        {"subject": "Court date request", "body": "Privileged & Confidential — edited by Pat"},
    )
    assert edited.status_code == 200
    assert edited.get_json()["writeback"]["subject"] == f"Court date request [{marker}]"
    assert count(engine, outbox, outbox.c.kind == "cms_write") == 1  # only the transcript is queued
    filed = api.post(f"/api/writebacks/{summary['id']}/file", {})
    assert filed.get_json()["writeback"]["state"] == "pending"
    assert count(engine, outbox, outbox.c.kind == "cms_write") == 2
    assert api.post(f"/api/writebacks/{summary['id']}/file", {}).status_code == 409
    assert [r.action for r in audit_rows(engine, "summary_edit")] == ["summary_edit"]


def test_a_summary_being_written_or_a_transcript_cannot_be_edited(firm: Firm, jane: int) -> None:
    firm.staff.post(f"/api/threads/{jane}/file", {})
    summary_id = _summary_id(firm)
    transcript_id = next(
        r["id"] for r in firm.staff.get("/api/writebacks").get_json()["writebacks"] if r["kind"] == "transcript"
    )
    assert error(firm.staff.call("PATCH", f"/api/writebacks/{transcript_id}", {"body": "x"}))["code"] == "not_editable"
    with firm.store.begin() as conn:  # a worker has leased the job: the write may be under way
        conn.execute(update(outbox).values(leased_until=datetime(2099, 1, 1, tzinfo=UTC)))
    response = firm.staff.call("PATCH", f"/api/writebacks/{summary_id}", {"body": "too late"})
    assert response.status_code == 409
    assert error(response)["code"] == "in_flight"
    assert firm.staff.get(f"/api/writebacks/{summary_id}").get_json()["writeback"]["body"] != "too late"
    assert firm.staff.get("/api/writebacks/999999").status_code == 404


# -- the listing ---------------------------------------------------------------------------------------------


def two_matters_filed(firm: Firm, jane: int) -> int:
    """Jane's thread (101) and Omar's (filed to 201 by an attorney) closed: two records each. Omar's thread."""
    text_in(firm.admin.client, OMAR, "about my case")
    omar = thread_id_of(firm.store, OMAR)
    assert firm.attorney.post(f"/api/threads/{omar}/refile", {"matter_cms_id": "201"}).status_code == 200
    assert firm.staff.post(f"/api/threads/{jane}/file", {}).status_code == 200
    assert firm.staff.post(f"/api/threads/{omar}/file", {}).status_code == 200
    return omar


def record_ids(firm: Firm, query: str = "") -> list[int]:
    response = firm.staff.get(f"/api/writebacks{query}")
    assert response.status_code == 200, response.get_json()
    return [r["id"] for r in response.get_json()["writebacks"]]


def test_writebacks_are_listed_by_id_with_their_state_and_attempts(firm: Firm, jane: int) -> None:
    omar = two_matters_filed(firm, jane)
    response = firm.staff.get("/api/writebacks")
    assert response.status_code == 200
    listed = response.get_json()["writebacks"]
    assert [r["id"] for r in listed] == sorted(r["id"] for r in listed)
    assert [(r["thread_id"], r["matter_cms_id"], r["kind"]) for r in listed] == [
        (jane, "101", "transcript"),
        (jane, "101", "summary"),
        (omar, "201", "transcript"),
        (omar, "201", "summary"),
    ]
    assert {(r["state"], r["attempts"], r["cms_record_id"], r["last_error"]) for r in listed} == {
        ("pending", 0, None, None)
    }
    with firm.store.begin() as conn:  # the writer has tried the first one twice
        conn.execute(
            update(outbox).where(outbox.c.idempotency_key == kinds.write_key(listed[0]["id"])).values(attempts=2)
        )
    assert firm.staff.get("/api/writebacks").get_json()["writebacks"][0]["attempts"] == 2


def test_writebacks_are_filtered_by_state_and_matter(firm: Firm, jane: int) -> None:
    two_matters_filed(firm, jane)
    jane_transcript, jane_summary, omar_transcript, omar_summary = record_ids(firm)
    with firm.store.begin() as conn:
        conn.execute(
            update(writebacks)
            .where(writebacks.c.id == jane_transcript)
            .values(state="written", cms_record_id="note-77")
        )
        conn.execute(
            update(writebacks)
            .where(writebacks.c.id == omar_summary)
            .values(state="dead", last_error="matter 201 was closed in the CMS")
        )
        conn.execute(
            update(writebacks)
            .where(writebacks.c.id == omar_transcript)
            .values(state="withdrawn", last_error="withdrawn: staff marked the text not urgent")
        )
    assert record_ids(firm, "?state=pending") == [jane_summary]
    [withdrawn] = firm.staff.get("/api/writebacks?state=withdrawn").get_json()["writebacks"]
    assert (withdrawn["id"], withdrawn["last_error"]) == (
        omar_transcript,
        "withdrawn: staff marked the text not urgent",
    )
    [written] = firm.staff.get("/api/writebacks?state=written").get_json()["writebacks"]
    assert (written["id"], written["cms_record_id"]) == (jane_transcript, "note-77")
    [dead] = firm.staff.get("/api/writebacks?state=dead").get_json()["writebacks"]
    assert (dead["id"], dead["last_error"]) == (omar_summary, "matter 201 was closed in the CMS")
    assert record_ids(firm, "?state=draft") == []
    assert record_ids(firm, "?matter=201") == [omar_transcript, omar_summary]
    assert record_ids(firm, "?matter=201&state=withdrawn") == [omar_transcript]
    assert record_ids(firm, "?matter=999") == []


def test_writebacks_page_after_the_last_id_of_the_previous_page(firm: Firm, jane: int) -> None:
    two_matters_filed(firm, jane)
    everything = record_ids(firm)
    first = record_ids(firm, "?limit=3")
    rest = record_ids(firm, f"?limit=3&after={first[-1]}")
    assert (first, rest) == (everything[:3], everything[3:])
    assert record_ids(firm, f"?after={everything[-1]}") == []
    assert record_ids(firm, f"?matter=101&after={everything[0]}") == [everything[1]]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("state=bogus", "state"),
        ("state=Pending", "state"),
        ("state=written&state=dead", "state"),
        ("matter=", "matter"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("after=-1", "after"),
    ],
)
def test_list_writebacks_refuses_bad_parameters_by_name(firm: Firm, query: str, parameter: str) -> None:
    response = firm.staff.get(f"/api/writebacks?{query}")
    assert response.status_code == 400
    assert error(response)["code"] == "invalid_parameter"
    assert error(response)["details"]["parameter"] == parameter


def test_an_unknown_writeback_state_is_refused_naming_it_and_the_states_allowed(firm: Firm) -> None:
    refused = firm.staff.get("/api/writebacks?state=bogus")
    assert "bogus" in error(refused)["message"]
    assert error(refused)["details"] == {
        "parameter": "state",
        "allowed": ["draft", "pending", "written", "dead", "withdrawn"],
    }


def test_a_record_id_beyond_the_stores_range_is_no_such_record(firm: Firm) -> None:
    for writeback_id in (2**31, 2**63, 24108993320715129443162, 2**31 - 1):
        assert firm.staff.get(f"/api/writebacks/{writeback_id}").status_code == 404
        assert firm.staff.call("PATCH", f"/api/writebacks/{writeback_id}", {"subject": "x"}).status_code == 404
        assert firm.staff.post(f"/api/writebacks/{writeback_id}/file").status_code == 404
    beyond = firm.staff.get(f"/api/writebacks?after={2**31}")
    assert (beyond.status_code, error(beyond)["details"]["parameter"]) == (400, "after")
