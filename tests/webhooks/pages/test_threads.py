"""The thread page in a real browser: texts in order with authors, statuses and Twilio's error meanings,
actions by role (and the service refusing a forged one), CSRF, MMS through the app's proxy, presence,
privacy, earlier texts, cancelling a held text, j/k, and axe at desktop and phone widths."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine, select, update

from connector import queries, services
from connector.reminders import planner
from connector.staff.users import Actor
from connector.store.engine import utcnow
from connector.store.tables import messages
from tests.support import calendar
from tests.support.browser import DESKTOP, PHONE, assert_accessible
from tests.support.firm import JANE, OMAR, shut_window
from tests.support.inbox import audit_rows
from tests.support.thread_site import Site, sign_in, thread_site

PHOTO = b"\xff\xd8\xff\xe0 a photo of the lease"


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[Site]:
    """SQLite: the store's behaviour on PostgreSQL is the services' and queries' tests' subject."""
    with thread_site(sqlite_engine) as running:
        yield running


def test_texts_are_in_order_with_authors_statuses_and_what_an_error_means(page: Page, site: Site) -> None:
    thread_id = site.text_in(JANE, "Is my hearing still on?")
    avery = Actor.of(site.people["avery"])
    services.messages.send(site.engine, site.settings, thread_id=thread_id, body="Yes, 3pm Tuesday.", actor=avery)
    failed = services.messages.send(site.engine, site.settings, thread_id=thread_id, body="Call us.", actor=avery)
    notice = "Hi Jane, could you send us the documents for 00101-Doe? You can reply with photos."
    services.messages.send(
        site.engine,
        site.settings,
        thread_id=thread_id,
        body=notice,
        actor=avery,
        purpose="notice",
        template="documents",
    )
    assert site.send_due() == 3
    with site.engine.begin() as conn:  # as Twilio's status callback would leave it
        conn.execute(update(messages).where(messages.c.id == failed.id).values(status="undelivered", error_code=30006))
    calendar.entry(site.engine, "e1", starts_at=utcnow() + timedelta(days=5))  # a hearing on Jane's matter
    planner.plan(site.engine, site.settings, now=utcnow())
    sign_in(page, site, then=f"/inbox/{thread_id}")
    expect(page).to_have_title(f"Thread {thread_id} · Matterline")  # no name in the title
    items = page.locator("ol.messages > li")
    expect(items).to_have_count(4)
    expect(items.nth(0)).to_contain_text("Jane Doe")
    expect(items.nth(0)).to_contain_text("Is my hearing still on?")
    expect(items.nth(1)).to_contain_text("Avery Attorney")
    expect(items.nth(1)).to_contain_text("Yes, 3pm Tuesday.")
    expect(items.nth(1).locator(".status")).to_have_text("queued")  # Twilio took it; no callback yet
    expect(items.nth(2).locator(".msg-error")).to_contain_text("landline or unreachable carrier: call instead")
    expect(items.nth(3).locator(".msg-meta .purpose")).to_have_text("Notice")  # a conversation has no tag
    expect(page.locator("ol.messages .purpose")).to_have_count(1)
    expect(page.locator("#thread-facts")).to_contain_text("00101-Doe")
    upcoming = page.locator("#thread-facts .reminders li")  # planned, not sent: no text in the thread yet
    expect(upcoming).to_have_count(2)
    expect(upcoming.first).to_contain_text("(hearing: 2 days before at 09:00)")
    # Viewing marked it read for Pat only.
    assert queries.threads.require(site.engine, thread_id, site.people["pat"].id).unread == 0
    assert queries.threads.require(site.engine, thread_id, site.people["sam"].id).unread == 1
    page.get_by_role("button", name="Mark unread").click()
    expect(page.locator(".facts-list dt:text-is('Unread') + dd")).to_have_text("1")


def test_assign_and_urgent_swap_the_facts_and_are_audited(page: Page, site: Site) -> None:
    thread_id = site.text_in(JANE)
    sign_in(page, site, then=f"/inbox/{thread_id}")
    page.get_by_label("Assign to").select_option(label="Sam Staff")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.locator("#thread-facts")).to_contain_text("sam@firm.example")
    page.get_by_role("button", name="Flag urgent").click()
    expect(page.get_by_role("button", name="Clear urgent")).to_be_visible()
    assert [r.action for r in audit_rows(site.engine, "assign")] == ["assign"]
    assert queries.threads.require(site.engine, thread_id, None).urgent


def test_staff_see_no_refile_and_a_forged_one_is_refused_with_nothing_changed(page: Page, site: Site) -> None:
    thread_id = site.text_in(OMAR)  # Omar has two open matters: his thread waits in needs filing
    sign_in(page, site, then=f"/inbox/{thread_id}")
    expect(page.locator("#thread-facts")).to_contain_text("Needs filing")
    expect(page.get_by_role("button", name="Re-file")).to_have_count(0)
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    answer = page.request.post(
        f"{site.url}/inbox/{thread_id}/refile", form={"csrf_token": token or "", "matter_cms_id": "201"}
    )
    assert answer.status == 403
    assert "only attorneys and admins" in answer.text()
    assert queries.threads.require(site.engine, thread_id, None).matter_cms_id is None
    assert audit_rows(site.engine, "refile") == []


def test_an_attorney_refiles_from_the_matter_picker_and_a_poll_does_not_undo_their_pick(page: Page, site: Site) -> None:
    thread_id = site.text_in(OMAR)
    sign_in(page, site, "avery", then=f"/inbox/{thread_id}")
    page.get_by_label("File to matter").select_option("202")
    # Before the click, the thread changes under the person (a text in, a colleague assigns it) and the
    # poll redraws the panel: their pick stands, while what they did not touch follows the server.
    services.threads.assign(site.engine, thread_id, "sam@firm.example", actor=Actor.of(site.people["pat"]))
    site.text_in(OMAR, "Any news?")
    page.evaluate("document.body.dispatchEvent(new Event('ml:poll'))")
    expect(page.locator("ol.messages > li").last).to_contain_text("Any news?")
    expect(page.get_by_label("Assign to")).to_have_value(str(site.people["sam"].id))
    expect(page.get_by_label("File to matter")).to_have_value("202")
    page.get_by_role("button", name="Re-file").click()
    expect(page.locator(".facts-list dt:text-is('Matter') + dd")).to_have_text("00202-Haddad")
    assert queries.threads.require(site.engine, thread_id, None).matter_cms_id == "202"


def test_an_htmx_post_without_the_csrf_token_is_refused_and_nothing_changes(page: Page, site: Site) -> None:
    thread_id = site.text_in(JANE)
    sign_in(page, site, then=f"/inbox/{thread_id}")
    answer = page.request.post(
        f"{site.url}/inbox/{thread_id}/urgent", form={"urgent": "1"}, headers={"HX-Request": "true"}
    )
    assert answer.status == 400
    assert not queries.threads.require(site.engine, thread_id, None).urgent


def test_mms_comes_through_the_apps_proxy_and_never_as_a_twilio_url(page: Page, site: Site, browser: Browser) -> None:
    thread_id = site.text_in(JANE, "The lease", media=[("image/jpeg", PHOTO)])
    with site.engine.connect() as conn:
        [item] = conn.execute(select(messages.c.media).where(messages.c.thread_id == thread_id)).scalar_one()
    sign_in(page, site, then=f"/inbox/{thread_id}")
    image = page.get_by_role("img", name="Picture 1 sent with this text")
    expect(image).to_be_visible()
    assert item["url"] not in page.content()
    assert site.twilio.origin not in page.content()
    src = image.get_attribute("src")
    assert src is not None
    assert src.startswith("/media/")
    answer = page.request.get(site.url + src)
    assert (answer.status, answer.body()) == (200, PHOTO)
    stranger = browser.new_context()
    try:
        refused = stranger.request.get(site.url + src, max_redirects=0)
        assert refused.status == 302
        assert "/signin" in refused.headers["location"]
    finally:
        stranger.close()


def test_media_that_is_not_a_plain_picture_is_a_download_never_shown_inline(page: Page, site: Site) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    thread_id = site.text_in(JANE, "see attached", media=[("image/svg+xml", svg), ("image/png", PHOTO)])
    sign_in(page, site, then=f"/inbox/{thread_id}")
    with site.engine.connect() as conn:
        [message_id] = conn.execute(select(messages.c.id).where(messages.c.thread_id == thread_id)).scalars()
    risky = page.request.get(f"{site.url}/media/{message_id}/0")
    assert (risky.status, risky.body()) == (200, svg)
    assert risky.headers["content-disposition"] == "attachment"
    plain = page.request.get(f"{site.url}/media/{message_id}/1")
    assert "content-disposition" not in plain.headers


def test_people_on_one_thread_see_each_other(page: Page, site: Site, browser: Browser) -> None:
    thread_id = site.text_in(JANE)
    sign_in(page, site, then=f"/inbox/{thread_id}")
    other = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    try:
        avery = other.new_page()
        sign_in(avery, site, "avery", then=f"/inbox/{thread_id}")
        expect(avery.locator("#presence")).to_have_text("Also here: Pat Paralegal")
        page.evaluate("document.body.dispatchEvent(new Event('ml:poll'))")
        expect(page.locator("#presence")).to_have_text("Also here: Avery Attorney", timeout=3000)
    finally:
        other.close()


def test_a_new_text_appears_within_a_poll(page: Page, site: Site) -> None:
    thread_id = site.text_in(JANE, "First")
    sign_in(page, site, then=f"/inbox/{thread_id}")
    site.text_in(JANE, "Second, while you were reading")
    page.evaluate("document.body.dispatchEvent(new Event('ml:poll'))")
    expect(page.locator("ol.messages > li").last).to_contain_text("Second, while you were reading")


def test_privacy_mode_blurs_text_until_revealed(sqlite_engine: Engine, page: Page) -> None:
    with thread_site(sqlite_engine, MATTERLINE_PRIVACY_MODE="true") as site:
        thread_id = site.text_in(JANE, "My ex moved out")
        sign_in(page, site, then=f"/inbox/{thread_id}")
        expect(page.get_by_role("heading", level=1)).to_have_text("JD · 00101-Doe")
        assert "Jane Doe" not in page.content()
        text = page.locator(".msg-body").first
        expect(text).not_to_have_class("msg-body private revealed")
        assert page.evaluate("el => getComputedStyle(el).filter", text.element_handle()) != "none"
        page.get_by_role("button", name="Reveal").click()
        expect(text).to_have_class("msg-body private revealed")
        assert page.evaluate("el => getComputedStyle(el).filter", text.element_handle()) == "none"
        # A new text redraws the list: what the person revealed stays revealed, the new text is blurred.
        site.text_in(JANE, "Also the lease papers are here")
        page.evaluate("document.body.dispatchEvent(new Event('ml:poll'))")
        expect(page.locator(".msg-body")).to_have_count(2)
        expect(page.locator(".msg-body").first).to_have_class("msg-body private revealed")
        expect(page.get_by_role("button", name="Hide")).to_have_attribute("aria-expanded", "true")
        expect(page.locator(".msg-body").last).to_have_class("msg-body private")


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_thread_page_is_accessible(page: Page, site: Site, size: dict[str, int]) -> None:
    thread_id = site.text_in(JANE, "Hello there")
    page.set_viewport_size(size)  # type: ignore[arg-type]
    sign_in(page, site, "avery", then=f"/inbox/{thread_id}")
    assert_accessible(page)


def test_earlier_messages_open_the_texts_before_and_a_poll_keeps_that_page(
    page: Page, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries.conversation, "PAGE", 3)  # three texts a page, so five make two pages
    for n in range(1, 6):
        thread_id = site.text_in(JANE, f"Text {n}")
    sign_in(page, site, then=f"/inbox/{thread_id}")
    texts = page.locator("ol.messages .msg-body")
    expect(texts).to_have_text(["Text 3", "Text 4", "Text 5"])
    page.get_by_role("link", name="Earlier messages").click()
    expect(texts).to_have_text(["Text 1", "Text 2"])
    expect(page.get_by_role("link", name="Earlier messages")).to_have_count(0)
    # A text comes in while the person reads the earlier page: the poll redraws that page, not the newest.
    site.text_in(JANE, "Text 6")
    page.evaluate("document.body.dispatchEvent(new Event('ml:poll'))")
    expect(page.get_by_role("link", name="1 unread text")).to_be_visible()
    expect(texts).to_have_text(["Text 1", "Text 2"])


def test_a_held_text_cancelled_from_the_thread_never_goes(sqlite_engine: Engine, page: Page) -> None:
    with thread_site(sqlite_engine, MATTERLINE_QUIET_HOURS=shut_window()) as site:
        thread_id = site.text_in(JANE)
        sign_in(page, site, then=f"/inbox/{thread_id}")
        page.get_by_label("Text to send").fill("See you Monday.")
        page.get_by_role("button", name="Send", exact=True).click()
        held = page.locator("ol.messages > li").filter(has_text="See you Monday.")
        expect(held).to_contain_text("Held for the client's quiet hours")
        held.get_by_role("button", name="Cancel this text").click()
        expect(held).to_contain_text("canceled")
        expect(held.get_by_role("button", name="Cancel this text")).to_have_count(0)
        assert site.send_due() == 0
        assert site.sent_to(JANE) == []


def test_j_and_k_move_to_the_next_and_previous_thread(page: Page, site: Site) -> None:
    jane = site.text_in(JANE, "older")
    omar = site.text_in(OMAR, "newer")
    sign_in(page, site, then=f"/inbox/{omar}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Omar Haddad")
    page.keyboard.press("j")
    expect(page).to_have_url(f"{site.url}/inbox/{jane}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Jane Doe")
    # The heading is drawn before the deferred script listens for keys: a "k" sooner reaches nothing.
    page.wait_for_load_state("load")
    page.keyboard.press("k")
    expect(page).to_have_url(f"{site.url}/inbox/{omar}")
