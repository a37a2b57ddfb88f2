"""The consent page: find a number typed any way or a client by name; a number's consent and opt-out ledgers,
every row newest first and never editable; recording and withdrawing consent appends a row, audited with the
admin's name; an opted-out number stays opted out whatever consent says; what is no number is refused in words."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import Engine

from connector import queries, services
from tests.support.admin_site import admin_site, posted_as, sign_in_as
from tests.support.browser import assert_accessible
from tests.support.firm import JANE, OMAR, settings
from tests.support.inbox import audit_rows
from tests.support.thread_site import OPERATOR, Site


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    """This page's browser tests run on SQLite; the services and queries behind it are tested on both stores."""
    return sqlite_engine


@pytest.fixture
def site(engine: Engine) -> Iterator[Site]:
    """The firm, where every client consented in their engagement letter (the seed)."""
    with admin_site(engine) as served:
        yield served


def _search(page: Page, text: str) -> None:
    page.get_by_label("Phone number or client name").fill(text)
    page.get_by_role("button", name="Search").click()


def _rows(table: Locator) -> list[list[str]]:
    """Each body row's header and cells, as read."""
    found = []
    for row in table.locator("tbody tr").all():
        found.append([c.strip() for c in row.locator("th, td").all_inner_texts()])
    return found


def _open_jane(page: Page, site: Site) -> None:
    """Ada, signed in, on Jane's number's page."""
    sign_in_as(page, site, then="/admin/consent")
    page.goto(site.url + "/admin/consent?phone=%2B14158675309")


def _said(page: Page) -> Locator:
    return page.locator("main p.ok[role=status]")


def test_the_empty_page_asks_for_a_number_or_a_name(page: Page, site: Site) -> None:
    sign_in_as(page, site, then="/admin/consent")
    expect(page.get_by_role("heading", name="Consent", level=1)).to_be_visible()
    expect(page.get_by_role("search").get_by_label("Phone number or client name")).to_be_empty()
    expect(page.get_by_role("table")).to_have_count(0)
    assert_accessible(page)


def test_a_number_in_another_format_and_a_client_name_are_found(page: Page, site: Site) -> None:
    site.text_in(OMAR, "STOP")
    sign_in_as(page, site, then="/admin/consent")
    _search(page, "415.867.5309")
    expect(page.get_by_role("heading", name="Results for “415.867.5309”")).to_be_visible()
    [jane] = _rows(page.get_by_role("table"))
    assert jane[:2] == ["(415) 867-5309", "Jane Doe"]
    assert jane[2].startswith("Given (Engagement letter")
    assert jane[3] == "Not opted out"
    assert_accessible(page)
    _search(page, "haddad")
    [omar] = _rows(page.get_by_role("table"))
    assert omar[:2] == ["(212) 867-5309", "Omar Haddad"]
    assert omar[3].startswith("Opted out since")
    page.get_by_role("link", name="(212) 867-5309").click()
    expect(page.get_by_role("heading", name="(212) 867-5309", level=2)).to_be_visible()
    expect(page.get_by_text("This number is opted out")).to_be_visible()
    assert_accessible(page)
    _search(page, "Nobody")
    expect(page.get_by_text("No client's name contains “Nobody”.")).to_be_visible()


def test_what_is_no_number_is_refused_in_words(page: Page, site: Site) -> None:
    sign_in_as(page, site, then="/admin/consent")
    with page.expect_response(lambda r: "q=555" in r.url) as answered:
        _search(page, "555")
    assert answered.value.status == 422
    expect(page.get_by_role("alert")).to_have_text("'555' is not a phone number that can be texted")
    expect(page.get_by_label("Phone number or client name")).to_have_value("555")
    assert_accessible(page)
    refused = posted_as(page, site, "/admin/consent/record", {"phone": "12", "method": "verbal", "scope": "all"})
    assert refused.status == 422
    assert "is not a phone number that can be texted" in refused.text()
    assert len(queries.consents.listing(site.engine)) == 4  # the seed's, nothing more


def test_a_numbers_history_shows_every_ledger_row_newest_first(page: Page, site: Site) -> None:
    services.consents.withdraw(site.engine, settings(), JANE, method="verbal", actor=OPERATOR, source="call")
    services.consents.record(
        site.engine, settings(), JANE, method="web_form", actor=OPERATOR, scope="matter 101", matter_cms_id="101"
    )
    site.text_in(JANE, "STOP")
    site.text_in(JANE, "START")
    _open_jane(page, site)
    expect(page.get_by_role("heading", name="(415) 867-5309", level=2)).to_be_visible()
    ledger = page.get_by_role("table", name="Consent ledger for +14158675309, newest first")
    rows = _rows(ledger)
    assert [r[1:6] + r[7:] for r in rows] == [
        ["Grant", "Web form", "matter 101", "", "101", "operator:root"],
        ["Withdrawal", "Verbal (in person or by phone)", "all matters", "call", "", "operator:root"],
        ["Grant", "Engagement letter", "all matters", "", "", "seed"],
    ]
    optouts = _rows(page.get_by_role("table", name="Opt-out ledger for +14158675309, newest first"))
    assert [r[1:4] for r in optouts] == [
        ["START (opted back in)", "Keyword text", "START"],
        ["STOP (opted out)", "Keyword text", "STOP"],
    ]
    expect(page.get_by_text("Not opted out (the client texted START")).to_be_visible()
    # Shown, never editable: the ledgers' tables hold no form field or button.
    expect(ledger.locator("input, select, textarea, button")).to_have_count(0)
    assert_accessible(page)


def test_recording_and_withdrawing_consent_append_audited_rows(page: Page, site: Site) -> None:
    before = queries.consents.listing(site.engine, OMAR)
    sign_in_as(page, site, then="/admin/consent")
    _search(page, "(212) 867 5309")
    page.get_by_role("link", name="(212) 867-5309").click()
    page.get_by_label("How the client gave it").select_option("verbal")
    page.get_by_label("Scope (what it covers", exact=False).first.fill("matter 201: scheduling")
    page.get_by_label("Where it is written down (a document").fill("call note 12 Dec")
    page.get_by_role("button", name="Record consent").click()
    expect(_said(page)).to_have_text("Consent recorded: a new row is on the ledger.")
    expect(page).to_have_url(re.compile(r"phone=%2B12128675309"))
    assert_accessible(page)
    page.get_by_label("How the client withdrew it").select_option("engagement_letter")
    page.get_by_label("Where it is written down, and why").fill("letter: asked us to stop texting")
    page.get_by_role("button", name="Withdraw consent").click()
    expect(_said(page)).to_contain_text("Withdrawal recorded")
    after = queries.consents.listing(site.engine, OMAR)
    assert after[: len(before)] == before  # nothing earlier changed
    assert [(r.action, r.method, r.scope, r.source, r.captured_by) for r in after[len(before) :]] == [
        ("grant", "verbal", "matter 201: scheduling", "call note 12 Dec", site.people["ada"].actor),
        ("revoke", "engagement_letter", "all matters", "letter: asked us to stop texting", site.people["ada"].actor),
    ]
    [granted] = [e for e in audit_rows(site.engine, "consent") if e.actor == site.people["ada"].actor]
    [revoked] = audit_rows(site.engine, "consent_revoked")
    assert (granted.subject_id, granted.details["consent_id"]) == (OMAR, after[-2].id)
    assert (revoked.actor, revoked.details["consent_id"]) == (site.people["ada"].actor, after[-1].id)
    assert _rows(page.get_by_role("table", name=re.compile("^Consent ledger")))[0][1] == "Withdrawal"
    expect(page.locator("main dl")).to_contain_text("Withdrawn")


def test_consent_that_cannot_be_taken_is_refused_keeping_what_was_typed(page: Page, site: Site) -> None:
    _open_jane(page, site)
    page.get_by_label("How the client gave it").select_option("web_form")
    page.get_by_label("Scope (what it covers", exact=False).first.fill("   ")
    page.get_by_label("Where it is written down (a document").fill("form 88")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Record consent").click()
    assert posted.value.status == 422
    expect(page.get_by_role("alert")).to_contain_text("a consent needs a scope")
    expect(page.get_by_label("How the client gave it")).to_have_value("web_form")
    expect(page.get_by_label("Where it is written down (a document")).to_have_value("form 88")
    assert_accessible(page)
    assert len(queries.consents.listing(site.engine, JANE)) == 1


def test_consent_for_an_opted_out_number_does_not_opt_it_back_in(page: Page, site: Site) -> None:
    site.text_in(JANE, "STOP")
    _open_jane(page, site)
    expect(page.get_by_text("does not opt the number back in: only the client's START does")).to_be_visible()
    page.get_by_label("How the client gave it").select_option("verbal")
    page.get_by_role("button", name="Record consent").click()
    expect(_said(page)).to_have_text("Consent recorded: a new row is on the ledger.")
    expect(page.locator("main dl")).to_contain_text("Opted out since")
    expect(page.get_by_text("This number is opted out")).to_be_visible()
    [standing] = queries.consents.lookup(site.engine, JANE, region="US")
    assert standing.opt_out.opted_out
    assert standing.consent is not None
    assert standing.consent.method == "verbal"
    assert_accessible(page)
