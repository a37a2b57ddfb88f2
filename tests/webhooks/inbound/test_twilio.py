"""Twilio's webhooks, signed with Twilio's real algorithm: verification, dedupe, filing, keywords, statuses."""

from __future__ import annotations

import contextlib
import functools
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select, text
from twilio.request_validator import RequestValidator

from connector.messaging import intake, reception
from connector.store.tables import audit_log, filing_decisions, messages, opt_outs, outbox, status_events, threads
from tests.support.firm import (
    BO_LEE,
    CARA,
    FIRM_NUMBER,
    JANE,
    OMAR,
    PUBLIC_URL,
    TWILIO_SID,
    TWILIO_TOKEN,
    inbound_form,
    new_sid,
    seed,
    settings,
    signed,
)
from tests.support.fixtures import twilio_fixture, twilio_form, twilio_names
from tests.support.specs import TWILIO, read
from webhooks import create_app
from webhooks.server import ServerThread
from webhooks.state import app_state

SMS, STATUS = "/webhooks/twilio/sms", "/webhooks/twilio/status"
SERVICE = "MG" + "b2" * 16  # the Messaging Service in sms__messaging_service.json and sms__opt_out_type_stop.json
sid = new_sid
inbound = inbound_form

FORM = "application/x-www-form-urlencoded"


def post(client: FlaskClient, params: dict[str, str], path: str = SMS, headers: dict[str, str] | None = None) -> Any:
    """Post as Twilio would, then let the worker's intake thread and file what was stored."""
    response = client.post(path, data=params, headers=signed(path, params) if headers is None else headers)
    state = app_state(client.application)
    intake.drain(state.engine, state.settings)
    return response


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine)
    return engine


@pytest.fixture
def client(store: Engine) -> FlaskClient:
    return create_app(settings(), store).test_client()


def count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def message(engine: Engine, message_sid: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(messages).where(messages.c.sid == message_sid)).one()


def thread_of(engine: Engine, phone: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(threads).where(threads.c.client_phone == phone)).one()


# -- the signer ------------------------------------------------------------------------------------------


def test_known_answer_vector_pins_twilios_algorithm() -> None:
    # Twilio's own published vector (twilio-python tests; reference section 3.6).
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675309",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert RequestValidator("12345").compute_signature(url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    sms = {
        "MessageSid": "SM00000000000000000000000000000001",
        "SmsSid": "SM00000000000000000000000000000001",
        "AccountSid": "AC00000000000000000000000000000001",
        "From": "+15551230001",
        "To": "+15551230002",
        "Body": "Hello",
        "NumMedia": "0",
        "NumSegments": "1",
    }
    assert RequestValidator("12345").compute_signature("https://example.com/sms", sms) == "3CPj9xFUG05YQ369xllfFk+JwJ4="


# -- verification fails closed ---------------------------------------------------------------------------


def test_missing_auth_token_refuses_everything(store: Engine) -> None:
    client = create_app(settings(TWILIO_AUTH_TOKEN=""), store).test_client()
    response = post(client, inbound(JANE))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "twilio_auth_token_missing"
    assert count(store, messages) == 0


def test_missing_signature_is_refused_and_nothing_stored(client: FlaskClient, store: Engine) -> None:
    response = post(client, inbound(JANE), headers={})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "signature_missing"
    assert count(store, messages) == 0


@pytest.mark.parametrize("tamper", ["body", "token", "url"])
def test_bad_signature_is_refused_and_nothing_stored(client: FlaskClient, store: Engine, tamper: str) -> None:
    params = inbound(JANE, "pay me")
    if tamper == "token":
        headers = signed(SMS, params, token="another-accounts-token")
    elif tamper == "url":
        headers = {
            "X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(f"http://internal{SMS}", params)
        }
    else:
        headers = signed(SMS, params)
        params = {**params, "Body": "pay someone else"}
    response = post(client, params, headers=headers)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "signature_invalid"
    assert count(store, messages) == 0


# -- storing once -----------------------------------------------------------------------------------------


def test_a_text_is_stored_filed_and_answered_with_empty_twiml(client: FlaskClient, store: Engine) -> None:
    params = inbound(JANE, "Is my hearing still on Tuesday? 😊")
    response = post(client, params)
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert response.get_data(as_text=True) == '<?xml version="1.0" encoding="UTF-8"?><Response />'
    row = message(store, params["MessageSid"])
    assert (row.direction, row.body, row.matter_cms_id, row.status) == (
        "inbound",
        "Is my hearing still on Tuesday? 😊",
        "101",
        "received",
    )
    assert row.raw["AccountSid"] == TWILIO_SID
    thread = thread_of(store, JANE)
    assert (thread.state, thread.filing_rule, thread.matter_cms_id, thread.message_count) == (
        "filed",
        "only_open_matter",
        "101",
        1,
    )
    assert count(store, audit_log, audit_log.c.action == "receive") == 1


def test_the_same_sid_twice_stores_one_row_and_both_get_200(client: FlaskClient, store: Engine) -> None:
    params = inbound(JANE)
    assert post(client, params).status_code == 200
    assert post(client, params).status_code == 200
    assert count(store, messages, messages.c.sid == params["MessageSid"]) == 1
    assert thread_of(store, JANE).message_count == 1


def test_concurrent_duplicates_over_real_http_store_one_row(store: Engine, db_url: str) -> None:
    import requests

    app = create_app(settings(MATTERLINE_DATABASE_URL=db_url), store)
    params = inbound(JANE, "only once please")
    statuses: list[int] = []
    with ServerThread(app, threads=8) as server:
        headers = {"X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(f"{PUBLIC_URL}{SMS}", params)}

        def fire() -> None:
            statuses.append(requests.post(f"{server.url}{SMS}", data=params, headers=headers, timeout=30).status_code)

        workers = [threading.Thread(target=fire) for _ in range(8)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert statuses == [200] * 8
    assert count(store, messages, messages.c.sid == params["MessageSid"]) == 1


@pytest.mark.parametrize(
    ("field", "change"),
    [("MessageSid", None), ("From", None), ("To", None), ("MessageSid", "XX123")],
)
def test_malformed_parameters_are_400_naming_the_field(
    client: FlaskClient, store: Engine, field: str, change: str | None
) -> None:
    params = inbound(JANE)
    if change is None:
        del params[field]
    else:
        params[field] = change
    response = post(client, params)
    assert response.status_code == 400
    assert response.get_json()["error"]["details"] == {"field": field}
    assert count(store, messages) == 0


def test_a_messaging_service_text_is_accepted_and_threaded_by_the_service(store: Engine) -> None:
    client = create_app(settings(TWILIO_MESSAGING_SERVICE_SID=SERVICE), store).test_client()
    params = twilio_form("sms__messaging_service")
    assert (params["From"], params["To"], params["MessagingServiceSid"]) == (JANE, "+14155550199", SERVICE)
    assert post(client, params).status_code == 200
    assert thread_of(store, JANE).firm_number == SERVICE


def test_an_oversized_body_is_413(client: FlaskClient) -> None:
    params = inbound(JANE, "x" * (1024 * 1024 + 10))
    assert post(client, params).status_code == 413


def test_an_mms_without_a_body_keeps_its_media(client: FlaskClient, store: Engine) -> None:
    params = twilio_form("sms__mms_photo_and_pdf")
    assert post(client, params).status_code == 200
    row = message(store, params["MessageSid"])
    assert row.body == ""
    assert row.num_media == 2
    assert [m["content_type"] for m in row.media] == ["image/jpeg", "application/pdf"]


def test_non_utf8_bytes_do_not_crash_and_unsigned_garbage_stores_nothing(client: FlaskClient, store: Engine) -> None:
    """A body byte that is not UTF-8 (a Latin-1 é) is read as U+FFFD; the signature then decides."""
    params = inbound(JANE, "caf\ufffd")
    fields = {k: v for k, v in params.items() if k != "Body"}
    raw = urlencode(fields).encode() + b"&Body=caf%E9"  # the one byte 0xE9, which UTF-8 cannot read
    as_read = {**fields, "Body": "caf\ufffd"}  # what the server reads, and so what a valid signature covers
    forged = client.post(SMS, data=raw, content_type=FORM, headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
    assert forged.status_code == 403
    assert count(store, messages) == 0
    response = client.post(SMS, data=raw, content_type=FORM, headers=signed(SMS, as_read))
    assert response.status_code == 200
    assert message(store, params["MessageSid"]).body == "caf\ufffd"
    assert count(store, messages) == 1


# -- filing ------------------------------------------------------------------------------------------------


def filing(engine: Engine, message_sid: str) -> tuple[str | None, str]:
    with engine.connect() as conn:
        row = conn.execute(
            select(filing_decisions.c.matter_cms_id, filing_decisions.c.rule)
            .join(messages, messages.c.id == filing_decisions.c.message_id)
            .where(messages.c.sid == message_sid)
        ).one()
    return row.matter_cms_id, row.rule


def test_unknown_number_goes_to_needs_filing_and_is_kept(client: FlaskClient, store: Engine) -> None:
    params = inbound("+13105550142", "who is this?")
    assert post(client, params).status_code == 200
    assert filing(store, params["MessageSid"]) == (None, "needs_filing")
    thread = thread_of(store, "+13105550142")
    assert (thread.state, thread.matter_cms_id) == ("needs_filing", None)
    assert message(store, params["MessageSid"]).body == "who is this?"


def test_several_open_matters_go_to_needs_filing(client: FlaskClient, store: Engine) -> None:
    params = inbound(OMAR)
    post(client, params)
    assert filing(store, params["MessageSid"]) == (None, "needs_filing")


def test_a_number_shared_by_two_clients_goes_to_needs_filing(client: FlaskClient, store: Engine) -> None:
    params = inbound(BO_LEE)
    post(client, params)
    assert filing(store, params["MessageSid"]) == (None, "needs_filing")


def test_a_client_whose_only_matter_is_closed_goes_to_needs_filing(client: FlaskClient, store: Engine) -> None:
    params = inbound(CARA)
    post(client, params)
    assert filing(store, params["MessageSid"]) == (None, "needs_filing")


def test_a_recent_thread_keeps_its_matter(client: FlaskClient, store: Engine) -> None:
    first, second = inbound(JANE, "one"), inbound(JANE, "two")
    post(client, first)
    post(client, second)
    assert filing(store, first["MessageSid"]) == ("101", "only_open_matter")
    assert filing(store, second["MessageSid"]) == ("101", "recent_thread")


# -- opt-out, opt-in, help --------------------------------------------------------------------------------


def ledger(engine: Engine, phone: str) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(opt_outs.c.action, opt_outs.c.source).where(opt_outs.c.phone == phone).order_by(opt_outs.c.id)
        )
        return [(r.action, r.source) for r in rows]


@pytest.mark.parametrize("word", ["STOP", "stop", " Stop! ", "unsubscribe", "QUIT", "revoke", "OptOut", "end"])
def test_stop_keywords_opt_out_and_leave_the_confirmation_to_twilio(
    client: FlaskClient, store: Engine, word: str
) -> None:
    response = post(client, inbound(JANE, word))
    assert response.get_data(as_text=True) == '<?xml version="1.0" encoding="UTF-8"?><Response />'
    assert ledger(store, JANE) == [("opt_out", "keyword")]


def test_plain_language_revocation_opts_out_with_exactly_one_confirmation(client: FlaskClient, store: Engine) -> None:
    first = post(client, inbound(JANE, "Please don't text me anymore."))
    assert "<Message>" not in first.get_data(as_text=True)  # recognised at intake; confirmed by the worker
    again = post(client, inbound(JANE, "stop texting me"))
    assert "<Message>" not in again.get_data(as_text=True)
    assert ledger(store, JANE) == [("opt_out", "plain_language"), ("opt_out", "plain_language")]
    with store.connect() as conn:
        queued = conn.execute(
            select(messages.c.kind, messages.c.status, messages.c.body).where(messages.c.direction == "outbound")
        ).all()
        jobs = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
    assert [(kind, status) for kind, status, _ in queued] == [("confirmation", "pending")]
    assert "you will not get more texts" in queued[0].body
    assert jobs == 1


def test_with_twilio_keyword_replies_off_stop_is_confirmed_in_twiml_once(store: Engine) -> None:
    client = create_app(settings(MATTERLINE_TWILIO_KEYWORD_REPLIES="false"), store).test_client()
    assert "you will not get more texts" in post(client, inbound(JANE, "STOP")).get_data(as_text=True)
    assert "<Message>" not in post(client, inbound(JANE, "stop")).get_data(as_text=True)


def test_twilio_opt_out_type_opts_out_even_when_the_words_are_not_a_keyword(client: FlaskClient, store: Engine) -> None:
    post(client, twilio_form("sms__opt_out_type_stop", Body="Stop please"))
    assert ledger(store, JANE) == [("opt_out", "twilio_opt_out_type")]


def test_start_opts_back_in(client: FlaskClient, store: Engine) -> None:
    post(client, inbound(JANE, "STOP"))
    post(client, inbound(JANE, "START"))
    assert ledger(store, JANE) == [("opt_out", "keyword"), ("opt_in", "keyword")]


def test_start_sent_after_a_stop_in_words_but_before_intake_leaves_the_client_opted_in(
    client: FlaskClient, store: Engine
) -> None:
    for params in (inbound(JANE, "please stop texting me"), inbound(JANE, "START")):
        assert client.post(SMS, data=params, headers=signed(SMS, params)).status_code == 200
    intake.drain(store, settings())  # the worker reads the words only now, after START was applied
    assert ledger(store, JANE) == [("opt_in", "keyword")]
    assert count(store, outbox) == 0  # and no confirmation of a stop that did not happen


def test_help_gets_the_firms_help_text(client: FlaskClient) -> None:
    response = post(client, inbound(JANE, "help"))
    assert "Doe &amp; Roe LLP" in response.get_data(as_text=True)


def test_a_client_talking_about_someone_else_stopping_is_not_an_opt_out(client: FlaskClient, store: Engine) -> None:
    post(client, inbound(JANE, "My ex won't stop texting me, what do I do?"))
    assert ledger(store, JANE) == []


# -- status callbacks --------------------------------------------------------------------------------------


def outbound_row(engine: Engine, message_sid: str) -> None:
    post_client = create_app(settings(), engine).test_client()
    post(post_client, inbound(JANE, "hi"))  # makes the thread
    created = thread_of(engine, JANE).created_at
    with engine.begin() as conn:
        thread_id = conn.execute(select(threads.c.id)).scalar_one()
        conn.execute(
            messages.insert().values(
                thread_id=thread_id,
                sid=message_sid,
                direction="outbound",
                kind="message",
                from_number=FIRM_NUMBER,
                to_number=JANE,
                body="Your hearing moved to 3pm.",
                status="queued",
                num_media=0,
                created_at=created,
            )
        )


def test_out_of_order_callbacks_never_move_a_status_back(client: FlaskClient, store: Engine) -> None:
    message_sid = sid()
    outbound_row(store, message_sid)
    for status in ("delivered", "sent", "queued"):
        assert post(client, twilio_form(f"status__{status}", MessageSid=message_sid), STATUS).status_code == 204
    assert message(store, message_sid).status == "delivered"
    assert count(store, status_events, status_events.c.sid == message_sid) == 3


def test_an_error_code_is_kept_and_never_erased(client: FlaskClient, store: Engine) -> None:
    message_sid = sid()
    outbound_row(store, message_sid)
    post(client, twilio_form("status__undelivered_30007", MessageSid=message_sid, ErrorMessage="filtered"), STATUS)
    post(client, twilio_form("status__sent", MessageSid=message_sid), STATUS)
    row = message(store, message_sid)
    assert (row.status, row.error_code) == ("undelivered", 30007)
    assert count(store, audit_log, audit_log.c.action == "delivery_failed") == 1


def test_a_callback_for_an_unknown_sid_is_recorded_without_a_crash(client: FlaskClient, store: Engine) -> None:
    form = twilio_form("status__delivered")
    message_sid = form["MessageSid"]
    assert post(client, form, STATUS).status_code == 204
    assert count(store, status_events, status_events.c.sid == message_sid, status_events.c.message_id.is_(None)) == 1


def test_a_status_callback_needs_a_valid_signature(client: FlaskClient, store: Engine) -> None:
    form = twilio_form("status__delivered")
    assert post(client, form, STATUS, headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}).status_code == 403
    assert count(store, status_events) == 0


def test_a_malformed_callback_is_400_naming_the_field(client: FlaskClient, store: Engine) -> None:
    form = twilio_form("status__delivered")
    del form["MessageStatus"], form["SmsStatus"]
    response = post(client, form, STATUS)
    assert response.status_code == 400
    assert response.get_json()["error"]["details"] == {"field": "MessageStatus"}


def test_only_a_form_post_reaches_the_inbound_endpoint(client: FlaskClient, store: Engine) -> None:
    assert client.get(SMS).status_code == 405
    response = client.post(SMS, json=inbound(JANE), headers=signed(SMS, inbound(JANE)))
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_media_type"
    assert count(store, messages) == 0


def test_behind_a_proxy_without_a_public_url_the_forwarded_https_url_is_what_is_signed(store: Engine) -> None:
    app = create_app(settings(MATTERLINE_PUBLIC_URL="", MATTERLINE_PROXY_HOPS="1"), store)
    params = inbound(JANE, "through the proxy")
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"https://texts.firm.example{SMS}", params)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "texts.firm.example"}
    client = app.test_client()
    response = client.post(
        SMS, data=params, headers={"X-Twilio-Signature": signature, **forwarded}, base_url="http://10.0.0.7:8080"
    )
    assert response.status_code == 200
    unforwarded = client.post(
        SMS, data=params, headers={"X-Twilio-Signature": signature}, base_url="http://10.0.0.7:8080"
    )
    assert unforwarded.status_code == 403


# -- the recorded payloads: every fixture is a form Twilio documents, and the webhooks take each one ----------

SMS_FIXTURES, STATUS_FIXTURES = twilio_names("sms"), twilio_names("status")
E164 = re.compile(r"^\+[1-9]\d{1,14}$")


@functools.cache
def spec_schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = read(TWILIO)["components"]["schemas"]
    return schemas


def spec_pattern(schema: str, field: str) -> re.Pattern[str]:
    return re.compile(spec_schemas()[schema]["properties"][field]["pattern"])


def media_of(form: dict[str, str]) -> list[tuple[str, str]]:
    return [(form[f"MediaUrl{i}"], form[f"MediaContentType{i}"]) for i in range(int(form["NumMedia"]))]


def test_the_fixtures_cover_every_shape_the_tests_rely_on() -> None:
    assert {
        "sms__plain",
        "sms__mms_two_images",
        "sms__mms_photo_and_pdf",
        "sms__stop_keyword",
        "sms__opt_out_type_stop",
        "sms__messaging_service",
        "sms__unicode_emoji",
    } <= set(SMS_FIXTURES)
    assert {
        "status__queued",
        "status__sent",
        "status__delivered",
        "status__undelivered_30006",
        "status__undelivered_30007",
        "status__failed_30003",
    } <= set(STATUS_FIXTURES)


@pytest.mark.parametrize("name", SMS_FIXTURES + STATUS_FIXTURES)
def test_every_fixture_is_a_form_twilio_documents(name: str) -> None:
    form = twilio_fixture(name)
    message = "api.v2010.account.message"
    assert spec_pattern(message, "sid").match(form["MessageSid"])
    assert form["SmsSid"] == form["MessageSid"]
    assert spec_pattern(message, "account_sid").match(form["AccountSid"])
    assert form["AccountSid"] == TWILIO_SID
    assert form["ApiVersion"] == "2010-04-01"
    assert E164.match(form["From"])
    assert E164.match(form["To"])
    if "MessagingServiceSid" in form:
        assert spec_pattern(message, "messaging_service_sid").match(form["MessagingServiceSid"])
    statuses = spec_schemas()["message_enum_status"]["enum"]
    if name.startswith("sms__"):
        assert form["SmsMessageSid"] == form["MessageSid"]
        assert form["SmsStatus"] == "received"
        assert form["NumMedia"].isdigit()
        assert form["NumSegments"].isdigit()
        assert form["MessageSid"][:2] == ("MM" if int(form["NumMedia"]) else "SM")
        assert form["To"] == FIRM_NUMBER or form.get("MessagingServiceSid") == SERVICE
        media_sid = spec_pattern(f"{message}.media", "sid").pattern.strip("^$")
        media_url = re.compile(
            rf"^https://api\.twilio\.com/2010-04-01/Accounts/{form['AccountSid']}/Messages/{form['MessageSid']}"
            rf"/Media/{media_sid}$"
        )
        assert all(media_url.match(url) and "/" in kind for url, kind in media_of(form))
        assert f"MediaUrl{form['NumMedia']}" not in form
        assert form.get("OptOutType", "STOP") in ("STOP", "START", "HELP")
    else:
        assert name.startswith("status__")
        assert form["MessageStatus"] == form["SmsStatus"]
        assert form["MessageStatus"] in statuses
        assert "Body" not in form
        assert ("ErrorCode" in form) == (form["MessageStatus"] in ("failed", "undelivered"))
        assert form.get("ErrorCode", "0").isdigit()
        assert re.fullmatch(r"\d{10}", form.get("RawDlrDoneDate", "0000000000"))  # YYMMDDhhmm


def test_each_load_of_a_fixture_is_a_new_message_with_its_sids_in_step() -> None:
    first, second = twilio_form("sms__mms_two_images"), twilio_form("sms__mms_two_images", Body="two")
    assert first["MessageSid"] != second["MessageSid"]
    assert first["MessageSid"] != twilio_fixture("sms__mms_two_images")["MessageSid"]
    for form in (first, second):
        assert form["MessageSid"].startswith("MM")
        assert form["SmsSid"] == form["SmsMessageSid"] == form["MessageSid"]
        assert all(f"/Messages/{form['MessageSid']}/Media/" in url for url, _ in media_of(form))
    assert (first["Body"], second["Body"]) == (twilio_fixture("sms__mms_two_images")["Body"], "two")
    chosen = twilio_form("status__sent", MessageSid="SM" + "d" * 32)
    assert chosen["MessageSid"] == chosen["SmsSid"] == "SM" + "d" * 32


@pytest.mark.parametrize("name", SMS_FIXTURES)
def test_every_sms_fixture_is_answered_and_stored_once_as_sent(store: Engine, name: str) -> None:
    client = create_app(settings(TWILIO_MESSAGING_SERVICE_SID=SERVICE), store).test_client()
    form = twilio_form(name)
    response = post(client, form)
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert post(client, form).status_code == 200  # Twilio's retry of the same text
    assert count(store, messages, messages.c.sid == form["MessageSid"]) == 1
    row = message(store, form["MessageSid"])
    assert (row.direction, row.status, row.from_number, row.body) == ("inbound", "received", JANE, form["Body"])
    assert row.num_media == int(form["NumMedia"])
    assert [(m["url"], m["content_type"]) for m in row.media] == media_of(form)
    assert row.raw == form
    assert thread_of(store, JANE).message_count == 1


@pytest.mark.parametrize("name", STATUS_FIXTURES)
def test_every_status_fixture_is_recorded_and_moves_its_message(store: Engine, client: FlaskClient, name: str) -> None:
    form = twilio_form(name)
    outbound_row(store, form["MessageSid"])
    assert post(client, form, STATUS).status_code == 204
    with store.connect() as conn:
        (event,) = conn.execute(select(status_events).where(status_events.c.sid == form["MessageSid"])).all()
    assert (event.status, event.raw) == (form["MessageStatus"], form)
    assert event.message_id is not None
    code = int(form["ErrorCode"]) if "ErrorCode" in form else None
    row = message(store, form["MessageSid"])
    assert (row.status, row.error_code) == (form["MessageStatus"], code)
    failed = form["MessageStatus"] in ("failed", "undelivered")
    assert count(store, audit_log, audit_log.c.action == "delivery_failed") == int(failed)


# -- no signed text is lost ----------------------------------------------------------------------------------


def http_post(server: ServerThread, params: dict[str, str], path: str = SMS) -> Any:
    import requests

    return requests.post(f"{server.url}{path}", data=params, headers=signed(path, params), timeout=30)


@contextlib.contextmanager
def holding_writes(engine: Engine) -> Iterator[None]:
    """Another connection holds the messages table against writers until the block ends."""
    if engine.dialect.name == "sqlite":
        other = sqlite3.connect(str(engine.url.database), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("COMMIT")
            other.close()
        return
    with engine.connect() as conn, conn.begin():
        conn.execute(text("LOCK TABLE messages IN EXCLUSIVE MODE"))
        yield


def test_one_bad_text_in_a_burst_fails_alone_over_real_http(store: Engine, db_url: str) -> None:
    """Fifteen texts queue behind a held lock and so share one group commit; one of them is unstorable."""
    app = create_app(settings(MATTERLINE_DATABASE_URL=db_url), store)
    first = inbound(JANE, "first")
    ordinary = [inbound(OMAR, f"ordinary {n}") for n in range(14)]
    # Valid for the webhook, refused by the store: the SID column is 64 characters and this one is not a
    # Twilio SID at all (a stand-in for any value that fails only when written).
    answers: dict[str, int] = {}
    with ServerThread(app, threads=16) as server, ThreadPoolExecutor(max_workers=16) as pool:
        with holding_writes(store):
            futures = {first["MessageSid"]: pool.submit(http_post, server, first)}
            time.sleep(0.5)  # the first is the leader, waiting for the lock with a batch of one
            bad = inbound(JANE, "bad", NumSegments="99999999999999999999")
            for params in [*ordinary[:7], bad, *ordinary[7:]]:
                futures[params["MessageSid"]] = pool.submit(http_post, server, params)
            time.sleep(1.0)  # every other one queues behind the leader: the next batch
        answers = {message_sid: future.result().status_code for message_sid, future in futures.items()}
    assert [answers[p["MessageSid"]] for p in [first, *ordinary]] == [200] * 15
    for params in [first, *ordinary]:
        assert count(store, messages, messages.c.sid == params["MessageSid"]) == 1
    # The odd one is signed by Twilio, so it is kept too: its count is cosmetic, the body is measured instead.
    assert answers[bad["MessageSid"]] == 200
    assert message(store, bad["MessageSid"]).raw["NumSegments"] == "99999999999999999999"


def with_nul(value: str) -> str:
    return f"{value}\x00tail"


# Each: a change to an ordinary signed text that the store used to refuse or the webhook used to reject.
ODD_BUT_SIGNED = {
    "nul_in_body": {"Body": "before\x00after"},
    "huge_num_segments": {"NumSegments": "99999999999999999999"},
    "negative_num_segments": {"NumSegments": "-3"},
    "words_for_num_segments": {"NumSegments": "two"},
    "a_digit_python_reads_but_int_refuses": {"NumSegments": "\u00b2", "NumMedia": "\u00b2"},
    "words_for_num_media": {"NumMedia": "two"},
    "huge_num_media": {"NumMedia": "99999999999999999999"},
    "num_media_without_its_urls": {"NumMedia": "3", "MediaUrl0": "https://api.twilio.com/m/0"},
    "more_than_ten_media": {"NumMedia": "11", **{f"MediaUrl{n}": f"https://api.twilio.com/m/{n}" for n in range(11)}},
    "nul_in_a_cosmetic_field": {"FromCity": "SAN\x00FRANCISCO", "Nul\x00Name": "x"},
    "over_long_service_sid": {"MessagingServiceSid": "MG" + "c" * 200},
    "one_long_word_with_opt_out_type": {"Body": "a" * 300, "OptOutType": "STOP"},
    "to_a_number_not_configured": {"To": "+19998887777"},
}


@pytest.mark.parametrize("case", sorted(ODD_BUT_SIGNED))
def test_a_signed_text_with_an_odd_cosmetic_field_is_stored_with_its_raw_form(
    store: Engine, db_url: str, case: str
) -> None:
    params = inbound(JANE, "Is my hearing still on?", **ODD_BUT_SIGNED[case])
    with ServerThread(create_app(settings(MATTERLINE_DATABASE_URL=db_url), store)) as server:
        response = http_post(server, params)
    assert response.status_code == 200, response.text
    intake.drain(store, settings())
    row = message(store, params["MessageSid"])
    assert reception.original_raw(row.raw) == params
    assert row.thread_id is not None
    assert row.intake_error is None
    assert "\x00" not in row.body
    assert row.body == params["Body"].replace("\x00", "\ufffd")
    assert 1 <= row.num_segments <= 10
    urls = [params[f"MediaUrl{n}"] for n in range(20) if f"MediaUrl{n}" in params]
    assert ([m["url"] for m in row.media], row.num_media) == (urls, len(urls))


@pytest.mark.parametrize(
    ("field", "value"),
    [("From", "+1" + "4" * 60), ("From", with_nul(JANE)), ("To", with_nul(FIRM_NUMBER)), ("From", "   ")],
)
def test_a_sender_or_firm_number_that_cannot_be_an_address_is_400_naming_it(
    store: Engine, db_url: str, field: str, value: str
) -> None:
    params = inbound(JANE, **{field: value})
    with ServerThread(create_app(settings(MATTERLINE_DATABASE_URL=db_url), store)) as server:
        response = http_post(server, params)
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"field": field}
    assert "\x00" not in response.text
    assert JANE not in response.text
    assert count(store, messages) == 0


def test_stop_from_a_sender_longer_than_a_phone_number_opts_it_out(store: Engine, db_url: str) -> None:
    whatsapp = "whatsapp:+14155550123456789"
    with ServerThread(create_app(settings(MATTERLINE_DATABASE_URL=db_url), store)) as server:
        assert http_post(server, inbound(whatsapp, "STOP")).status_code == 200
    assert ledger(store, whatsapp) == [("opt_out", "keyword")]


def test_a_text_waits_out_another_process_holding_the_sqlite_write_lock(sqlite_engine: Engine) -> None:
    """A backup or a CLI command in another process holds the write lock for 8 s: the text is stored in
    Twilio's 15-second window instead of failing."""
    seed(sqlite_engine)
    path = str(sqlite_engine.url.database)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(8); c.execute('COMMIT')",
            path,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        params = inbound(JANE, "are you there?")
        app = create_app(settings(MATTERLINE_DATABASE_URL=f"sqlite:///{path}"), sqlite_engine)
        with ServerThread(app) as server:
            started = time.monotonic()
            response = http_post(server, params)
            waited = time.monotonic() - started
    finally:
        holder.wait(timeout=30)
    assert response.status_code == 200
    assert 5 < waited < 15
    assert count(sqlite_engine, messages, messages.c.sid == params["MessageSid"]) == 1


def test_a_status_callback_twilio_repeats_is_stored_once(client: FlaskClient, store: Engine) -> None:
    message_sid = sid()
    outbound_row(store, message_sid)
    failed = twilio_form("status__undelivered_30007", MessageSid=message_sid)
    for form in (failed, failed, twilio_form("status__sent", MessageSid=message_sid), failed):
        assert post(client, form, STATUS).status_code == 204
    delivered = twilio_form("status__delivered", MessageSid=message_sid)
    assert post(client, delivered, STATUS).status_code == 204
    assert post(client, delivered, STATUS).status_code == 204
    with store.connect() as conn:
        events = conn.execute(
            select(status_events.c.status, status_events.c.error_code)
            .where(status_events.c.sid == message_sid)
            .order_by(status_events.c.id)
        ).all()
    assert [tuple(e) for e in events] == [("undelivered", 30007), ("sent", None), ("delivered", None)]
    assert count(store, audit_log, audit_log.c.action == "delivery_failed") == 1
