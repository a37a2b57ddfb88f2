"""The live header in a real browser: the unread badge and the tab title follow new texts within one poll,
the poll stops while the tab is hidden, and the list of keys opens with `?`."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, Request, expect
from sqlalchemy import Engine

from connector import services
from connector.staff.users import Actor
from tests.support.browser import Console, live_server
from tests.support.inbox import stranger, text_in

ADMIN = Actor("operator:root")
PASSWORD = "correct horse battery"
POLL_MS = 5_000


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[str]:
    services.users.add(
        sqlite_engine, name="Pat Paralegal", email="pat@firm.example", role="staff", actor=ADMIN, password=PASSWORD
    )
    with live_server(sqlite_engine, secret_key="a test secret key, long enough") as url:
        yield url


def _signed_in(page: Page, site: str) -> None:
    page.clock.install()
    page.goto(site + "/signin")
    page.get_by_label("Email").fill("pat@firm.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(site + "/inbox")
    page.wait_for_load_state("load")  # the page's scripts have run: htmx is listening


def test_the_badge_and_the_title_rise_within_one_poll(
    page: Page, site: str, sqlite_engine: Engine, console: Console
) -> None:
    text_in(sqlite_engine, stranger(1), "first")
    _signed_in(page, site)
    badge = page.get_by_role("link", name="1 unread text", exact=True)
    expect(badge).to_have_text("1")
    expect(page).to_have_title("(1) Inbox · Matterline")

    text_in(sqlite_engine, stranger(2), "second")
    text_in(sqlite_engine, stranger(2), "third")
    page.clock.run_for(POLL_MS)
    expect(page.get_by_role("link", name="3 unread texts", exact=True)).to_have_text("3")
    expect(page).to_have_title("(3) Inbox · Matterline")
    assert console.csp_violations() == []


def test_a_hidden_tab_does_not_poll_and_catches_up_when_shown(page: Page, site: str, sqlite_engine: Engine) -> None:
    _signed_in(page, site)
    polls: list[str] = []

    def count(request: Request) -> None:
        if request.headers.get("x-matterline-poll") == "1":
            polls.append(request.url)

    page.on("request", count)
    page.clock.run_for(POLL_MS)
    page.wait_for_timeout(200)
    assert len(polls) == 1

    page.evaluate(
        "() => { Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});"
        " document.dispatchEvent(new Event('visibilitychange')); }"
    )
    text_in(sqlite_engine, stranger(1), "while away")
    page.clock.run_for(POLL_MS * 4)
    page.wait_for_timeout(200)
    assert len(polls) == 1  # hidden: four ticks, no request
    expect(page.get_by_role("link", name="0 unread texts")).to_be_visible()

    page.evaluate(
        "() => { Object.defineProperty(document, 'visibilityState', {value: 'visible', configurable: true});"
        " document.dispatchEvent(new Event('visibilitychange')); }"
    )
    expect(page.get_by_role("link", name="1 unread text", exact=True)).to_be_visible()  # at once, not at the next tick
    assert len(polls) == 2


def test_question_mark_opens_the_list_of_keys_and_escape_closes_it(page: Page, site: str) -> None:
    _signed_in(page, site)
    page.keyboard.press("?")
    keys = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(keys).to_be_visible()
    expect(keys.get_by_text("Next thread")).to_be_visible()
    page.keyboard.press("Escape")
    expect(keys).to_be_hidden()
    page.get_by_role("button", name="Keys").click()
    expect(keys).to_be_visible()


def test_signing_out_elsewhere_sends_the_open_tab_to_sign_in_at_its_next_poll(
    page: Page, site: str, sqlite_engine: Engine
) -> None:
    _signed_in(page, site)
    services.users.disable(sqlite_engine, "pat@firm.example", actor=ADMIN)
    page.clock.run_for(POLL_MS)
    expect(page).to_have_url(re.compile(r"/signin\?next=(%2F|/)inbox$"))
