"""`GET /metrics` after a demo-like run: the figures move as the firm's day did; only the admin's scraper reads them.

The run: a sync from the sandbox Clio, texts posted by Twilio (signed), the worker taking them in, a staff
reply sent through the Twilio stand-in, its delivery callback, the conversation window closed and written
to the CMS. Counters are process-wide (other tests move them too), so each is checked as a change between
a scrape before the run and one after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, func, select
from twilio.request_validator import RequestValidator

from connector import services
from connector.cms.connect import build_client
from connector.guardrails import consent
from connector.jobs import kinds
from connector.jobs.worker import Worker
from connector.sandbox import DEFAULT_TOKEN as CLIO_TOKEN
from connector.sandbox import SANDBOX_AUTH_TOKEN, ClioState, SandboxServer, TwilioServer, TwilioState, generate_firm
from connector.staff.sessions import open_session
from connector.staff.users import Actor
from connector.store.engine import utcnow
from connector.store.tables import writebacks
from connector.sync.syncer import Syncer
from connector.writeback.windows import close_due
from tests.support.firm import CLIO, FIRM_NUMBER, JANE, inbound_form, via_twilio
from tests.support.people import add_user
from webhooks import create_app

TOKEN = "scrape-token-0123456789abcdef"
CLIENT = "+19728971273"  # the sandbox firm's client with an open matter (generate_firm(3, 2, seed=4))
BODY = "Is the hearing still on Tuesday?"
REPLY = "Yes, 9am in courtroom 4."
SMS, STATUS = "/webhooks/twilio/sms", "/webhooks/twilio/status"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(web: FlaskClient, token: str = TOKEN) -> tuple[str, Samples]:
    response = web.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    found = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    return response.text, found


def post(web: FlaskClient, path: str, form: dict[str, str]) -> int:
    signature = RequestValidator(SANDBOX_AUTH_TOKEN).compute_signature(f"http://localhost{path}", form)
    return web.post(path, data=form, headers={"X-Twilio-Signature": signature}).status_code


@pytest.fixture
def twilio() -> Iterator[TwilioServer]:
    with TwilioServer(TwilioState(incoming_numbers=(FIRM_NUMBER,))) as server:
        yield server


@pytest.fixture
def clio() -> Iterator[SandboxServer]:
    with SandboxServer(ClioState(generate_firm(3, 2, seed=4))) as server:
        yield server


def test_a_scrape_after_a_day_of_texting_shows_what_moved(
    engine: Engine, twilio: TwilioServer, clio: SandboxServer
) -> None:
    settings = via_twilio(
        twilio,
        MATTERLINE_CMS_BASE_URL=clio.base_url,
        MATTERLINE_CMS_ACCESS_TOKEN=CLIO_TOKEN,
        MATTERLINE_METRICS_TOKEN=TOKEN,
        MATTERLINE_SUMMARY_REVIEW="false",
    )
    web = create_app(settings, engine).test_client()
    _, before = scrape(web)

    def moved(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    Syncer(engine, build_client(settings, CLIO, engine), CLIO, progress=False).run(full=True)
    text = inbound_form(CLIENT, BODY, To=FIRM_NUMBER)
    assert [post(web, SMS, text), post(web, SMS, text), post(web, SMS, inbound_form(CLIENT, "HELP"))] == [200] * 3
    _, stored = scrape(web)
    # The text, the HELP and the help reply kept beside it, all waiting for the worker's intake.
    assert stored[("matterline_intake_backlog", ())] == 3
    assert stored[("matterline_intake_oldest_seconds", ())] >= 0

    worker = Worker(engine, settings, lambda: build_client(settings, CLIO, engine))
    assert worker.round().taken_in == 3
    with engine.begin() as conn:
        consent.record(
            conn, CLIENT, action="grant", method="engagement_letter", captured_by="test", region="US", now=utcnow()
        )
    services.messages.send(engine, settings, to=CLIENT, body=REPLY, actor=Actor("avery"))
    _, queued = scrape(web)
    assert queued[("matterline_outbox_jobs", (("kind", kinds.SEND), ("state", "pending")))] == 1
    assert queued[("matterline_intake_backlog", ())] == 0

    assert worker.round().sends.sent == 1
    [sent] = [m for m in twilio.state.messages(to=CLIENT) if m["body"] == REPLY]
    delivered = {"MessageSid": sent["sid"], "MessageStatus": "delivered", "AccountSid": sent["account_sid"]}
    assert post(web, STATUS, delivered) == 204
    assert close_due(engine, settings, force=True)
    written = worker.round().writes.written
    with engine.connect() as conn:
        landed = conn.execute(
            select(func.count()).where(writebacks.c.state == "written", writebacks.c.window_id.is_not(None))
        ).scalar_one()
    assert written == landed >= 1
    user, _ = add_user(engine, name="Ada", email="ada@firm.example", role="staff")
    with engine.begin() as conn:
        open_session(conn, user.id, utcnow())

    scraped, after = scrape(web)
    assert moved("matterline_texts_received_total", result="stored") == 1
    assert moved("matterline_texts_received_total", result="duplicate") == 1
    assert moved("matterline_texts_received_total", result="help") == 1
    # The reply, and any auto-reply the firm's settings sent (after hours, say): each one Twilio took.
    assert moved("matterline_texts_sent_total", result="sent", twilio_code="") == len(twilio.state.messages()) >= 1
    assert moved("matterline_delivery_status_total", status="delivered", twilio_code="") == 1
    assert moved("matterline_http_requests_total", route=SMS, method="POST", status="200") == 3
    assert moved("matterline_http_requests_total", route=STATUS, method="POST", status="204") == 1
    assert moved("matterline_http_request_duration_seconds_count", route=SMS, method="POST") == 3
    assert moved("matterline_cms_requests_total", method="GET", status="200") >= 3  # a page per resource at least
    assert moved("matterline_cms_requests_total", method="POST", status="201") >= landed
    assert moved("matterline_writeback_lag_seconds_count") == landed
    assert moved("matterline_writeback_lag_seconds_bucket", le="+Inf") == landed
    for state in ("pending", "dead"):
        assert after[("matterline_outbox_jobs", (("kind", kinds.SEND), ("state", state)))] == 0
        assert after[("matterline_outbox_jobs", (("kind", kinds.WRITE), ("state", state)))] == 0
    assert after[("matterline_dead_letters", (("kind", kinds.WRITE),))] == 0
    assert after[("matterline_writeback_pending_oldest_seconds", ())] == 0
    for resource in ("clients", "matters"):
        assert 0 <= after[("matterline_sync_age_seconds", (("resource", resource),))] < 120
    assert after[("matterline_sessions", ())] == 1
    assert "matterline_cms_rate_limited_total" in scraped
    # Nothing about a client: no number in any form, no words of a text.
    for secret in (CLIENT, CLIENT.lstrip("+"), CLIENT[2:], JANE.lstrip("+"), BODY, REPLY, "hearing"):
        assert secret not in scraped


def app_with(engine: Engine, **env: str) -> Any:
    return create_app(via_twilio(**env), engine)


def test_metrics_are_off_until_the_admin_names_a_token_or_an_address(sqlite_engine: Engine) -> None:
    response = app_with(sqlite_engine).test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 404
    assert "matterline_" not in response.text


def test_only_the_token_or_an_allowed_address_reads_the_metrics(sqlite_engine: Engine) -> None:
    web = app_with(sqlite_engine, MATTERLINE_METRICS_TOKEN=TOKEN, MATTERLINE_METRICS_ALLOW="10.0.0.0/24").test_client()
    bare = web.get("/metrics")
    assert (bare.status_code, bare.headers["WWW-Authenticate"]) == (401, "Bearer")
    assert bare.json is not None
    assert bare.json["error"]["code"] == "unauthorized"
    wrong = web.get("/metrics", headers={"Authorization": "Bearer not-the-token-at-all"})
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    assert TOKEN not in wrong.text
    right = web.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 200
    assert right.mimetype == "text/plain"
    assert right.headers["Cache-Control"] == "no-store"
    assert "# TYPE matterline_outbox_jobs gauge" in right.text
    from_scraper = web.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert from_scraper.status_code == 200
    assert web.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.1.7"}).status_code == 401


def test_behind_a_proxy_the_scrapers_address_counts_not_the_proxys(sqlite_engine: Engine) -> None:
    web = app_with(sqlite_engine, MATTERLINE_METRICS_ALLOW="10.0.0.7/32", MATTERLINE_PROXY_HOPS="1").test_client()
    via_proxy = {"REMOTE_ADDR": "127.0.0.1"}
    assert web.get("/metrics", environ_base=via_proxy, headers={"X-Forwarded-For": "10.0.0.7"}).status_code == 200
    assert web.get("/metrics", environ_base=via_proxy, headers={"X-Forwarded-For": "10.9.9.9"}).status_code == 401
