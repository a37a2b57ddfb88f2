"""The retention page in a real browser: legal holds set and released with reasons (ledger and audit checked,
who and why shown), refusals in words with nothing changed, and the next purge's dry-run counts for a store
with old texts, a held matter's texts kept out of them, and nothing purged by looking; axe on each state."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, func, select

from connector import queries, services
from connector.compliance import retention
from connector.staff.users import Actor
from connector.store.engine import utcnow
from connector.store.tables import audit_log, legal_holds, messages, writebacks
from tests.support.admin_site import admin_site, posted_as, sign_in_as
from tests.support.browser import assert_accessible
from tests.support.firm import JANE, OMAR
from tests.support.matter_history import close_windows, confirm_written, file_omar_to, reply, text_in
from tests.support.thread_site import Site


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    """This page's browser tests run on SQLite; the services and queries behind it are tested on both stores."""
    return sqlite_engine


RETENTION_DAYS = 30


@pytest.fixture
def site(engine: Engine) -> Iterator[Site]:
    """On SQLite and, when configured, PostgreSQL: the page's subject is what the store holds."""
    with admin_site(engine, MATTERLINE_RETENTION_DAYS=str(RETENTION_DAYS)) as served:
        yield served


def _ledger(engine: Engine) -> list[tuple[str, str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                legal_holds.c.matter_cms_id, legal_holds.c.action, legal_holds.c.reason, legal_holds.c.actor
            ).order_by(legal_holds.c.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def _audited(engine: Engine, action: str) -> list[tuple[Any, ...]]:
    return [
        (e.actor, e.matter_cms_id, (e.details or {}).get("reason"))
        for e in queries.audit.listing(engine, action=action)
    ]


def test_a_hold_is_set_and_released_with_reasons_and_shows_who_and_why(page: Page, site: Site) -> None:
    ada = site.people["ada"].actor
    sign_in_as(page, site, then="/admin/retention")
    expect(page.get_by_text("No matter is on legal hold.")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Matter", exact=True).select_option("201")
    page.get_by_label("Reason", exact=True).fill("Subpoena duces tecum, Haddad DUI appeal")
    page.get_by_role("button", name="Set the hold").click()
    expect(page.locator("p.ok")).to_have_text("00201-Haddad · Haddad DUI (CMS id 201) is now on legal hold.")
    row = page.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name="00201-Haddad · Haddad DUI (CMS id 201)")
    )
    expect(row).to_contain_text("Ada Admin")
    expect(row).to_contain_text(ada)
    expect(row).to_contain_text("Subpoena duces tecum, Haddad DUI appeal")
    assert _ledger(site.engine) == [("201", "set", "Subpoena duces tecum, Haddad DUI appeal", ada)]
    assert _audited(site.engine, "hold_set") == [(ada, "201", "Subpoena duces tecum, Haddad DUI appeal")]
    assert_accessible(page)

    page.get_by_label("Reason to release 00201-Haddad").fill("Appeal decided")
    page.get_by_role("button", name="Release the hold on 00201-Haddad").click()
    expect(page.locator("p.ok")).to_have_text("00201-Haddad · Haddad DUI (CMS id 201) is no longer on legal hold.")
    expect(page.get_by_text("No matter is on legal hold.")).to_be_visible()
    assert queries.holds.listing(site.engine) == []
    assert _ledger(site.engine)[-1] == ("201", "release", "Appeal decided", ada)
    assert _audited(site.engine, "hold_release") == [(ada, "201", "Appeal decided")]


def test_refusals_are_said_in_words_and_change_nothing(page: Page, site: Site) -> None:
    services.holds.set_hold(site.engine, "101", reason="Custody records", actor=Actor.of(site.people["ada"]))
    sign_in_as(page, site, then="/admin/retention")
    before = (_ledger(site.engine), len(queries.audit.listing(site.engine)))

    # A reason of spaces passes the browser's "required" but not the service.
    page.get_by_label("Matter", exact=True).select_option("202")
    page.get_by_label("Reason", exact=True).fill("   ")
    with page.expect_response(lambda r: r.url.endswith("/admin/retention/hold")) as answer:
        page.get_by_role("button", name="Set the hold").click()
    assert answer.value.status == 422
    expect(page.get_by_role("alert")).to_have_text(
        "Nothing was put on hold: give a reason (it is kept in the hold ledger and the audit log)."
    )
    expect(page.get_by_label("Matter", exact=True)).to_have_value("202")  # what was chosen stays
    assert_accessible(page)

    page.get_by_label("Matter", exact=True).select_option("101")
    page.get_by_label("Reason", exact=True).fill("Again")
    page.get_by_role("button", name="Set the hold").click()
    expect(page.get_by_role("alert")).to_have_text("Nothing was put on hold: matter 101 is already on legal hold.")
    expect(page.get_by_label("Reason", exact=True)).to_have_value("Again")

    page.get_by_label("Reason to release 00101-Doe").fill("  ")
    page.get_by_role("button", name="Release the hold on 00101-Doe").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was released: give a reason")

    unknown = posted_as(page, site, "/admin/retention/hold", {"matter": "999", "reason": "preserve"})
    assert unknown.status == 404
    assert "Nothing was put on hold: no matter 999 in the store" in unknown.text()
    assert (_ledger(site.engine), len(queries.audit.listing(site.engine))) == before


def _old_history(engine: Engine) -> datetime:
    """Jane (101) asks and is answered, Omar's text is filed to 201; the CMS confirmed both transcripts
    longer ago than the retention period. Returns when the texts came in."""
    start = utcnow() - timedelta(days=RETENTION_DAYS + 10)
    text_in(engine, JANE, "Did you get the documents I mailed?", start)
    reply(engine, "101", "Yes, thank you.", start + timedelta(minutes=3))
    text_in(engine, OMAR, "About the lease renewal", start + timedelta(minutes=5))
    file_omar_to(engine, "201", start + timedelta(minutes=6))
    close_windows(engine, start + timedelta(hours=1))
    confirm_written(engine, start + timedelta(hours=2))
    return start


def _store(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        rows: list[Any] = [tuple(r) for r in conn.execute(select(messages).order_by(messages.c.id))]
        rows += [tuple(r) for r in conn.execute(select(writebacks).order_by(writebacks.c.id))]
        rows.append(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())
    return rows


def _figure(page: Page, term: str) -> str:
    return page.locator(f"dt:text-is('{term}') + dd").inner_text().strip()


def test_the_next_purge_is_counted_held_matters_apart_and_viewing_purges_nothing(page: Page, site: Site) -> None:
    _old_history(site.engine)
    expected = retention.purge(site.engine, site.settings, dry_run=True)
    assert expected.purged == 3  # the store holds what the page should count
    sign_in_as(page, site, then="/admin/retention")
    before = _store(site.engine)
    assert _figure(page, "Texts it would purge") == "3"
    assert _figure(page, "Bytes it would free") == str(expected.bytes_freed)
    assert _figure(page, "Written records it would clear").startswith(f"{expected.records_cleared} ")
    assert expected.records_cleared >= 2  # the transcripts (and summaries) quote the texts
    assert _figure(page, "Retention period") == f"{RETENTION_DAYS} days (MATTERLINE_RETENTION_DAYS)"
    cutoff = datetime.fromisoformat(str(page.locator("dt:text-is('Cutoff') + dd time").get_attribute("datetime")))
    assert abs(cutoff - (utcnow() - timedelta(days=RETENTION_DAYS))) < timedelta(minutes=5)
    assert_accessible(page)

    page.get_by_label("Matter", exact=True).select_option("201")
    page.get_by_label("Reason", exact=True).fill("Lease litigation")
    page.get_by_role("button", name="Set the hold").click()
    expect(page.locator("p.ok")).to_contain_text("is now on legal hold")
    assert _figure(page, "Texts it would purge") == "2"  # Omar's text on 201 is held
    kept = page.get_by_role("table", name="Texts the purge would keep because of a legal hold")
    expect(kept.get_by_role("row").nth(1)).to_have_text("00201-Haddad · Haddad DUI (CMS id 201)1")
    assert_accessible(page)

    page.reload()
    after = _store(site.engine)
    # Nothing purged: every message and record as it was; the audit log grew by the hold alone.
    assert after[:-1] == before[:-1]
    assert after[-1] == before[-1] + 1
    assert queries.audit.listing(site.engine, action="purge") == []
    with site.engine.connect() as conn:
        assert conn.execute(select(func.count()).where(messages.c.purged_at.is_not(None))).scalar_one() == 0


def test_texts_the_cms_has_not_confirmed_are_kept_and_said_why(page: Page, site: Site) -> None:
    start = utcnow() - timedelta(days=RETENTION_DAYS + 10)
    text_in(site.engine, JANE, "Did you get the documents I mailed?", start)  # its conversation never closed
    sign_in_as(page, site, then="/admin/retention")
    assert _figure(page, "Texts it would purge") == "0"
    kept = page.get_by_role("table", name="Texts the purge would keep because the CMS has not confirmed them")
    expect(kept.get_by_role("row").nth(1)).to_have_text("never written to the CMS (its conversation has not closed)1")
    assert_accessible(page)
