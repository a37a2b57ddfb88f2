"""The audit page in a real browser: filters by person, action, matter and firm-time dates; newest first a page
at a time; "verify the chain" naming a tampered entry, or the head and the last checkpoint of an intact log;
downloads of exactly the filtered entries; an admin's change on another page shown at once; axe on each state."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select, update

from connector import queries, services
from connector.compliance import audit
from connector.staff.users import Actor
from connector.store.tables import audit_log
from tests.support.admin_site import admin_site, sign_in_as
from tests.support.browser import assert_accessible
from tests.support.thread_site import Site

NY = ZoneInfo("America/New_York")
# Late on 2 March in New York is already 3 March in UTC: the date filters read the firm's days.
MARCH_2_LATE = datetime(2025, 3, 2, 21, 30, tzinfo=NY)
MARCH_3 = datetime(2025, 3, 3, 10, 0, tzinfo=NY)
MARCH_5 = datetime(2025, 3, 5, 16, 45, tzinfo=NY)


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[Site]:
    with admin_site(sqlite_engine) as served:
        yield served


@pytest.fixture
def store_site(engine: Engine) -> Iterator[Site]:
    """On SQLite and, when configured, PostgreSQL: for the tests that edit the store behind the app's back."""
    with admin_site(engine) as served:
        yield served


def _history(site: Site) -> dict[str, int]:
    """Three hold changes on known days by Ada (admin) and Avery; the audit entry id of each."""
    ada, avery = Actor.of(site.people["ada"]), Actor.of(site.people["avery"], "req-avery-1")
    services.holds.set_hold(site.engine, "101", reason="Subpoena 2025-17", actor=ada, now=MARCH_2_LATE)
    services.holds.set_hold(site.engine, "201", reason="DUI appeal", actor=avery, now=MARCH_3)
    services.holds.release(site.engine, "101", reason="Subpoena withdrawn", actor=ada, now=MARCH_5)
    entries = queries.audit.listing(site.engine, action=None, since=MARCH_2_LATE, until=MARCH_5 + timedelta(seconds=1))
    assert [e.action for e in entries] == ["hold_set", "hold_set", "hold_release"]
    return {"set_101": entries[0].id, "set_201": entries[1].id, "release_101": entries[2].id}


def _shown(page: Page) -> list[int]:
    """The entry ids the table shows, top to bottom."""
    return [int(text) for text in page.locator("table.admin-table tbody th[scope=row]").all_inner_texts()]


LABELS = {
    "person": "Person",
    "action": "Action",
    "matter": "Matter (CMS id)",
    "since": "From (firm time)",
    "until": "To (firm time, that whole day)",
}


def _filter(page: Page, **fields: str) -> None:
    """Fill the filter form as a person would (a fresh form each time) and apply it."""
    page.get_by_role("link", name="Clear the filters").click()
    for name, value in fields.items():
        control = page.get_by_label(LABELS[name], exact=True)
        if name == "action":
            control.select_option(value)
        else:
            control.fill(value)
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("heading", name="Entries")).to_be_visible()


def test_filters_narrow_the_list_by_person_action_matter_and_firm_days(page: Page, site: Site) -> None:
    ids = _history(site)
    sign_in_as(page, site, then="/admin/audit")
    everything = _shown(page)
    assert everything == sorted(everything, reverse=True)  # newest first
    assert {ids["set_101"], ids["set_201"], ids["release_101"]} <= set(everything)
    assert len(everything) > 3  # people added, Ada's sign-in
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=str(ids["set_201"]), exact=True))
    cells = [c.strip() for c in row.get_by_role("cell").all_inner_texts()]
    assert cells[0] == "2025-03-03 10:00:00 EST"
    assert "Avery Attorney" in cells[1]
    assert cells[2:5] == ["hold_set", "matter 201", "201"]
    assert cells[5] == "req-avery-1"
    assert cells[6] == f"hold: {_hold_id(site, ids['set_201'])}; reason: DUI appeal"
    assert_accessible(page)

    _filter(page, matter="101")
    assert _shown(page) == [ids["release_101"], ids["set_101"]]
    assert parse_qs(urlsplit(page.url).query)["matter"] == ["101"]  # a filtered view is a bookmark

    _filter(page, action="hold_set")
    assert _shown(page) == [ids["set_201"], ids["set_101"]]

    _filter(page, person="avery@firm.example")  # an email is the person's label
    assert _shown(page) == [ids["set_201"]]
    _filter(page, person=site.people["ada"].actor, action="hold_release")
    assert _shown(page) == [ids["release_101"]]

    _filter(page, since="2025-03-02", until="2025-03-02")
    assert _shown(page) == [ids["set_101"]]  # 21:30 in New York, 02:30 the next day in UTC
    _filter(page, since="2025-03-03", until="2025-03-05")
    assert _shown(page) == [ids["release_101"], ids["set_201"]]

    _filter(page, matter="999")
    assert _shown(page) == []
    expect(page.get_by_text("No entries match these filters.")).to_be_visible()
    assert_accessible(page)


def _hold_id(site: Site, entry_id: int) -> int:
    found = queries.audit.entry(site.engine, entry_id)
    assert found is not None
    assert found.details is not None
    return int(found.details["hold"])


def test_a_wrong_filter_is_said_in_words(page: Page, site: Site) -> None:
    sign_in_as(page, site, then="/admin/audit")
    answer = page.goto(site.url + "/admin/audit?from=2025-13-01&action=frobnicate&matter=101")
    assert answer is not None
    assert answer.status == 400
    expect(page.get_by_text("From: not a date (YYYY-MM-DD).")).to_be_visible()
    expect(page.get_by_text("Action: “frobnicate” is not an action the log records.")).to_be_visible()
    expect(page.get_by_label("Matter (CMS id)")).to_have_value("101")  # what was typed stays
    assert _shown(page) == []
    assert_accessible(page)


def test_older_entries_are_a_page_away(page: Page, site: Site) -> None:
    with site.engine.begin() as conn:
        for n in range(60):
            audit.append(conn, actor="worker", action=audit.Action.REPLAY, subject_type="outbox", subject_id=n)
    everything = [e.id for e in reversed(queries.audit.listing(site.engine, action="replay"))]
    sign_in_as(page, site, then="/admin/audit?action=replay")
    assert _shown(page) == everything[:50]
    page.get_by_role("link", name="Older entries").click()
    expect(page.get_by_role("link", name="Newest entries")).to_be_visible()
    assert _shown(page) == everything[50:]
    expect(page.get_by_role("link", name="Older entries")).to_have_count(0)
    assert parse_qs(urlsplit(page.url).query)["action"] == ["replay"]  # the filter goes along


def test_a_tampered_entry_is_named_by_the_verify_button(page: Page, store_site: Site) -> None:
    site = store_site
    ids = _history(site)
    sign_in_as(page, site, then="/admin/audit")
    page.get_by_role("button", name="Verify the chain").click()
    expect(page.get_by_text("Intact:")).to_be_visible()
    # Someone with database access softens the reason of the hold on 201 after the fact.
    with site.engine.begin() as conn:
        details = conn.execute(select(audit_log.c.details).where(audit_log.c.id == ids["set_201"])).scalar_one()
        conn.execute(
            update(audit_log).where(audit_log.c.id == ids["set_201"]).values(details={**details, "reason": "routine"})
        )
    page.get_by_role("button", name="Verify the chain").click()
    verdict = page.locator(".audit-verdict")
    expect(verdict).to_contain_text(f"Broken at entry {ids['set_201']}:")
    expect(verdict).to_contain_text("its contents do not match its hash")
    bad = page.locator("dt:text-is('First bad entry') + dd")
    expect(bad).to_contain_text(
        f"entry {ids['set_201']}, 2025-03-03 10:00:00 EST, hold_set by {site.people['avery'].actor}"
    )
    expect(page.locator("dt:text-is('Last checkpoint') + dd")).to_contain_text("none yet")
    assert_accessible(page)
    # Checking changes nothing, and is not itself an entry (as with `matterline audit verify`).
    assert queries.audit.listing(site.engine, newest=1)[0].action == "login"


def test_an_intact_chain_shows_its_head_and_last_checkpoint(page: Page, site: Site) -> None:
    sign_in_as(page, site, then="/admin/audit")
    signed = audit.checkpoint(site.engine, actor="worker")
    head = queries.audit.listing(site.engine, newest=1)[0]
    assert head.action == "audit_checkpoint"
    page.get_by_role("button", name="Verify the chain").click()
    verdict = page.locator(".audit-verdict")
    expect(verdict).to_contain_text("Intact:")
    expect(verdict).to_contain_text("1 checkpoint check out")
    expect(page.locator("dt:text-is('Head') + dd")).to_have_text(f"entry {head.id}, hash {head.hash[:12]}…")
    expect(page.locator("dt:text-is('Last checkpoint') + dd")).to_contain_text(
        f"checkpoint {signed.id}, {signed.at.astimezone(NY):%Y-%m-%d %H:%M:%S %Z}, signing {signed.entries} entries "
        f"through entry {signed.entry_id}: its signature holds"
    )
    expect(page.get_by_text("First bad entry")).to_have_count(0)
    assert_accessible(page)


def test_the_downloads_hold_exactly_the_filtered_entries(page: Page, site: Site, tmp_path: Path) -> None:
    ids = _history(site)
    sign_in_as(page, site, then="/admin/audit?matter=101")
    with page.expect_download() as csv_download:
        page.get_by_role("link", name="CSV").click()
    csv_path = tmp_path / "audit.csv"
    csv_download.value.save_as(csv_path)
    assert csv_download.value.suggested_filename.endswith(".csv")
    with csv_path.open(newline="", encoding="utf-8-sig") as f:  # a byte-order mark, for spreadsheets
        rows = list(csv.DictReader(f))
    assert [int(r["id"]) for r in rows] == [ids["set_101"], ids["release_101"]]  # oldest first
    assert [r["action"] for r in rows] == ["hold_set", "hold_release"]
    assert json.loads(rows[1]["details"])["reason"] == "Subpoena withdrawn"
    assert rows[0]["actor"] == site.people["ada"].actor
    assert datetime.fromisoformat(rows[0]["at"]) == MARCH_2_LATE

    with page.expect_download() as json_download:
        page.get_by_role("link", name="JSON").click()
    exported = json.loads(Path(json_download.value.path()).read_text(encoding="utf-8"))
    assert exported["filters"] == {"matter": "101"}
    assert [e["id"] for e in exported["entries"]] == [ids["set_101"], ids["release_101"]]
    assert exported["entries"][0]["hash"] == queries.audit.entry(site.engine, ids["set_101"]).hash  # type: ignore[union-attr]

    answer = page.request.get(site.url + "/admin/audit/export.csv?action=hold_set&person=avery@firm.example")
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert [int(r["id"]) for r in csv.DictReader(answer.body().decode("utf-8-sig").splitlines())] == [ids["set_201"]]
    # Downloading the log is not itself an entry (reading it through the API or the CLI is not either).
    assert queries.audit.listing(site.engine, action="export") == []
    text = answer.text() + json.dumps(exported)
    assert site.settings.secret_key not in text


def test_a_hold_set_on_the_retention_page_shows_here_at_once(page: Page, site: Site) -> None:
    sign_in_as(page, site, then="/admin/retention")
    page.get_by_label("Matter", exact=True).select_option("202")
    page.get_by_label("Reason").fill("Landlord's counsel sent a preservation letter")
    page.get_by_role("button", name="Set the hold").click()
    expect(page.locator("p.ok")).to_contain_text("is now on legal hold")
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Audit").click()
    newest = page.locator("table.admin-table tbody tr").first
    expect(newest).to_contain_text("hold_set")
    expect(newest).to_contain_text("Ada Admin")
    expect(newest).to_contain_text("reason: Landlord's counsel sent a preservation letter")
    expect(newest).to_contain_text("matter 202")
