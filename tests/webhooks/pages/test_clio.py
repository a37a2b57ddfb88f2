"""Sign in with Clio in a real browser against the sandbox CMS over HTTP: linking a Clio account after a
password sign-in, then signing in with it; a Clio user nobody linked refused; the pages axe-checked."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from connector import services
from connector.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ClioState, SandboxServer, generate_firm
from connector.settings import Settings
from connector.staff.users import Actor
from tests.support.browser import DESKTOP, PHONE, assert_accessible
from tests.support.inbox import audit_rows
from webhooks import create_app
from webhooks.server import ServerThread
from webhooks.state import EXTENSION_KEY

ADMIN = Actor("operator:root")
PASSWORD = "correct horse battery"
SECRET = "a test secret key, long enough"


class Clock:
    """The sandbox CMS's clock, so a test can let a nonce expire."""

    def __init__(self) -> None:
        self.shift = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift


@dataclass
class Site:
    url: str
    cms: ClioState
    clock: Clock


@contextmanager
def clio_site(engine: Engine) -> Iterator[Site]:
    """The app (waitress) with sign-in with Clio pointed at a sandbox CMS served over HTTP."""
    clock = Clock()
    state = ClioState(generate_firm(12, 8, seed=11), clock=clock)
    with SandboxServer(state) as cms:
        settings = Settings(
            database_url=str(engine.url),
            secret_key=SECRET,
            cms_base_url=cms.base_url,
            cms_client_id=DEFAULT_CLIENT_ID,
            cms_client_secret=DEFAULT_CLIENT_SECRET,
            public_url="http://127.0.0.1",
        )
        app = create_app(settings, engine)
        with ServerThread(app) as server:
            # The redirect URI and the buttons' target name the port the server got.
            held = app.extensions[EXTENSION_KEY]
            app.extensions[EXTENSION_KEY] = dataclasses.replace(
                held, settings=dataclasses.replace(settings, public_url=server.url)
            )
            state.redirect_uris = {server.url + "/signin/clio/callback"}
            yield Site(server.url, state, clock)


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[Site]:
    services.users.add(
        sqlite_engine, name="Pat Paralegal", email="pat@firm.example", role="staff", actor=ADMIN, password=PASSWORD
    )
    with clio_site(sqlite_engine) as running:
        yield running


def sign_in(page: Page) -> None:
    page.get_by_label("Email").fill("pat@firm.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def link_clio(page: Page, site: Site, clio_user: int) -> None:
    """Pat signs in with the password and links Clio user `clio_user` from the account page."""
    site.cms.browser_user = clio_user
    page.goto(site.url + "/signin?next=/account/clio")
    sign_in(page)
    expect(page.get_by_role("heading", name="Your Clio account")).to_be_visible()
    page.get_by_role("button", name="Link Clio account").click()
    expect(page).to_have_url(site.url + "/account/clio")
    expect(page.get_by_text("Your Clio account is linked")).to_be_visible()


def test_a_linked_person_signs_in_with_clio_and_gets_their_buttons(
    page: Page, site: Site, sqlite_engine: Engine
) -> None:
    clio_user = site.cms.ids("users")[3]
    link_clio(page, site, clio_user)
    assert [row.details["cms_user_id"] for row in audit_rows(sqlite_engine, "cms_linked")] == [str(clio_user)]
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in with Clio").click()
    expect(page).to_have_url(site.url + "/inbox")
    expect(page.get_by_text("Signed in as Pat Paralegal")).to_be_visible()
    logins = audit_rows(sqlite_engine, "login")
    assert [row.details["method"] for row in logins] == ["password", "clio"]
    buttons = site.cms.custom_actions_of(clio_user)
    assert sorted(b["ui_reference"] for b in buttons) == ["contacts/show", "matters/show"]
    assert {b["target_url"] for b in buttons} == {site.url + "/cms/clio/action"}
    assert not [c for c in page.context.cookies() if c["name"] == "matterline_clio_state"]


def test_a_clio_user_nobody_linked_is_refused_and_gets_no_session(
    page: Page, site: Site, sqlite_engine: Engine
) -> None:
    site.cms.browser_user = site.cms.ids("users")[5]
    page.goto(site.url + "/signin")
    page.get_by_role("button", name="Sign in with Clio").click()
    expect(page.get_by_role("alert")).to_have_text("This Clio account is not linked to anyone in Matterline.")
    assert not [c for c in page.context.cookies() if c["name"] == "matterline_session"]
    [failure] = audit_rows(sqlite_engine, "login_failed")
    assert failure.details["reason"] == "unknown_cms_user"
    page.goto(site.url + "/inbox")
    expect(page).to_have_url(re.compile(r"/signin\?next="))


def test_a_replayed_callback_is_refused(page: Page, site: Site, sqlite_engine: Engine) -> None:
    clio_user = site.cms.ids("users")[3]
    link_clio(page, site, clio_user)
    page.get_by_role("button", name="Sign out").click()
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if "/signin/clio/callback" in r.url else None)
    page.get_by_role("button", name="Sign in with Clio").click()
    expect(page).to_have_url(site.url + "/inbox")
    page.get_by_role("button", name="Sign out").click()
    page.goto(seen[-1])  # the same state and code again
    expect(page.get_by_role("alert")).to_have_text("This sign-in link has expired. Start again.")
    assert [row.details["method"] for row in audit_rows(sqlite_engine, "login")] == ["password", "clio"]


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_clio_pages_are_accessible(page: Page, site: Site, size: dict[str, int]) -> None:
    page.set_viewport_size(size)  # type: ignore[arg-type]
    page.goto(site.url + "/signin")
    expect(page.get_by_role("button", name="Sign in with Clio")).to_be_visible()
    assert_accessible(page)
    site.cms.browser_user = site.cms.ids("users")[5]
    page.get_by_role("button", name="Sign in with Clio").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page)
    page.goto(site.url + "/signin")
    sign_in(page)
    page.goto(site.url + "/account/clio")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_accessible(page)
