"""The firm inbox in a real browser: its filters, the search (never in a URL), what each row says, a text
arriving through the signed Twilio webhook within one poll, the badge and the title, keys, the empty
state, privacy mode, paging, and axe at desktop and phone width."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, update
from twilio.request_validator import RequestValidator

from connector import services
from connector.guardrails import consent
from connector.messaging import intake
from connector.staff.users import Actor, User
from connector.store.tables import messages
from tests.support.browser import DESKTOP, PHONE, assert_accessible, live_server
from tests.support.firm import JANE, NOW, OMAR, TWILIO_TOKEN, inbound_form, seed
from tests.support.firm import settings as firm_settings
from tests.support.inbox import stranger, text_in
from tests.support.people import add_user

PASSWORD = "correct horse battery"
SMS = "/webhooks/twilio/sms"
# No public URL: the webhook checks Twilio's signature against the URL it was posted to (the live server's).
SETTINGS = firm_settings(MATTERLINE_PUBLIC_URL="")


@dataclass
class Site:
    url: str
    engine: Engine
    pat: User
    alice: User
    threads: dict[str, int]


def serve(engine: Engine, **overrides: Any) -> Any:
    """The live server with the firm's settings (its number, Twilio's token) and a secret key for CSRF."""
    given = {f.name: getattr(SETTINGS, f.name) for f in fields(SETTINGS) if f.name != "database_url"}
    return live_server(engine, **{**given, "secret_key": "a test secret key, long enough", **overrides})


def fill_inbox(engine: Engine) -> tuple[User, User, dict[str, int]]:
    """Jane (filed, Pat's, answered and the answer not delivered), Omar (two open matters: needs filing, urgent),
    a stranger waiting for a reply, one who opted out, and one whose consent was withdrawn."""
    seed(engine)
    pat = services.users.add(
        engine,
        name="Pat Paralegal",
        email="pat@firm.example",
        role="staff",
        actor=Actor("operator:root"),
        password=PASSWORD,
    ).user
    alice, _ = add_user(engine, name="Alice Attorney", email="alice@firm.example", role="attorney")
    jane = text_in(engine, JANE, "Is my hearing still on?", minutes=1).thread_id
    omar = text_in(engine, OMAR, "Which case is this about", minutes=2).thread_id
    waiting = text_in(engine, stranger(1), "Who do I ask about parking", minutes=3).thread_id
    quitter = text_in(engine, stranger(2), "STOP", minutes=4).thread_id
    withdrawn = text_in(engine, stranger(3), "ok", minutes=5).thread_id
    with engine.begin() as conn:
        consent.record(
            conn,
            stranger(3),
            action="revoke",
            method="verbal",
            captured_by="seed",
            region="US",
            now=NOW.replace(hour=16),
        )
    services.threads.assign(engine, jane, pat.id, actor=Actor.of(alice))
    services.threads.assign(engine, omar, alice.id, actor=Actor.of(alice))
    services.threads.set_urgent(engine, omar, True, actor=Actor.of(alice))
    reply = services.messages.send(
        engine, SETTINGS, body="Yes, 9 am Monday", thread_id=jane, actor=Actor.of(alice), now=NOW + timedelta(minutes=6)
    )
    with engine.begin() as conn:
        conn.execute(update(messages).where(messages.c.id == reply.id).values(status="undelivered"))
    names = {"jane": jane, "omar": omar, "waiting": waiting, "quitter": quitter, "withdrawn": withdrawn}
    return pat, alice, names


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[Site]:
    pat, alice, names = fill_inbox(sqlite_engine)
    with serve(sqlite_engine) as url:
        yield Site(url, sqlite_engine, pat, alice, names)


def sign_in(page: Page, site: Site | str, path: str = "/inbox") -> None:
    page.goto((site if isinstance(site, str) else site.url) + path)
    page.get_by_label("Email").fill("pat@firm.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Inbox", level=1)).to_be_visible()
    # The heading shows before the page's scripts have run: a search typed sooner is a plain form post.
    page.wait_for_load_state("load")


def listed(page: Page) -> list[str]:
    """The thread links, top to bottom, as a person reads them."""
    return [text.strip() for text in page.locator("[data-thread-link]").all_inner_texts()]


def row_of(page: Page, name: str) -> Any:
    return page.locator(".thread-row").filter(has=page.get_by_role("link", name=name, exact=True))


def search(page: Page, text: str) -> None:
    box = page.get_by_role("searchbox", name="Search")
    box.fill(text)
    box.press("Enter")


def text_arrives(page: Page, site: Site, from_: str, body: str) -> None:
    """A text posted to the webhook as Twilio posts it (signed), then taken in by the intake worker."""
    params = inbound_form(from_, body)
    url = site.url + SMS
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
    answer = page.request.post(url, form=params, headers={"X-Twilio-Signature": signature})
    assert answer.status == 200
    intake.drain(site.engine, SETTINGS)


def test_each_filter_shows_its_threads(page: Page, site: Site) -> None:
    sign_in(page, site)
    everyone = ["Jane Doe", "(415) 555-0003", "(415) 555-0002", "(415) 555-0001", "Omar Haddad"]
    assert listed(page) == everyone
    expected = {
        "Mine": ["Jane Doe"],
        "Unassigned": ["(415) 555-0003", "(415) 555-0002", "(415) 555-0001"],
        "All": everyone,
        "Unread": everyone[:-1],  # Pat has read nothing yet, and Omar's thread is Alice's to read
        "Urgent": ["Omar Haddad"],
        "Needs filing": ["(415) 555-0003", "(415) 555-0002", "(415) 555-0001", "Omar Haddad"],
        # The STOP thread is not waiting: a bare keyword is answered by Matterline, not a person.
        "Waiting for reply": ["(415) 555-0003", "(415) 555-0001", "Omar Haddad"],
        "Opted out": ["(415) 555-0002"],
    }
    filters = page.get_by_role("navigation", name="Filters")
    for label, names in expected.items():
        filters.get_by_role("link", name=label).click()
        expect(page.get_by_role("heading", name=label, level=2)).to_be_visible()
        expect(filters.get_by_role("link", name=label)).to_have_attribute("aria-current", "page")
        assert listed(page) == names, label


def test_each_row_says_what_a_person_needs(page: Page, site: Site) -> None:
    sign_in(page, site)
    jane = row_of(page, "Jane Doe")
    expect(jane).to_contain_text("00101-Doe")
    expect(jane.locator(".snippet")).to_have_text("Firm: Yes, 9 am Monday")
    expect(jane).to_contain_text("Assigned to pat@firm.example")
    expect(jane).to_contain_text("Last reply: Not delivered")
    expect(jane).to_contain_text("1 unread")
    expect(jane).not_to_contain_text("No consent")
    expect(jane.locator("time")).to_have_text("Nov 27")  # the firm's zone, another day than today
    omar = row_of(page, "Omar Haddad")
    expect(omar).to_contain_text("No matter")
    expect(omar).to_contain_text("Urgent")
    expect(omar).to_contain_text("Needs filing")
    expect(omar).to_contain_text("Assigned to alice@firm.example")
    expect(omar.locator(".snippet")).to_have_text("Which case is this about")
    expect(row_of(page, "(415) 555-0002")).to_contain_text("Opted out")
    withdrawn = row_of(page, "(415) 555-0003")
    expect(withdrawn).to_contain_text("No consent")
    expect(withdrawn).to_contain_text("Unassigned")
    expect(withdrawn).to_contain_text("Last text received")
    assert page.get_by_role("link", name="Jane Doe").get_attribute("href") == f"/inbox/{site.threads['jane']}"


@pytest.mark.parametrize(
    ("typed", "names"),
    [
        ("jane", ["Jane Doe"]),
        ("212.867.5309", ["Omar Haddad"]),
        ("(415) 555-0001", ["(415) 555-0001"]),
        ("00101", ["Jane Doe"]),
        ("parking", ["(415) 555-0001"]),
    ],
    ids=["name", "phone", "number", "matter", "text"],
)
def test_search_by_name_number_matter_and_text_stays_out_of_the_url(
    page: Page, site: Site, typed: str, names: list[str]
) -> None:
    sign_in(page, site)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    search(page, typed)
    expect(page.get_by_role("heading", name="All: search results")).to_be_visible()
    assert listed(page) == names
    assert page.url == site.url + "/inbox"
    assert requested
    assert not [url for url in requested if "?" in url and ("q=" in url or typed.split()[0] in url)]


def test_a_hostile_or_too_long_search_is_answered_plainly(page: Page, site: Site) -> None:
    sign_in(page, site)
    search(page, "%_'\";--")
    expect(page.get_by_text("No threads match your search.")).to_be_visible()
    page.get_by_role("searchbox", name="Search").evaluate("box => box.removeAttribute('maxlength')")
    search(page, "x" * 10_000)
    expect(page.get_by_role("alert")).to_have_text("A search is at most 100 characters.")
    answer = page.request.post(site.url + "/inbox/search", form={"q": "jane"})
    assert answer.status == 400  # no CSRF token: refused


def test_the_empty_state_says_so(page: Page, site: Site) -> None:
    services.threads.set_urgent(site.engine, site.threads["omar"], False, actor=Actor.of(site.alice))
    sign_in(page, site, "/inbox?filter=urgent")
    expect(page.get_by_text("No threads here.")).to_be_visible()
    expect(page.locator("[data-thread-link]")).to_have_count(0)


def test_a_text_through_the_webhook_appears_within_one_poll_and_the_badge_rises(page: Page, site: Site) -> None:
    page.clock.install()
    sign_in(page, site)
    badge = page.locator("#badge")
    # Pat's threads and the unassigned ones: Jane's text and the three strangers' (Omar's is Alice's).
    expect(badge).to_have_accessible_name("4 unread texts")
    expect(page).to_have_title("(4) Inbox · Matterline")
    text_arrives(page, site, "+14155550042", "Are you open on Saturday?")
    page.clock.run_for(5_000)  # one tick of the page's poll
    expect(page.locator("[data-thread-link]").first).to_have_text("(415) 555-0042")
    expect(row_of(page, "(415) 555-0042").locator(".snippet")).to_have_text("Are you open on Saturday?")
    expect(badge).to_have_accessible_name("5 unread texts")
    expect(page).to_have_title("(5) Inbox · Matterline")


def test_the_poll_keeps_the_search(page: Page, site: Site) -> None:
    page.clock.install()
    sign_in(page, site)
    search(page, "jane")
    expect(page.get_by_role("heading", name="All: search results")).to_be_visible()
    text_arrives(page, site, JANE, "Running late")
    text_arrives(page, site, "+14155550043", "Unrelated")
    page.clock.run_for(5_000)
    expect(row_of(page, "Jane Doe").locator(".snippet")).to_have_text("Running late")
    assert listed(page) == ["Jane Doe"]
    expect(page.locator("#badge")).to_have_accessible_name("6 unread texts")


def test_j_and_k_move_between_threads_and_slash_goes_to_search(page: Page, site: Site) -> None:
    sign_in(page, site)
    page.keyboard.press("j")
    expect(page.get_by_role("link", name="Jane Doe")).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(page.get_by_role("link", name="(415) 555-0002")).to_be_focused()
    page.keyboard.press("k")
    expect(page.get_by_role("link", name="(415) 555-0003")).to_be_focused()
    page.keyboard.press("/")
    expect(page.get_by_role("searchbox", name="Search")).to_be_focused()


def test_older_pages_through_the_cursor(page: Page, sqlite_engine: Engine) -> None:
    fill_inbox(sqlite_engine)
    for n in range(50):
        text_in(sqlite_engine, stranger(200 + n), "hi", minutes=10 + n)
    with serve(sqlite_engine) as url:
        sign_in(page, url)
        assert len(listed(page)) == 50
        page.get_by_role("link", name="Older").click()
        expect(page).to_have_url(re.compile(r"/inbox\?before="))
        assert listed(page) == ["Jane Doe", "(415) 555-0003", "(415) 555-0002", "(415) 555-0001", "Omar Haddad"]
        page.get_by_role("link", name="Newest").click()
        assert len(listed(page)) == 50


def test_privacy_mode_shows_initials_and_no_snippet(page: Page, sqlite_engine: Engine) -> None:
    fill_inbox(sqlite_engine)
    with serve(sqlite_engine, privacy_mode=True) as url:
        sign_in(page, url)
        assert listed(page) == ["JD", "Unknown number", "Unknown number", "Unknown number", "OH"]
        expect(page.locator(".snippet")).to_have_count(0)
        body = page.locator("main").inner_text()
        for secret in ("Jane Doe", "Omar Haddad", "hearing", "555-0001", "parking"):
            assert secret not in body
        expect(row_of(page, "JD")).to_contain_text("00101-Doe")
        assert_accessible(page)


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_inbox_is_accessible(page: Page, site: Site, size: dict[str, int]) -> None:
    page.set_viewport_size(size)  # type: ignore[arg-type]
    sign_in(page, site)
    assert_accessible(page)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= size["width"]  # one pane, no sideways scroll
    search(page, "nothing like this")
    expect(page.get_by_text("No threads match your search.")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("navigation", name="Filters").get_by_role("link", name="Unread").click()
    expect(page.get_by_role("heading", name="Unread", level=2)).to_be_visible()
    assert_accessible(page)
