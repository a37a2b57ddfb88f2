"""Every request Matterline sends to Clio is one the real Clio v4 API accepts, per Clio's OpenAPI spec.

The sandbox is our own reading of Clio, so passing against it proves only that the code and the
sandbox agree. Here the real code (sync, refresh by id, the connection check, webhook subscription
and renewal, every write the Clio mapping defines, OAuth refresh) runs against the sandbox over HTTP
with request recording on, and each recorded API request is checked against the published spec
(vendored as ``tests/specs/clio-openapi.json.gz``) by :mod:`tests.support.clio_spec`. Negative cases prove
the checker fails.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from connector.cms.client import CmsClient
from connector.cms.connect import build_client, check_connection
from connector.retry import RetryPolicy
from connector.sandbox import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    DEFAULT_TOKEN,
    ClioState,
    RecordedRequest,
    SandboxServer,
    generate_firm,
)
from connector.sandbox.clio import OAUTH_PATH
from connector.settings import load_settings
from connector.store import make_engine, upgrade
from connector.store.engine import utcnow
from connector.store.tables import pending_refresh
from connector.sync.subscriptions import RenewalAction, renew
from connector.sync.syncer import Syncer
from mappings import load_mapping
from mappings.model import Mapping
from mappings.templates import render_request
from tests.support import specs
from tests.support.clio_spec import SPEC_PATH, ClioSpec

CLIO: Mapping = load_mapping("clio")
CONTACTS, MATTERS = 250, 150
FAST = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_max=0.02)
PUBLIC_URL = "https://texts.firm.example"
SECRET_KEY = "x" * 32
# Far enough ahead that each 31-day subscription is inside its 7-day renewal window.
RENEWAL_SHIFT = timedelta(days=25)

#: The operations the scenario must reach, or the conformance check would pass by checking nothing.
EXPECTED_OPERATIONS = {
    "Contact#index",
    "Matter#index",
    "Relationship#index",
    "CalendarEntry#index",
    "User#who_am_i",
    "Webhook#create",
    "Webhook#update",
    "Note#create",
    "Note#index",
    "Communication#create",
    "Communication#index",
    "Task#create",
    "Task#index",
}


# -- the scenario ------------------------------------------------------------------------------


class ShiftedClock:
    """The sandbox's clock: real time plus a shift, so renewal can be run "25 days later"."""

    def __init__(self) -> None:
        self.shift = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift


@dataclass
class Scenario:
    """What the real code sent, and what came back, in one run of everything that talks to Clio."""

    state: ClioState
    requests: list[RecordedRequest]
    refresh_forms: list[dict[str, str]]
    first_renewal: list[RenewalAction]
    second_renewal: list[RenewalAction]
    write_statuses: dict[str, int] = field(default_factory=dict)
    found_created: dict[str, bool] = field(default_factory=dict)
    refresh_answered: bool = False

    @property
    def api_requests(self) -> list[RecordedRequest]:
        """Requests under /api/v4 (the token endpoint is not part of the API spec)."""
        return [r for r in self.requests if r.path != OAUTH_PATH]


@pytest.fixture(scope="session")
def clio_spec() -> ClioSpec:
    """The spec, read and patched once per session (it is ~3 MB)."""
    return ClioSpec.load(SPEC_PATH)


def _client(server: SandboxServer, engine: Engine) -> CmsClient:
    settings = load_settings(
        {
            "MATTERLINE_CMS_BASE_URL": server.base_url,
            "MATTERLINE_CMS_ACCESS_TOKEN": DEFAULT_TOKEN,
            "MATTERLINE_CMS_CLIENT_ID": DEFAULT_CLIENT_ID,
            "MATTERLINE_CMS_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
            "MATTERLINE_CMS_REFRESH_TOKEN": DEFAULT_REFRESH_TOKEN,
        },
        env_file=None,
    )
    return build_client(settings, CLIO, engine, policy=FAST)


def _queue_refresh(engine: Engine, state: ClioState) -> None:
    """Rows a webhook would leave behind, so `refresh_pending` sends its `ids[]` requests."""
    rows = [{"resource": "clients", "cms_id": str(cid)} for cid in state.ids("contacts")[3:5]]
    rows += [{"resource": "matters", "cms_id": str(mid)} for mid in state.ids("matters")[7:9]]
    rows += [{"resource": "calendar_entries", "cms_id": str(eid)} for eid in state.ids("calendar_entries")[:2]]
    with engine.begin() as conn:
        conn.execute(insert(pending_refresh), [{**row, "event": "updated", "received_at": utcnow()} for row in rows])


def _write_values(state: ClioState) -> dict[str, Any]:
    """Realistic values for the write templates: a real open matter, a real user, a fresh marker."""
    matter = state.find("matters", lambda m: m["status"] == "Open")[0]
    marker = f"ml-{secrets.token_hex(8)}"
    today = state.now().date()
    return {
        "matter_id": matter["id"],
        "assignee_id": state.ids("users")[1],
        "marker": marker,
        "subject": f"SMS conversation with the client — {today.isoformat()} [{marker}]",
        "body": f"09:14 Client: Can we move the hearing?\n09:15 Firm: We will ask the court today.\n{marker}",
        "date": today.isoformat(),
        "received_at": (state.now() - timedelta(hours=1)).isoformat(timespec="seconds"),
        "due_at": (state.now() + timedelta(days=2)).replace(microsecond=0).isoformat(),
    }


def _run_writes(client: CmsClient, state: ClioState, scenario: Scenario) -> None:
    """Each write of the mapping: create, then the find that must see it (its idempotency check)."""
    for name, write in CLIO.writes.items():
        values = _write_values(state)
        created = render_request(write.create, values)
        answer = client.request(created.method, created.path, params=created.params or None, json=created.body)
        scenario.write_statuses[f"{name} create"] = answer.status
        new_id = write.create.id_path.get(answer.body) if write.create.id_path is not None else None
        if write.find is None:
            continue
        find = render_request(write.find, values)
        found = client.request(find.method, find.path, params=find.params or None, json=find.body)
        scenario.write_statuses[f"{name} find"] = found.status
        ids = {record.get("id") for record in (found.body or {}).get("data", [])}
        scenario.found_created[name] = new_id is not None and new_id in ids


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """Run everything that talks to Clio once, against a small sandbox firm, recording each request."""
    engine = make_engine(f"sqlite:///{Path(tmp_path_factory.mktemp('clio-spec')) / 'matterline.db'}")
    upgrade(engine)
    clock = ShiftedClock()
    state = ClioState(generate_firm(CONTACTS, MATTERS, seed=23), clock=clock)
    state.record_requests = True
    forms: list[dict[str, str]] = []
    refresh = state.refresh

    def spy(form: Any) -> dict[str, Any]:
        # RecordedRequest keeps JSON bodies only; the token request is a form, so read it here.
        forms.append(dict(form))
        return refresh(form)

    with SandboxServer(state) as server, pytest.MonkeyPatch.context() as patch:
        patch.setattr(state, "refresh", spy)
        client = _client(server, engine)
        syncer = Syncer(engine, client, CLIO, progress=False)
        syncer.run(full=True)
        syncer.run()
        _queue_refresh(engine, state)
        syncer.refresh_pending()
        assert check_connection(client, CLIO).status == "ok"
        first = renew(engine, client, CLIO, public_url=PUBLIC_URL, secret_key=SECRET_KEY)
        for action in first:  # the receiver answered the handshakes; otherwise they would be replaced
            state.confirm_handshake(int(action.cms_id))
        clock.shift = RENEWAL_SHIFT
        second = renew(engine, client, CLIO, public_url=PUBLIC_URL, secret_key=SECRET_KEY, now=utcnow() + RENEWAL_SHIFT)
        result = Scenario(state, state.requests, forms, first, second)
        _run_writes(client, state, result)
        state.expire_all_tokens()
        result.refresh_answered = check_connection(client, CLIO).status == "ok"
    engine.dispose()
    return result


# -- conformance ---------------------------------------------------------------------------------


def test_every_api_request_matterline_sends_is_one_the_clio_spec_accepts(
    clio_spec: ClioSpec, scenario: Scenario
) -> None:
    """Operation, query names and values, required params, fields=, limit, order, body, X-API-VERSION."""
    problems = Counter(line for request in scenario.api_requests for line in clio_spec.problems(request))
    assert scenario.api_requests, "nothing was recorded"
    if problems:
        report = "\n".join(f"  {line}" + (f"  (x{n})" if n > 1 else "") for line, n in sorted(problems.items()))
        pytest.fail(f"{sum(problems.values())} spec violation(s) in Matterline's requests to Clio:\n{report}", False)


def test_the_scenario_reaches_every_operation_matterline_uses(clio_spec: ClioSpec, scenario: Scenario) -> None:
    """Guards the conformance test: a scenario that silently sent nothing would check nothing."""
    reached: Counter[str] = Counter()
    for request in scenario.api_requests:
        matched = clio_spec.match(request.method, request.path)
        reached[matched[0].label if matched else f"{request.method} {request.path}"] += 1
    assert set(reached) >= EXPECTED_OPERATIONS, f"not reached: {sorted(EXPECTED_OPERATIONS - set(reached))}"
    by_ids = {r.path for r in scenario.api_requests if any(name == "ids[]" for name, _ in r.query)}
    assert {"/contacts.json", "/matters.json", "/calendar_entries.json"} <= by_ids, f"ids[] only for {sorted(by_ids)}"
    assert CLIO.webhooks is not None
    models = sorted(CLIO.webhooks.models)
    assert sorted((a.model, a.action) for a in scenario.first_renewal) == [(m, "created") for m in models]
    assert sorted((a.model, a.action) for a in scenario.second_renewal) == [(m, "renewed") for m in models]
    assert reached["Webhook#create"] == reached["Webhook#update"] == len(models)


def test_the_sandbox_accepts_every_write_and_each_find_sees_its_create(scenario: Scenario) -> None:
    """The writes must work end to end too: created (201) and found again by their marker (200)."""
    expected = {
        f"{name} {step}"
        for name, write in CLIO.writes.items()
        for step in ("create", "find")
        if step == "create" or write.find
    }
    assert set(scenario.write_statuses) == expected
    bad = {step: status for step, status in scenario.write_statuses.items() if not 200 <= status < 300}
    assert not bad, f"the sandbox refused: {bad}"
    assert all(scenario.found_created.values()), f"find did not return the created record: {scenario.found_created}"


def test_an_expired_token_is_refreshed_with_the_form_clio_expects(scenario: Scenario) -> None:
    """/oauth/token is outside the API spec; Clio's refresh grant is these four form fields, no more."""
    posts = [r for r in scenario.requests if r.path == OAUTH_PATH]
    assert posts, "the client never called /oauth/token after the tokens expired"
    assert all(r.method == "POST" for r in posts), [r.method for r in posts]
    content_types = {
        v.split(";")[0].strip() for r in posts for k, v in r.headers.items() if k.lower() == "content-type"
    }
    assert content_types == {"application/x-www-form-urlencoded"}
    assert scenario.refresh_forms, "the token endpoint saw no form"
    for form in scenario.refresh_forms:
        assert form == {
            "grant_type": "refresh_token",
            "refresh_token": DEFAULT_REFRESH_TOKEN,
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
        }
    assert scenario.refresh_answered, "the call after the refresh did not succeed"


# -- the checker itself ----------------------------------------------------------------------------

VERSION = {"X-API-VERSION": "4.0.9"}
CONTACT_FIELDS = "id,etag,name,primary_phone_number,phone_numbers{id,number,name,primary},updated_at"


def req(
    method: str,
    path: str,
    query: list[tuple[str, str]] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> RecordedRequest:
    """A request as the sandbox would have recorded it."""
    return RecordedRequest(method, path, query or [], VERSION if headers is None else headers, body)


def note(**data: Any) -> dict[str, Any]:
    """A Note#create body (the brief's example), with `data` keys replaced or, when None, removed."""
    base: dict[str, Any] = {
        "type": "Matter",
        "matter": {"id": 123456},
        "subject": "SMS transcript — Jane Doe — 2026-01-02",
        "detail": "2026-01-02 09:14 Jane: ...",
        "detail_text_type": "plain_text",
        "date": "2026-01-02",
    }
    base.update(data)
    return {"data": {key: value for key, value in base.items() if value is not None}}


def communication(**data: Any) -> dict[str, Any]:
    """A Communication#create body (the brief's example, section 1.7), keys replaced or removed."""
    base: dict[str, Any] = {
        "type": "PhoneCommunication",
        "subject": "SMS conversation with Jane Doe",
        "body": "…transcript…",
        "date": "2026-01-02",
        "received_at": "2026-01-02T09:14:00Z",
        "matter": {"id": 123456},
        "senders": [{"id": 101, "type": "Contact"}],
        "receivers": [{"id": 7, "type": "User"}],
        "external_properties": [{"name": "sms_thread_id", "value": "thr_abc123"}],
    }
    base.update(data)
    return {"data": {key: value for key, value in base.items() if value is not None}}


WEBHOOK = {
    "url": "https://connector.example.com/clio/webhooks",
    "model": "contact",
    "events": ["created", "updated", "deleted"],
    "fields": "id,etag,updated_at",
    "expires_at": "2026-02-01T00:00:00Z",
}

GOOD = [
    pytest.param(
        req(
            "GET",
            "/contacts.json",
            [
                ("fields", CONTACT_FIELDS),
                ("updated_since", "2026-01-01T00:00:00Z"),
                ("order", "id(asc)"),
                ("limit", "200"),
            ],
        ),
        id="contacts-read",
    ),
    pytest.param(
        req(
            "GET",
            "/matters.json",
            [
                ("fields", "id,etag,display_number,description,status,client{id,name},practice_area{name},updated_at"),
                ("status", "open,pending"),
                ("order", "id(asc)"),
                ("ids[]", "5"),
                ("ids[]", "6"),
            ],
        ),
        id="matters-read",
    ),
    pytest.param(
        req("GET", "/notes.json", [("type", "Matter"), ("matter_id", "9"), ("query", "ml-1")]), id="notes-find"
    ),
    pytest.param(req("POST", "/notes.json", [("fields", "id,subject,date")], note()), id="matter-note-without-contact"),
    pytest.param(req("POST", "/communications.json", [], communication()), id="communication-create"),
    pytest.param(req("POST", "/webhooks.json", [("fields", "id,shared_secret")], {"data": WEBHOOK}), id="webhook"),
    pytest.param(
        req("PATCH", "/webhooks/77.json", [], {"data": {"expires_at": "2026-03-01T00:00:00+00:00"}}), id="webhook-renew"
    ),
    pytest.param(req("GET", "/users/who_am_i.json", [("fields", "id,name")]), id="who-am-i-not-users-id"),
    pytest.param(req("GET", "/custom_actions.json", [("fields", "id,label,target_url,ui_reference")]), id="actions"),
    pytest.param(
        req(
            "POST",
            "/custom_actions.json",
            [("fields", "id")],
            {
                "data": {
                    "label": "Text with Matterline",
                    "target_url": "https://t.example/a",
                    "ui_reference": "matters/show",
                }
            },
        ),
        id="custom-action-create",
    ),
    pytest.param(
        req("PATCH", "/custom_actions/5.json", [("fields", "id")], {"data": {"target_url": "https://t.example/b"}}),
        id="custom-action-repoint",
    ),
    pytest.param(req("GET", "/matters/9.json", [("fields", "id"), ("custom_action_nonce", "n0nce")]), id="nonce-check"),
]


@pytest.mark.parametrize("request_", GOOD)
def test_the_checker_accepts_requests_the_spec_allows(clio_spec: ClioSpec, request_: RecordedRequest) -> None:
    """Without this, a checker that rejects everything would make the negative cases meaningless."""
    assert clio_spec.problems(request_) == []


BAD = [
    pytest.param(
        req("GET", "/contacts.json", [("fields", "id,name"), ("phone", "+16175550100")]),
        "GET /contacts.json (Contact#index): query parameter 'phone' is not declared",
        id="unknown-query-param",
    ),
    pytest.param(
        req("GET", "/notes.json", [("matter_id", "9")]),
        "GET /notes.json (Note#index): required query parameter 'type' is missing",
        id="missing-required-query-param",
    ),
    pytest.param(
        req("POST", "/communications.json", [], communication(subject=None)),
        "POST /communications.json (Communication#create): body $.data: 'subject' is a required property",
        id="body-missing-required-field",
    ),
    pytest.param(
        req("GET", "/contacts.json", [("fields", "id,name,phone")]),
        "GET /contacts.json (Contact#index): fields= names 'phone', which is not a field",
        id="unknown-field",
    ),
    pytest.param(
        req("GET", "/matters.json", [("fields", "id,client{id,phone}")]),
        "fields= names client{phone}: 'phone' is not a field of 'client'",
        id="unknown-nested-field",
    ),
    pytest.param(
        req("GET", "/relationships.json", [("fields", "id,matter{client{id}}")]),
        "nests deeper than one level",
        id="fields-nested-two-levels",
    ),
    pytest.param(
        req("GET", "/contacts.json", [("fields", "id,name{first}")]),
        "nests into 'name', which has no fields of its own",
        id="fields-nest-into-scalar",
    ),
    pytest.param(
        req("GET", "/contacts.json", [("limit", "500")]),
        "GET /contacts.json (Contact#index): limit=500 is outside 1..200",
        id="limit-above-200",
    ),
    pytest.param(
        req("GET", "/contacts.json", [("order", "updated_at(asc)")]),
        "query parameter order='updated_at(asc)': 'updated_at(asc)' is not one of",
        id="order-not-in-enum",
    ),
    pytest.param(
        req("GET", "/relationships.json", [("order", "id(asc)")]),
        "query parameter 'order' is not declared",
        id="order-where-none-is-allowed",
    ),
    pytest.param(
        req("GET", "/contacts.json", [("updated_since", "2026-01-01 00:00")]),
        "query parameter updated_since='2026-01-01 00:00': '2026-01-01 00:00' is not a 'date-time'",
        id="timestamp-without-offset",
    ),
    pytest.param(
        req("GET", "/contacts.json", [("ids[]", "abc")]),
        "query parameter ids[]='abc': 'abc' is not an integer",
        id="id-not-an-integer",
    ),
    pytest.param(
        req("POST", "/notes.json", [], note(matter={"id": "123456"})),
        "body $.data.matter.id: '123456' is not of type 'integer'",
        id="id-as-string-in-body",
    ),
    pytest.param(
        req("POST", "/notes.json", [], note(detail_txt="misspelt")),
        "body $.data: Additional properties are not allowed ('detail_txt' was unexpected)",
        id="unknown-body-key",
    ),
    pytest.param(
        req("POST", "/notes.json", [], note(matter=None)),
        "body $.data: {'type': 'Matter', 'subject'",
        id="matter-note-without-matter",
    ),
    pytest.param(
        req("POST", "/notes.json", [], note(type="Contact")),
        "is not valid under any of the given schemas ('Contact' is not one of ['Matter']; or 'contact' is a required",
        id="contact-note-without-contact",
    ),
    pytest.param(
        req("POST", "/webhooks.json", [], {"data": {**WEBHOOK, "model": "note"}}),
        "body $.data.model: 'note' is not one of",
        id="webhook-model-note",
    ),
    pytest.param(
        req("POST", "/webhooks.json", [], {"data": {**WEBHOOK, "fields": "id,phone"}}),
        "body $.data.fields (contact) names 'phone', which is not a field",
        id="webhook-unknown-field",
    ),
    pytest.param(
        req("GET", "/contacts.json", [("fields", "id")], headers={}),
        "header X-API-VERSION is not sent",
        id="no-version-header",
    ),
    pytest.param(
        req("GET", "/contacts.json", [("fields", "id")], headers={"X-API-VERSION": "4.13"}),
        "header X-API-VERSION='4.13' does not match",
        id="malformed-version-header",
    ),
    pytest.param(
        req("GET", "/webhooks/abc.json"),
        "path parameter {id}='abc': 'abc' is not an integer",
        id="path-param-not-an-integer",
    ),
    pytest.param(req("GET", "/text_messages.json"), "GET /text_messages.json: no operation", id="no-such-operation"),
    pytest.param(req("DELETE", "/notes.json"), "DELETE /notes.json: no operation", id="no-such-method"),
]


@pytest.mark.parametrize(("request_", "expected"), BAD)
def test_the_checker_reports_what_clio_would_refuse(
    clio_spec: ClioSpec, request_: RecordedRequest, expected: str
) -> None:
    """Each deliberately wrong request is reported, naming method, path and the parameter or JSON path."""
    problems = clio_spec.problems(request_)
    assert any(expected in line for line in problems), f"expected {expected!r} among {problems}"


def test_the_note_contact_defect_is_real_and_patched_in_the_loaded_copy_only(clio_spec: ClioSpec) -> None:
    """Unpatched, the spec refuses a correct Matter note (no `contact`); the file itself stays untouched."""
    on_disk = ClioSpec(specs.read(SPEC_PATH))
    body = note()
    assert clio_spec.problems(req("POST", "/notes.json", [], body)) == []
    assert any("'contact' is a required property" in p for p in on_disk.problems(req("POST", "/notes.json", [], body)))
