"""Admins only: every admin page and action answers 403 to a signed-in attorney or staff member (and says so
in words), sends a browser without a session to sign in, and is listed in the admin menu for an admin."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, create_engine

from connector.settings import Settings
from tests.support.admin_site import admin_site, sign_in_as
from tests.support.thread_site import Site
from webhooks import create_app


def _admin_rules() -> list[tuple[str, str]]:
    """Every (method, path) under /admin, path parameters filled with an id that may not exist."""
    app = create_app(Settings(database_url="sqlite://"), create_engine("sqlite://"))
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?[^>]+>", "1", rule.rule)
        found += [(method, path) for method in sorted(rule.methods or ()) if method in ("GET", "POST")]
    return found


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[Site]:
    with admin_site(sqlite_engine) as served:
        yield served


def test_every_admin_route_is_found_by_the_walk() -> None:
    paths = {path for _, path in _admin_rules()}
    areas = ("connection", "mappings", "outbox", "audit", "users", "consent", "rules", "retention", "settings")
    assert {"/admin", *(f"/admin/{area}" for area in areas)} <= paths


@pytest.mark.parametrize("who", ["avery", "pat"])
def test_an_attorney_or_staff_member_gets_403_on_every_admin_page_and_action(page: Page, site: Site, who: str) -> None:
    sign_in_as(page, site, who, then="/inbox")
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert token
    refused = []
    for method, path in _admin_rules():
        if method == "GET":
            answer = page.request.get(site.url + path, max_redirects=0, headers={"Accept": "text/html"})
        else:  # with the page's CSRF token, so the refusal is the role's, not the missing token's
            answer = page.request.post(
                site.url + path, form={"csrf_token": token}, max_redirects=0, headers={"Accept": "text/html"}
            )
        refused.append((method, path, answer.status))
    assert refused
    assert all(status == 403 for _, _, status in refused), refused
    page.goto(site.url + "/admin/settings")
    expect(page.get_by_role("heading", name="Forbidden")).to_be_visible()
    expect(page.get_by_text("only admins may use the admin pages")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin")).to_have_count(0)


def test_a_browser_without_a_session_is_sent_to_sign_in_and_back(page: Page, site: Site) -> None:
    for method, path in _admin_rules():
        if method != "GET":
            continue  # a POST without a session has no CSRF token: refused before any view (test_an_attorney...)
        answer = page.request.get(site.url + path, max_redirects=0, headers={"Accept": "text/html"})
        assert answer.status == 302, path
        assert "/signin?next=" in answer.headers["location"], path
    page.goto(site.url + "/admin/settings")
    page.get_by_label("Email").fill("ada@firm.example")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/admin/settings$"))


def test_an_admin_reaches_every_admin_page_from_the_menu(page: Page, site: Site) -> None:
    sign_in_as(page, site)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    expect(page.get_by_role("heading", name="Admin", exact=True)).to_be_visible()
    menu = page.get_by_role("navigation", name="Admin")
    labels = [name.strip() for name in menu.get_by_role("link").all_inner_texts()]
    assert labels[0] == "Admin"
    assert "Settings" in labels
    for label in labels[1:]:
        menu.get_by_role("link", name=label, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(label)
        expect(menu.get_by_role("link", name=label, exact=True)).to_have_attribute("aria-current", "page")
