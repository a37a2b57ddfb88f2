"""Each request one log line under the id it answers with, each worker job one line: no body, number or secret.

The app and the worker log into a captured JSON handler installed by `logs.configure`, as in production; the
captured text is then searched for the inbound text's words, the client's number in every form Twilio or a URL
writes it, and every secret the settings hold.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from connector import logs, services
from connector.jobs.worker import Worker
from connector.messaging import intake
from connector.sandbox import TwilioServer, TwilioState
from connector.staff.users import Actor
from tests.support.firm import FIRM_NUMBER, JANE, TWILIO_TOKEN, inbound_form, seed, settings, signed, via_twilio
from tests.support.people import add_user
from tests.webhooks.api.harness import thread_id_of
from webhooks import create_app

SMS = "/webhooks/twilio/sms"
WORD = "Marmalade-Quokka-3318"
SECRET_KEY = "Kumquat-Sextant-5519-secret"
METRICS_TOKEN = "Pangolin-Metrics-7731-token"
ENV = {
    "MATTERLINE_SECRET_KEY": SECRET_KEY,
    "MATTERLINE_METRICS_TOKEN": METRICS_TOKEN,
    "MATTERLINE_LOG_FORMAT": "json",
    "MATTERLINE_LOG_LEVEL": "DEBUG",
}
# The client's number as Twilio posts it, URL-encoded, and bare; the firm's too.
NUMBERS = [n for phone in (JANE, FIRM_NUMBER) for n in (phone, phone.replace("+", "%2B"), phone.lstrip("+"))]


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    level = logging.getLogger("matterline").level
    handler = logs.configure(settings(**ENV), stream=stream)
    yield stream
    logging.getLogger().removeHandler(handler)
    logging.getLogger("matterline").setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def assert_clean(text: str) -> None:
    for leaked in [WORD, *NUMBERS, TWILIO_TOKEN, SECRET_KEY, METRICS_TOKEN]:
        assert leaked not in text


def test_each_request_is_one_line_with_its_rule_status_and_the_id_it_answered_with(
    engine: Engine, captured: io.StringIO
) -> None:
    seed(engine)
    app = create_app(settings(**ENV), engine)
    client = app.test_client()
    _, token = add_user(engine, name="Avery", email="avery@firm.example", role="admin")
    params = inbound_form(JANE, f"{WORD} call me back at {JANE} or 415-867-5309")
    texted = client.post(SMS, data=params, headers={**signed(SMS, params), "X-Request-Id": "proxy-given.id_1"})
    intake.drain(engine, settings(**ENV))
    thread = thread_id_of(engine, JANE)
    read = client.get(f"/api/threads/{thread}/messages?before=987654321", headers={"Authorization": f"Bearer {token}"})
    missing = client.get("/api/threads/999999999/nowhere", headers={"X-Request-Id": "bad id!"})
    probe = client.get("/healthz")

    assert texted.status_code == 200
    assert texted.headers["X-Request-Id"] == "proxy-given.id_1"
    assert read.status_code == 200
    assert WORD in read.get_data(as_text=True)  # the body was served, and still is in no log line
    assert missing.status_code == 404
    assert missing.headers["X-Request-Id"] != "bad id!"
    requests = [line for line in lines(captured) if line.get("event") == "request"]
    assert [(r["method"], r["route"], r["status"], r["request_id"], r["level"]) for r in requests] == [
        ("POST", SMS, 200, "proxy-given.id_1", "info"),
        ("GET", "/api/threads/<int:thread_id>/messages", 200, read.headers["X-Request-Id"], "info"),
        ("GET", "unmatched", 404, missing.headers["X-Request-Id"], "info"),
        ("GET", "/healthz", 200, probe.headers["X-Request-Id"], "debug"),
    ]
    assert all(isinstance(r["ms"], float) for r in requests)
    assert len({r["request_id"] for r in requests}) == 4
    assert_clean(captured.getvalue())
    for raw in ("987654321", "999999999", "nowhere", "before="):  # neither a path nor a query string
        assert raw not in captured.getvalue()


def test_a_worker_round_logs_one_line_per_job_and_one_for_the_round(engine: Engine, captured: io.StringIO) -> None:
    seed(engine)
    with TwilioServer(TwilioState(incoming_numbers=(FIRM_NUMBER,))) as twilio:
        firm = via_twilio(twilio, **ENV)
        services.messages.send(engine, firm, to=JANE, body=f"{WORD} see you at 9", actor=Actor("avery"))
        worker = Worker(engine, firm, lambda: pytest.fail("no CMS in this test"))
        assert worker.round().sends.sent == 1
        assert len(twilio.state.messages(to=JANE)) == 1
        idle = worker.round()

    assert idle.sends.sent == 0
    logged = lines(captured)
    jobs = [line for line in logged if line.get("event") == "job"]
    assert [(j["kind"], j["outcome"], j["attempt"], j["level"]) for j in jobs] == [("sms_send", "sent", 1, "info")]
    assert jobs[0]["job_id"].isdigit()
    rounds = [line for line in logged if line.get("event") == "worker.round"]
    assert [(r["level"], r.get("sms_send.sent")) for r in rounds] == [("info", 1), ("debug", None)]
    assert "job_id" not in rounds[0]
    assert_clean(captured.getvalue())
