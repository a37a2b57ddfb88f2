"""The Away page in a real browser: a person marks themself away with a backup, every thread of theirs then
says who is covering, and they end it with "I'm back"; axe passes on the page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from connector import queries, services
from connector.staff.users import Actor
from tests.support.browser import assert_accessible
from tests.support.firm import JANE
from tests.support.inbox import audit_rows
from tests.support.thread_site import Site, sign_in, thread_site


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[Site]:
    """SQLite: the store's side is the services' tests' subject."""
    with thread_site(sqlite_engine) as running:
        yield running


def test_a_person_marks_themself_away_and_their_thread_says_who_is_covering(page: Page, site: Site) -> None:
    avery, pat = site.people["avery"], site.people["pat"]
    thread_id = site.text_in(JANE, "Is my hearing still on?")
    services.threads.assign(site.engine, thread_id, avery.id, actor=Actor.of(pat))
    back = (datetime.now(site.settings.zone) + timedelta(days=3)).replace(hour=17, minute=0, second=0, microsecond=0)

    sign_in(page, site, "avery", then="/away")
    expect(page.get_by_role("link", name="Away")).to_have_attribute("aria-current", "page")
    expect(page.locator(".away-page")).to_contain_text("You are not away")
    assert_accessible(page)
    page.get_by_label("Who covers for you").select_option(label="Pat Paralegal")
    page.get_by_label("Back on (date)").fill(back.strftime("%Y-%m-%d"))
    page.get_by_label("Back at (time)").fill("17:00")
    page.get_by_label("Reason").fill("Trial in Fresno")
    page.get_by_role("button", name="Set time away").click()
    expect(page.get_by_role("status").filter(has_text="Your time away is set.")).to_be_visible()
    expect(page.locator(".away-periods")).to_contain_text(
        f"You are away until {back:%a, %b %-d}, 5:00 PM — Pat Paralegal is covering."
    )
    assert_accessible(page)
    [entry] = audit_rows(site.engine, "away_set")
    assert entry.actor == avery.actor

    page.goto(f"{site.url}/inbox/{thread_id}")
    expect(page.locator("#thread-facts .covering")).to_have_text(
        f"Avery Attorney is away until {back:%a, %b %-d} — Pat Paralegal is covering"
    )

    page.goto(f"{site.url}/away")
    page.get_by_role("button", name="I’m back").click()
    expect(page.get_by_role("status").filter(has_text="Welcome back")).to_be_visible()
    expect(page.locator(".away-page")).to_contain_text("You are not away")
    assert queries.coverage.covers(site.engine, [avery.id]) == {}
