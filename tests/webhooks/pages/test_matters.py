"""A matter's panel in a real browser: its people and their numbers with opt-out and consent states, its
threads, what was written to the CMS (with links), the recipient choice for the composer, the export by
role, the 404 page, sign-in first, privacy mode, and axe at desktop and phone widths."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from flask import render_template_string
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select, update

from connector import services
from connector.guardrails import consent, optouts
from connector.messaging import intake
from connector.settings import Settings
from connector.staff import sessions
from connector.staff.users import Actor
from connector.store.engine import utcnow
from connector.store.tables import messages, users, writebacks
from connector.sync.ingest import apply
from connector.sync.records import read_contact, read_relationship
from tests.support.browser import DESKTOP, PHONE, assert_accessible, live_server
from tests.support.firm import (
    CLIO,
    FIRM_NUMBER,
    PUBLIC_URL,
    TWILIO_SID,
    TWILIO_TOKEN,
    inbound_form,
    seed,
    settings,
    signed,
)
from tests.support.inbox import audit_rows
from tests.support.matter_history import close_windows
from webhooks import create_app
from webhooks.pages.auth import COOKIE

ADMIN = Actor("operator:root")
PASSWORD = "correct horse battery"
SMS = "/webhooks/twilio/sms"
JANE_WORK, JANE_MOBILE, JANE_HOME, SAM = "+14158675309", "+14155550199", "+14155550123", "+14155550142"
# Jane (client of 00101-Doe) has three numbers; Sam, her spouse, is a related contact on the matter.
JANE_CONTACT: dict[str, Any] = {
    "id": 1,
    "name": "Jane Doe",
    "is_client": True,
    "phone_numbers": [
        {"number": "(415) 867-5309", "name": "Work", "primary": True},
        {"number": "(415) 555-0123", "name": "Home", "primary": False},
        {"number": "(415) 555-0199", "name": "Mobile", "primary": False},
        {"number": "12", "name": "Fax", "primary": False},
    ],
}
SAM_CONTACT: dict[str, Any] = {
    "id": 6,
    "name": "Sam Doe",
    "is_client": False,
    "phone_numbers": [{"number": "415-555-0142", "name": "Mobile", "primary": True}],
}
SPOUSE: dict[str, Any] = {"id": 9001, "description": "Spouse", "matter": {"id": 101}, "contact": {"id": 6}}


@dataclass(frozen=True)
class Site:
    url: str
    engine: Engine


def seed_matter(engine: Engine) -> None:
    """The firm, plus Jane's numbers, her spouse on 101, a consent for her mobile and an opt-out on her home line."""
    seed(engine)
    now = utcnow()
    with engine.begin() as conn:
        apply(
            conn,
            "clients",
            [read_contact(CLIO.resources["clients"], raw, "US") for raw in (JANE_CONTACT, SAM_CONTACT)],
            now=now,
        )
        apply(conn, "relationships", [read_relationship(CLIO.resources["relationships"], SPOUSE)], now=now)
        consent.record(conn, JANE_MOBILE, action="grant", method="verbal", captured_by="seed", region="US", now=now)
        optouts.record(conn, JANE_HOME, "opt_out", "inbound_keyword", keyword="STOP", at=now)


def text_in(page: Page, site: Site, phone: str, body: str) -> None:
    """A client's text through the signed Twilio webhook of the running app, then the worker's intake."""
    params = inbound_form(phone, body, To=FIRM_NUMBER, AccountSid=TWILIO_SID)
    answer = page.request.post(site.url + SMS, form=params, headers=signed(SMS, params))
    assert answer.status == 200, answer.text()
    intake.drain(site.engine, settings())


def history(page: Page, site: Site) -> None:
    """Two of Jane's conversations on 101 closed: the first's transcript written, the second's summary dead."""
    text_in(page, site, JANE_WORK, "Did you get my documents?")
    close_windows(site.engine, utcnow() + timedelta(hours=2))
    text_in(page, site, JANE_WORK, "One more question about Friday")
    close_windows(site.engine, utcnow() + timedelta(hours=4))
    with site.engine.begin() as conn:
        rows = conn.execute(select(writebacks.c.id, writebacks.c.kind).order_by(writebacks.c.id)).all()
        [first_transcript, _, _, second_summary] = [r.id for r in rows]
        conn.execute(
            update(writebacks)
            .where(writebacks.c.id == first_transcript)
            .values(state="written", written_at=utcnow(), cms_record_id="7001")
        )
        conn.execute(
            update(writebacks)
            .where(writebacks.c.id == second_summary)
            .values(state="dead", last_error="matter 101 was closed in the CMS")
        )


def people(engine: Engine) -> None:
    """An attorney and a staff member; no passwords (hashing costs a second): the tests open their sessions."""
    services.users.add(engine, name="Avery Attorney", email="avery@firm.example", role="attorney", actor=ADMIN)
    services.users.add(engine, name="Pat Paralegal", email="pat@firm.example", role="staff", actor=ADMIN)


@contextmanager
def serve(engine: Engine, **extra: Any) -> Iterator[Site]:
    """The seeded firm served by the real app, with Twilio's signature checked against the firm's public URL."""
    seed_matter(engine)
    people(engine)
    with live_server(
        engine,
        secret_key="a test secret key, long enough",
        firm_numbers=(FIRM_NUMBER,),
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_TOKEN,
        public_url=PUBLIC_URL,
        **extra,
    ) as url:
        yield Site(url, engine)


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[Site]:
    with serve(sqlite_engine) as served:
        yield served


def enter(page: Page, site: Site, email: str = "avery@firm.example", then: str = "/matters/101") -> None:
    """Open `then` signed in as `email`: a session opened as sign-in opens one (test_auth tests the form)."""
    with site.engine.begin() as conn:
        user_id = conn.execute(select(users.c.id).where(users.c.email == email)).scalar_one()
        token = sessions.open_session(conn, user_id, utcnow())
    page.context.add_cookies([{"name": COOKIE, "value": token, "url": site.url}])
    page.goto(site.url + then)
    expect(page).to_have_url(site.url + then)


def test_the_panel_shows_the_matter_its_people_their_numbers_threads_and_write_backs(
    page: Page, engine: Engine
) -> None:
    with serve(engine) as site:
        history(page, site)
        enter(page, site)
        expect(page).to_have_title(re.compile(r"^(\(\d+\) )?Matter 101 · Matterline$"))  # no surname in a title
        expect(page.get_by_role("heading", level=1)).to_have_text("Matter 00101-Doe")
        facts = page.locator("dl.facts")
        expect(facts).to_contain_text("Doe custody")
        expect(facts).to_contain_text("Open")
        expect(page.get_by_role("link", name=re.compile("Open the matter in Clio"))).to_have_attribute(
            "href", "https://app.clio.com/nc/#/matters/101"
        )

        jane = page.get_by_role("region", name="Client: Jane Doe")
        expect(jane.get_by_role("heading", level=3)).to_contain_text("Jane Doe")
        work = jane.locator("li.phone").filter(has_text="(415) 867-5309")
        expect(work).to_contain_text("Work")
        expect(work).to_contain_text("Not opted out")
        expect(work).to_contain_text("Consent recorded (engagement letter")
        home = jane.locator("li.phone").filter(has_text="(415) 555-0123")
        expect(home).to_contain_text("Opted out on")
        expect(jane.locator("li.phone").filter(has_text="(415) 555-0199")).to_contain_text("Consent recorded (verbal")
        expect(jane.locator("li.phone").filter(has_text="Fax")).to_contain_text("Cannot be texted")
        sam = page.get_by_role("region", name="Spouse: Sam Doe")
        expect(sam.locator("li.phone")).to_contain_text("(415) 555-0142")
        expect(sam.locator("li.phone")).to_contain_text("No consent recorded")

        recipients = page.get_by_role("group", name="Send to")
        expect(recipients.get_by_role("radio")).to_have_count(3)
        expect(recipients.get_by_role("radio", name="Mobile: (415) 555-0199")).to_be_checked()
        expect(recipients.get_by_role("radio", name="Work: (415) 867-5309")).not_to_be_checked()
        expect(recipients.get_by_role("radio", name="Home: (415) 555-0123 (opted out)")).to_be_disabled()

        thread = page.locator("#matter-threads [data-thread-link]")
        expect(thread).to_have_count(1)
        expect(thread).to_contain_text("Jane Doe")
        expect(thread).to_contain_text("2 texts")
        assert re.fullmatch(r"/inbox/\d+", thread.get_attribute("href") or "")

        written = page.locator("li.writeback-written")
        expect(written).to_have_count(1)
        expect(written.get_by_role("link")).to_have_attribute("href", "https://app.clio.com/nc/#/communications/7001")
        expect(written).to_contain_text("Transcript")
        expect(page.locator("li.writeback-pending")).to_have_count(2)
        expect(page.locator("li.writeback-pending").first).to_contain_text("Waiting to be written")
        dead = page.locator("li.writeback-dead")
        expect(dead).to_contain_text("Could not be written: matter 101 was closed in the CMS")
        expect(dead).to_contain_text("Summary")


def test_a_text_on_the_matter_appears_in_its_threads_within_a_poll(page: Page, site: Site) -> None:
    enter(page, site)
    expect(page.locator("#matter-threads")).to_contain_text("No texts on this matter yet.")
    text_in(page, site, JANE_WORK, "Is my hearing still on?")
    page.evaluate("() => htmx.trigger(document.body, 'ml:poll')")  # the tick app.js fires every 5 s
    expect(page.locator("#matter-threads [data-thread-link]")).to_contain_text("1 unread")
    expect(page.get_by_role("link", name="1 unread text")).to_be_visible()


def test_the_panel_composer_texts_the_number_chosen_about_this_matter(page: Page, sqlite_engine: Engine) -> None:
    with serve(sqlite_engine) as site:
        history(page, site)
        enter(page, site)
        expect(page.get_by_role("radio", name="Mobile: (415) 555-0199")).to_be_checked()
        page.get_by_role("radio", name="Work: (415) 867-5309").check()  # not the preferred number
        page.get_by_label("Text to send").fill("Your hearing moved to Friday.")
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_role("status").filter(has_text=re.compile("Sent to the outbox|Held for"))).to_be_visible()
        expect(page.get_by_role("radio", name="Work: (415) 867-5309")).to_be_checked()  # the choice stays
    with sqlite_engine.connect() as conn:
        sent = conn.execute(
            select(messages.c.to_number, messages.c.matter_cms_id).where(
                messages.c.body == "Your hearing moved to Friday."
            )
        ).all()
    assert [tuple(row) for row in sent] == [(JANE_WORK, "101")]


def test_an_attorney_exports_the_matter_as_a_zip_and_it_is_audited(page: Page, site: Site) -> None:
    text_in(page, site, JANE_WORK, "Is my hearing still on?")
    enter(page, site)
    with page.expect_download() as downloading:
        page.get_by_role("button", name="Export this matter").click()
    download = downloading.value
    assert download.suggested_filename == "matter-101-export.zip"
    path = download.path()
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as archive:
        assert set(archive.namelist()) == {"export.json", "messages.csv", "transcript.html", "manifest.json"}
        assert "Is my hearing still on?" in archive.read("export.json").decode()
    [entry] = audit_rows(site.engine, "export")
    assert (entry.matter_cms_id, entry.actor) == ("101", "user:1:avery@firm.example")


def test_staff_see_no_export_and_a_forged_export_is_refused(page: Page, site: Site) -> None:
    enter(page, site, email="pat@firm.example")
    expect(page.get_by_role("heading", level=1)).to_have_text("Matter 00101-Doe")
    expect(page.get_by_role("button", name="Export this matter")).to_have_count(0)
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert token
    forged = page.request.post(
        site.url + "/matters/101/export", form={"csrf_token": token}, headers={"Accept": "text/html"}
    )
    assert forged.status == 403
    assert forged.headers["content-type"].startswith("text/html")
    assert "only attorneys and admins may export a matter" in forged.text()
    assert audit_rows(site.engine, "export") == []


def test_an_unknown_matter_is_a_404_page(page: Page, site: Site) -> None:
    enter(page, site)
    answer = page.goto(site.url + "/matters/999")
    assert answer is not None
    assert answer.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page).to_have_title(re.compile("^Not found"))


def test_signed_out_the_panel_asks_for_sign_in_and_comes_back(page: Page, site: Site) -> None:
    services.users.set_password(site.engine, "pat@firm.example", PASSWORD, actor=ADMIN)
    page.goto(site.url + "/matters/101")
    expect(page).to_have_url(re.compile(r"/signin\?next=(%2F|/)matters(%2F|/)101$"))
    page.get_by_label("Email").fill("pat@firm.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(site.url + "/matters/101")


def test_privacy_mode_shows_initials_and_hides_the_description_and_subjects(page: Page, sqlite_engine: Engine) -> None:
    with serve(sqlite_engine, privacy_mode=True) as site:
        history(page, site)
        enter(page, site)
        main = page.locator("main")
        expect(page.get_by_role("heading", level=1)).to_have_text("Matter 00101-Doe")
        expect(page.get_by_role("region", name="Client: JD")).to_be_visible()
        expect(page.get_by_role("region", name="Spouse: SD")).to_be_visible()
        expect(main).to_contain_text("Hidden in privacy mode")
        for secret in ("Jane", "Sam Doe", "Doe custody", "SMS transcript", "867-5309", "555-0199", "555-0142"):
            expect(main).not_to_contain_text(secret)
        expect(main).to_contain_text("•••• " + JANE_MOBILE[-2:])  # enough to tell numbers apart, not to dial one
        assert "Jane" not in page.title()
        assert "Jane" not in page.url
        assert_accessible(page)


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_panel_is_accessible(page: Page, site: Site, size: dict[str, int]) -> None:
    history(page, site)
    page.set_viewport_size(size)  # type: ignore[arg-type]
    enter(page, site)
    assert_accessible(page)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= size["width"], f"the page scrolls sideways at {size['width']} px ({width} px wide)"


def test_the_matter_link_macro_links_by_cms_id_and_initials_hide_names_in_privacy_mode(sqlite_engine: Engine) -> None:
    app = create_app(Settings(database_url=str(sqlite_engine.url)), sqlite_engine)
    source = (
        '{% import "matters/macros.html" as m with context %}'
        '{{ m.matter_link("101", "00101-Doe") }}|{{ m.matter_link(None, "x") }}|{{ m.person("Jane  van Doe") }}'
    )
    with app.test_request_context():
        plain = render_template_string(source, frame=SimpleNamespace(privacy=False))
        private = render_template_string(source, frame=SimpleNamespace(privacy=True))
    assert plain == '<a class="matter-link" href="/matters/101">00101-Doe</a>||Jane  van Doe'
    assert private.endswith(
        '|<abbr class="initials" title="Name hidden in privacy mode">JD</abbr>'
    )  # the one initials rule: first and last
