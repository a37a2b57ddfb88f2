"""The admin pages' tests' firm: the thread pages' firm (tests/support/thread_site.py) with an admin, Ada.

`sign_in_as` signs a person in and lands on a page; `posted_as` makes a form post with the page's CSRF
token from a signed-in browser, so a test can reach an action without its form (a 403 check, say).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from playwright.sync_api import APIResponse, Page, expect
from sqlalchemy import Engine

from connector import services
from tests.support.thread_site import OPERATOR, PASSWORD, Site, thread_site

__all__ = ["ADMIN", "admin_site", "posted_as", "sign_in_as"]

ADMIN = "ada"


@contextmanager
def admin_site(engine: Engine, **env: str) -> Iterator[Site]:
    """The firm served for real, with Ada the admin beside Avery (attorney), Pat and Sam (staff)."""
    with thread_site(engine, **env) as site:
        added = services.users.add(
            engine, name="Ada Admin", email=f"{ADMIN}@firm.example", role="admin", actor=OPERATOR, password=PASSWORD
        )
        site.people[ADMIN] = added.user
        yield site


def sign_in_as(page: Page, site: Site, who: str = ADMIN, then: str = "/admin") -> None:
    """Sign `who` in and land on `then` (the page may answer 403: the URL is still `then`)."""
    page.goto(site.url + "/signin?next=" + then)
    page.get_by_label("Email").fill(f"{who}@firm.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(then) + "$"))
    page.wait_for_load_state("load")


def posted_as(page: Page, site: Site, path: str, form: dict[str, Any] | None = None) -> APIResponse:
    """A form post to `path` from the signed-in browser, with its CSRF token (read off the inbox page)."""
    page.goto(site.url + "/inbox")
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert token
    return page.request.post(
        site.url + path, form={"csrf_token": token, **(form or {})}, max_redirects=0, headers={"Accept": "text/html"}
    )
