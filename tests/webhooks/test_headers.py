"""Every page a person's browser opens carries the security headers; machine webhooks are left as Twilio wants."""

from __future__ import annotations

import requests
from playwright.sync_api import Page
from sqlalchemy import Engine

from tests.support.browser import live_server, other_origin

STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'; object-src 'none'"
)


def test_a_page_carries_the_security_headers(live_url: str, page: Page) -> None:
    response = page.goto(f"{live_url}/no-such-page")
    assert response is not None
    headers = response.headers
    assert headers["content-security-policy"] == STRICT_CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"
    css = page.request.get(f"{live_url}/static/app.css")
    assert css.status == 200
    assert css.headers["x-content-type-options"] == "nosniff"
    assert css.headers["content-type"].startswith("text/css")


def test_the_api_and_health_checks_carry_the_headers_too(live_url: str) -> None:
    for path in ("/api/matters", "/healthz"):
        headers = requests.get(f"{live_url}{path}", timeout=5).headers
        assert headers["Content-Security-Policy"] == STRICT_CSP, path
        assert headers["X-Content-Type-Options"] == "nosniff", path


def test_a_machine_webhook_gets_no_page_headers(live_url: str) -> None:
    answer = requests.post(f"{live_url}/webhooks/twilio/status", data={"MessageSid": "SM1"}, timeout=5)
    assert answer.status_code in (400, 403)
    assert "Content-Security-Policy" not in answer.headers
    assert "X-Frame-Options" not in answer.headers


def _frame(page: Page, url: str) -> str:
    """Open a page from another origin that frames `url`; return the text the frame shows ("" if refused)."""
    with other_origin(f'<!doctype html><title>framer</title><iframe name="victim" src="{url}"></iframe>') as framer:
        page.goto(framer)
        page.wait_for_load_state("load")
    frame = page.frame(name="victim")
    assert frame is not None
    if frame.url != url:  # Chromium put its error page in the frame's place
        return ""
    return str(frame.evaluate("() => document.body.innerText"))


def test_a_page_refuses_to_be_framed_by_another_site(live_url: str, page: Page) -> None:
    url = f"{live_url}/no-such-page"
    # The page has something to show, so a blank frame means the browser refused it.
    assert "Not found" in page.request.get(url, headers={"Accept": "text/html"}).text()
    assert "Not found" not in _frame(page, url)


def test_with_the_cms_host_allowed_the_policy_names_it_and_others_still_cannot_frame(
    sqlite_engine: Engine, page: Page
) -> None:
    with live_server(sqlite_engine, frame_ancestors=("https://app.clio.com",)) as url:
        headers = requests.get(f"{url}/no-such-page", headers={"Accept": "text/html"}, timeout=5).headers
        assert "frame-ancestors https://app.clio.com;" in headers["Content-Security-Policy"]
        assert "base-uri 'none'" in headers["Content-Security-Policy"]  # the rest of the policy stands
        assert "X-Frame-Options" not in headers  # DENY would refuse the CMS too
        assert "Not found" not in _frame(page, f"{url}/no-such-page")
