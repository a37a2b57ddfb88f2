"""`/api/outbox` (`webhooks/api/outbox.py`): the queue of work leaving the building, and an admin's replay of
dead letters and discard of a job that should not run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update

from connector.cms.connect import build_client
from connector.messaging.filing import thread_for
from connector.messaging.sender import send_due
from connector.retry import RetryPolicy
from connector.sandbox import (
    DEFAULT_TOKEN,
    SANDBOX_ACCOUNT_SID,
    SANDBOX_AUTH_TOKEN,
    SANDBOX_MESSAGING_SERVICE_SID,
    SANDBOX_POOL_NUMBERS,
    ClioState,
    Fault,
    SandboxServer,
    TwilioServer,
    TwilioState,
    generate_firm,
    twilio_fault,
)
from connector.store.engine import utcnow
from connector.store.tables import outbox, writebacks
from connector.sync.syncer import Syncer
from connector.writeback.writer import enqueue, run_due
from mappings import load_mapping
from tests.support.firm import FIRM_NUMBER, JANE, seed, settings
from tests.support.people import add_user
from tests.support.queue import make_due
from tests.webhooks.api.harness import Api, Firm, audit_rows, error, kill_jobs
from webhooks import create_app

ADMIN_ONLY = [
    ("GET", "/api/outbox", None),
    ("POST", "/api/outbox/replay", {"job_ids": None}),
    ("POST", "/api/outbox/1/discard", {"reason": "not needed"}),
]


def queue_texts(firm: Firm, thread: int, n: int) -> list[int]:
    """`n` texts sent in the thread; the ids of their outbox jobs, oldest first."""
    for i in range(n):
        assert firm.staff.post(f"/api/threads/{thread}/messages", {"body": f"Update {i}"}).status_code == 201
    return sorted(job["id"] for job in firm.admin.get("/api/outbox?kind=sms_send").get_json()["jobs"])


def job(firm: Firm, job_id: int) -> dict[str, Any]:
    found: dict[str, Any] = next(j for j in firm.admin.get("/api/outbox").get_json()["jobs"] if j["id"] == job_id)
    return found


def listed(firm: Firm, query: str = "") -> list[int]:
    response = firm.admin.get(f"/api/outbox{query}")
    assert response.status_code == 200, response.get_json()
    return [j["id"] for j in response.get_json()["jobs"]]


# -- who may ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["staff", "attorney"])
def test_only_admins_see_and_work_the_outbox(firm: Firm, jane: int, role: str) -> None:
    [job_id] = queue_texts(firm, jane, 1)
    kill_jobs(firm.store, outbox.c.id == job_id)
    caller: Api = getattr(firm, role)
    for method, path, body in ADMIN_ONLY:
        refused = caller.call(method, path.replace("/1/", f"/{job_id}/"), body)
        assert (refused.status_code, error(refused)["code"]) == (403, "forbidden_role"), path
        assert error(refused)["details"] == {"role": role, "allowed": ["admin"]}
    assert job(firm, job_id)["state"] == "dead"
    assert audit_rows(firm.store, "replay") == audit_rows(firm.store, "discard") == []


# -- the listing --------------------------------------------------------------------------------------------


def test_the_outbox_lists_jobs_newest_first_with_their_state_and_last_error(firm: Firm, jane: int) -> None:
    first, second, third = queue_texts(firm, jane, 3)
    kill_jobs(firm.store, outbox.c.id == second, attempts=8, last_error="Twilio 500 20500: try later")
    response = firm.admin.get("/api/outbox")
    assert response.status_code == 200
    jobs = response.get_json()["jobs"]
    assert [j["id"] for j in jobs] == [third, second, first]
    dead = jobs[1]
    assert (dead["kind"], dead["state"], dead["attempts"], dead["last_error"]) == (
        "sms_send",
        "dead",
        8,
        "Twilio 500 20500: try later",
    )
    assert dead["key"] == f"sms:{dead['payload']['message_id']}"
    assert (jobs[0]["state"], jobs[0]["attempts"], jobs[0]["last_error"]) == ("pending", 0, None)


def test_the_outbox_is_filtered_by_state_and_kind(firm: Firm, jane: int) -> None:
    first, second = queue_texts(firm, jane, 2)
    firm.staff.post(f"/api/threads/{jane}/file", {})
    writes = listed(firm, "?kind=cms_write")
    assert len(writes) == 2  # the transcript and the summary
    assert listed(firm, "?kind=sms_send") == [second, first]
    kill_jobs(firm.store, outbox.c.id.in_([first, writes[0]]))
    assert listed(firm, "?state=dead") == [writes[0], first]
    assert listed(firm, "?state=dead&kind=sms_send") == [first]
    assert listed(firm, "?state=pending") == [writes[1], second]
    assert listed(firm, "?state=done") == []


def test_the_outbox_pages_by_before_and_limit(firm: Firm, jane: int) -> None:
    ids = queue_texts(firm, jane, 5)
    seen: list[int] = []
    query = "limit=2"
    while True:
        page = listed(firm, f"?{query}")
        seen.extend(page)
        if len(page) < 2:
            break
        query = f"limit=2&before={page[-1]}"
    assert seen == sorted(ids, reverse=True)
    assert listed(firm, f"?before={ids[0]}") == []
    assert listed(firm, f"?before={ids[2]}&limit=1") == [ids[1]]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("state=failed", "state"),
        ("kind=email", "kind"),
        ("before=0", "before"),
        ("before=last", "before"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
    ],
)
def test_list_outbox_refuses_bad_parameters_by_name(firm: Firm, query: str, parameter: str) -> None:
    response = firm.admin.get(f"/api/outbox?{query}")
    assert response.status_code == 400
    assert error(response)["code"] == "invalid_parameter"
    assert error(response)["details"]["parameter"] == parameter


# -- replay ----------------------------------------------------------------------------------------------------


def test_a_dead_letter_goes_back_to_pending_with_no_attempts_and_the_replay_is_audited(firm: Firm, jane: int) -> None:
    [job_id] = queue_texts(firm, jane, 1)
    kill_jobs(firm.store, outbox.c.id == job_id, attempts=8)
    response = firm.admin.post("/api/outbox/replay", {"job_ids": [job_id]}, headers={"X-Request-Id": "replay-1"})
    assert response.status_code == 200
    assert response.get_json() == {"replayed": [job_id]}
    again = job(firm, job_id)
    assert (again["state"], again["attempts"]) == ("pending", 0)
    [entry] = audit_rows(firm.store, "replay")
    assert (entry.actor, entry.request_id, entry.subject_type, entry.subject_id) == (
        f"user:{firm.ids['admin']}:admin@firm.example",
        "replay-1",
        "outbox",
        str(job_id),
    )


def test_a_replay_naming_a_job_that_is_not_dead_replays_none(firm: Firm, jane: int) -> None:
    dead, pending = queue_texts(firm, jane, 2)
    kill_jobs(firm.store, outbox.c.id == dead, attempts=8)
    refused = firm.admin.post("/api/outbox/replay", {"job_ids": [dead, pending]})
    assert (refused.status_code, error(refused)["code"]) == (409, "not_dead")
    assert error(refused)["details"] == {"jobs": [pending]}
    assert (job(firm, dead)["state"], job(firm, dead)["attempts"]) == ("dead", 8)
    unknown = firm.admin.post("/api/outbox/replay", {"job_ids": [999999]})
    assert (unknown.status_code, error(unknown)["details"]) == (409, {"jobs": [999999]})
    assert audit_rows(firm.store, "replay") == []


def test_replaying_with_no_job_ids_replays_every_dead_letter(firm: Firm, jane: int) -> None:
    first, second, third = queue_texts(firm, jane, 3)
    kill_jobs(firm.store, outbox.c.id.in_([first, third]))
    response = firm.admin.post("/api/outbox/replay", {"job_ids": None})
    assert response.status_code == 200
    assert sorted(response.get_json()["replayed"]) == [first, third]
    assert listed(firm, "?state=dead") == []
    assert {job(firm, i)["attempts"] for i in (first, second, third)} == {0}
    assert sorted(int(e.subject_id) for e in audit_rows(firm.store, "replay")) == [first, third]
    kill_jobs(firm.store, outbox.c.id == second)
    assert firm.admin.post("/api/outbox/replay", {}).get_json() == {"replayed": [second]}  # null is the default
    assert firm.admin.post("/api/outbox/replay", {"job_ids": None}).get_json() == {"replayed": []}
    assert len(audit_rows(firm.store, "replay")) == 3


@pytest.mark.parametrize("job_ids", [[], ["1"], [0], [True], "all", list(range(1, 502))])
def test_a_replay_refuses_a_malformed_list_of_jobs(firm: Firm, jane: int, job_ids: Any) -> None:
    queue_texts(firm, jane, 1)
    kill_jobs(firm.store)
    response = firm.admin.post("/api/outbox/replay", {"job_ids": job_ids})
    assert (response.status_code, error(response)["code"]) == (400, "invalid_body")
    assert "job_ids" in error(response)["details"]
    assert listed(firm, "?state=dead") != []


# -- discard ---------------------------------------------------------------------------------------------------


def test_an_admin_discards_a_job_saying_why_and_it_is_audited(firm: Firm, jane: int) -> None:
    pending, dead = queue_texts(firm, jane, 2)
    kill_jobs(firm.store, outbox.c.id == dead)
    response = firm.admin.post(
        f"/api/outbox/{pending}/discard", {"reason": "client called instead"}, headers={"X-Request-Id": "d-1"}
    )
    assert response.status_code == 200
    assert response.get_json() == {"discarded": pending}
    gone = job(firm, pending)
    assert (gone["state"], gone["last_error"]) == ("discarded", "discarded: client called instead")
    assert firm.admin.post(f"/api/outbox/{dead}/discard", {"reason": "number is wrong"}).status_code == 200
    assert job(firm, dead)["state"] == "discarded"
    assert listed(firm, "?state=discarded") == [dead, pending]
    entries = audit_rows(firm.store, "discard")
    assert [(e.subject_type, e.subject_id, e.details["reason"]) for e in entries] == [
        ("outbox", str(pending), "client called instead"),
        ("outbox", str(dead), "number is wrong"),
    ]
    assert (entries[0].actor, entries[0].request_id) == (f"user:{firm.ids['admin']}:admin@firm.example", "d-1")
    refused = firm.admin.post("/api/outbox/replay", {"job_ids": [dead]})
    assert (refused.status_code, error(refused)["code"]) == (409, "not_dead")  # a discarded job stays given up


def test_a_discard_needs_a_reason(firm: Firm, jane: int) -> None:
    [job_id] = queue_texts(firm, jane, 1)
    missing = firm.admin.post(f"/api/outbox/{job_id}/discard", {})
    assert (missing.status_code, error(missing)["code"]) == (400, "invalid_body")
    assert "reason" in error(missing)["details"]
    blank = firm.admin.post(f"/api/outbox/{job_id}/discard", {"reason": " \t "})
    assert (blank.status_code, error(blank)["code"]) == (422, "empty_reason")
    assert job(firm, job_id)["state"] == "pending"
    assert audit_rows(firm.store, "discard") == []


def test_a_done_or_unknown_job_is_not_discardable(firm: Firm, jane: int) -> None:
    [job_id] = queue_texts(firm, jane, 1)
    with firm.store.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.id == job_id).values(state="done"))
    done = firm.admin.post(f"/api/outbox/{job_id}/discard", {"reason": "too late"})
    assert (done.status_code, error(done)["code"]) == (409, "not_discardable")
    assert error(done)["details"] == {"job": job_id}
    assert job(firm, job_id)["state"] == "done"
    unknown = firm.admin.post("/api/outbox/999999/discard", {"reason": "no such job"})
    assert (unknown.status_code, error(unknown)["code"]) == (409, "not_discardable")
    assert firm.admin.post("/api/outbox/not-a-job/discard", {"reason": "x"}).status_code == 404
    assert audit_rows(firm.store, "discard") == []


# -- a replay does the work again ---------------------------------------------------------------------------
#
# A dead letter's text is `failed` and its write-back `dead`: a replay must make them live again, or the
# worker would see nothing waiting and complete the replayed job without sending or writing anything.


@pytest.fixture
def twilio() -> Iterator[TwilioServer]:
    state = TwilioState(
        incoming_numbers=(FIRM_NUMBER,),
        messaging_service_sid=SANDBOX_MESSAGING_SERVICE_SID,
        messaging_service_numbers=SANDBOX_POOL_NUMBERS,
    )
    with TwilioServer(state) as server:
        yield server


def test_a_replayed_dead_text_is_sent(engine: Engine, twilio: TwilioServer) -> None:
    seed(engine)
    app_settings = settings(
        TWILIO_ACCOUNT_SID=SANDBOX_ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=SANDBOX_AUTH_TOKEN,
        MATTERLINE_TWILIO_API_URL=twilio.origin,
        MATTERLINE_PUBLIC_URL="",
        MATTERLINE_OUTBOX_MAX_ATTEMPTS="1",
    )
    app = create_app(app_settings, engine)
    _, token = add_user(engine, name="Avery Admin", email="avery@firm.example", role="admin")
    admin = Api(app.test_client(), app, token)
    sent = admin.post("/api/matters/101/messages", {"body": "Your hearing moved to Friday."}).get_json()["message"]
    twilio.state.faults.add(twilio_fault("status", status=500))  # Twilio is down for the one attempt allowed
    assert send_due(engine, app_settings).dead == 1
    [dead] = admin.get("/api/outbox?state=dead").get_json()["jobs"]

    assert admin.post("/api/outbox/replay", {"job_ids": [dead["id"]]}).get_json() == {"replayed": [dead["id"]]}
    make_due(engine)  # later: the 5xx may have created the text, so it is looked up once the call has settled
    send_due(engine, app_settings)
    assert [m["body"] for m in twilio.state.messages(to=JANE)] == ["Your hearing moved to Friday."]
    [listed] = admin.get(f"/api/threads/{sent['thread_id']}/messages").get_json()["messages"]
    assert listed["status"] != "failed"


CLIO = load_mapping("clio")


@pytest.fixture
def clio() -> Iterator[SandboxServer]:
    with SandboxServer(ClioState(generate_firm(30, 20, seed=4))) as server:
        yield server


def test_a_replayed_dead_write_back_is_written(engine: Engine, clio: SandboxServer) -> None:
    app_settings = settings(
        MATTERLINE_CMS_BASE_URL=clio.base_url,
        MATTERLINE_CMS_ACCESS_TOKEN=DEFAULT_TOKEN,
        MATTERLINE_OUTBOX_MAX_ATTEMPTS="1",
    )

    def cms() -> Any:
        return build_client(app_settings, CLIO, engine, policy=RetryPolicy(max_attempts=1))

    Syncer(engine, cms(), CLIO, progress=False).run(full=True)
    matter = str(sorted(m["id"] for m in clio.state.find("matters", lambda m: m["status"] == "Open"))[0])
    now = utcnow()
    with engine.begin() as conn:  # a summary on its way to the matter, as closing a window leaves it
        writeback_id = int(
            conn.execute(
                insert(writebacks)
                .values(
                    kind="summary",
                    thread_id=thread_for(conn, FIRM_NUMBER, JANE, now).id,
                    matter_cms_id=matter,
                    part=1,
                    marker="ml-replayed",
                    subject="SMS summary — Jane Doe [ml-replayed]",
                    body="Jane asked whether the hearing is on.",
                    state="pending",
                    ambiguous=False,
                    created_at=now,
                )
                .returning(writebacks.c.id)
            ).scalar_one()
        )
        enqueue(conn, writeback_id, now)
    app = create_app(app_settings, engine)
    _, token = add_user(engine, name="Avery Admin", email="avery@firm.example", role="admin")
    admin = Api(app.test_client(), app, token)
    clio.state.faults.add(Fault("status", method="*", path="/notes.json", status=500))  # down for the one attempt
    assert run_due(engine, app_settings, CLIO, cms()).dead == 1
    assert admin.get(f"/api/writebacks/{writeback_id}").get_json()["writeback"]["state"] == "dead"
    [dead] = admin.get("/api/outbox?state=dead").get_json()["jobs"]

    assert admin.post("/api/outbox/replay", {"job_ids": [dead["id"]]}).get_json() == {"replayed": [dead["id"]]}
    run_due(engine, app_settings, CLIO, cms())
    assert clio.state.find("notes", lambda r: "ml-replayed" in str(r.get("subject", "")))
    assert admin.get(f"/api/writebacks/{writeback_id}").get_json()["writeback"]["state"] == "written"
    with engine.connect() as conn:
        assert conn.execute(select(outbox.c.state).where(outbox.c.id == dead["id"])).scalar_one() == "done"


def test_an_admin_lists_set_aside_texts_and_puts_them_back(firm: Firm) -> None:
    from tests.support.inbox import set_aside

    held = set_aside(firm.store)
    assert firm.staff.get("/api/intake/set-aside").status_code == 403
    listed = firm.admin.get("/api/intake/set-aside")
    assert [(s["id"], s["reason"]) for s in listed.get_json()["set_aside"]] == [(held, "ValueError: boom")]
    assert error(firm.admin.post("/api/intake/retry", {"message_ids": [held + 1000]}))["code"] == "not_set_aside"
    answer = firm.admin.post("/api/intake/retry", {"message_ids": None}, headers={"X-Request-Id": "req-api"})
    assert answer.get_json() == {"retried": [held]}
    assert [e.request_id for e in audit_rows(firm.store, "intake_retry")] == ["req-api"]


def test_a_job_id_that_names_nothing_is_a_404_the_document_lists(firm: Firm) -> None:
    from tests.webhooks.api.harness import DOC

    assert "404" in DOC["paths"]["/api/outbox/{job_id}/discard"]["post"]["responses"]
    for job_id in ("null,null", str(2**31), str(2**63)):
        response = firm.admin.post(f"/api/outbox/{job_id}/discard", {"reason": "no such job"})
        assert (response.status_code, error(response)["code"]) == (404, "not_found")
    assert audit_rows(firm.store, "discard") == []
