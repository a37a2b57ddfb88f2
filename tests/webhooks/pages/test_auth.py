"""Staff sign in and out in a real browser: the form, its one answer for every failure, the throttle, where
it sends them afterwards, a disabled person's session ending, and a form posted without its CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from connector import services
from connector.settings import Settings
from connector.staff.users import Actor
from tests.support.browser import DESKTOP, PHONE, assert_accessible, live_server
from tests.support.inbox import audit_rows
from webhooks import create_app

ADMIN = Actor("operator:root")
PASSWORD = "correct horse battery"


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[str]:
    services.users.add(sqlite_engine, name="Avery Counsel", email="avery@firm.example", role="admin", actor=ADMIN)
    services.users.add(
        sqlite_engine, name="Pat Paralegal", email="pat@firm.example", role="staff", actor=ADMIN, password=PASSWORD
    )
    with live_server(sqlite_engine, secret_key="a test secret key, long enough") as url:
        yield url


def sign_in(page: Page, email: str = "pat@firm.example", password: str = PASSWORD) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_person_signs_in_lands_on_the_inbox_and_signs_out(page: Page, site: str, sqlite_engine: Engine) -> None:
    page.goto(site + "/inbox")
    expect(page).to_have_url(re.compile(r"/signin\?next=(%2F|/)inbox$"))
    sign_in(page)
    expect(page).to_have_url(site + "/inbox")
    expect(page.get_by_text("Signed in as Pat Paralegal")).to_be_visible()
    [cookie] = [c for c in page.context.cookies() if c["name"] == "matterline_session"]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["secure"]) == (True, "Lax", False)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/signin$"))
    page.goto(site + "/inbox")
    expect(page).to_have_url(re.compile(r"/signin\?next="))
    assert [row.action for row in audit_rows(sqlite_engine, "login")] == ["login"]
    assert [row.action for row in audit_rows(sqlite_engine, "logout")] == ["logout"]


def test_every_failure_says_the_same_thing_and_the_sixth_is_throttled(page: Page, site: str) -> None:
    page.goto(site + "/signin")
    sign_in(page, email="nobody@firm.example")
    expect(page.get_by_role("alert")).to_have_text("Email or password is wrong")
    for _ in range(5):
        sign_in(page, password="not the password")
        expect(page.get_by_role("alert")).to_have_text("Email or password is wrong")
    sign_in(page)  # the right password, too late
    expect(page.get_by_role("alert")).to_have_text("Too many attempts. Try again in 15 minutes.")
    expect(page).to_have_url(re.compile(r"/signin"))


@pytest.mark.parametrize("outside", ["https://evil.example/", "//evil.example/inbox", "/\\evil.example"])
def test_next_never_leaves_the_app(page: Page, site: str, outside: str) -> None:
    page.goto(site + "/signin?next=" + outside)
    sign_in(page)
    expect(page).to_have_url(site + "/inbox")


def test_a_disabled_persons_next_request_is_sent_to_sign_in(page: Page, site: str, sqlite_engine: Engine) -> None:
    page.goto(site + "/signin")
    sign_in(page)
    expect(page.get_by_text("Signed in as Pat Paralegal")).to_be_visible()
    services.users.disable(sqlite_engine, "pat@firm.example", actor=ADMIN)
    page.reload()
    expect(page).to_have_url(re.compile(r"/signin\?next=(%2F|/)inbox$"))
    sign_in(page)
    expect(page.get_by_role("alert")).to_have_text("Email or password is wrong")


def test_a_form_posted_without_its_csrf_token_is_refused_and_signs_no_one_in(
    page: Page, site: str, sqlite_engine: Engine
) -> None:
    page.goto(site + "/signin")
    for form in (
        {"email": "pat@firm.example", "password": PASSWORD},
        {"email": "pat@firm.example", "password": PASSWORD, "csrf_token": "forged"},
    ):
        answer = page.request.post(site + "/signin", form=form, headers={"Accept": "text/html"}, max_redirects=0)
        assert answer.status == 400
        assert answer.headers["content-type"].startswith("text/html")
        assert "CSRF" in answer.text()
    assert audit_rows(sqlite_engine, "login") == []
    assert not [c for c in page.context.cookies() if c["name"] == "matterline_session"]


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_signin_page_is_accessible(page: Page, site: str, size: dict[str, int]) -> None:
    page.set_viewport_size(size)  # type: ignore[arg-type]
    page.goto(site + "/signin")
    assert_accessible(page)
    sign_in(page, password="not the password")
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page)


def test_the_session_cookie_is_secure_when_the_public_url_is_https(sqlite_engine: Engine) -> None:
    services.users.add(
        sqlite_engine, name="Pat Paralegal", email="pat@firm.example", role="staff", actor=ADMIN, password=PASSWORD
    )
    settings = Settings(
        database_url=str(sqlite_engine.url),
        secret_key="a test secret key, long enough",
        public_url="https://matterline.firm.example",
    )
    client = create_app(settings, sqlite_engine).test_client()
    form = client.get("/signin", base_url="https://matterline.firm.example").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    answer = client.post(
        "/signin",
        base_url="https://matterline.firm.example",
        data={"email": "pat@firm.example", "password": PASSWORD, "csrf_token": token.group(1)},
        headers={"Referer": "https://matterline.firm.example/signin"},  # over https the origin is checked too
    )
    assert answer.status_code == 302
    [cookie] = [h for h in answer.headers.getlist("Set-Cookie") if h.startswith("matterline_session=")]
    assert {"Secure", "HttpOnly", "SameSite=Lax"} <= {part.strip() for part in cookie.split(";")}
