"""Triage beside each client text on the thread page, in a real browser: the flag and why, marking a wrong flag
"Not urgent" and a missed text "Mark urgent" (the thread's flag and the attorney's task follow), who corrected
it and when, the refusals (no CSRF token, a situation that does not exist), the no-script fallback, privacy
mode masking the reasons with the text, and axe on a page with decisions shown."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import Engine, func, select

from connector import queries
from connector.store.tables import messages, writebacks
from connector.store.triage_tables import triage_corrections
from tests.support.browser import DESKTOP, PHONE, assert_accessible
from tests.support.firm import JANE
from tests.support.thread_site import Site, sign_in, thread_site

ARREST = "They arrested my son last night, he's in county jail"
ROUTINE = "Thanks, see you at the meeting next month"


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[Site]:
    """SQLite: the corrections' behaviour on PostgreSQL is the service's and the queries' tests' subject."""
    with thread_site(sqlite_engine) as running:
        yield running


def client_texts(site: Site, thread_id: int) -> list[int]:
    """The ids of the thread's client texts, oldest first."""
    with site.engine.connect() as conn:
        return list(
            conn.execute(
                select(messages.c.id)
                .where(messages.c.thread_id == thread_id, messages.c.direction == "inbound")
                .order_by(messages.c.id)
            ).scalars()
        )


def newest_text(site: Site, thread_id: int) -> int:
    """The id of the thread's newest client text."""
    return client_texts(site, thread_id)[-1]


def text_item(page: Page, message_id: int) -> Locator:
    return page.locator(f"#message-{message_id}")


def corrections(site: Site) -> int:
    with site.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(triage_corrections)).scalar_one())


def tasks(site: Site, thread_id: int) -> int:
    with site.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(writebacks.c.thread_id == thread_id, writebacks.c.kind == "task")
            ).scalar_one()
        )


def marked_at(site: Site, message_id: int) -> str:
    """When the text's newest correction was made, as the page writes a time (the firm's zone)."""
    view = queries.triage.require(site.engine, message_id)
    assert view.corrected is not None
    return view.corrected.at.astimezone(site.settings.zone).strftime("%a %d %b %Y, %H:%M")


def test_an_urgent_text_says_why_and_not_urgent_takes_the_flag_back(page: Page, site: Site) -> None:
    thread_id = site.text_in(JANE, ARREST)
    message_id = newest_text(site, thread_id)
    decided = queries.triage.require(site.engine, message_id)
    assert decided.urgent  # what intake decided; the page shows it in the model's own words below
    sign_in(page, site, then=f"/inbox/{thread_id}")
    item = text_item(page, message_id)
    expect(item.get_by_text(f"Urgent: {decided.situation}")).to_be_visible()
    expect(item).to_contain_text("Urgent: arrest or custody")
    expect(page.locator(".facts-list")).to_contain_text("Flagged urgent")

    why = item.locator("details.triage-why")
    expect(why.get_by_text(decided.reasons[0], exact=True)).to_be_hidden()
    item.get_by_text("Why?").click()
    for reason in decided.reasons:
        expect(why.get_by_text(reason, exact=True)).to_be_visible()
    if decided.date_read:
        expect(why).to_contain_text(f"Date read: {decided.date_read}")
    expect(why).to_contain_text(f"Decided by {decided.version}")
    assert decided.probability is not None
    expect(why).to_contain_text(f"{decided.probability:.0%} likely urgent")

    item.get_by_role("button", name="Not urgent").click()
    expect(item).to_contain_text("Marked not urgent by Pat Paralegal at")  # the correction is saved first
    expect(item).to_contain_text(f"Marked not urgent by Pat Paralegal at {marked_at(site, message_id)}")
    expect(item.get_by_text("Urgent: arrest or custody")).to_have_count(0)
    expect(page.locator(".facts-list")).not_to_contain_text("Urgent")
    expect(page.get_by_role("button", name="Flag urgent")).to_be_visible()
    assert not queries.threads.require(site.engine, thread_id, None).urgent
    assert not queries.triage.require(site.engine, message_id).urgent


def test_mark_urgent_with_a_situation_flags_the_thread_and_tasks_the_attorney_once(page: Page, site: Site) -> None:
    thread_id = site.text_in(JANE, ROUTINE)
    message_id = newest_text(site, thread_id)
    assert not queries.triage.require(site.engine, message_id).urgent
    assert tasks(site, thread_id) == 0
    sign_in(page, site, then=f"/inbox/{thread_id}")
    item = text_item(page, message_id)
    expect(item.get_by_text("Urgent:")).to_have_count(0)
    mark = item.get_by_role("button", name="Mark urgent")
    expect(mark).to_be_hidden()  # discreet: inside "Triage wrong?" until asked for
    item.get_by_text("Triage wrong?").click()
    item.get_by_label("Situation").select_option(label="court date or deadline")
    item.get_by_label("Note (optional)").fill("The meeting is the hearing")
    mark.click()
    expect(item).to_contain_text("Urgent: court date or deadline")
    expect(item).to_contain_text("Marked urgent by Pat Paralegal at")  # the correction is saved first
    expect(item).to_contain_text(f"Marked urgent by Pat Paralegal at {marked_at(site, message_id)}")
    expect(item).to_contain_text("Note: The meeting is the hearing")
    expect(page.locator(".facts-list")).to_contain_text("Flagged urgent")
    item.get_by_text("Why?").click()
    expect(item.locator("details.triage-why")).to_contain_text("Decided by staff")
    assert queries.threads.require(site.engine, thread_id, None).urgent
    view = queries.triage.require(site.engine, message_id)
    assert (view.category, view.corrected and view.corrected.note) == ("court_deadline", "The meeting is the hearing")
    assert tasks(site, thread_id) == 1


def test_a_note_being_typed_survives_a_redraw_of_the_texts(page: Page, site: Site) -> None:
    thread_id = site.text_in(JANE, ARREST)
    message_id = newest_text(site, thread_id)
    sign_in(page, site, then=f"/inbox/{thread_id}")
    note = text_item(page, message_id).get_by_label("Note (optional)")
    note.fill("Her son was released")
    site.text_in(JANE, "Never mind")  # the poll redraws every text while the person is typing
    page.evaluate("document.body.dispatchEvent(new Event('ml:poll'))")
    expect(page.locator(".msg-body")).to_have_count(2)
    expect(note).to_have_value("Her son was released")
    expect(note).to_be_focused()
    page.keyboard.type(" this morning")
    text_item(page, message_id).get_by_role("button", name="Not urgent").click()
    expect(text_item(page, message_id)).to_contain_text("Note: Her son was released this morning")


def test_a_correction_without_the_csrf_token_is_refused_and_nothing_changes(page: Page, site: Site) -> None:
    thread_id = site.text_in(JANE, ARREST)
    message_id = newest_text(site, thread_id)
    sign_in(page, site, then=f"/inbox/{thread_id}")
    for headers in ({"HX-Request": "true"}, {}):
        answer = page.request.post(f"{site.url}/messages/{message_id}/triage", form={"urgent": "0"}, headers=headers)
        assert answer.status == 400
    assert corrections(site) == 0
    assert queries.threads.require(site.engine, thread_id, None).urgent
    assert queries.triage.require(site.engine, message_id).urgent


def test_a_situation_that_does_not_exist_is_refused_where_the_threads_actions_say_so(page: Page, site: Site) -> None:
    thread_id = site.text_in(JANE, ROUTINE)
    message_id = newest_text(site, thread_id)
    sign_in(page, site, then=f"/inbox/{thread_id}")
    item = text_item(page, message_id)
    item.get_by_text("Triage wrong?").click()
    # A forged choice (or one a newer release dropped): the service refuses it, the facts panel says why.
    item.get_by_label("Situation").evaluate("select => { select.options[1].value = 'alien_abduction'; }")
    item.get_by_label("Situation").select_option(index=1)
    item.get_by_role("button", name="Mark urgent").click()
    expect(page.locator("#thread-facts").get_by_role("alert")).to_contain_text("category must be one of")
    assert corrections(site) == 0
    assert not queries.threads.require(site.engine, thread_id, None).urgent


def test_without_script_the_correction_posts_and_comes_back_to_the_thread(site: Site, browser: Browser) -> None:
    thread_id = site.text_in(JANE, ARREST)
    message_id = newest_text(site, thread_id)
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)  # type: ignore[arg-type]
    try:
        page = context.new_page()
        sign_in(page, site, then=f"/inbox/{thread_id}")
        item = text_item(page, message_id)
        item.get_by_text("Why?").click()  # a <details> opens without script
        expect(item.locator("details.triage-why")).to_contain_text("Decided by")
        item.get_by_label("Note (optional)").fill("His son is fine, it was a film plot")
        item.get_by_role("button", name="Not urgent").click()
        expect(page).to_have_url(re.compile(rf"/inbox/{thread_id}$"))
        expect(text_item(page, message_id)).to_contain_text("Marked not urgent by Pat Paralegal")
        expect(page.locator(".facts-list")).not_to_contain_text("Urgent")
    finally:
        context.close()


def test_privacy_mode_masks_the_reasons_with_the_text_and_reveals_them_together(
    sqlite_engine: Engine, page: Page
) -> None:
    with thread_site(sqlite_engine, MATTERLINE_PRIVACY_MODE="true") as site:
        thread_id = site.text_in(JANE, ARREST)
        message_id = newest_text(site, thread_id)
        sign_in(page, site, then=f"/inbox/{thread_id}")
        item = text_item(page, message_id)
        expect(item).to_contain_text("Urgent: arrest or custody")  # the situation is not the client's words
        item.get_by_text("Why?").click()
        body, reasons = item.locator(".msg-body"), item.locator(f"#why-text-{message_id}")
        expect(reasons).to_be_visible()
        for masked in (body, reasons):
            assert page.evaluate("el => getComputedStyle(el).filter", masked.element_handle()) != "none"
        item.get_by_role("button", name="Reveal").click()
        for shown in (body, reasons):
            expect(shown).to_have_class(re.compile(r"\brevealed\b"))
            assert page.evaluate("el => getComputedStyle(el).filter", shown.element_handle()) == "none"
        # A poll's redraw (a new text) keeps both revealed and the disclosure open.
        site.text_in(JANE, "Please call me")
        page.evaluate("document.body.dispatchEvent(new Event('ml:poll'))")
        expect(page.locator(".msg-body")).to_have_count(2)
        expect(item.locator("details.triage-why")).to_have_attribute("open", "")
        expect(reasons).to_have_class(re.compile(r"\brevealed\b"))
        expect(body).to_have_class(re.compile(r"\brevealed\b"))


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_thread_with_decisions_shown_is_accessible(page: Page, site: Site, size: dict[str, int]) -> None:
    site.text_in(JANE, ROUTINE)
    thread_id = site.text_in(JANE, ARREST)
    routine, urgent = client_texts(site, thread_id)
    page.set_viewport_size(size)  # type: ignore[arg-type]
    sign_in(page, site, "avery", then=f"/inbox/{thread_id}")
    text_item(page, urgent).get_by_text("Why?").click()
    text_item(page, routine).get_by_text("Triage wrong?").click()
    expect(text_item(page, routine).get_by_label("Situation")).to_be_visible()
    # The disclosures are reached and opened by keyboard like any control.
    summary = text_item(page, urgent).locator("summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(text_item(page, urgent).locator("details.triage-why")).not_to_have_attribute("open", "")
    page.keyboard.press("Enter")
    expect(text_item(page, urgent).locator("details.triage-why")).to_have_attribute("open", "")
    assert_accessible(page)
