"""Same-day replies in the inbox, in a real browser: an overdue thread's row says how long and "Overdue", the
person's alert is listed above the threads with a link to the thread, and Dismiss takes it away."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from connector import queries
from connector.messaging import replies
from connector.store.engine import utcnow
from tests.support.browser import assert_accessible
from tests.support.firm import JANE
from tests.support.inbox import text_in
from tests.webhooks.pages.test_inbox import SETTINGS, fill_inbox, row_of, serve, sign_in


def test_an_overdue_thread_and_its_alert_which_dismiss_removes(page: Page, sqlite_engine: Engine) -> None:
    pat, _, _ = fill_inbox(sqlite_engine)  # Pat's thread with Jane was answered; the firm's fixed clock is days ago
    jane = text_in(sqlite_engine, JANE, "Any news about Monday?", minutes=10).thread_id
    replies.alert_overdue(sqlite_engine, SETTINGS, now=utcnow())
    with serve(sqlite_engine) as url:
        sign_in(page, url)
        row = row_of(page, "Jane Doe")
        expect(row.locator(".fact-waiting")).to_have_text(re.compile(r"^Waiting \d+d \d+h$"))
        expect(row.locator(".fact-overdue")).to_have_text("Overdue")
        # Pat sees only the alert for Pat's thread: the unassigned threads' alerts are the admins'.
        alerts = page.get_by_role("region", name="Waiting for a reply")
        link = alerts.get_by_role("link", name="Jane Doe has waited 4 business hours for a reply")
        expect(link).to_have_attribute("href", f"/inbox/{jane}")
        expect(alerts.get_by_role("listitem")).to_have_count(1)
        assert_accessible(page)
        alerts.get_by_role("button", name="Dismiss").click()
        expect(page.get_by_role("region", name="Waiting for a reply")).to_have_count(0)
        expect(row_of(page, "Jane Doe").locator(".fact-overdue")).to_have_text("Overdue")  # still unanswered
    assert [alert.id for alert in queries.replies.unseen(sqlite_engine, pat)] == []  # dismissed for good
