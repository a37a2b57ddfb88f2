"""Sync against the sandbox CMS over real HTTP, into real SQLite and PostgreSQL stores."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select

from connector.cms.client import CmsClient, CmsResponse
from connector.cms.connect import build_client
from connector.cms.errors import ConfigError, PaginationLoopError, RetryableError
from connector.retry import RetryPolicy
from connector.sandbox import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    DEFAULT_TOKEN,
    ClioState,
    Fault,
    SandboxServer,
    generate_firm,
)
from connector.settings import load_settings
from connector.store import make_engine, upgrade
from connector.store.engine import utcnow
from connector.store.tables import (
    consents,
    contact_phones,
    contacts,
    matter_contacts,
    matters,
    pending_refresh,
    sync_state,
)
from connector.store.workflow_tables import calendar_entries
from connector.sync.syncer import Syncer
from mappings import load_mapping
from tests.support.clio_hooks import cms_client, wired

CLIO = load_mapping("clio")
CONTACTS, MATTERS = 450, 300
FAST = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_max=0.02)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    state = ClioState(generate_firm(CONTACTS, MATTERS, seed=11))
    with SandboxServer(state) as server:
        yield server


def client_for(server: SandboxServer, engine: Engine | None = None, **env: str) -> CmsClient:
    settings = load_settings(
        {
            "MATTERLINE_CMS_BASE_URL": server.base_url,
            "MATTERLINE_CMS_ACCESS_TOKEN": DEFAULT_TOKEN,
            "MATTERLINE_CMS_CLIENT_ID": DEFAULT_CLIENT_ID,
            "MATTERLINE_CMS_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
            "MATTERLINE_CMS_REFRESH_TOKEN": DEFAULT_REFRESH_TOKEN,
            **env,
        },
        env_file=None,
    )
    return build_client(settings, CLIO, engine, policy=FAST)


def syncer(engine: Engine, server: SandboxServer, client: CmsClient | None = None) -> Syncer:
    return Syncer(engine, client or client_for(server, engine), CLIO, progress=False)


def count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def bookmark(engine: Engine, resource: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(sync_state.c.bookmark).where(sync_state.c.resource == resource)).scalar()


def sandbox_total(server: SandboxServer, collection: str) -> int:
    return server.state.count(collection)


def records(server: SandboxServer, collection: str) -> list[dict[str, Any]]:
    return sorted(server.state.find(collection, lambda _: True), key=lambda r: int(r["id"]))


def test_full_sync_reads_everything_in_the_minimum_number_of_pages(engine: Engine, sandbox: SandboxServer) -> None:
    report = syncer(engine, sandbox).run(full=True)
    data = report.to_json()
    totals = {
        name: sandbox_total(sandbox, res)
        for name, res in (
            ("clients", "contacts"),
            ("matters", "matters"),
            ("relationships", "relationships"),
            ("calendar_entries", "calendar_entries"),
        )
    }
    for name, total in totals.items():
        assert data[name] == {"fetched": total, "created": total, "updated": 0, "unchanged": 0}
    assert count(engine, contacts) == totals["clients"]
    assert count(engine, matters) == totals["matters"]
    assert count(engine, matter_contacts) == totals["relationships"]
    assert count(engine, calendar_entries) == totals["calendar_entries"] > 0
    minimum = sum(max(1, math.ceil(total / 200)) for total in totals.values())
    assert data["requests"] == minimum
    assert data["rate_limited"] == 0
    stored_phones = count(engine, contact_phones)
    assert data["phones"]["normalized"] + data["phones"]["unparseable"] == stored_phones
    assert data["phones"]["unparseable"] == count(engine, contact_phones, contact_phones.c.e164.is_(None)) > 0
    assert count(engine, matters, matters.c.status == "closed") > 0
    assert count(engine, matters, matters.c.status == "open") > 0


def test_store_holds_e164_numbers_and_keeps_every_raw_value(engine: Engine, sandbox: SandboxServer) -> None:
    syncer(engine, sandbox).run(full=True)
    sample = records(sandbox, "contacts")[:60]
    with engine.connect() as conn:
        for raw in sample:
            stored = conn.execute(
                select(contact_phones.c.raw, contact_phones.c.e164)
                .join(contacts, contacts.c.id == contact_phones.c.contact_id)
                .where(contacts.c.cms_id == str(raw["id"]))
            ).all()
            raws = {p["number"] for p in raw.get("phone_numbers", [])}
            assert {row.raw for row in stored} <= raws
            for row in stored:
                assert row.e164 is None or (row.e164.startswith("+") and row.e164[1:].isdigit())


def test_the_address_state_and_the_consent_field_come_across_for_quiet_hours_and_consent(
    engine: Engine, sandbox: SandboxServer
) -> None:
    addressed = [c for c in records(sandbox, "contacts") if c.get("addresses")]
    assert addressed
    consenting = addressed[0]
    sandbox.state.update_contact(
        consenting["id"], custom_field_values=[{"id": 1, "field_name": "SMS consent", "value": True}]
    )
    syncer(engine, sandbox).run(full=True)
    with engine.connect() as conn:
        states = {r.cms_id: r.state for r in conn.execute(select(contacts.c.cms_id, contacts.c.state))}
        ledger = conn.execute(select(consents.c.phone, consents.c.method, consents.c.client_cms_id)).all()
    for raw in addressed:
        assert states[str(raw["id"])] == raw["addresses"][0]["province"]
    phones = {p["number"] for p in consenting["phone_numbers"]}
    assert ledger
    assert {row.method for row in ledger} == {"cms_field"}
    assert {row.client_cms_id for row in ledger} == {str(consenting["id"])}
    assert len(ledger) <= len(phones)


def test_incremental_after_no_change_reads_one_page_per_resource(engine: Engine, sandbox: SandboxServer) -> None:
    runner = syncer(engine, sandbox)
    runner.run(full=True)
    first = bookmark(engine, "clients")
    report = runner.run()
    assert report.requests == 4
    assert report.to_json()["clients"]["fetched"] == 0
    assert bookmark(engine, "clients") > first


def test_changes_and_closures_in_the_cms_are_reflected(engine: Engine, sandbox: SandboxServer) -> None:
    runner = syncer(engine, sandbox)
    runner.run(full=True)
    state = sandbox.state
    contact = records(sandbox, "contacts")[5]
    matter = next(m for m in records(sandbox, "matters") if m["status"] == "Open")
    state.update_contact(contact["id"], name="Renamed Person")
    state.set_phone_numbers(contact["id"], ["(617) 867-5309", "not a number"])
    state.close_matter(matter["id"])
    new_id = state.add_contact(name="Brand New", phone_numbers=["212.867.5309"])
    report = runner.run()
    data = report.to_json()
    assert data["clients"]["updated"] == 1
    assert data["clients"]["created"] == 1
    assert data["matters"]["updated"] == 1
    with engine.connect() as conn:
        row = conn.execute(select(contacts.c.id, contacts.c.name).where(contacts.c.cms_id == str(contact["id"]))).one()
        phones = conn.execute(
            select(contact_phones.c.e164, contact_phones.c.raw).where(contact_phones.c.contact_id == row.id)
        ).all()
        status = conn.execute(select(matters.c.status).where(matters.c.cms_id == str(matter["id"]))).scalar_one()
        created = conn.execute(select(contacts.c.name).where(contacts.c.cms_id == str(new_id))).scalar_one()
    assert row.name == "Renamed Person"
    assert sorted((p.e164 or "", p.raw) for p in phones) == [("", "not a number"), ("+16178675309", "(617) 867-5309")]
    assert status == "closed"
    assert created == "Brand New"


def test_full_sync_retires_records_deleted_in_the_cms(engine: Engine, sandbox: SandboxServer) -> None:
    runner = syncer(engine, sandbox)
    runner.run(full=True)
    gone = records(sandbox, "contacts")[3]["id"]
    sandbox.state.delete_contact(gone)
    runner.run()  # an incremental run cannot see a deletion
    assert count(engine, contacts, contacts.c.deleted_at.is_not(None)) == 0
    report = runner.run(full=True)
    assert report.to_json()["deleted"]["clients"] == 1
    with engine.connect() as conn:
        deleted = conn.execute(select(contacts.c.deleted_at).where(contacts.c.cms_id == str(gone))).scalar_one()
    assert deleted is not None


def plan_flags(engine: Engine) -> dict[str, tuple[bool, bool, datetime | None]]:
    """Each stored calendar entry: (needs_plan, deleted, starts_at); then the flags are cleared, as the planner does."""
    with engine.begin() as conn:
        rows = conn.execute(
            select(
                calendar_entries.c.cms_id,
                calendar_entries.c.needs_plan,
                calendar_entries.c.deleted_at,
                calendar_entries.c.starts_at,
            )
        ).all()
        conn.execute(calendar_entries.update().values(needs_plan=False))
    return {row.cms_id: (row.needs_plan, row.deleted_at is not None, row.starts_at) for row in rows}


def test_calendar_entries_sync_incrementally_and_ask_for_a_plan_only_when_they_change(engine: Engine) -> None:
    with SandboxServer(ClioState(generate_firm(40, 80, seed=2))) as small:
        runner = syncer(engine, small)
        runner.run(full=True)
        entries = records(small, "calendar_entries")
        first = plan_flags(engine)
        assert set(first) == {str(e["id"]) for e in entries}
        assert all(needs_plan and not deleted for needs_plan, deleted, _ in first.values())
        all_day = next(e for e in entries if e["all_day"])
        assert first[str(all_day["id"])][2] == datetime.fromisoformat(all_day["start_at"]).replace(tzinfo=UTC)

        quiet = runner.run().to_json()["calendar_entries"]
        assert (quiet["created"], quiet["updated"]) == (0, 0)
        assert not any(needs_plan for needs_plan, _, _ in plan_flags(engine).values())

        moved, gone = [e for e in entries if not e["all_day"]][:2]
        later = datetime.fromisoformat(moved["start_at"]) + timedelta(days=1, hours=2)
        small.state.move_calendar_entry(moved["id"], later.isoformat())
        assert runner.run().to_json()["calendar_entries"]["updated"] == 1
        after_move = plan_flags(engine)
        assert after_move[str(moved["id"])] == (True, False, later)
        assert [cms_id for cms_id, (needs_plan, _, _) in after_move.items() if needs_plan] == [str(moved["id"])]

        small.state.delete_calendar_entry(gone["id"])
        assert runner.run(full=True).to_json()["deleted"]["calendar_entries"] == 1
        retired = plan_flags(engine)
        assert retired[str(gone["id"])][:2] == (True, True)
        assert sum(needs_plan for needs_plan, _, _ in retired.values()) == 1


def test_a_calendar_entry_moved_or_deleted_in_the_cms_asks_for_a_plan_through_its_webhook(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with wired(engine, db_url, monkeypatch) as firm:
        hearing = (firm.clock.now + timedelta(days=3)).replace(hour=17, minute=0)
        entry_id = firm.state.add_calendar_entry(firm.matter_id, "Hearing: Quintero", hearing.isoformat())
        assert firm.deliver() == [200]
        assert plan_flags(engine)[str(entry_id)] == (True, False, hearing)
        firm.clock.tick()
        firm.state.move_calendar_entry(entry_id, (hearing + timedelta(days=7)).isoformat())
        assert firm.deliver() == [200]
        assert plan_flags(engine)[str(entry_id)] == (True, False, hearing + timedelta(days=7))
        firm.clock.tick()
        firm.state.delete_calendar_entry(entry_id)
        assert firm.deliver() == [200]
        assert plan_flags(engine)[str(entry_id)][:2] == (True, True)


class CrashAfter:
    """Stands for the process dying after `pages` responses: the next request never happens."""

    def __init__(self, client: CmsClient, pages: int) -> None:
        self._client = client
        self._left = pages
        self.stats = client.stats

    def get(self, path: str, params: Any = None) -> CmsResponse:
        if self._left == 0:
            raise SystemExit("killed")
        self._left -= 1
        return self._client.get(path, params)


def snapshot(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {
            "contacts": sorted(
                conn.execute(
                    select(contacts.c.cms_id, contacts.c.name, contacts.c.fingerprint, contacts.c.deleted_at)
                ).all()
            ),
            "phones": sorted(
                conn.execute(
                    select(
                        contacts.c.cms_id, contact_phones.c.position, contact_phones.c.raw, contact_phones.c.e164
                    ).join(contacts, contacts.c.id == contact_phones.c.contact_id)
                ).all()
            ),
            "matters": sorted(conn.execute(select(matters.c.cms_id, matters.c.status, matters.c.fingerprint)).all()),
            "relationships": sorted(
                conn.execute(select(matter_contacts.c.cms_id, matter_contacts.c.fingerprint)).all()
            ),
            "calendar_entries": sorted(
                conn.execute(select(calendar_entries.c.cms_id, calendar_entries.c.fingerprint)).all()
            ),
        }


@pytest.mark.parametrize("crash_after", [1, 2, 4])
def test_a_sync_killed_half_way_and_run_again_ends_where_an_unbroken_one_does(
    engine: Engine, db_url: str, sandbox: SandboxServer, tmp_path: Any, crash_after: int
) -> None:
    reference = make_engine(f"sqlite:///{tmp_path}/reference.db")
    upgrade(reference)
    syncer(reference, sandbox).run(full=True)

    client = client_for(sandbox, engine)
    broken = Syncer(engine, CrashAfter(client, crash_after), CLIO, progress=False)  # type: ignore[arg-type]
    with pytest.raises(SystemExit):
        broken.run(full=True)
    crashed_in = "clients" if crash_after < math.ceil(sandbox_total(sandbox, "contacts") / 200) else "matters"
    assert bookmark(engine, crashed_in) is None
    before = client.stats.requests
    report = Syncer(engine, client, CLIO, progress=False).run()
    assert snapshot(engine) == snapshot(reference)
    # The resumed run continued from the last committed page instead of starting over: no page read twice;
    # a resource that had finished before the crash gets one incremental page.
    resources = ("contacts", "matters", "relationships", "calendar_entries")
    minimum = sum(max(1, math.ceil(sandbox_total(sandbox, c) / 200)) for c in resources)
    finished_before = 0 if crashed_in == "clients" else 1
    assert client.stats.requests - before == report.requests == minimum - crash_after + finished_before
    assert bookmark(engine, crashed_in) is not None
    reference.dispose()


def test_html_from_the_cms_names_the_endpoint_and_keeps_the_bookmark(engine: Engine, sandbox: SandboxServer) -> None:
    runner = syncer(engine, sandbox)
    runner.run(full=True)
    kept = bookmark(engine, "matters")
    sandbox.state.faults.add(Fault("html", path="/matters.json", times=10))
    with pytest.raises(RetryableError, match=r"GET /api/v4/matters\.json: HTTP 200: answered text/html"):
        runner.run()
    assert bookmark(engine, "matters") == kept
    with engine.connect() as conn:
        error = conn.execute(select(sync_state.c.last_error).where(sync_state.c.resource == "matters")).scalar()
    assert "matters.json" in error


def test_broken_json_once_is_retried_and_the_sync_completes(engine: Engine, sandbox: SandboxServer) -> None:
    sandbox.state.faults.add(Fault("broken_json", path="/contacts.json", times=1))
    sandbox.state.faults.add(Fault("status", path="/matters.json", status=503, times=1))
    sandbox.state.faults.add(Fault("drop", path="/relationships.json", times=1))
    client = client_for(sandbox, engine)
    report = syncer(engine, sandbox, client).run(full=True)
    assert report.to_json()["clients"]["created"] == sandbox_total(sandbox, "contacts")
    assert client.stats.retries == 3


def test_a_page_that_repeats_its_token_stops_the_sync_without_moving_the_bookmark(
    engine: Engine, sandbox: SandboxServer
) -> None:
    # The first page points at itself by token; the second copy points there again.
    sandbox.state.faults.add(Fault("repeat_token", path="/contacts.json", times=2))
    with pytest.raises(PaginationLoopError, match="repeated a paging token"):
        syncer(engine, sandbox).run(full=True)
    assert bookmark(engine, "clients") is None


def test_an_expired_token_is_refreshed_once_and_the_sync_goes_on(engine: Engine, sandbox: SandboxServer) -> None:
    sandbox.state.expire_all_tokens()
    client = client_for(sandbox, engine)
    report = syncer(engine, sandbox, client).run(full=True)
    assert report.to_json()["clients"]["created"] == sandbox_total(sandbox, "contacts")
    assert client.stats.refreshes == 1


def test_a_refused_refresh_is_invalid_auth_and_no_bookmark_moves(engine: Engine, sandbox: SandboxServer) -> None:
    sandbox.state.expire_all_tokens()
    sandbox.state.refresh_disabled = True
    with pytest.raises(ConfigError) as caught:
        syncer(engine, sandbox).run(full=True)
    assert caught.value.code == "invalid_auth"
    assert DEFAULT_REFRESH_TOKEN not in str(caught.value)
    assert DEFAULT_CLIENT_SECRET not in str(caught.value)
    assert bookmark(engine, "clients") is None
    assert count(engine, contacts) == 0


def test_a_429_with_retry_after_is_waited_out(engine: Engine, sandbox: SandboxServer) -> None:
    sandbox.state.faults.add(Fault("rate_limit", path="/contacts.json", retry_after=1, times=1))
    report = syncer(engine, sandbox).run(full=True)
    assert report.rate_limited == 1
    assert report.to_json()["clients"]["created"] == sandbox_total(sandbox, "contacts")


def test_under_a_rate_limit_the_sync_paces_itself_and_trips_it_at_most_once(
    sqlite_engine: Engine, sandbox: SandboxServer
) -> None:
    sandbox.state.set_rate_limit(3, window_seconds=1)
    report = syncer(sqlite_engine, sandbox).run(full=True)
    assert report.rate_limited <= 1
    assert report.requests >= 6
    assert sandbox.state.stats.snapshot()["rate_limited"] <= 1


def test_records_announced_by_webhooks_are_fetched_by_id(engine: Engine, sandbox: SandboxServer) -> None:
    runner = syncer(engine, sandbox)
    runner.run(full=True)
    picked = [c["id"] for c in records(sandbox, "contacts")[10:13]]
    for cid in picked:
        sandbox.state.update_contact(cid, name=f"Changed {cid}")
    with engine.begin() as conn:
        conn.execute(
            insert(pending_refresh),
            [
                {"resource": "clients", "cms_id": str(cid), "event": "updated", "received_at": utcnow()}
                for cid in picked
            ],
        )
    before = runner.client.stats.requests
    counts = runner.refresh_pending()
    assert runner.client.stats.requests - before == 1
    assert counts.updated == 3
    assert count(engine, pending_refresh) == 0
    with engine.connect() as conn:
        names = conn.execute(select(contacts.c.name).where(contacts.c.cms_id.in_([str(c) for c in picked]))).scalars()
        assert sorted(names) == sorted(f"Changed {c}" for c in picked)


class ChangedWhileInHand:
    """The CMS changes, and its webhook lands, after a page of `path` was read and before it is applied."""

    def __init__(self, client: CmsClient, path: str, change: Callable[[], object]) -> None:
        self._client = client
        self._path = path
        self._change: Callable[[], object] | None = change
        self.stats = client.stats

    def get(self, path: str, params: Any = None) -> CmsResponse:
        response = self._client.get(path, params)
        if path.endswith(self._path) and self._change is not None:
            change, self._change = self._change, None
            change()
        return response


@pytest.mark.parametrize("change", ["closed", "deleted"])
def test_a_page_read_before_a_webhook_landed_does_not_undo_it(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    with wired(engine, db_url, monkeypatch) as firm:

        def close_or_delete() -> None:
            if change == "closed":
                firm.state.close_matter(firm.matter_id)
            else:
                firm.state.delete_matter(firm.matter_id)
            assert firm.deliver() == [200]

        in_hand = ChangedWhileInHand(cms_client(firm.server, engine), "/matters.json", close_or_delete)
        firm.syncer(in_hand).run(full=True)  # type: ignore[arg-type]

        expected = ("closed", False) if change == "closed" else ("open", True)
        assert firm.matter() == expected
