"""The sandbox Twilio, exercised over real HTTP with the real `twilio` library, and checked against the spec."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest
import requests
from jsonschema import Draft4Validator
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from werkzeug.datastructures import MultiDict
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from connector.sandbox import (
    CREATE_PARAMS,
    SANDBOX_ACCOUNT_SID,
    SANDBOX_AUTH_TOKEN,
    SANDBOX_FIRM_NUMBER,
    SANDBOX_MESSAGING_SERVICE_SID,
    SANDBOX_POOL_NUMBERS,
    Fault,
    TwilioServer,
    TwilioState,
    build_inbound,
    count_segments,
    twilio_fault,
    twilio_signature,
)
from tests.support import specs

MESSAGES = "/2010-04-01/Accounts/{AccountSid}/Messages.json"
FIRM = SANDBOX_FIRM_NUMBER
ALICE = "+12025550123"
BOB = "+12025550124"
CAROL = "+12025550125"
AUTH = (SANDBOX_ACCOUNT_SID, SANDBOX_AUTH_TOKEN)
START = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


class Clock:
    """A settable clock for the state."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 1) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass(frozen=True)
class Hit:
    """One webhook as the receiver saw it."""

    path: str
    form: MultiDict[str, str]
    headers: dict[str, str]


class Receiver:
    """A tiny local webhook receiver: records every POST, answers 204 (or `status`)."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.status = 204
        self._lock = threading.Lock()
        self._server: BaseWSGIServer = make_server("127.0.0.1", 0, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def _app(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            self.hits.append(Hit(request.path, MultiDict(request.form.items(multi=True)), dict(request.headers)))
        return Response("", status=self.status)(environ, start_response)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_port}{path}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> TwilioState:
    return TwilioState(
        clock=clock,
        messaging_service_sid=SANDBOX_MESSAGING_SERVICE_SID,
        messaging_service_numbers=SANDBOX_POOL_NUMBERS,
    )


@pytest.fixture
def server(state: TwilioState) -> Iterator[TwilioServer]:
    with TwilioServer(state) as running:
        yield running


@pytest.fixture
def client(server: TwilioServer) -> Client:
    return server.client()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.stop()


def post(server: TwilioServer, data: Any, auth: tuple[str, str] | None = AUTH) -> requests.Response:
    return requests.post(server.url("/Messages.json"), data=data, auth=auth, timeout=10)


def send(client: Client, to: str = ALICE, body: str = "Hello from the firm", **kwargs: Any) -> Any:
    return client.messages.create(to=to, from_=kwargs.pop("from_", FIRM), body=body, **kwargs)


# -- the spec --------------------------------------------------------------------------------------


@cache
def spec() -> dict[str, Any]:
    return specs.read(specs.TWILIO)


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema to JSON Schema: inline `$ref`s, turn `nullable` into a `null` type."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        return _json_schema(spec()["components"]["schemas"][name])
    schema = {key: _json_schema(value) for key, value in node.items() if key not in {"nullable", "x-twilio"}}
    if node.get("nullable") and "type" in schema:
        schema["type"] = [schema["type"], "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    return schema


def schema_of(name: str) -> dict[str, Any]:
    result: dict[str, Any] = _json_schema(spec()["components"]["schemas"][name])
    return result


def create_request_schema() -> dict[str, Any]:
    post_op = spec()["paths"][MESSAGES]["post"]
    result: dict[str, Any] = post_op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    return result


def assert_message_shape(payload: dict[str, Any]) -> None:
    """Valid against `api.v2010.account.message`, and exactly its properties (as Twilio answers)."""
    schema = schema_of("api.v2010.account.message")
    Draft4Validator(schema).validate(payload)
    assert set(payload) == set(schema["properties"])


def test_create_params_are_the_spec_create_message_request() -> None:
    request_schema = create_request_schema()
    assert list(CREATE_PARAMS) == list(request_schema["properties"])
    assert request_schema["required"] == ["To"]
    assert spec()["paths"][MESSAGES]["post"]["x-twilio"]["conditional"] == [
        ["from", "messaging_service_sid"],
        ["body", "media_url", "content_sid"],
    ]


def test_what_the_library_sends_is_a_create_message_request(
    client: Client, server: TwilioServer, state: TwilioState
) -> None:
    state.record_requests = True
    send(client, status_callback="https://firm.example/webhooks/twilio/status")
    client.messages.create(to=BOB, messaging_service_sid=SANDBOX_MESSAGING_SERVICE_SID, body="via the service")
    client.messages.create(to=CAROL, from_=FIRM, media_url=["https://firm.example/a.png", "https://firm.example/b.pdf"])
    request_schema = create_request_schema()
    creates = [r for r in state.requests if r.method == "POST"]
    assert len(creates) == 3
    for recorded in creates:
        keys = {key for key, _ in recorded.form}
        assert keys <= set(request_schema["properties"]), keys
        assert set(request_schema["required"]) <= keys
        assert len(keys & {"From", "MessagingServiceSid"}) == 1
        assert keys & {"Body", "MediaUrl", "ContentSid"}
        assert recorded.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert [value for key, value in creates[2].form if key == "MediaUrl"] == [
        "https://firm.example/a.png",
        "https://firm.example/b.pdf",
    ]
    assert state.unknown_params_seen == []


def test_parameters_outside_the_spec_are_recorded_not_refused(server: TwilioServer, state: TwilioState) -> None:
    answer = post(server, {"To": ALICE, "From": FIRM, "Body": "hi", "Priority": "high"})
    assert answer.status_code == 201
    assert state.unknown_params_seen == ["Priority"]


def test_every_answer_validates_against_the_message_schema(
    client: Client, server: TwilioServer, state: TwilioState, receiver: Receiver
) -> None:
    state.undeliverable[BOB] = 30007
    created = [
        post(server, {"To": ALICE, "From": FIRM, "Body": "plain sms"}).json(),
        post(server, {"To": BOB, "From": FIRM, "Body": "will not arrive"}).json(),
        post(server, {"To": CAROL, "MessagingServiceSid": SANDBOX_MESSAGING_SERVICE_SID, "Body": "pool"}).json(),
        post(server, [("To", ALICE), ("From", FIRM), ("MediaUrl", "https://firm.example/x.jpg")]).json(),
    ]
    state.inbound(receiver.url("/sms"), ALICE, FIRM, "photo", media=[("image/png", b"\x89PNG")])
    for payload in created:
        assert_message_shape(payload)
    listing = requests.get(server.url("/Messages.json"), auth=AUTH, timeout=10).json()
    assert len(listing["messages"]) == 5
    Draft4Validator(
        _json_schema(spec()["paths"][MESSAGES]["get"]["responses"]["200"]["content"]["application/json"]["schema"])
    ).validate(listing)
    for payload in listing["messages"]:
        assert_message_shape(payload)
        fetched = requests.get(server.url(f"/Messages/{payload['sid']}.json"), auth=AUTH, timeout=10)
        assert fetched.json() == payload
    undelivered = next(m for m in listing["messages"] if m["to"] == BOB)
    assert (undelivered["status"], undelivered["error_code"], undelivered["error_message"]) == (
        "undelivered",
        30007,
        "Message filtered",
    )


# -- the library against the stand-in -------------------------------------------------------------


def test_the_library_creates_fetches_and_lists(client: Client, clock: Clock) -> None:
    message = send(client, body="Your hearing moved to Monday.")
    assert message.sid.startswith("SM")
    assert len(message.sid) == 34
    assert message.status == "queued"
    assert message.direction == "outbound-api"
    assert (message.to, message.from_, message.num_segments, message.num_media) == (ALICE, FIRM, "1", "0")
    assert message.date_created == START
    assert message.date_sent is None
    assert message.account_sid == SANDBOX_ACCOUNT_SID
    assert message.api_version == "2010-04-01"
    fetched = client.messages(message.sid).fetch()
    assert fetched.status == "delivered"
    assert fetched.date_sent == START
    assert fetched.price == "-0.00790"
    assert fetched.body == "Your hearing moved to Monday."
    clock.tick(60)
    send(client, to=BOB)
    listed = client.messages.list(to=ALICE, from_=FIRM, date_sent_after=START - timedelta(minutes=1))
    assert [m.sid for m in listed] == [message.sid]
    assert client.messages.list(to=ALICE, date_sent_after=START + timedelta(seconds=30)) == []


def test_lists_page_newest_first_and_stream_follows_next_page_uri(client: Client, clock: Clock) -> None:
    sids = []
    for index in range(7):
        sids.append(send(client, body=f"note {index}").sid)
        clock.tick()
    newest_first = list(reversed(sids))
    assert [m.sid for m in client.messages.list(page_size=3)] == newest_first
    assert [m.sid for m in client.messages.stream(page_size=2, limit=5)] == newest_first[:5]
    page = client.messages.page(page_size=3)
    second = page.next_page()
    assert second is not None
    send(client, body="arrives between pages")
    third = second.next_page()
    assert third is not None
    assert [m.sid for m in third] == newest_first[6:]


def test_lists_order_by_date_created_even_when_the_clock_steps_back(server: TwilioServer, clock: Clock) -> None:
    post(server, {**VALID, "Body": "first"})
    clock.tick(-60)
    post(server, {**VALID, "Body": "backdated"})
    clock.tick(120)
    post(server, {**VALID, "Body": "latest"})
    listing = requests.get(server.url("/Messages.json"), auth=AUTH, timeout=10).json()
    assert [m["body"] for m in listing["messages"]] == ["latest", "first", "backdated"]


def test_the_list_envelope_is_twilios(server: TwilioServer, clock: Clock) -> None:
    for index in range(5):
        post(server, {"To": ALICE, "From": FIRM, "Body": f"m{index}"})
        clock.tick()
    first = requests.get(server.url("/Messages.json"), params={"To": ALICE, "PageSize": 2}, auth=AUTH, timeout=10)
    body = first.json()
    assert set(body) == {
        "end",
        "first_page_uri",
        "messages",
        "next_page_uri",
        "page",
        "page_size",
        "previous_page_uri",
        "start",
        "uri",
    }
    base = f"/2010-04-01/Accounts/{SANDBOX_ACCOUNT_SID}/Messages.json?To=%2B12025550123&PageSize=2"
    assert (body["page"], body["page_size"], body["start"], body["end"]) == (0, 2, 0, 1)
    assert body["uri"] == body["first_page_uri"] == f"{base}&Page=0"
    assert body["previous_page_uri"] is None
    assert body["next_page_uri"].startswith(f"{base}&Page=1&PageToken=PA")
    second = requests.get(f"{server.origin}{body['next_page_uri']}", auth=AUTH, timeout=10).json()
    assert [m["body"] for m in second["messages"]] == ["m2", "m1"]
    assert (second["page"], second["start"], second["end"]) == (1, 2, 3)
    back = requests.get(f"{server.origin}{second['previous_page_uri']}", auth=AUTH, timeout=10).json()
    assert [m["body"] for m in back["messages"]] == ["m4", "m3"]
    last = requests.get(f"{server.origin}{second['next_page_uri']}", auth=AUTH, timeout=10).json()
    assert [m["body"] for m in last["messages"]] == ["m0"]
    assert last["next_page_uri"] is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"DateSent": "2026-11-27"}, ["late", "early"]),
        ({"DateSent": "2026-11-26"}, []),
        ({"DateSent>": "2026-11-27T10:30:00Z"}, ["late"]),
        ({"DateSent<": "2026-11-27T10:30:00Z"}, ["early"]),
        ({"DateSent>": "2026-11-27T11:00:00Z"}, ["late"]),
        ({"DateSent>": "Fri, 27 Nov 2026 10:00:00 +0000"}, ["late", "early"]),
        ({"DateSent<": "2026-11-26"}, []),
        ({"DateSent": "2026-11-27T10:00:00Z"}, ["early"]),
        ({"From": FIRM, "To": BOB}, ["late"]),
    ],
)
def test_list_filters(server: TwilioServer, clock: Clock, params: dict[str, str], expected: list[str]) -> None:
    post(server, {"To": ALICE, "From": FIRM, "Body": "early"})
    clock.tick(3600)
    post(server, {"To": BOB, "From": FIRM, "Body": "late"})
    answer = requests.get(server.url("/Messages.json"), params=params, auth=AUTH, timeout=10)
    assert [m["body"] for m in answer.json()["messages"]] == expected


def test_a_long_code_sends_one_message_a_second_and_a_queued_one_has_no_date_sent(
    server: TwilioServer, client: Client, clock: Clock
) -> None:
    """Twilio queues what a number cannot send yet: `queued`, no `date_sent`, invisible to `DateSent` filters."""
    requests.post(f"{server.origin}/_sandbox/settings", json={"send_rate": 1}, timeout=10).raise_for_status()
    first, second, third = (send(client, to=to, body=f"text {n}") for n, to in enumerate((ALICE, BOB, CAROL)))
    from_the_pool = client.messages.create(
        to=ALICE, body="via the service", messaging_service_sid=SANDBOX_MESSAGING_SERVICE_SID
    )
    sent_since = {"DateSent>": START.isoformat()}

    def shown(sid: str) -> tuple[str, datetime | None]:
        fetched = client.messages(sid).fetch()
        return fetched.status, fetched.date_sent

    assert shown(first.sid) == ("delivered", START)
    assert [shown(m.sid) for m in (second, third)] == [("queued", None), ("queued", None)]
    assert shown(from_the_pool.sid) == ("delivered", START)  # another number, its own queue
    listed = requests.get(server.url("/Messages.json"), params=sent_since, auth=AUTH, timeout=10).json()
    assert sorted(m["body"] for m in listed["messages"]) == ["text 0", "via the service"]
    assert [m.sid for m in client.messages.list(to=BOB)] == [second.sid]  # listed without a date: it is there
    clock.tick(1)
    assert shown(second.sid) == ("delivered", START + timedelta(seconds=1))
    assert shown(third.sid)[0] == "queued"
    clock.tick(1)
    assert shown(third.sid) == ("delivered", START + timedelta(seconds=2))
    assert [c.status for c in server.state.pending_callbacks() if c.sid == third.sid] == []  # no callback URL


def test_a_bad_list_filter_is_a_400(server: TwilioServer) -> None:
    answer = requests.get(server.url("/Messages.json"), params={"DateSent>": "soon"}, auth=AUTH, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["code"] == 20001


def test_a_message_can_be_deleted(client: Client) -> None:
    message = send(client)
    assert client.messages(message.sid).delete() is True
    with pytest.raises(TwilioRestException) as caught:
        client.messages(message.sid).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)


# -- auth and validation --------------------------------------------------------------------------


def test_requests_need_basic_auth_with_the_account_token(server: TwilioServer, state: TwilioState) -> None:
    expected = {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    other_account = "ACffffffffffffffffffffffffffffffff"
    for auth in (None, (SANDBOX_ACCOUNT_SID, "wrong-token"), (other_account, SANDBOX_AUTH_TOKEN)):
        answer = post(server, {"To": ALICE, "From": FIRM, "Body": "hi"}, auth=auth)
        assert answer.status_code == 401
        assert answer.json() == expected
        assert answer.headers["Content-Type"] == "application/json"
    foreign = requests.get(f"{server.origin}/2010-04-01/Accounts/{other_account}/Messages.json", auth=AUTH, timeout=10)
    assert foreign.status_code == 401
    wrong = Client(SANDBOX_ACCOUNT_SID, "not-the-token")
    wrong.api.base_url = server.origin
    with pytest.raises(TwilioRestException) as caught:
        wrong.messages.create(to=ALICE, from_=FIRM, body="hi")
    assert (caught.value.status, caught.value.code) == (401, 20003)
    assert state.messages() == []
    assert state.stats.auth_failures == 5


VALID = {"To": ALICE, "From": FIRM, "Body": "Hello"}


@pytest.mark.parametrize(
    ("form", "code", "message"),
    [
        ({"From": FIRM, "Body": "x"}, 21604, "'To' phone number is required"),
        ({"To": ALICE, "Body": "x"}, 21603, "A 'From' phone number is required"),
        ({"To": ALICE, "From": FIRM}, 21602, "Message body is required"),
        ({**VALID, "Body": "x" * 1601}, 21617, "The concatenated message body exceeds the 1600 character limit"),
        ({**VALID, "Body": "😀" * 801}, 21617, "The concatenated message body exceeds the 1600 character limit"),
        (
            {**VALID, "From": "+12025550199"},
            21606,
            "The From phone number +12025550199 is not a valid, SMS-capable "
            "inbound phone number or short code for your account.",
        ),
        ({**VALID, "To": "2025550123"}, 21211, "Invalid 'To' Phone Number: 2025550123"),
        ({**VALID, "To": "+15551230002"}, 21211, "Invalid 'To' Phone Number: +15551230002"),
        ({**VALID, "To": "whatsapp:+12025550123"}, 21211, "Invalid 'To' Phone Number: whatsapp:+12025550123"),
        ({**VALID, "To": FIRM}, 21266, "'To' and 'From' number cannot be the same"),
        ({**VALID, "To": "+12025550188"}, 21614, "'To' number +12025550188 is not a valid mobile number"),
        ({**VALID, "To": "+12025550127"}, 21610, "Attempt to send to unsubscribed recipient"),
        (
            {**VALID, "StatusCallback": "https://my_app.example/status"},
            21609,
            "Invalid StatusCallback url: https://my_app.example/status",
        ),
        (
            {"To": ALICE, "MessagingServiceSid": "MG" + "9" * 32, "Body": "x"},
            21701,
            f"The Messaging Service Sid MG{'9' * 32} is invalid.",
        ),
        ({**VALID, "MediaUrl": "ftp://firm.example/a.png"}, 21620, "Invalid media URL(s)"),
    ],
)
def test_creates_are_validated_with_twilios_codes(
    server: TwilioServer, state: TwilioState, form: dict[str, str], code: int, message: str
) -> None:
    state.landlines.add("+12025550188")
    state.opted_out.add("+12025550127")
    answer = post(server, form)
    assert answer.status_code == 400
    assert answer.json() == {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": 400,
    }
    assert state.messages() == []
    assert state.stats.rejected == 1


def test_the_library_raises_twilios_codes(client: Client, state: TwilioState) -> None:
    state.opted_out.add(BOB)
    with pytest.raises(TwilioRestException) as caught:
        send(client, to=BOB)
    assert (caught.value.status, caught.value.code) == (400, 21610)
    assert caught.value.msg == "Unable to create record: Attempt to send to unsubscribed recipient"
    with pytest.raises(TwilioRestException) as missing:
        client.messages(f"SM{'0' * 32}").fetch()
    assert (missing.value.status, missing.value.code) == (404, 20404)


def test_the_body_limit_counts_utf16_units(server: TwilioServer) -> None:
    assert post(server, {**VALID, "Body": "😀" * 800}).json()["num_segments"] == "25"
    assert post(server, {**VALID, "Body": "é" * 1600}).status_code == 201


def test_lenient_numbers_accept_any_e164(server: TwilioServer, state: TwilioState) -> None:
    state.strict_numbers = False
    assert post(server, {**VALID, "To": "+15551230002"}).status_code == 201
    assert post(server, {**VALID, "To": "5551230002"}).json()["code"] == 21211


# -- segments --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("中" * 70, 1),
        ("中" * 71, 2),
        ("😀" * 35, 1),
        ("😀" * 36, 2),
        ("€" * 80, 1),
        ("€" * 81, 2),
        ("a" * 159 + "é", 1),
        ("a" * 159 + "ê", 3),
        ("“smart quotes”" + "a" * 56, 1),
        ("“smart quotes”" + "a" * 57, 2),
        ("a" * 152 + "[" + "a" * 152, 3),
    ],
)
def test_segments_follow_gsm7_and_ucs2(body: str, segments: int) -> None:
    assert count_segments(body) == segments


def test_num_segments_in_answers(server: TwilioServer, state: TwilioState) -> None:
    assert post(server, {**VALID, "Body": "a" * 161}).json()["num_segments"] == "2"
    assert post(server, {**VALID, "Body": "😀" * 36}).json()["num_segments"] == "2"
    mms = post(server, [*VALID.items(), ("Body", "b" * 400), ("MediaUrl", "https://firm.example/x.png")]).json()
    assert (mms["num_segments"], mms["num_media"], mms["sid"][:2]) == ("1", "1", "MM")
    service = {"To": ALICE, "MessagingServiceSid": SANDBOX_MESSAGING_SERVICE_SID, "Body": "a" * 161}
    created = post(server, service).json()
    assert (created["num_segments"], created["status"], created["from"]) == ("0", "accepted", None)
    assert state.message(created["sid"])["num_segments"] == "2"


# -- signatures and status callbacks ---------------------------------------------------------------


def test_the_signer_reproduces_the_known_answer_vector() -> None:
    params = {
        "MessageSid": "SM00000000000000000000000000000001",
        "SmsSid": "SM00000000000000000000000000000001",
        "AccountSid": "AC00000000000000000000000000000001",
        "From": "+15551230001",
        "To": "+15551230002",
        "Body": "Hello",
        "NumMedia": "0",
        "NumSegments": "1",
    }
    assert twilio_signature("12345", "https://example.com/sms", params) == "3CPj9xFUG05YQ369xllfFk+JwJ4="


def test_status_callbacks_are_signed_and_arrive_in_order(
    client: Client, state: TwilioState, receiver: Receiver
) -> None:
    url = receiver.url("/webhooks/twilio/status")
    state.undeliverable[BOB] = 30007
    ok = send(client, to=ALICE, status_callback=url)
    lost = send(client, to=BOB, status_callback=url)
    send(client, to=CAROL)
    assert [(c.sid, c.status) for c in state.pending_callbacks()] == [
        (ok.sid, "sent"),
        (ok.sid, "delivered"),
        (lost.sid, "sent"),
        (lost.sid, "undelivered"),
    ]
    results = state.deliver_callbacks()
    assert results == [
        (ok.sid, "sent", 204),
        (ok.sid, "delivered", 204),
        (lost.sid, "sent", 204),
        (lost.sid, "undelivered", 204),
    ]
    assert state.pending_callbacks() == []
    assert state.deliver_callbacks() == []
    validator = RequestValidator(SANDBOX_AUTH_TOKEN)
    for hit in receiver.hits:
        assert validator.validate(url, hit.form, hit.headers["X-Twilio-Signature"])
        assert not validator.validate(url.replace("status", "sms"), hit.form, hit.headers["X-Twilio-Signature"])
        assert hit.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert hit.headers["User-Agent"] == "TwilioProxy/1.1"
        assert hit.headers["I-Twilio-Idempotency-Token"]
    first = receiver.hits[0].form
    assert first.to_dict() == {
        "SmsSid": ok.sid,
        "SmsStatus": "sent",
        "MessageStatus": "sent",
        "To": ALICE,
        "MessageSid": ok.sid,
        "AccountSid": SANDBOX_ACCOUNT_SID,
        "From": FIRM,
        "ApiVersion": "2010-04-01",
    }
    failed = receiver.hits[3].form
    assert (failed["MessageStatus"], failed["ErrorCode"], failed["ErrorMessage"]) == (
        "undelivered",
        "30007",
        "Message filtered",
    )
    assert "ErrorCode" not in receiver.hits[1].form
    assert state.stats.callbacks_sent == 4


def test_codes_that_fail_before_sending_skip_sent(client: Client, state: TwilioState, receiver: Receiver) -> None:
    state.undeliverable[ALICE] = 30034
    message = send(client, status_callback=receiver.url("/status"))
    assert state.deliver_callbacks() == [(message.sid, "failed", 204)]
    fetched = client.messages(message.sid).fetch()
    assert (fetched.status, fetched.error_code, fetched.price) == ("failed", 30034, None)


def test_shuffled_callbacks_come_in_a_seeded_random_order(
    client: Client, state: TwilioState, receiver: Receiver
) -> None:
    url = receiver.url("/status")
    for to in (ALICE, BOB, CAROL):
        send(client, to=to, status_callback=url)
    in_order = [(c.sid, c.status) for c in state.pending_callbacks()]
    shuffled = state.deliver_callbacks(shuffle=True, seed=4)
    assert sorted((sid, status) for sid, status, _ in shuffled) == sorted(in_order)
    positions = {(sid, status): index for index, (sid, status, _) in enumerate(shuffled)}
    assert any(positions[(sid, "delivered")] < positions[(sid, "sent")] for sid, _ in in_order)
    assert [(h.form["MessageSid"], h.form["MessageStatus"]) for h in receiver.hits] == [r[:2] for r in shuffled]
    for to in (ALICE, BOB, CAROL):
        send(client, to=to, status_callback=url)
    again = state.pending_callbacks()
    replay = state.deliver_callbacks(shuffle=True, seed=4)
    assert [status for _, status, _ in replay] == [status for _, status, _ in shuffled]
    assert len(again) == 6


def test_an_unreachable_receiver_is_status_0_and_not_retried(client: Client, state: TwilioState) -> None:
    message = send(client, status_callback="http://127.0.0.1:9/status")
    assert state.deliver_callbacks() == [(message.sid, "sent", 0), (message.sid, "delivered", 0)]
    assert state.stats.callbacks_failed == 2
    assert state.deliver_callbacks() == []


def test_the_messaging_service_picks_a_sticky_pool_number(
    client: Client, state: TwilioState, receiver: Receiver
) -> None:
    url = receiver.url("/status")
    first = client.messages.create(
        to=ALICE, messaging_service_sid=SANDBOX_MESSAGING_SERVICE_SID, body="one", status_callback=url
    )
    assert (first.status, first.from_, first.num_segments) == ("accepted", None, "0")
    assert first.messaging_service_sid == SANDBOX_MESSAGING_SERVICE_SID
    second = client.messages.create(to=BOB, messaging_service_sid=SANDBOX_MESSAGING_SERVICE_SID, body="two")
    third = client.messages.create(to=ALICE, messaging_service_sid=SANDBOX_MESSAGING_SERVICE_SID, body="three")
    senders = [client.messages(m.sid).fetch().from_ for m in (first, second, third)]
    assert senders == [SANDBOX_POOL_NUMBERS[0], SANDBOX_POOL_NUMBERS[1], SANDBOX_POOL_NUMBERS[0]]
    assert [status for _, status, _ in state.deliver_callbacks()] == ["queued", "sent", "delivered"]
    assert {hit.form["MessagingServiceSid"] for hit in receiver.hits} == {SANDBOX_MESSAGING_SERVICE_SID}
    assert {hit.form["From"] for hit in receiver.hits} == {SANDBOX_POOL_NUMBERS[0]}
    pinned = client.messages.create(
        to=CAROL, messaging_service_sid=SANDBOX_MESSAGING_SERVICE_SID, from_=SANDBOX_POOL_NUMBERS[2], body="pinned"
    )
    assert pinned.from_ == SANDBOX_POOL_NUMBERS[2]
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=CAROL, messaging_service_sid=SANDBOX_MESSAGING_SERVICE_SID, from_=FIRM, body="x")
    assert caught.value.code == 21606


# -- inbound ---------------------------------------------------------------------------------------


def test_inbound_sms_is_twilio_shaped_and_signed(state: TwilioState, receiver: Receiver) -> None:
    url = receiver.url("/webhooks/twilio/sms")
    answer = state.inbound(url, ALICE, FIRM, "Can we talk about my case?")
    assert answer.status_code == 204
    (hit,) = receiver.hits
    form = hit.form.to_dict()
    sid = form["MessageSid"]
    assert sid.startswith("SM")
    assert len(sid) == 34
    assert form == {
        "ToCountry": "US",
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": "Can we talk about my case?",
        "FromCountry": "US",
        "To": FIRM,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": SANDBOX_ACCOUNT_SID,
        "From": ALICE,
        "ApiVersion": "2010-04-01",
    }
    assert RequestValidator(SANDBOX_AUTH_TOKEN).validate(url, hit.form, hit.headers["X-Twilio-Signature"])
    stored = state.message(sid)
    assert (stored["direction"], stored["status"], stored["from"], stored["to"]) == ("inbound", "received", ALICE, FIRM)
    assert state.stats.inbound_sent == 1


def test_inbound_mms_media_is_served_behind_basic_auth(
    server: TwilioServer, client: Client, state: TwilioState, receiver: Receiver
) -> None:
    url = receiver.url("/sms")
    state.inbound(url, ALICE, FIRM, "", media=[("image/jpeg", b"\xff\xd8\xffjpeg"), ("application/pdf", "%PDF-1.4")])
    form = receiver.hits[0].form
    sid = form["MessageSid"]
    assert sid.startswith("MM")
    assert (form["NumMedia"], form["MediaContentType0"], form["MediaContentType1"]) == (
        "2",
        "image/jpeg",
        "application/pdf",
    )
    media_url = form["MediaUrl0"]
    assert media_url.startswith(f"{server.origin}/2010-04-01/Accounts/{SANDBOX_ACCOUNT_SID}/Messages/{sid}/Media/ME")
    assert requests.get(media_url, timeout=10).status_code == 401
    fetched = requests.get(media_url, auth=AUTH, timeout=10)
    assert (fetched.status_code, fetched.content, fetched.headers["Content-Type"]) == (
        200,
        b"\xff\xd8\xffjpeg",
        "image/jpeg",
    )
    assert requests.get(form["MediaUrl1"], auth=AUTH, timeout=10).content == b"%PDF-1.4"
    metadata = requests.get(f"{media_url}.json", auth=AUTH, timeout=10).json()
    Draft4Validator(schema_of("api.v2010.account.message.media")).validate(metadata)
    assert [m.content_type for m in client.messages(sid).media.list()] == ["image/jpeg", "application/pdf"]
    media_sid = media_url.rsplit("/", 1)[1]
    assert client.messages(sid).media(media_sid).delete() is True
    assert requests.get(media_url, auth=AUTH, timeout=10).status_code == 404


def test_the_same_inbound_can_be_posted_twice(state: TwilioState, receiver: Receiver) -> None:
    url = receiver.url("/sms")
    params, signature = state.build_inbound(url, ALICE, FIRM, "Are you there?")
    state.post_inbound(url, params, signature)
    state.post_inbound(url, params, signature)
    first, second = receiver.hits
    assert first.form == second.form
    assert first.headers["X-Twilio-Signature"] == second.headers["X-Twilio-Signature"] == signature
    assert first.headers["I-Twilio-Idempotency-Token"] == second.headers["I-Twilio-Idempotency-Token"]
    assert len(state.messages()) == 1


def test_build_inbound_is_pure_and_signs_what_it_builds() -> None:
    url = "https://firm.example/webhooks/twilio/sms"
    params, signature = build_inbound(
        url,
        auth_token="12345",
        account_sid="AC" + "0" * 32,
        message_sid="MM" + "1" * 32,
        from_=ALICE,
        to=FIRM,
        body="STOP",
        media=[("https://api.twilio.com/x", "image/png")],
        messaging_service_sid=SANDBOX_MESSAGING_SERVICE_SID,
        opt_out_type="STOP",
        extra={"AddOns": '{"status":"successful"}'},
    )
    assert (params["MessagingServiceSid"], params["OptOutType"], params["AddOns"]) == (
        SANDBOX_MESSAGING_SERVICE_SID,
        "STOP",
        '{"status":"successful"}',
    )
    assert (params["MediaUrl0"], params["MediaContentType0"], params["NumMedia"]) == (
        "https://api.twilio.com/x",
        "image/png",
        "1",
    )
    assert RequestValidator("12345").validate(url, params, signature)
    assert RequestValidator("12345").validate("https://firm.example:443/webhooks/twilio/sms", params, signature)
    assert not RequestValidator("12345").validate(url, {**params, "Body": "START"}, signature)


def test_stop_and_start_keywords_toggle_the_block_list(client: Client, state: TwilioState, receiver: Receiver) -> None:
    state.inbound(receiver.url("/sms"), ALICE, FIRM, "  stop ")
    assert ALICE in state.opted_out
    with pytest.raises(TwilioRestException) as caught:
        send(client)
    assert caught.value.code == 21610
    state.inbound(receiver.url("/sms"), ALICE, FIRM, "stop texting me please")
    state.inbound(receiver.url("/sms"), ALICE, FIRM, "UNSTOP")
    assert ALICE not in state.opted_out
    assert send(client).status == "queued"


def test_proxy_origins_carry_public_urls_to_a_local_receiver(state: TwilioState, receiver: Receiver) -> None:
    public = "https://firm.example"
    state.proxy_origins[public] = receiver.url("")
    state.inbound(f"{public}/webhooks/twilio/sms", ALICE, FIRM, "hello")
    (hit,) = receiver.hits
    assert hit.path == "/webhooks/twilio/sms"
    validator = RequestValidator(SANDBOX_AUTH_TOKEN)
    assert validator.validate(f"{public}/webhooks/twilio/sms", hit.form, hit.headers["X-Twilio-Signature"])


# -- faults ----------------------------------------------------------------------------------------


def test_applied_lost_creates_the_message_but_the_client_hears_nothing(
    client: Client, state: TwilioState, receiver: Receiver
) -> None:
    state.faults.add(twilio_fault("applied_lost"))
    with pytest.raises(requests.exceptions.ConnectionError):
        send(client, body="Reminder [ml:42]", status_callback=receiver.url("/status"))
    (found,) = client.messages.list(to=ALICE, date_sent_after=START)
    assert found.body == "Reminder [ml:42]"
    assert [status for _, status, _ in state.deliver_callbacks()] == ["sent", "delivered"]
    assert state.stats.faults_fired == 1


def test_drop_loses_the_request_before_anything_is_created(client: Client, state: TwilioState) -> None:
    state.faults.add(twilio_fault("drop"))
    with pytest.raises(requests.exceptions.ConnectionError):
        send(client)
    assert client.messages.list() == []
    assert send(client).status == "queued"


def test_status_and_rate_limit_faults_answer_twilio_errors(
    client: Client, server: TwilioServer, state: TwilioState
) -> None:
    state.faults.add(twilio_fault("status", status=503))
    state.faults.add(twilio_fault("rate_limit", retry_after=3))
    with pytest.raises(TwilioRestException) as unavailable:
        send(client)
    assert (unavailable.value.status, unavailable.value.code) == (503, 20503)
    limited = post(server, VALID)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "3"
    assert limited.json() == {
        "code": 20429,
        "message": "Too Many Requests",
        "more_info": "https://www.twilio.com/docs/errors/20429",
        "status": 429,
    }
    assert state.messages() == []
    assert state.stats.rate_limited == 1
    assert send(client).status == "queued"


def test_a_slow_fault_delays_the_answer(server: TwilioServer, state: TwilioState) -> None:
    state.faults.add(twilio_fault("slow", delay=0.3, method="GET"))
    started = time.perf_counter()
    assert requests.get(server.url("/Messages.json"), auth=AUTH, timeout=10).status_code == 200
    assert time.perf_counter() - started >= 0.3
    state.faults.add(twilio_fault("slow", delay=0.4))
    with pytest.raises(requests.exceptions.Timeout):
        requests.post(server.url("/Messages.json"), data=VALID, auth=AUTH, timeout=0.1)


def test_faults_that_could_never_fire_are_refused(state: TwilioState) -> None:
    with pytest.raises(ValueError, match="never matches"):
        state.faults.add(Fault("status"))
    with pytest.raises(ValueError, match="does not serve"):
        state.faults.add(twilio_fault("repeat_token"))


# -- controls, stats, standalone -------------------------------------------------------------------


def test_controls_over_http(server: TwilioServer, state: TwilioState, receiver: Receiver) -> None:
    control = f"{server.origin}/_sandbox"
    armed = requests.post(f"{control}/faults", json={"kind": "status", "status": 500}, timeout=10).json()
    assert (armed["result"]["method"], armed["result"]["path"]) == ("POST", "/Messages.json")
    assert post(server, VALID).json()["code"] == 20500
    numbers = {"opted_out": [BOB], "landlines": [CAROL], "undeliverable": {ALICE: 30003}}
    assert requests.post(f"{control}/numbers", json=numbers, timeout=10).json()["result"] == numbers
    assert post(server, {**VALID, "To": BOB}).json()["code"] == 21610
    assert post(server, {**VALID, "StatusCallback": receiver.url("/status")}).status_code == 201
    delivered = requests.post(f"{control}/deliver_callbacks", json={}, timeout=10).json()["result"]
    assert [row[1:] for row in delivered] == [["sent", 204], ["undelivered", 204]]
    inbound = {"url": receiver.url("/sms"), "from": CAROL, "to": FIRM, "body": "hi", "media": [["text/plain", "x"]]}
    answer = requests.post(f"{control}/inbound", json=inbound, timeout=10).json()["result"]
    assert answer["status"] == 204
    assert answer["message_sid"].startswith("MM")
    stats = requests.get(f"{control}/stats", timeout=10).json()["result"]
    assert (stats["creates"], stats["rejected"], stats["callbacks_sent"], stats["inbound_sent"]) == (1, 1, 2, 1)
    assert stats["by_endpoint"]["POST /Messages.json"] == 3
    assert len(requests.get(f"{control}/messages", timeout=10).json()["result"]) == 2
    assert requests.post(f"{control}/numbers", json={"colour": []}, timeout=10).status_code == 400


def test_the_standalone_process_prints_its_origin() -> None:
    command = [sys.executable, "-m", "connector.sandbox", "twilio", "--port", "0", "--messaging-service"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        origin = process.stdout.readline().strip()
        assert origin.startswith("http://127.0.0.1:")
        client = Client(SANDBOX_ACCOUNT_SID, SANDBOX_AUTH_TOKEN)
        client.api.base_url = origin
        sent = client.messages.create(to=ALICE, messaging_service_sid=SANDBOX_MESSAGING_SERVICE_SID, body="hi")
        assert sent.status == "accepted"
        assert [m.sid for m in client.messages.list()] == [sent.sid]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_state_rejects_malformed_configuration() -> None:
    with pytest.raises(ValueError, match="account_sid"):
        TwilioState(account_sid="AC123")
    with pytest.raises(ValueError, match="messaging_service_sid"):
        TwilioState(messaging_service_sid="MG1", messaging_service_numbers=[FIRM])
    with pytest.raises(ValueError, match="pool"):
        TwilioState(messaging_service_sid=SANDBOX_MESSAGING_SERVICE_SID)
    with pytest.raises(ValueError, match=r"E\.164"):
        TwilioState(incoming_numbers=["617-555-0100"])
