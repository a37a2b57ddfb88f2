"""The outbox page: jobs by state and kind, each last error in words (Twilio's and the CMS's codes explained),
replay one or a selection, discard with a required reason; every change audited, every refusal in words."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import Engine, select

from connector import services
from connector.cms.client import CmsClient
from connector.cms.connect import build_client
from connector.jobs import kinds
from connector.jobs.worker import Worker
from connector.messaging import filing
from connector.retry import RetryPolicy
from connector.sandbox import DEFAULT_TOKEN, ClioState, Fault, SandboxServer, generate_firm, twilio_fault
from connector.staff.users import Actor
from connector.store.engine import utcnow
from connector.store.tables import outbox
from connector.sync.ingest import apply
from connector.sync.records import read_matter
from connector.writeback import writer
from mappings import load_mapping
from tests.support.admin_site import ADMIN, admin_site, posted_as, sign_in_as
from tests.support.browser import assert_accessible
from tests.support.firm import FIRM_NUMBER, JANE, OMAR
from tests.support.inbox import audit_rows
from tests.support.thread_site import Site

CLIO = load_mapping("clio")
ALICE = Actor("user:9:alice@firm.example")
# How the page explains each failure of a note's create.
EXPLAINED = {
    "status": "CMS HTTP 500: the CMS had an internal error; the record may have been written",
    "applied_lost": "CMS: the connection broke after the record was sent, so it may have been written",
}


@pytest.fixture
def clio() -> Iterator[SandboxServer]:
    with SandboxServer(ClioState(generate_firm(30, 20, seed=4))) as server:
        yield server


@contextmanager
def _served(engine: Engine, clio: SandboxServer) -> Iterator[Site]:
    """The firm, writing to the sandbox Clio; one try per job, so a failure is a dead letter at once."""
    with admin_site(
        engine,
        MATTERLINE_CMS_BASE_URL=clio.base_url,
        MATTERLINE_CMS_ACCESS_TOKEN=DEFAULT_TOKEN,
        MATTERLINE_OUTBOX_MAX_ATTEMPTS="1",
    ) as served:
        yield served


@pytest.fixture
def site(sqlite_engine: Engine, clio: SandboxServer) -> Iterator[Site]:
    """The page on SQLite (the outbox's services and queries are tested on both stores)."""
    with _served(sqlite_engine, clio) as served:
        yield served


@pytest.fixture
def store_site(engine: Engine, clio: SandboxServer) -> Iterator[Site]:
    """The page on each store, for what the store decides: a replayed job written exactly once."""
    with _served(engine, clio) as served:
        yield served


def cms_client(site: Site) -> CmsClient:
    return build_client(site.settings, CLIO, site.engine, policy=RetryPolicy(max_attempts=1))


def queued_text(site: Site, matter: str = "101") -> int:
    """A staff text queued for Twilio; its outbox job's id."""
    queued = services.messages.send(site.engine, site.settings, matter_cms_id=matter, body="Papers ready", actor=ALICE)
    return job_id(site.engine, kinds.send_key(queued.id))


def queued_note(site: Site, clio: SandboxServer, subject: str) -> tuple[int, str]:
    """A summary note for a matter the sandbox Clio holds (taken into the store as a sync would); its
    outbox job's id and the matter's display number."""
    raw = sorted(clio.state.find("matters", lambda m: m["status"] == "Open"), key=lambda m: m["id"])[0]
    now = utcnow()
    with site.engine.begin() as conn:
        apply(conn, "matters", [read_matter(CLIO.resources["matters"], raw)], now=now)
        thread = filing.thread_for(conn, FIRM_NUMBER, JANE, now).id
        writeback = writer.queue(
            conn, "summary", thread_id=thread, matter_cms_id=str(raw["id"]), subject=subject, body="Jane asked", now=now
        )
    assert writeback is not None
    return job_id(site.engine, kinds.write_key(writeback)), str(raw["display_number"])


def job_id(engine: Engine, key: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(outbox.c.id).where(outbox.c.idempotency_key == key)).scalar_one())


def job(engine: Engine, job: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(outbox).where(outbox.c.id == job)).one()


def row(page: Page, job: int) -> Locator:
    return page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=str(job), exact=True))


def done(page: Page) -> Locator:
    """What the page says was done (the site's own live region is another status)."""
    return page.locator('#outbox-done[role="status"]')


def refusal(page: Page) -> Locator:
    return page.get_by_role("alert")


def notes(clio: SandboxServer, subject: str) -> list[Any]:
    return clio.state.find("notes", lambda r: subject in str(r.get("subject", "")))


def test_the_empty_outbox(page: Page, site: Site) -> None:
    sign_in_as(page, site, then="/admin/outbox")
    expect(page.get_by_role("heading", name="Outbox", level=1)).to_be_visible()
    expect(page.get_by_text("The outbox is empty")).to_be_visible()
    expect(page.get_by_role("link", name="0 jobs in all")).to_be_visible()
    expect(page.get_by_role("button", name="Replay selected")).to_have_count(0)
    assert_accessible(page)


def test_dead_letters_show_what_twilio_and_the_cms_said_in_words(page: Page, site: Site, clio: SandboxServer) -> None:
    site.twilio.state.faults.add(twilio_fault("rate_limit"))  # Twilio busy: the only try is used up
    busy = queued_text(site, "101")
    site.twilio.state.opted_out.add(OMAR)  # Twilio answers 21610: final, the text fails and its job is done
    stopped = queued_text(site, "201")
    sent = queued_text(site, "301")
    site.send_due()
    clio.state.faults.add(Fault("status", method="*", path="/notes.json", status=422, times=1))
    refused, matter = queued_note(site, clio, "SMS summary, refused")
    assert writer.run_due(site.engine, site.settings, CLIO, cms_client(site)).dead == 1
    assert (job(site.engine, busy).state, job(site.engine, stopped).state) == ("dead", "done")
    assert job(site.engine, sent).state == "done"  # the fault was used up by the first text

    sign_in_as(page, site, then="/admin/outbox")
    expect(row(page, busy)).to_contain_text("Twilio 20429: Twilio is busy (too many requests)")
    expect(row(page, busy)).to_contain_text("Dead letter")
    expect(row(page, busy)).to_contain_text("1 attempt")
    expect(row(page, busy)).to_contain_text("Text to •••• 09, matter 00101-Doe")
    expect(row(page, stopped)).to_contain_text("Twilio 21610: the recipient has opted out (STOP)")
    expect(row(page, stopped)).to_contain_text("Not delivered")
    expect(row(page, refused)).to_contain_text("CMS HTTP 422: the CMS refused the record as invalid")
    expect(row(page, refused)).to_contain_text("trying again gives the same answer")
    expect(row(page, refused)).to_contain_text(f"Summary note, matter {matter}")
    # Dead letters can be replayed; a finished job has nothing left to do.
    expect(row(page, busy).get_by_role("button", name=f"Replay job {busy}")).to_be_visible()
    expect(row(page, busy).get_by_label(f"Select job {busy}")).to_be_visible()
    expect(row(page, stopped).get_by_role("button")).to_have_count(0)
    expect(page.get_by_role("link", name="2 jobs dead letters")).to_be_visible()
    expect(page.get_by_role("link", name="1 CMS write jobs dead letters")).to_be_visible()
    text = page.content()
    for private in (JANE, OMAR, "867-5309", "Papers ready", "Jane asked"):  # never a number, never a body
        assert private not in text
    assert_accessible(page)

    page.get_by_label("State").select_option("Dead letters")
    page.get_by_label("Kind").select_option("CMS write")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"state=dead&kind=cms_write$"))
    expect(page.get_by_role("rowheader", name=str(refused), exact=True)).to_be_visible()
    expect(row(page, busy)).to_have_count(0)


@pytest.mark.parametrize("fault", ["status", "applied_lost"])
def test_a_dead_note_replayed_from_the_page_is_written_once(
    page: Page, store_site: Site, clio: SandboxServer, fault: str
) -> None:
    """A 500 wrote nothing; a lost answer wrote the note: either way the replay leaves exactly one note."""
    site = store_site
    subject = f"SMS summary, replayed after {fault}"
    clio.state.faults.add(Fault(fault, method="POST", path="/notes.json", status=500, times=1))
    dead, _ = queued_note(site, clio, subject)
    client = cms_client(site)
    assert writer.run_due(site.engine, site.settings, CLIO, client).dead == 1
    assert len(notes(clio, subject)) == (1 if fault == "applied_lost" else 0)

    sign_in_as(page, site, then="/admin/outbox?state=dead")
    expect(row(page, dead)).to_contain_text(EXPLAINED[fault])
    row(page, dead).get_by_role("button", name=f"Replay job {dead}").click()
    expect(done(page)).to_contain_text(f"Replayed job {dead}")
    expect(page).to_have_url(re.compile(r"/admin/outbox\?state=dead&replayed=\d+$"))
    assert (job(site.engine, dead).state, job(site.engine, dead).attempts) == ("pending", 0)
    [entry] = audit_rows(site.engine, "replay")
    assert (entry.actor, entry.subject_type, entry.subject_id) == (site.people[ADMIN].actor, "outbox", str(dead))

    worker = Worker(site.engine, site.settings, lambda: client)
    worker.round()
    worker.round()
    assert job(site.engine, dead).state == "done"
    assert len(notes(clio, subject)) == 1

    again = posted_as(page, site, "/admin/outbox/replay", {"job": str(dead)})  # a second replay is refused
    assert again.status == 409
    assert f"job {dead} is not a dead letter" in again.text()
    worker.round()
    assert len(notes(clio, subject)) == 1
    assert len(audit_rows(site.engine, "replay")) == 1


def test_replay_a_selection_and_a_refusal_in_words(page: Page, site: Site) -> None:
    site.twilio.state.faults.add(twilio_fault("rate_limit", times=3))
    first, second, third = queued_text(site, "101"), queued_text(site, "201"), queued_text(site, "301")
    assert site.send_due() == 0
    sign_in_as(page, site, then="/admin/outbox")

    page.get_by_role("button", name="Replay selected").click()  # nothing ticked
    expect(refusal(page)).to_have_text("Nothing was replayed: choose at least one dead letter to replay.")

    page.get_by_label(f"Select job {first}").check()
    page.get_by_label(f"Select job {third}").check()
    page.get_by_role("button", name="Replay selected").click()
    expect(done(page)).to_contain_text(f"Replayed jobs {first}, {third}")
    assert [job(site.engine, j).state for j in (first, second, third)] == ["pending", "dead", "pending"]
    assert sorted(int(e.subject_id) for e in audit_rows(site.engine, "replay")) == [first, third]

    # Someone else replays the second one while this page is open: the page's button is refused, in words.
    services.outbox.replay(site.engine, [second], actor=Actor.of(site.people[ADMIN]))
    row(page, second).get_by_role("button", name=f"Replay job {second}").click()
    expect(refusal(page)).to_have_text(f"Nothing was replayed: job {second} is not a dead letter.")
    assert len(audit_rows(site.engine, "replay")) == 3
    assert_accessible(page)


def test_a_discard_needs_a_reason_and_is_audited(page: Page, site: Site) -> None:
    waiting = queued_text(site, "101")
    sign_in_as(page, site, then="/admin/outbox")
    expect(row(page, waiting)).to_contain_text("Pending")

    row(page, waiting).get_by_role("button", name=f"Discard job {waiting}").click()
    expect(refusal(page)).to_have_text(
        f"Job {waiting} was not discarded: reason must say why (it is kept in the audit log)."
    )
    expect(page.get_by_label(f"Reason to discard job {waiting}")).to_have_attribute("aria-invalid", "true")
    assert job(site.engine, waiting).state == "pending"
    assert audit_rows(site.engine, "discard") == []
    assert_accessible(page)

    page.get_by_label(f"Reason to discard job {waiting}").fill("client came in and was told in person")
    row(page, waiting).get_by_role("button", name=f"Discard job {waiting}").click()
    expect(done(page)).to_contain_text(f"Discarded job {waiting}")
    discarded = job(site.engine, waiting)
    assert (discarded.state, discarded.last_error) == ("discarded", "discarded: client came in and was told in person")
    [entry] = audit_rows(site.engine, "discard")
    assert (entry.actor, entry.subject_id) == (site.people[ADMIN].actor, str(waiting))
    assert entry.details == {"reason": "client came in and was told in person"}
    expect(row(page, waiting)).to_contain_text("an admin gave this job up: client came in and was told in person")
    expect(row(page, waiting).get_by_role("button")).to_have_count(0)

    # The job is gone from the queue: a second discard (a stale page) is refused, keeping what was typed.
    refused = posted_as(page, site, f"/admin/outbox/{waiting}/discard", {"reason": "again"})
    assert refused.status == 409
    assert f"no job {waiting} still waiting" in refused.text()
