"""One table turns a refusal's kind into its HTTP status; machines always get JSON, a person's browser a page."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from connector.errors import Kind, MatterlineError, conflict
from connector.settings import Settings
from tests.support.browser import DESKTOP, PHONE, Console, assert_accessible
from webhooks import create_app
from webhooks.errors import STATUS
from webhooks.server import ServerThread


def app_with_a_refusing_route(engine: Engine) -> Flask:
    app = create_app(Settings(database_url="sqlite://"), engine)

    def refuse() -> str:
        raise conflict("recipient_opted_out", "+14158675309 has opted out of texts", {"phone": "+14158675309"})

    app.add_url_rule("/refuse", "refuse", refuse)
    app.add_url_rule("/api/refuse", "api_refuse", refuse)
    return app


def test_every_kind_has_exactly_one_status() -> None:
    assert set(STATUS) == set(Kind)
    assert STATUS[Kind.CONFLICT] == 409
    assert STATUS[Kind.INVALID] == 422
    assert STATUS[Kind.UNAVAILABLE] == 503
    assert len(set(STATUS.values())) == len(STATUS)


def test_a_refusal_from_anywhere_is_answered_in_the_json_shape(sqlite_engine: Engine) -> None:
    response = (
        app_with_a_refusing_route(sqlite_engine).test_client().get("/api/refuse", headers={"Accept": "text/html"})
    )
    assert response.status_code == 409
    assert response.mimetype == "application/json"  # /api is for machines, whatever they accept
    assert response.get_json() == {
        "error": {
            "code": "recipient_opted_out",
            "message": "+14158675309 has opted out of texts",
            "details": {"phone": "+14158675309"},
        }
    }


def test_a_browser_outside_the_api_gets_a_page_saying_the_same_thing(sqlite_engine: Engine) -> None:
    client = app_with_a_refusing_route(sqlite_engine).test_client()
    page = client.get("/refuse", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert (page.status_code, page.mimetype) == (409, "text/html")
    text = page.get_data(as_text=True)
    assert "<h1>Conflict</h1>" in text
    assert "has opted out of texts" in text
    missing = client.get("/nowhere", headers={"Accept": "text/html"})
    assert (missing.status_code, missing.mimetype) == (404, "text/html")
    assert client.get("/nowhere").mimetype == "application/json"  # no preference: JSON


def test_a_refusal_message_is_escaped_on_the_page(sqlite_engine: Engine) -> None:
    app = create_app(Settings(database_url="sqlite://"), sqlite_engine)

    def hostile() -> str:
        raise MatterlineError(Kind.INVALID, "bad", "<script>alert(1)</script>")

    app.add_url_rule("/hostile", "hostile", hostile)
    page = app.test_client().get("/hostile", headers={"Accept": "text/html"})
    assert "<script>" not in page.get_data(as_text=True)
    assert "&lt;script&gt;" in page.get_data(as_text=True)


# -- in a real browser, over the real server --------------------------------------------------------------


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_person_who_opens_an_unknown_page_sees_not_found_with_a_way_home(
    live_url: str, page: Page, console: Console, viewport: dict[str, int]
) -> None:
    page.set_viewport_size(viewport)  # type: ignore[arg-type]
    response = page.goto(f"{live_url}/no-such-page")
    assert response is not None
    assert response.status == 404
    assert page.title() == "Not found · Matterline"
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    home = page.get_by_role("link", name=re.compile("home", re.IGNORECASE))
    expect(home).to_have_attribute("href", "/")
    # The stylesheet loaded under the page's policy: the layout is the app's, not the browser's default.
    assert page.evaluate("() => getComputedStyle(document.querySelector('main')).maxWidth") != "none"
    assert_accessible(page)
    assert console.csp_violations() == []
    # The page's own 404 is the one resource Chromium reports as failed; nothing else may error.
    errors = [m for m in console.messages if m.startswith(("error", "pageerror")) and "status of 404" not in m]
    assert errors == []


def test_a_refusal_message_shows_escaped_in_the_browser(sqlite_engine: Engine, page: Page) -> None:
    app = create_app(Settings(database_url="sqlite://"), sqlite_engine)

    def hostile() -> str:
        raise MatterlineError(Kind.INVALID, "bad", "<img src=x onerror=alert(1)>")

    app.add_url_rule("/hostile", "hostile", hostile)
    with ServerThread(app) as server:
        page.goto(f"{server.url}/hostile")
        expect(page.locator("main")).to_contain_text("<img src=x onerror=alert(1)>")
        assert page.locator("main img").count() == 0


def test_an_api_path_still_answers_json_to_a_browser(live_url: str, page: Page) -> None:
    response = page.goto(f"{live_url}/api/no-such-thing")
    assert response is not None
    assert response.status in (401, 404)
    assert response.headers["content-type"].startswith("application/json")
    assert "error" in response.json()
