"""The field mappings page: the shipped mapping beside the override; an edit with errors shows each at its JSON
path and saves nothing; a preview reads live sandbox records through the edit; a saved edit is audited and read
by a worker that was already running, with no restart; going back restores what was in force."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import Engine, func, insert, select

from connector.cms.connect import build_client
from connector.cms.in_force import mapping_in_force
from connector.jobs.worker import Worker
from connector.sandbox import DEFAULT_TOKEN, ClioState, SandboxServer, generate_firm
from connector.store.engine import utcnow
from connector.store.tables import audit_log, contacts, firm_documents, pending_refresh
from connector.sync.syncer import Syncer
from tests.support.admin_site import admin_site, sign_in_as
from tests.support.browser import assert_accessible
from tests.support.thread_site import Site


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(ClioState(generate_firm(5, 3))) as server:
        yield server


@pytest.fixture
def site(sqlite_engine: Engine, sandbox: SandboxServer) -> Iterator[Site]:
    env = {"MATTERLINE_CMS_BASE_URL": sandbox.base_url, "MATTERLINE_CMS_ACCESS_TOKEN": DEFAULT_TOKEN}
    with admin_site(sqlite_engine, **env) as served:
        yield served


@pytest.fixture
def store_site(engine: Engine, sandbox: SandboxServer) -> Iterator[Site]:
    """On each store: a worker already running reads what the page saved."""
    env = {"MATTERLINE_CMS_BASE_URL": sandbox.base_url, "MATTERLINE_CMS_ACCESS_TOKEN": DEFAULT_TOKEN}
    with admin_site(engine, **env) as served:
        yield served


def _saved(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(firm_documents)).scalar_one()


def _name_of(engine: Engine, cms_id: int) -> str:
    with engine.connect() as conn:
        return conn.execute(select(contacts.c.name).where(contacts.c.cms_id == str(cms_id))).scalar_one()


def _announce(engine: Engine) -> None:
    """The CMS announces a change to Linda Kelly's contact, as its webhook would; the worker fetches it."""
    with engine.begin() as conn:
        conn.execute(
            insert(pending_refresh).values(resource="clients", cms_id="10000001", event="updated", received_at=utcnow())
        )


def _field(page: Page, name: str) -> Locator:
    return (
        page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name, exact=True)).get_by_role("textbox")
    )


def test_an_edit_with_errors_shows_each_at_its_path_and_saves_nothing(page: Page, site: Site) -> None:
    sign_in_as(page, site, then="/admin/mappings")
    expect(page.get_by_role("heading", name="Field mappings", level=1)).to_be_visible()
    expect(page.get_by_label("Shipped mapping", exact=True)).to_contain_text('"sms_consent"')
    expect(page.get_by_text("The shipped mapping, with no override.")).to_be_visible()
    assert_accessible(page)
    broken = {"id": "clio", "pagination": {"page_size": "many"}, "resources": {"matters": {"fields": {"id": 7}}}}
    typed = json.dumps(broken, indent=2)
    page.get_by_label("Override", exact=True).fill(typed)
    with page.expect_response(lambda r: r.request.method == "POST") as answered:
        page.get_by_role("button", name="Save override").click()
    assert answered.value.status == 422
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("the field mapping has 2 errors; nothing was saved")
    expect(alert.get_by_role("listitem").filter(has_text="$.pagination.page_size")).to_contain_text(
        "Not a valid integer"
    )
    expect(alert.get_by_role("listitem").filter(has_text="$.resources.matters.fields.id")).to_be_visible()
    expect(page.get_by_label("Override", exact=True)).to_have_value(typed)  # what the admin typed is kept
    assert_accessible(page)
    assert _saved(site.engine) == 0
    with site.engine.connect() as conn:
        changes = conn.execute(select(func.count()).where(audit_log.c.action == "mapping_change")).scalar_one()
    assert changes == 0
    assert "id" in str(mapping_in_force(site.settings, site.engine).resources["matters"].fields["id"])


def test_a_preview_reads_live_records_through_the_edit_and_saves_nothing(page: Page, site: Site) -> None:
    sign_in_as(page, site, then="/admin/mappings")
    _field(page, "name").first.fill("last_name")
    page.get_by_role("button", name="Preview on live records").first.click()
    preview = page.locator("section").filter(has=page.get_by_role("heading", name="clients /contacts.json"))
    expect(preview).to_be_visible()
    kelly = preview.get_by_role("row").filter(has_text="name").filter(has_text="Kelly").first
    expect(kelly).to_be_visible()
    expect(preview).not_to_contain_text("Linda Kelly")
    expect(
        page.locator("section").filter(has=page.get_by_role("heading", name="matters /matters.json"))
    ).to_contain_text("display_number")
    assert_accessible(page)
    assert _saved(site.engine) == 0


def test_a_saved_edit_is_audited_and_read_by_the_worker_already_running(page: Page, store_site: Site) -> None:
    site = store_site
    engine, settings = site.engine, site.settings
    mapping = mapping_in_force(settings, engine)
    Syncer(engine, build_client(settings, mapping, engine), mapping, default_region="US", progress=False).run()
    assert _name_of(engine, 10000001) == "Linda Kelly"
    worker = Worker(engine, settings, lambda: build_client(settings, mapping_in_force(settings, engine), engine))
    _announce(engine)
    assert worker.round().errors == []
    assert _name_of(engine, 10000001) == "Linda Kelly"  # the worker runs, on the shipped mapping

    sign_in_as(page, site, then="/admin/mappings")
    _field(page, "name").first.fill("last_name")
    page.get_by_label("Reason for the change").first.fill("Clio names read surname-only for the inbox")
    page.get_by_role("button", name="Save fields").click()
    expect(page.get_by_role("status").filter(has_text="Saved: version")).to_contain_text(
        "version 1 of the override is in force"
    )
    expect(page.get_by_text("Override version 1, saved on this page by")).to_be_visible()
    expect(page.get_by_label("Override in force", exact=True)).to_contain_text('"name": "last_name"')
    assert_accessible(page)
    with engine.connect() as conn:
        entry = conn.execute(select(audit_log).where(audit_log.c.action == "mapping_change")).one()
    assert entry.actor == site.people["ada"].actor
    assert entry.details["version"] == 1
    assert entry.details["reason"] == "Clio names read surname-only for the inbox"

    _announce(engine)
    assert worker.round().errors == []
    assert _name_of(engine, 10000001) == "Kelly"  # the running worker read the saved mapping

    page.get_by_label("Reason for going back").fill("surnames confused staff")
    page.get_by_role("button", name="Stop using the saved override").click()
    expect(page.get_by_role("status").filter(has_text="The saved override is no longer in force")).to_be_visible()
    expect(page.get_by_text("The shipped mapping, with no override.")).to_be_visible()
    assert str(mapping_in_force(settings, engine).resources["clients"].fields["name"]) == "name"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).where(audit_log.c.action == "mapping_change")).scalar_one() == 2
