"""The connection page, with the sandbox CMS served for real: the check (ok, invalid_auth, cannot_connect),
tokens without their values, webhook renewal, "Sync now" run by the worker with its progress shown, the
unreadable phone numbers, and the URLs Twilio must call."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select

from connector import services
from connector.cms.connect import build_client
from connector.compliance import audit
from connector.jobs import kinds
from connector.jobs import outbox as jobs
from connector.jobs.worker import Worker
from connector.sandbox import (
    DEFAULT_TOKEN,
    SANDBOX_ACCOUNT_SID,
    SANDBOX_AUTH_TOKEN,
    ClioState,
    SandboxServer,
    TwilioServer,
    TwilioState,
    generate_firm,
)
from connector.store.tables import audit_log, outbox
from mappings import load_mapping
from tests.support.admin_site import ADMIN, admin_site, sign_in_as
from tests.support.browser import assert_accessible
from tests.support.firm import FIRM_NUMBER, PUBLIC_URL, seed, settings
from tests.support.thread_site import OPERATOR, PASSWORD, SECRET, Site
from webhooks import create_app
from webhooks.server import ServerThread


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    """This page's browser tests run on SQLite; the services and queries behind it are tested on both stores."""
    return sqlite_engine


CLIO = load_mapping("clio")
WRONG = "a-wrong-cms-token-0123456789"
UNREADABLE = "ask the front desk"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    firm = generate_firm(12, 6)
    firm.contacts[0]["phone_numbers"][0]["number"] = UNREADABLE
    state = ClioState(firm)
    state.set_rate_limit(500)
    with SandboxServer(state) as server:
        yield server


@contextmanager
def connection_site(engine: Engine, **env: str) -> Iterator[Site]:
    """The firm served for real with a public URL and the CMS settings `env`; Ada is its admin.

    (`admin_site` has no public URL: its texts come in signed for the test server's own address.)
    """
    seed(engine)
    ada = services.users.add(
        engine, name="Ada Admin", email=f"{ADMIN}@firm.example", role="admin", actor=OPERATOR, password=PASSWORD
    ).user
    with TwilioServer(TwilioState(incoming_numbers=(FIRM_NUMBER,))) as twilio:
        firm = settings(
            MATTERLINE_SECRET_KEY=SECRET,
            TWILIO_ACCOUNT_SID=SANDBOX_ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=SANDBOX_AUTH_TOKEN,
            MATTERLINE_TWILIO_API_URL=twilio.origin,
            **env,
        )
        with ServerThread(create_app(firm, engine)) as server:
            yield Site(server.url, engine, twilio, firm, {ADMIN: ada})


def cms_env(sandbox: SandboxServer, token: str = DEFAULT_TOKEN) -> dict[str, str]:
    return {"MATTERLINE_CMS_BASE_URL": sandbox.base_url, "MATTERLINE_CMS_ACCESS_TOKEN": token}


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v4"


def check(page: Page) -> None:
    page.get_by_role("button", name="Check the connection").click()
    expect(page.get_by_role("status").filter(has_text="The connection was checked")).to_be_visible()


def no_secret_in(page: Page, *secrets: str) -> None:
    html = page.content()
    for secret in (SECRET, SANDBOX_AUTH_TOKEN, *secrets):
        assert secret not in html


def test_the_check_is_ok_against_the_sandbox_and_no_token_is_shown(
    page: Page, engine: Engine, sandbox: SandboxServer
) -> None:
    with connection_site(engine, **cms_env(sandbox)) as site:
        sign_in_as(page, site, then="/admin/connection")
        expect(page.get_by_role("heading", name="Connection", level=1)).to_be_visible()
        checks = page.get_by_role("region", name="CMS check")
        expect(checks.get_by_text("The connection has not been checked from this page yet.")).to_be_visible()
        assert_accessible(page)
        check(page)
        expect(checks.get_by_text("Connected")).to_be_visible()
        expect(checks.get_by_text("(ok)")).to_be_visible()
        expect(checks).to_contain_text("by " + site.people[ADMIN].actor)
        credentials = checks.get_by_role("table", name="CMS credentials and stored tokens")
        row = credentials.get_by_role("row").filter(has_text="MATTERLINE_CMS_ACCESS_TOKEN")
        expect(row.get_by_role("cell")).to_have_text("set")
        expect(credentials.get_by_role("row").filter(has_text="How Matterline signs in")).to_contain_text(
            "A fixed access token"
        )
        limits = page.get_by_role("region", name="Rate limit and queue pause")
        expect(limits).to_contain_text(re.compile(r"\d+ of 500 requests left"))
        no_secret_in(page, DEFAULT_TOKEN)
        assert_accessible(page)
        with engine.connect() as conn:
            who = conn.execute(
                select(audit_log.c.actor).where(audit_log.c.action == str(audit.Action.CMS_CHECK))
            ).scalar_one()
        assert who == site.people[ADMIN].actor


def test_a_wrong_token_is_invalid_auth(page: Page, engine: Engine, sandbox: SandboxServer) -> None:
    with connection_site(engine, **cms_env(sandbox, WRONG)) as site:
        sign_in_as(page, site, then="/admin/connection")
        check(page)
        checks = page.get_by_role("region", name="CMS check")
        expect(checks.get_by_text("The CMS refused the credentials")).to_be_visible()
        expect(checks.get_by_text("(invalid_auth)")).to_be_visible()
        no_secret_in(page, WRONG)
        assert_accessible(page)


def test_a_closed_port_is_cannot_connect_with_the_reason(page: Page, engine: Engine) -> None:
    url = closed_port_url()
    with connection_site(engine, MATTERLINE_CMS_BASE_URL=url, MATTERLINE_CMS_ACCESS_TOKEN=DEFAULT_TOKEN) as site:
        sign_in_as(page, site, then="/admin/connection")
        check(page)
        checks = page.get_by_role("region", name="CMS check")
        expect(checks.get_by_text("Cannot connect to the CMS")).to_be_visible()
        expect(checks).to_contain_text("users/who_am_i.json: connection failed")
        no_secret_in(page, DEFAULT_TOKEN)
        assert_accessible(page)


def test_renew_creates_the_subscriptions_and_shows_their_expiry(
    page: Page, engine: Engine, sandbox: SandboxServer
) -> None:
    with connection_site(engine, **cms_env(sandbox)) as site:
        sign_in_as(page, site, then="/admin/connection")
        hooks = page.get_by_role("region", name="CMS webhook subscriptions")
        expect(hooks.get_by_role("row").filter(has_text="contact")).to_contain_text("not subscribed")
        page.get_by_role("button", name="Renew now").click()
        expect(page.get_by_role("status").filter(has_text="subscriptions were renewed")).to_be_visible()
        assert sandbox.state.count("webhooks") == 3
        expiry = sandbox.state.find("webhooks", lambda h: h["model"] == "contact")[0]["expires_at"]
        for model in ("contact", "matter", "calendar_entry"):
            row = hooks.get_by_role("row").filter(has=page.get_by_role("rowheader", name=model, exact=True))
            expect(row).to_contain_text("pending")
            expect(row).to_contain_text(re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"))
        assert str(expiry)[:4] in hooks.inner_text()
        no_secret_in(page, DEFAULT_TOKEN)
        assert_accessible(page)


def test_without_a_public_url_renewing_and_the_twilio_urls_say_it_must_be_set(
    page: Page, engine: Engine, sandbox: SandboxServer
) -> None:
    with admin_site(engine, **cms_env(sandbox)) as site:
        sign_in_as(page, site, then="/admin/connection")
        hooks = page.get_by_role("region", name="CMS webhook subscriptions")
        expect(hooks).to_contain_text("Renewing needs MATTERLINE_PUBLIC_URL")
        expect(hooks.get_by_role("button", name="Renew now")).to_have_count(0)
        twilio = page.get_by_role("region", name="Twilio")
        expect(twilio).to_contain_text("MATTERLINE_PUBLIC_URL is not set. It must be set")
        assert_accessible(page)
        # A post made anyway is refused in words, and nothing is created.
        token = page.locator('meta[name="csrf-token"]').get_attribute("content")
        assert token
        answer = page.request.post(site.url + "/admin/connection/renew", form={"csrf_token": token}, max_redirects=0)
        assert answer.status == 422
        assert "MATTERLINE_PUBLIC_URL is not set" in answer.text()
        assert sandbox.state.count("webhooks") == 0


def test_sync_now_is_queued_run_by_the_worker_and_shown_done_with_counts(
    page: Page, engine: Engine, sandbox: SandboxServer
) -> None:
    with connection_site(engine, **cms_env(sandbox)) as site:
        sign_in_as(page, site, then="/admin/connection")
        sync = page.get_by_role("region", name="Sync")
        expect(sync.get_by_text("Every synced phone number could be read.")).to_be_visible()
        assert_accessible(page)
        sync.get_by_role("button", name="Sync now").click()
        expect(page.get_by_role("status").filter(has_text="A sync was queued")).to_be_visible()
        progress = page.locator("#sync-progress")
        expect(progress).to_contain_text("queued")
        assert_accessible(page)
        with engine.connect() as conn:
            job = conn.execute(select(outbox.c.state, outbox.c.payload).where(outbox.c.kind == kinds.SYNC)).one()
        assert job.state == "pending"
        assert job.payload["requested_by"] == site.people[ADMIN].actor
        # Asked again while queued: refused in words, still one job.
        sync.get_by_role("button", name="Sync now").click()
        expect(page.get_by_role("alert").filter(has_text="already queued or running")).to_be_visible()
        assert_accessible(page)

        worker = Worker(engine, site.settings, lambda: build_client(site.settings, CLIO, engine))
        result = worker.round()
        assert kinds.SYNC in result.jobs, result.errors
        assert result.jobs[kinds.SYNC].done == 1, result.errors

        # The page's 2 s poll picks the outcome up without a reload.
        expect(progress).to_contain_text(re.compile(r"done: \d+ fetched"), timeout=10_000)
        clients = sync.get_by_role("row").filter(has=page.get_by_role("rowheader", name="clients", exact=True))
        expect(clients.get_by_role("cell").nth(1)).to_have_text("12")
        phones = sync.get_by_role("table", name="Unreadable phone numbers")
        expect(phones.get_by_role("cell", name=UNREADABLE)).to_be_visible()
        no_secret_in(page, DEFAULT_TOKEN)
        assert_accessible(page)
        page.goto(site.url + "/admin/connection")  # not a reload: the page on screen answered a POST
        expect(page.locator("#sync-progress")).to_contain_text(re.compile(r"done: \d+ fetched"))
        assert_accessible(page)


def test_the_twilio_section_shows_the_numbers_the_account_and_the_urls_to_paste(page: Page, engine: Engine) -> None:
    with connection_site(engine) as site:
        sign_in_as(page, site, then="/admin/connection")
        twilio = page.get_by_role("region", name="Twilio")
        expect(twilio.get_by_role("row").filter(has_text="Firm numbers")).to_contain_text(FIRM_NUMBER)
        expect(twilio.get_by_role("row").filter(has_text="Account SID")).to_contain_text(SANDBOX_ACCOUNT_SID)
        expect(twilio.get_by_role("row").filter(has_text="Auth token").get_by_role("cell")).to_have_text("set")
        urls = twilio.get_by_role("table", name="Webhook URLs")
        expect(urls).to_contain_text(PUBLIC_URL + "/webhooks/twilio/sms")
        expect(urls).to_contain_text(PUBLIC_URL + "/webhooks/twilio/status")
        expect(urls).to_contain_text(PUBLIC_URL + "/webhooks/cms/clio")
        # No CMS credentials at all: said plainly.
        expect(page.get_by_text("No credentials configured")).to_be_visible()
        no_secret_in(page)
        assert_accessible(page)


def test_a_write_queue_paused_by_refused_credentials_says_since_when_why_and_how_to_resume(
    page: Page, engine: Engine
) -> None:
    with connection_site(engine) as site:
        with engine.begin() as conn:
            jobs.enqueue(conn, kinds.WRITE, kinds.write_key(1), {"writeback_id": 1})
        for job in jobs.lease(engine, "w", kinds=(kinds.WRITE,)):
            with engine.begin() as conn:
                reason = "paused: invalid_auth: POST /api/v4/communications.json: HTTP 401: refused"
                jobs.defer(conn, job, "w", reason, delay=timedelta(minutes=5))
        sign_in_as(page, site, then="/admin/connection")
        limits = page.get_by_role("region", name="Rate limit and queue pause")
        pause = limits.get_by_role("alert")
        expect(pause).to_contain_text("Write-back to the CMS is paused: 1 job waiting since")
        expect(pause).to_contain_text("Why: invalid_auth: POST /api/v4/communications.json")
        expect(pause).to_contain_text("To resume: fix the CMS credentials")
        expect(limits).to_contain_text("No rate-limit window recorded yet")
        assert_accessible(page)
