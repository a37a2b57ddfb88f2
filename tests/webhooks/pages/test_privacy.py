"""Privacy in an open office, in a real browser: the header's privacy-mode button (the person's own choice,
kept across reloads, else the firm's default), notifications that say only how many texts are new, and the
idle curtain that covers the page after the set minutes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from twilio.request_validator import RequestValidator

from connector import services
from connector.messaging import intake
from connector.sandbox import SANDBOX_ACCOUNT_SID
from connector.settings import Settings
from connector.staff.users import Actor
from tests.support.browser import DESKTOP, PHONE, assert_accessible, live_server
from tests.support.firm import FIRM_NUMBER, JANE, TWILIO_TOKEN, inbound_form, seed
from tests.support.inbox import audit_rows

ADMIN = Actor("operator:root")
PASSWORD = "correct horse battery"
SECRET = "a test secret key, long enough"
SMS = "/webhooks/twilio/sms"
# Wraps the browser's Notification before any page script runs, keeping what each one would have shown.
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  window.__notifications = [];
  class Recorded extends Real {
    constructor(title, options) {
      window.__notifications.push({ title: title, body: options && options.body });
      super(title, options);
    }
  }
  window.Notification = Recorded;
})();
"""


@pytest.fixture
def people(sqlite_engine: Engine) -> Engine:
    seed(sqlite_engine)
    services.users.add(
        sqlite_engine, name="Pat Paralegal", email="pat@firm.example", role="staff", actor=ADMIN, password=PASSWORD
    )
    return sqlite_engine


@pytest.fixture
def site(people: Engine) -> Iterator[str]:
    with live_server(people, secret_key=SECRET) as url:
        yield url


def sign_in(page: Page, site: str) -> None:
    page.goto(site + "/signin")
    page.get_by_label("Email").fill("pat@firm.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as Pat Paralegal")).to_be_visible()
    page.wait_for_load_state("load")  # the page's scripts have run: htmx is listening


def privacy_button(page: Page) -> Any:
    return page.get_by_role("button", name="Privacy mode")


def test_a_person_turns_privacy_mode_on_and_it_stays_on(page: Page, site: str, people: Engine) -> None:
    sign_in(page, site)
    expect(privacy_button(page)).to_have_attribute("aria-pressed", "false")
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bprivacy\b"))
    privacy_button(page).click()
    expect(privacy_button(page)).to_have_attribute("aria-pressed", "true")
    expect(page.locator("body")).to_have_class(re.compile(r"\bprivacy\b"))
    expect(page).to_have_url(site + "/inbox")  # back on the page the button was pressed on
    page.reload()
    expect(privacy_button(page)).to_have_attribute("aria-pressed", "true")
    privacy_button(page).click()
    expect(privacy_button(page)).to_have_attribute("aria-pressed", "false")
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bprivacy\b"))
    assert [row.details["privacy_mode"] for row in audit_rows(people, "privacy_set")] == ["on", "off"]


def test_the_firm_default_applies_until_the_person_chooses(page: Page, people: Engine) -> None:
    with live_server(people, secret_key=SECRET, privacy_mode=True) as site:
        sign_in(page, site)
        expect(privacy_button(page)).to_have_attribute("aria-pressed", "true")
        expect(page.locator("body")).to_have_class(re.compile(r"\bprivacy\b"))
        privacy_button(page).click()  # this person works in a closed office
        expect(privacy_button(page)).to_have_attribute("aria-pressed", "false")
        page.reload()
        expect(page.locator("body")).not_to_have_class(re.compile(r"\bprivacy\b"))


def test_the_privacy_button_refuses_a_post_without_its_csrf_token(page: Page, site: str, people: Engine) -> None:
    sign_in(page, site)
    answer = page.request.post(site + "/privacy", form={"privacy": "on"}, max_redirects=0)
    assert answer.status == 400
    assert audit_rows(people, "privacy_set") == []


def test_a_new_text_is_announced_by_count_only(page: Page, people: Engine) -> None:
    page.context.grant_permissions(["notifications"])
    page.add_init_script(RECORD_NOTIFICATIONS)
    settings: dict[str, Any] = {
        "secret_key": SECRET,
        "firm_numbers": (FIRM_NUMBER,),
        "twilio_account_sid": SANDBOX_ACCOUNT_SID,
        "twilio_auth_token": TWILIO_TOKEN,
    }
    with live_server(people, **settings) as site:
        sign_in(page, site)
        toggle = page.get_by_role("button", name=re.compile(r"^Notifications"))
        expect(toggle).to_have_text("Notifications off")
        toggle.click()
        expect(toggle).to_have_text("Notifications on")
        expect(toggle).to_have_attribute("aria-pressed", "true")
        form = inbound_form(JANE, "Is my hearing about the custody of Mia still on Tuesday?")
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(site + SMS, form)
        assert page.request.post(site + SMS, form=form, headers={"X-Twilio-Signature": signature}).status == 200
        intake.drain(people, Settings(database_url=str(people.url), **settings))
        page.evaluate("() => htmx.trigger(document.body, 'ml:poll')")  # the 5-second tick, without the wait
        expect(page.get_by_role("link", name="1 unread text")).to_be_visible()
        page.wait_for_function("() => window.__notifications.length > 0")
        assert page.evaluate("() => window.__notifications") == [{"title": "Matterline", "body": "1 new text"}]


def test_the_idle_curtain_covers_the_page_after_the_set_minutes(page: Page, people: Engine) -> None:
    page.clock.install()
    with live_server(people, secret_key=SECRET, idle_curtain_minutes=2) as site:
        sign_in(page, site)
        page.reload()  # the curtain's timer starts with the page, under the installed clock
        signed_in = page.get_by_text("Signed in as Pat Paralegal")
        curtain = page.get_by_role("button", name="Show the page")
        page.clock.fast_forward("01:50")
        expect(signed_in).to_be_visible()
        expect(curtain).to_be_hidden()
        page.clock.fast_forward("00:15")
        expect(curtain).to_be_visible()
        expect(curtain).to_be_focused()
        expect(signed_in).to_be_hidden()
        expect(page.get_by_text("Matterline is hidden while you are away.")).to_be_visible()
        curtain.click()
        expect(signed_in).to_be_visible()
        expect(curtain).to_be_hidden()


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_header_buttons_and_the_curtain_are_accessible(page: Page, people: Engine, size: dict[str, int]) -> None:
    page.set_viewport_size(size)  # type: ignore[arg-type]
    page.clock.install()
    with live_server(people, secret_key=SECRET, idle_curtain_minutes=1) as site:
        sign_in(page, site)
        assert_accessible(page)
        privacy_button(page).click()
        expect(privacy_button(page)).to_have_attribute("aria-pressed", "true")
        assert_accessible(page)
        page.clock.fast_forward("01:05")
        expect(page.get_by_role("button", name="Show the page")).to_be_visible()
        assert_accessible(page)
