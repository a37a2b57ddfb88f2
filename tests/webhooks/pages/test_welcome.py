"""A person opens the one-time link an admin sent, sets a password and lands in the inbox signed in; a used,
expired or unknown link says one plain sentence; a reset ends the person's sessions elsewhere."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine

from connector import services
from connector.services.invites import LINK_REFUSED
from connector.staff.users import Actor
from connector.store.engine import utcnow
from tests.support.browser import DESKTOP, PHONE, assert_accessible, live_server
from tests.support.inbox import audit_rows

ADMIN = Actor("operator:root")
OLD = "correct horse battery"
NEW = "a brand new passphrase"


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[str]:
    services.users.add(sqlite_engine, name="Avery Counsel", email="avery@firm.example", role="admin", actor=ADMIN)
    services.users.add(sqlite_engine, name="Pat Paralegal", email="pat@firm.example", role="staff", actor=ADMIN)
    services.users.add(
        sqlite_engine, name="Sam Staff", email="sam@firm.example", role="staff", actor=ADMIN, password=OLD
    )
    with live_server(sqlite_engine, secret_key="a test secret key, long enough") as url:
        yield url


def sign_in(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def set_password(page: Page, password: str = NEW, again: str | None = None) -> None:
    page.get_by_label("New password").fill(password)
    page.get_by_label("Type it again").fill(password if again is None else again)
    page.get_by_role("button", name="Set password and sign in").click()


def test_an_invited_person_sets_a_password_and_lands_in_the_inbox_signed_in(
    page: Page, site: str, sqlite_engine: Engine
) -> None:
    link = site + services.invites.issue_link(sqlite_engine, "pat@firm.example", "invite", actor=ADMIN).path
    answer = page.goto(link)
    assert answer is not None
    assert answer.headers["cache-control"] == "no-store"
    expect(page.get_by_role("heading", name="Set your password")).to_be_visible()
    expect(page).to_have_title("Set your password · Matterline")
    expect(page.get_by_label("Email")).to_have_value("pat@firm.example")
    assert page.locator('meta[name="referrer"]').get_attribute("content") == "no-referrer"
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        set_password(page)
    assert posted.value.status == 303
    assert posted.value.headers["location"].endswith("/inbox")
    expect(page).to_have_url(site + "/inbox")
    expect(page.get_by_text("Signed in as Pat Paralegal")).to_be_visible()
    assert [row.details["method"] for row in audit_rows(sqlite_engine, "login")] == ["invite"]

    page.goto(link)  # the same link again: spent
    expect(page.get_by_role("heading", name="This link cannot be used")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text(LINK_REFUSED)
    page.goto(site + "/signin")
    expect(page).to_have_url(site + "/inbox")  # still signed in from the link


def test_an_expired_or_unknown_link_says_the_same_plain_sentence(page: Page, site: str, sqlite_engine: Engine) -> None:
    then = utcnow() - timedelta(days=7, minutes=1)
    expired = services.invites.issue_link(sqlite_engine, "pat@firm.example", "invite", actor=ADMIN, now=then)
    for path in (expired.path, "/welcome/not-a-token"):
        answer = page.goto(site + path)
        assert answer is not None
        assert answer.status == 410
        expect(page.get_by_role("alert")).to_have_text(LINK_REFUSED)
        expect(page.get_by_label("New password")).to_have_count(0)
    page.get_by_role("link", name="Go to sign in").click()
    expect(page).to_have_url(re.compile(r"/signin$"))


def test_two_different_passwords_or_a_short_one_are_said_plainly_and_the_link_stays_usable(
    page: Page, site: str, sqlite_engine: Engine
) -> None:
    link = site + services.invites.issue_link(sqlite_engine, "pat@firm.example", "invite", actor=ADMIN).path
    page.goto(link)
    set_password(page, NEW, "a different passphrase")
    expect(page.get_by_role("alert")).to_have_text(re.compile("The two passwords are not the same"))
    page.get_by_label("New password").evaluate("field => field.removeAttribute('minlength')")
    page.get_by_label("Type it again").evaluate("field => field.removeAttribute('minlength')")
    set_password(page, "short")
    expect(page.get_by_role("alert")).to_have_text("the password must be at least 12 characters")
    set_password(page)
    expect(page).to_have_url(site + "/inbox")


def test_a_reset_ends_the_persons_session_in_another_browser(
    page: Page, browser: Browser, site: str, sqlite_engine: Engine
) -> None:
    page.goto(site + "/signin")
    sign_in(page, "sam@firm.example", OLD)
    expect(page.get_by_text("Signed in as Sam Staff")).to_be_visible()
    elsewhere = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    try:
        other = elsewhere.new_page()
        other.goto(site + services.invites.issue_link(sqlite_engine, "sam@firm.example", "reset", actor=ADMIN).path)
        set_password(other)
        expect(other.get_by_text("Signed in as Sam Staff")).to_be_visible()
    finally:
        elsewhere.close()
    page.reload()
    expect(page).to_have_url(re.compile(r"/signin\?next="))  # the old password's session has ended


def test_a_disabled_person_cannot_use_their_link(page: Page, site: str, sqlite_engine: Engine) -> None:
    link = site + services.invites.issue_link(sqlite_engine, "pat@firm.example", "invite", actor=ADMIN).path
    page.goto(link)
    services.users.disable(sqlite_engine, "pat@firm.example", actor=ADMIN)
    set_password(page)
    expect(page.get_by_role("alert")).to_have_text(LINK_REFUSED)
    assert audit_rows(sqlite_engine, "login") == []


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_welcome_pages_are_accessible(page: Page, site: str, sqlite_engine: Engine, size: dict[str, int]) -> None:
    page.set_viewport_size(size)  # type: ignore[arg-type]
    page.goto(site + services.invites.issue_link(sqlite_engine, "pat@firm.example", "invite", actor=ADMIN).path)
    assert_accessible(page)
    set_password(page, NEW, "a different passphrase")
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page)
    page.goto(site + "/welcome/not-a-token")
    assert_accessible(page)
