"""The composer in a real browser: one send however often it is clicked, findings as the person types,
the override and quiet-hours reasons by role, opt-out and consent refusals, and canned replies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, Route, expect
from sqlalchemy import Engine, select

from connector.guardrails import optouts
from connector.store.engine import utcnow
from connector.store.tables import messages, writebacks
from tests.support.browser import DESKTOP, PHONE, assert_accessible
from tests.support.firm import JANE, shut_window
from tests.support.thread_site import Site, sign_in, thread_site


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[Site]:
    """SQLite: the store's behaviour on PostgreSQL is the services' and queries' tests' subject."""
    with thread_site(sqlite_engine) as running:
        yield running


@pytest.fixture
def both_stores(engine: Engine) -> Iterator[Site]:
    """The one composer test run on PostgreSQL too: a text reaching Twilio once is the promise that matters most."""
    with thread_site(engine) as running:
        yield running


def test_a_text_reaches_twilio_once_however_often_send_is_clicked(page: Page, both_stores: Site) -> None:
    site = both_stores
    thread_id = site.text_in(JANE, "Is the hearing on?")
    sign_in(page, site, then=f"/inbox/{thread_id}")
    box = page.get_by_label("Text to send")
    box.fill("Yes, 3pm Tuesday.")
    expect(page.locator(".counter")).to_have_text("1 segment · GSM-7")
    page.get_by_role("button", name="Send", exact=True).dblclick()
    expect(page.get_by_role("status").filter(has_text="Sent to the outbox")).to_be_visible()
    expect(page.get_by_label("Text to send")).to_have_value("")  # the composer cleared
    expect(page.locator("ol.messages > li").last).to_contain_text("Yes, 3pm Tuesday.")  # in the thread now
    # A resent form (the same draft key) stores nothing more either.
    site.send_due()
    assert [m["body"] for m in site.sent_to(JANE)] == ["Yes, 3pm Tuesday."]


def test_findings_show_as_typed_a_warning_needs_a_reason_and_a_block_cannot_go(page: Page, site: Site) -> None:
    thread_id = site.text_in(JANE)
    sign_in(page, site, then=f"/inbox/{thread_id}")
    box = page.get_by_label("Text to send")
    box.fill("They offered $45,000 to settle.")
    findings = page.locator(".findings")
    expect(findings).to_contain_text("Warning")
    expect(findings).to_contain_text("Suggestion:")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("override_reason")
    page.get_by_label("Why send it anyway (override reason)").fill("Client asked for it in writing.")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Sent to the outbox")).to_be_visible()
    page.get_by_label("Text to send").fill("My SSN is 123-45-6789")
    expect(page.locator(".findings")).to_contain_text("Blocked")
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_disabled()
    with site.engine.connect() as conn:
        bodies = list(conn.execute(select(messages.c.body).where(messages.c.direction == "outbound")).scalars())
    assert bodies == ["They offered $45,000 to settle."]


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_in_quiet_hours_it_says_when_the_text_goes_and_counsel_may_send_now(
    sqlite_engine: Engine, page: Page, size: dict[str, int]
) -> None:
    with thread_site(sqlite_engine, MATTERLINE_QUIET_HOURS=shut_window()) as site:
        thread_id = site.text_in(JANE)
        page.set_viewport_size(size)  # type: ignore[arg-type]
        sign_in(page, site, "avery", then=f"/inbox/{thread_id}")
        expect(page.locator(".held")).to_contain_text("this text will go")
        assert_accessible(page)
        # The draft's check is still on its way when the box is ticked and the reason typed (held here, as a
        # slow server would): its redraw must not take either away.
        checks: list[Route] = []
        page.route("**/compose/check", lambda route: checks.append(route))
        with page.expect_request("**/compose/check"):
            page.get_by_label("Text to send").fill("The hearing moved to 8:30.")
        page.get_by_label("Send now anyway").check()
        page.get_by_label("Reason to send now").fill("Hearing moved")
        for check in checks:
            check.continue_()
        page.unroute("**/compose/check")
        expect(page.locator(".counter")).to_have_text("1 segment · GSM-7")  # the check's redraw has landed
        assert page.get_by_label("Send now anyway").is_checked()
        assert page.get_by_label("Reason to send now").input_value() == "Hearing moved"
        page.get_by_role("button", name="Send", exact=True).click()
        expect(page.get_by_role("status").filter(has_text="Sent to the outbox")).to_be_visible()


def test_staff_in_quiet_hours_cannot_send_now_and_their_text_is_held(sqlite_engine: Engine, page: Page) -> None:
    with thread_site(sqlite_engine, MATTERLINE_QUIET_HOURS=shut_window()) as site:
        thread_id = site.text_in(JANE)
        sign_in(page, site, then=f"/inbox/{thread_id}")
        expect(page.get_by_label("Send now anyway")).to_have_count(0)
        page.get_by_label("Text to send").fill("See you Monday.")
        page.get_by_role("button", name="Send", exact=True).click()
        expect(page.get_by_role("status").filter(has_text="Held for the client's quiet hours")).to_be_visible()
        token = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
        forged = page.request.post(
            site.url + "/compose/send",
            form={
                "csrf_token": token,
                "thread_id": str(thread_id),
                "body": "Now!",
                "send_now": "1",
                "quiet_hours_reason": "because",
                "key": "forged-1",
            },
        )
        assert forged.status == 403
        assert "only attorneys and admins" in forged.text()


def test_an_opted_out_number_blocks_sending_and_says_why(page: Page, site: Site) -> None:
    thread_id = site.text_in(JANE)
    with site.engine.begin() as conn:
        optouts.record(conn, JANE, "opt_out", source="test", keyword="STOP", at=utcnow())
    sign_in(page, site, then=f"/inbox/{thread_id}")
    expect(page.get_by_role("alert")).to_contain_text("opted out of texts")
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_disabled()
    assert_accessible(page)


def test_no_consent_blocks_sending_until_staff_record_it(sqlite_engine: Engine, page: Page) -> None:
    with thread_site(sqlite_engine, consent=False, MATTERLINE_CONSENT_INBOUND_DAYS="0") as site:
        thread_id = site.text_in(JANE)
        sign_in(page, site, then=f"/inbox/{thread_id}")
        expect(page.get_by_role("alert")).to_contain_text("No consent to texts")
        expect(page.get_by_role("button", name="Send", exact=True)).to_be_disabled()
        assert_accessible(page)
        page.get_by_label("How the client agreed to texts").select_option("verbal")
        page.get_by_role("button", name="Record consent").click()
        expect(page.get_by_role("status").filter(has_text="Consent recorded")).to_be_visible()
        expect(page.get_by_role("button", name="Send", exact=True)).to_be_enabled()


def test_a_template_is_merged_and_well_call_you_tasks_the_attorney_once(page: Page, site: Site) -> None:
    thread_id = site.text_in(JANE, "A question about the house sale.")
    sign_in(page, site, then=f"/inbox/{thread_id}")
    page.get_by_label("Template").select_option(label="We'll call you about this")
    page.get_by_role("button", name="Use template").click()
    expect(page.get_by_label("Text to send")).to_have_value(
        "Thanks Jane. This is best discussed by phone: someone from Doe & Roe LLP will call you about it shortly."
    )
    page.get_by_role("button", name="Send", exact=True).dblclick()
    expect(page.get_by_role("status").filter(has_text="Sent to the outbox")).to_be_visible()
    with site.engine.connect() as conn:
        tasks = list(conn.execute(select(writebacks).where(writebacks.c.kind == "task")))
    assert len(tasks) == 1
    assert tasks[0].matter_cms_id == "101"
    assert tasks[0].subject.startswith("Call the client — 00101-Doe")
