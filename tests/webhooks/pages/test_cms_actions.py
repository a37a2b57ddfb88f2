"""One click from Clio in a real browser: the landing checks the click's nonce with the sandbox CMS once,
then redirects to a clean URL; a reused, expired or malformed click shows "go back and click again"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select

from connector import services
from connector.cms.auth import TokenGrant
from connector.staff import cms_accounts
from connector.staff.users import Actor
from connector.store.engine import utcnow
from connector.store.tables import messages
from tests.support.browser import DESKTOP, PHONE, assert_accessible, live_server
from tests.support.firm import FIRM_NUMBER, JANE, seed
from tests.webhooks.pages.test_clio import PASSWORD, SECRET, Site, clio_site, sign_in

ADMIN = Actor("operator:root")
CLIO_TOKEN = "pat-clio-token"


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[Site]:
    """Pat, linked to a Clio user whose token the sandbox knows, with a matter button in Clio."""
    added = services.users.add(
        sqlite_engine, name="Pat Paralegal", email="pat@firm.example", role="staff", actor=ADMIN, password=PASSWORD
    )
    with clio_site(sqlite_engine) as running:
        clio_user = running.cms.ids("users")[3]
        running.cms.add_token(CLIO_TOKEN, clio_user)
        with sqlite_engine.begin() as conn:
            cms_accounts.link(conn, added.user.id, str(clio_user))
            cms_accounts.save_tokens(conn, SECRET, added.user.id, TokenGrant(CLIO_TOKEN, None, None), utcnow())
        running.cms.create_custom_action(
            clio_user, {"label": "Text", "target_url": running.url + "/cms/clio/action", "ui_reference": "matters/show"}
        )
        yield running


def click(site: Site, subject_id: int | None = None) -> dict[str, Any]:
    """Pat clicks the matter button in Clio: the URL Clio would open."""
    [action] = site.cms.custom_actions_of(site.cms.ids("users")[3])
    return site.cms.click_custom_action(action["id"], subject_id or site.cms.ids("matters")[0])


def signed_in(page: Page, site: Site) -> None:
    page.goto(site.url + "/signin")
    sign_in(page)
    expect(page.get_by_text("Signed in as Pat Paralegal")).to_be_visible()


def test_a_good_click_lands_on_the_clean_matter_url(page: Page, site: Site) -> None:
    signed_in(page, site)
    clicked = click(site)
    page.goto(clicked["url"])
    expect(page).to_have_url(site.url + f"/matters/{site.cms.ids('matters')[0]}")


def test_a_reused_click_is_refused_and_says_to_click_again(page: Page, site: Site) -> None:
    signed_in(page, site)
    clicked = click(site)
    page.goto(clicked["url"])
    answer = page.goto(clicked["url"])
    assert answer is not None
    assert answer.status == 403
    expect(page.get_by_role("heading", name="Go back to Clio and click again")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Each click works once, for one minute")


def test_an_expired_click_is_refused(page: Page, site: Site) -> None:
    signed_in(page, site)
    clicked = click(site)
    site.clock.shift = timedelta(seconds=61)
    answer = page.goto(clicked["url"])
    assert answer is not None
    assert answer.status == 403
    expect(page.get_by_role("heading", name="Go back to Clio and click again")).to_be_visible()


@pytest.mark.parametrize(
    "subject",
    [
        "https://evil.example/api/v4/matters/1",
        "//evil.example/api/v4/matters/1",
        "/api/v4/matters/../users/1",
        "/api/v4/users/1",
        "/api/v4/matters/1x",
        "",
    ],
)
def test_a_malformed_click_is_refused_without_asking_the_cms(page: Page, site: Site, subject: str) -> None:
    signed_in(page, site)
    clicked = click(site)
    site.cms.record_requests = True
    url = re.sub(r"subject_url=[^&]*", "subject_url=" + quote(subject, safe=""), clicked["url"])
    answer = page.goto(url)
    assert answer is not None
    assert answer.status == 400
    expect(page.get_by_role("heading", name="Go back to Clio and click again")).to_be_visible()
    assert site.cms.requests == []
    page.goto(clicked["url"])  # the nonce was not spent
    expect(page).to_have_url(re.compile(r"/matters/\d+$"))


def test_not_signed_in_the_click_is_checked_then_sign_in_returns_to_the_clean_url(page: Page, site: Site) -> None:
    clicked = click(site)
    page.goto(clicked["url"])
    matter = site.cms.ids("matters")[0]
    expect(page).to_have_url(re.compile(rf"/signin\?next=(%2F|/)matters(%2F|/){matter}$"))
    answer = page.goto(clicked["url"])  # spent already: the check happened before the redirect
    assert answer is not None
    assert answer.status == 403
    page.goto(site.url + f"/signin?next=/matters/{matter}")
    sign_in(page)
    expect(page).to_have_url(site.url + f"/matters/{matter}")


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_refusal_page_is_accessible(page: Page, site: Site, size: dict[str, int]) -> None:
    page.set_viewport_size(size)  # type: ignore[arg-type]
    page.goto(site.url + "/cms/clio/action?subject_url=/nope&custom_action_nonce=x&user_id=1")
    expect(page.get_by_role("heading", name="Go back to Clio and click again")).to_be_visible()
    assert_accessible(page)


def test_a_contact_with_no_thread_yet_gets_a_composer_addressed_to_its_number(
    page: Page, sqlite_engine: Engine
) -> None:
    seed(sqlite_engine)  # Jane Doe, CMS contact 1, one number and consent to texts
    services.users.add(
        sqlite_engine, name="Pat Paralegal", email="pat@firm.example", role="staff", actor=ADMIN, password=PASSWORD
    )
    with live_server(sqlite_engine, secret_key=SECRET, firm_numbers=(FIRM_NUMBER,), quiet_hours=None) as url:
        page.goto(url + "/contacts/1/text")
        sign_in(page)
        expect(page).to_have_url(url + "/contacts/1/text")
        expect(page.get_by_text("No texts yet")).to_be_visible()
        page.get_by_label("Text to send").fill("Hello from the firm.")
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_role("status").filter(has_text="Sent to the outbox")).to_be_visible()
    with sqlite_engine.connect() as conn:
        sent = conn.execute(select(messages.c.to_number).where(messages.c.body == "Hello from the firm.")).scalars()
        assert list(sent) == [JANE]
