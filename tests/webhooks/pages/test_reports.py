"""/reports/response in a real browser: an attorney picks a period and reads the firm's and each person's
medians by week (the waits of tests/support/response_traffic.hand_counted), an empty period says so, and a
staff member is refused in words."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine

from connector.staff import sessions
from connector.store.engine import utcnow
from tests.support.browser import DESKTOP, assert_accessible, live_server
from tests.support.response_traffic import add_staff, hand_counted, seed_traffic
from webhooks.pages.auth import COOKIE

PEOPLE = (("Avery Attorney", "attorney"), ("Ada Admin", "admin"), ("Pat Paralegal", "staff"))


def _enter(page: Page, engine: Engine, url: str, user_id: int, then: str) -> None:
    """Open `then` signed in: a session opened as sign-in opens one (no password: hashing costs a second)."""
    with engine.begin() as conn:
        token = sessions.open_session(conn, user_id, utcnow())
    page.context.add_cookies([{"name": COOKIE, "value": token, "url": url}])
    page.goto(url + then)
    page.wait_for_load_state("load")


def _row(page: Page, table: str, label: str) -> list[str]:
    cells = (
        page.get_by_role("table", name=table).get_by_role("row").filter(has=page.get_by_role("rowheader", name=label))
    )
    return cells.first.get_by_role("cell").all_inner_texts()


def test_an_attorney_reads_the_report_and_staff_are_refused(
    sqlite_engine: Engine, page: Page, browser: Browser
) -> None:
    avery, ada, pat = add_staff(sqlite_engine, PEOPLE)
    exchanges, assignees = hand_counted()
    seed_traffic(sqlite_engine, exchanges, (avery, ada), assignees=assignees)
    with live_server(sqlite_engine, secret_key="a test secret key, long enough") as url:
        _enter(page, sqlite_engine, url, avery, "/reports/response")
        expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports")).to_have_attribute(
            "aria-current", "page"
        )
        page.get_by_label("From (firm time)").fill("2026-11-09")
        page.get_by_label("To (firm time, that whole day)").fill("2026-11-22")
        page.get_by_role("button", name="Show the report").click()
        expect(page.get_by_role("heading", name="Whole firm")).to_be_visible()
        assert "from=2026-11-09" in page.url
        # answered, unanswered, median and p90 in office hours, median and p90 on the clock
        assert _row(page, "Whole firm, by week", "Nov 9, 2026") == ["4", "0", "10 m", "1 h", "9 h 35 m", "2 d 17 h"]
        assert _row(page, "Whole firm, by week", "Nov 16, 2026") == ["2", "2", "20 m", "30 m", "30 m", "9 h 30 m"]
        assert _row(page, "Whole firm, by week", "Whole period") == ["6", "2", "20 m", "1 h", "9 h 30 m", "2 d 17 h"]
        expect(page.get_by_role("heading", name="Avery Attorney")).to_be_visible()
        assert _row(page, "Avery Attorney, by week", "Whole period")[:3] == ["4", "0", "10 m"]
        assert _row(page, "Ada Admin, by week", "Nov 16, 2026")[:3] == ["1", "1", "30 m"]
        assert_accessible(page)

        page.get_by_label("From (firm time)").fill("2026-01-05")
        page.get_by_label("To (firm time, that whole day)").fill("2026-01-11")
        page.get_by_role("button", name="Show the report").click()
        expect(page.get_by_text("No client text needed a reply in this period.")).to_be_visible()
        expect(page.get_by_role("table")).to_have_count(0)

        page.get_by_label("From (firm time)").fill("2026-01-11")
        page.get_by_label("To (firm time, that whole day)").fill("2026-01-05")
        page.get_by_role("button", name="Show the report").click()
        expect(page.get_by_role("alert")).to_contain_text("The period starts (2026-01-11) after it ends (2026-01-05).")

        staff_context = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
        try:
            other = staff_context.new_page()
            _enter(other, sqlite_engine, url, pat, "/reports/response")
            expect(other.get_by_role("heading", name="Forbidden")).to_be_visible()
            expect(other.get_by_text("only attorneys and admins may see the response-time report")).to_be_visible()
            expect(other.get_by_role("navigation", name="Main").get_by_role("link", name="Reports")).to_have_count(0)
        finally:
            staff_context.close()
