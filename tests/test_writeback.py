"""Write-back to the sandbox Clio: each record lands once, ambiguous failures are looked up, not repeated."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update

from connector.cms.connect import build_client
from connector.cms.retry import RetryPolicy
from connector.ingest import mark_deleted
from connector.sandbox import DEFAULT_TOKEN, ClioState, Fault, SandboxServer, generate_firm
from connector.settings import Settings, load_settings
from connector.store.engine import utcnow
from connector.store.tables import outbox, writebacks
from connector.sync import Syncer
from connector.threads import thread_for
from connector.writeback import enqueue, listing, run_due
from mappings import load_mapping

CLIO = load_mapping("clio")
FAST = RetryPolicy(max_attempts=1)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(ClioState(generate_firm(30, 20, seed=4))) as server:
        yield server


def settings_for(sandbox: SandboxServer, **env: str) -> Settings:
    return load_settings(
        {"MATTERLINE_CMS_BASE_URL": sandbox.base_url, "MATTERLINE_CMS_ACCESS_TOKEN": DEFAULT_TOKEN, **env},
        env_file=None,
    )


@pytest.fixture
def store(engine: Engine, sandbox: SandboxServer) -> Engine:
    client = build_client(settings_for(sandbox), CLIO, engine, policy=FAST)
    Syncer(engine, client, CLIO, progress=False).run(full=True)
    return engine


def matter_id(sandbox: SandboxServer) -> str:
    return str(sorted(m["id"] for m in sandbox.state.find("matters", lambda m: m["status"] == "Open"))[0])


def add(engine: Engine, kind: str, matter: str, marker: str, body: str = "09:14 Jane: is the hearing on?") -> int:
    now = utcnow()
    with engine.begin() as conn:
        thread = thread_for(conn, "+14155550100", "+14158675309", now).id
        writeback_id = conn.execute(
            insert(writebacks)
            .values(
                kind=kind,
                thread_id=thread,
                matter_cms_id=matter,
                part=1,
                marker=marker,
                subject=f"SMS {kind} — Jane Doe [{marker}]",
                body=body,
                state="pending",
                ambiguous=False,
                created_at=now,
            )
            .returning(writebacks.c.id)
        ).scalar_one()
        enqueue(conn, writeback_id, now)
    return int(writeback_id)


def run(engine: Engine, sandbox: SandboxServer, **env: str) -> Any:
    settings = settings_for(sandbox, **env)
    return run_due(engine, settings, CLIO, build_client(settings, CLIO, engine, policy=FAST))


def make_due(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(update(outbox).values(next_attempt_at=outbox.c.created_at))


def row(engine: Engine, writeback_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(writebacks).where(writebacks.c.id == writeback_id)).one()


def records(sandbox: SandboxServer, collection: str, marker: str) -> list[dict[str, Any]]:
    return sandbox.state.find(collection, lambda r: marker in str(r.get("subject", "")))


def test_a_transcript_and_a_summary_land_once_on_the_matter(store: Engine, sandbox: SandboxServer) -> None:
    matter = matter_id(sandbox)
    transcript = add(store, "transcript", matter, "ml-t1")
    summary = add(store, "summary", matter, "ml-s1")
    counts = run(store, sandbox)
    assert counts.written == 2
    communication = records(sandbox, "communications", "ml-t1")
    note = records(sandbox, "notes", "ml-s1")
    assert len(communication) == len(note) == 1
    assert str(communication[0]["matter"]["id"]) == matter
    assert {p["name"]: p["value"] for p in communication[0]["external_properties"]} == {"matterline_key": "ml-t1"}
    assert row(store, transcript).cms_record_id == str(communication[0]["id"])
    assert row(store, summary).state == "written"
    assert run(store, sandbox).written == 0
    assert [(w["kind"], w["state"], w["attempts"]) for w in listing(store)] == [
        ("transcript", "written", 1),
        ("summary", "written", 1),
    ]


@pytest.mark.parametrize(
    ("kind", "collection", "path"),
    [("transcript", "communications", "/communications.json"), ("summary", "notes", "/notes.json")],
)
def test_written_but_the_answer_lost_is_found_and_not_written_twice(
    store: Engine, sandbox: SandboxServer, kind: str, collection: str, path: str
) -> None:
    marker = f"ml-{kind}-lost"
    writeback_id = add(store, kind, matter_id(sandbox), marker)
    sandbox.state.faults.add(Fault("applied_lost", method="POST", path=path))
    assert run(store, sandbox).retried == 1
    assert row(store, writeback_id).ambiguous is True
    make_due(store)
    assert run(store, sandbox).adopted == 1
    found = records(sandbox, collection, marker)
    assert len(found) == 1
    assert row(store, writeback_id).cms_record_id == str(found[0]["id"])


def test_a_body_the_cms_rejects_is_dead_lettered_with_its_message(store: Engine, sandbox: SandboxServer) -> None:
    writeback_id = add(store, "summary", "999999999", "ml-bad-matter")  # not a matter the CMS knows
    with store.begin() as conn:  # the store thinks it exists (it was synced and deleted since)
        from connector.store.tables import matters

        conn.execute(
            insert(matters).values(
                cms_id="999999999",
                display_number="X",
                description="",
                status="open",
                fingerprint="x",
                seen_run=0,
                synced_at=utcnow(),
            )
        )
    assert run(store, sandbox).dead == 1
    dead = row(store, writeback_id)
    assert dead.state == "dead"
    assert "POST /api/v4/notes.json: HTTP 422" in dead.last_error or "HTTP 404" in dead.last_error


def test_a_matter_deleted_before_the_write_lands_is_dead_lettered_not_retried(
    store: Engine, sandbox: SandboxServer
) -> None:
    matter = matter_id(sandbox)
    writeback_id = add(store, "summary", matter, "ml-gone")
    with store.begin() as conn:
        mark_deleted(conn, "matters", [matter], utcnow())
    assert run(store, sandbox).dead == 1
    assert f"matter {matter} was deleted" in row(store, writeback_id).last_error
    make_due(store)
    assert run(store, sandbox).dead == 0


def test_invalid_credentials_pause_the_queue_and_keep_the_jobs(store: Engine, sandbox: SandboxServer) -> None:
    first, second = add(store, "summary", matter_id(sandbox), "ml-a"), add(store, "summary", matter_id(sandbox), "ml-b")
    counts = run(store, sandbox, MATTERLINE_CMS_ACCESS_TOKEN="revoked-token")
    assert counts.paused is True
    assert (row(store, first).state, row(store, second).state) == ("pending", "pending")
    assert "invalid_auth" in row(store, first).last_error
    make_due(store)
    assert run(store, sandbox).written == 2


def test_a_429_is_retried_later(store: Engine, sandbox: SandboxServer) -> None:
    writeback_id = add(store, "transcript", matter_id(sandbox), "ml-429")
    sandbox.state.faults.add(Fault("rate_limit", method="POST", path="/communications.json", retry_after=1))
    assert run(store, sandbox).retried == 1
    make_due(store)
    assert run(store, sandbox).written == 1
    assert row(store, writeback_id).state == "written"
