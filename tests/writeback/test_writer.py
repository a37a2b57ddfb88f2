"""Write-back to the sandbox Clio: each record lands once, ambiguous failures are looked up, not repeated."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update

from connector import queries
from connector.cms.connect import build_client
from connector.cms.errors import RetryableError
from connector.messaging.filing import thread_for
from connector.retry import RetryPolicy
from connector.sandbox import DEFAULT_TOKEN, ClioState, Fault, SandboxServer, generate_firm
from connector.settings import Settings, load_settings
from connector.store.engine import utcnow
from connector.store.tables import outbox, writebacks
from connector.sync.ingest import mark_deleted
from connector.sync.syncer import Syncer
from connector.writeback.writer import enqueue, run_due
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
    assert [(w.kind, w.state, w.attempts) for w in queries.writebacks.listing(store)] == [
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


def test_a_matter_closed_before_the_write_lands_is_written_or_dead_lettered_with_the_reason(
    store: Engine, sandbox: SandboxServer
) -> None:
    """Closed matters keep their record; a CMS that refuses writes to one gets a dead letter that says why."""
    matter = open_matter(sandbox)
    sandbox.state.close_matter(matter["id"])
    Syncer(store, build_client(settings_for(sandbox), CLIO, store, policy=FAST), CLIO, progress=False).run(full=True)
    kept = add(store, "summary", str(matter["id"]), "ml-closed-ok")
    assert run(store, sandbox).written == 1
    assert row(store, kept).state == "written"
    refused = add(store, "summary", str(matter["id"]), "ml-closed-no")
    sandbox.state.faults.add(Fault("status", method="POST", path="/notes.json", status=422, times=1))
    assert run(store, sandbox).dead == 1
    assert row(store, refused).last_error.startswith(f"matter {matter['id']} is closed in the CMS: ")
    make_due(store)
    assert run(store, sandbox).dead == 0  # not retried


def test_invalid_credentials_pause_the_queue_and_keep_the_jobs(store: Engine, sandbox: SandboxServer) -> None:
    first, second = add(store, "summary", matter_id(sandbox), "ml-a"), add(store, "summary", matter_id(sandbox), "ml-b")
    counts = run(store, sandbox, MATTERLINE_CMS_ACCESS_TOKEN="revoked-token")
    assert counts.paused is True
    assert (row(store, first).state, row(store, second).state) == ("pending", "pending")
    assert "invalid_auth" in row(store, first).last_error
    make_due(store)
    assert run(store, sandbox).written == 2


def attempts(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [r.attempts for r in conn.execute(select(outbox).order_by(outbox.c.id))]


def test_a_429_is_retried_later_without_using_up_an_attempt(store: Engine, sandbox: SandboxServer) -> None:
    writeback_id = add(store, "transcript", matter_id(sandbox), "ml-429")
    sandbox.state.faults.add(Fault("rate_limit", method="POST", path="/communications.json", retry_after=1, times=3))
    for _ in range(3):  # more 429s than the one attempt allowed below: a rate limit never dead-letters
        assert run(store, sandbox, MATTERLINE_OUTBOX_MAX_ATTEMPTS="1").retried == 1
        make_due(store)
    assert attempts(store) == [0]
    assert run(store, sandbox).written == 1
    assert row(store, writeback_id).state == "written"


def test_a_long_retry_after_pauses_the_whole_queue(store: Engine, sandbox: SandboxServer) -> None:
    """After a 429 asking for ten minutes, the other due jobs wait too, untried and with no attempt used."""
    matter = matter_id(sandbox)
    ids = [add(store, "summary", matter, f"ml-p{i}") for i in range(3)]
    sandbox.state.faults.add(Fault("rate_limit", method="POST", path="/notes.json", retry_after=600))
    counts = run(store, sandbox)
    assert (counts.written, counts.retried) == (0, 1)
    assert sandbox.state.faults.pending() == []
    assert records(sandbox, "notes", "ml-p") == []
    assert [row(store, i).state for i in ids] == ["pending"] * 3
    assert attempts(store) == [0, 0, 0]
    with store.connect() as conn:
        waits = [r.next_attempt_at - r.updated_at for r in conn.execute(select(outbox))]
        reasons = [r.last_error for r in conn.execute(select(outbox).order_by(outbox.c.id))]
    assert all(timedelta(seconds=590) <= w <= timedelta(seconds=601) for w in waits)
    assert reasons[1:] == ["paused: the CMS asked Matterline to wait 600s"] * 2
    make_due(store)
    assert run(store, sandbox).written == 3


def test_a_503_without_retry_after_holds_every_request_longer_each_time(sandbox: SandboxServer) -> None:
    client = build_client(settings_for(sandbox), CLIO, None, policy=FAST)
    sandbox.state.faults.add(Fault("status", method="GET", path="/users/who_am_i.json", status=503, times=2))
    paused = []
    for _ in range(2):
        with pytest.raises(RetryableError):
            client.get("/users/who_am_i.json")
        paused.append(client.limiter.paused_for())
    assert 0.1 < paused[0] <= 0.25 < paused[1] <= 0.5
    client.get("/users/who_am_i.json")  # waits out the pause, then an answer resets the streak
    assert client.limiter.unavailable_streak == 0


def test_a_job_is_dead_lettered_after_the_configured_attempts(store: Engine, sandbox: SandboxServer) -> None:
    writeback_id = add(store, "summary", matter_id(sandbox), "ml-dead")
    sandbox.state.faults.add(Fault("status", method="*", path="/notes.json", status=500, times=10))
    outcomes = []
    for _ in range(3):
        counts = run(store, sandbox, MATTERLINE_OUTBOX_MAX_ATTEMPTS="3")
        outcomes.append((counts.retried, counts.dead))
        make_due(store)
    assert outcomes == [(1, 0), (1, 0), (0, 1)]
    assert row(store, writeback_id).state == "dead"
    assert "500" in row(store, writeback_id).last_error


def open_matter(sandbox: SandboxServer) -> dict[str, Any]:
    return sorted(sandbox.state.find("matters", lambda m: m["status"] == "Open"), key=lambda m: m["id"])[0]


def test_a_task_goes_to_the_responsible_attorney_once_per_trigger(store: Engine, sandbox: SandboxServer) -> None:
    from connector.writeback.writer import queue_task

    matter = open_matter(sandbox)
    now = utcnow()
    with store.begin() as conn:
        thread = thread_for(conn, "+14155550100", "+14158675309", now).id
        first = queue_task(
            conn,
            thread_id=thread,
            matter_cms_id=str(matter["id"]),
            trigger="escalation:msg-77",
            subject="Urgent client text",
            body="Client mentions a hearing tomorrow.",
            now=now,
        )
        again = queue_task(
            conn,
            thread_id=thread,
            matter_cms_id=str(matter["id"]),
            trigger="escalation:msg-77",
            subject="Urgent client text",
            body="Client mentions a hearing tomorrow.",
            now=now,
        )
    assert first is not None
    assert again is None
    assert run(store, sandbox).written == 1
    tasks = sandbox.state.find("tasks", lambda t: "escalation" not in str(t) and "Urgent client text" in t["name"])
    assert len(tasks) == 1
    assert tasks[0]["priority"] == "High"
    assert tasks[0]["assignee"]["id"] == matter["responsible_attorney"]["id"]
    assert tasks[0]["matter"]["id"] == matter["id"]


def test_a_re_filed_text_that_was_already_written_gets_correction_notes_on_both_matters(
    store: Engine, sandbox: SandboxServer
) -> None:
    from sqlalchemy import insert as sql_insert

    from connector.messaging.filing import refile_message
    from connector.store.tables import messages
    from connector.writeback.windows import close_due

    first, second = sorted(m["id"] for m in sandbox.state.find("matters", lambda m: m["status"] == "Open"))[:2]
    now = utcnow()
    with store.begin() as conn:
        thread = thread_for(conn, "+14155550100", "+14158675309", now).id
        message_id = conn.execute(
            sql_insert(messages)
            .values(
                thread_id=thread,
                direction="inbound",
                kind="message",
                from_number="+14158675309",
                to_number="+14155550100",
                body="About the other case: the landlord called.",
                num_media=0,
                status="received",
                matter_cms_id=str(first),
                created_at=now,
            )
            .returning(messages.c.id)
        ).scalar_one()
    settings = settings_for(sandbox)
    assert len(close_due(store, settings, force=True)) == 1
    assert run(store, sandbox).written == 2  # transcript and summary on the first matter
    with store.begin() as conn:
        refile_message(conn, message_id, str(second), actor="user:1:a@firm.example", actor_id=None, now=utcnow())
    assert run(store, sandbox).written == 2
    corrections = sandbox.state.find("notes", lambda n: "correction" in str(n.get("subject", "")))
    assert sorted(n["matter"]["id"] for n in corrections) == sorted([first, second])
    assert all(f"belongs to matter {second}, not {first}" in n["detail"] for n in corrections)


def test_a_closed_window_lands_as_a_communication_and_a_privileged_note(store: Engine, sandbox: SandboxServer) -> None:
    from sqlalchemy import insert as sql_insert

    from connector.store.tables import messages
    from connector.writeback.windows import close_due

    matter = open_matter(sandbox)
    now = utcnow()
    with store.begin() as conn:
        thread = thread_for(conn, "+14155550100", "+14158675309", now).id
        for body, direction in (
            ("Is my deposition still Friday?", "inbound"),
            ("Yes, Friday at 10am. I'll call you Thursday to prepare.", "outbound"),
        ):
            conn.execute(
                sql_insert(messages).values(
                    thread_id=thread,
                    direction=direction,
                    kind="message",
                    from_number="+14158675309",
                    to_number="+14155550100",
                    body=body,
                    num_media=0,
                    status="received" if direction == "inbound" else "delivered",
                    matter_cms_id=str(matter["id"]),
                    created_at=now,
                )
            )
    close_due(store, settings_for(sandbox), force=True)
    assert run(store, sandbox).written == 2
    communications = sandbox.state.find("communications", lambda c: c["matter"]["id"] == matter["id"])
    notes = sandbox.state.find("notes", lambda n: n["matter"]["id"] == matter["id"])
    assert len(communications) == len(notes) == 1
    assert "Is my deposition still Friday?" in communications[0]["body"]
    assert notes[0]["detail"].startswith("Privileged & Confidential — Attorney–Client Communication")
    assert "I'll call you Thursday to prepare." in notes[0]["detail"]


def queue_urgent_task(engine: Engine, matter: str, trigger: str) -> int:
    from connector.writeback.writer import queue_task

    now = utcnow()
    with engine.begin() as conn:
        thread = thread_for(conn, "+14155550100", "+14158675309", now).id
        queued = queue_task(
            conn, thread_id=thread, matter_cms_id=matter, trigger=trigger, subject="Urgent", body="Read it.", now=now
        )
    assert queued is not None
    return queued


def test_a_withdrawn_task_is_never_written_and_its_job_ends(store: Engine, sandbox: SandboxServer) -> None:
    from connector.writeback.writer import withdraw_task

    matter = str(open_matter(sandbox)["id"])
    task = queue_urgent_task(store, matter, "escalation:7:2026-12-07")
    with store.begin() as conn:
        assert withdraw_task(conn, trigger="escalation:7:2026-12-07", why="withdrawn: not urgent") == task
        assert withdraw_task(conn, trigger="escalation:7:2026-12-07", why="again") is None  # once
    counts = run(store, sandbox)
    assert (counts.written, counts.dead) == (0, 0)
    assert records(sandbox, "tasks", row(store, task).marker) == []
    assert sandbox.state.find("tasks", lambda t: "Urgent" in str(t.get("name", ""))) == []
    assert (row(store, task).state, row(store, task).last_error) == ("withdrawn", "withdrawn: not urgent")
    with store.connect() as conn:
        assert conn.execute(select(outbox.c.state)).scalars().all() == ["done"]


def test_a_task_withdrawn_while_the_worker_prepares_it_is_not_written(
    store: Engine, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staff take the task back after the worker read it as pending and before it claimed it for the call."""
    from connector.writeback import writer

    matter = str(open_matter(sandbox)["id"])
    task = queue_urgent_task(store, matter, "escalation:8:2026-12-07")
    render = writer.render_request

    def staff_withdraw_first(*args: Any, **kwargs: Any) -> Any:
        with store.begin() as conn:
            writer.withdraw_task(conn, trigger="escalation:8:2026-12-07", why="withdrawn: not urgent")
        return render(*args, **kwargs)

    monkeypatch.setattr(writer, "render_request", staff_withdraw_first)
    assert run(store, sandbox).written == 0
    assert sandbox.state.find("tasks", lambda t: "Urgent" in str(t.get("name", ""))) == []
    assert row(store, task).state == "withdrawn"


def test_a_task_already_on_its_way_to_the_cms_is_not_withdrawn(store: Engine, sandbox: SandboxServer) -> None:
    """An attempt that may have reached the CMS (ambiguous) is looked up and finished, never assumed away."""
    from connector.writeback.writer import withdraw_task

    matter = str(open_matter(sandbox)["id"])
    task = queue_urgent_task(store, matter, "escalation:9:2026-12-07")
    with store.begin() as conn:
        conn.execute(update(writebacks).where(writebacks.c.id == task).values(ambiguous=True))
        assert withdraw_task(conn, trigger="escalation:9:2026-12-07", why="withdrawn: not urgent") is None
    assert run(store, sandbox).written == 1
    assert row(store, task).state == "written"


def test_a_withdrawn_task_wanted_back_is_written_once(store: Engine, sandbox: SandboxServer) -> None:
    from connector.writeback.writer import withdraw_task

    matter = str(open_matter(sandbox)["id"])
    task = queue_urgent_task(store, matter, "escalation:10:2026-12-07")
    with store.begin() as conn:
        withdraw_task(conn, trigger="escalation:10:2026-12-07", why="withdrawn: not urgent")
    assert run(store, sandbox).written == 0
    assert queue_urgent_task(store, matter, "escalation:10:2026-12-07") == task  # put back, not queued twice
    assert run(store, sandbox).written == 1
    assert run(store, sandbox).written == 0
    assert (
        len(records(sandbox, "tasks", row(store, task).marker))
        + len(sandbox.state.find("tasks", lambda t: row(store, task).marker in str(t.get("description", ""))))
        >= 1
    )
    assert len(sandbox.state.find("tasks", lambda t: t.get("name", "").startswith("Urgent"))) == 1
    assert row(store, task).state == "written"


def test_a_task_for_an_attorney_who_is_away_goes_to_their_backup(store: Engine, sandbox: SandboxServer) -> None:
    from connector import services
    from connector.staff.users import Actor
    from connector.store.tables import users
    from tests.support.people import add_user

    matter = open_matter(sandbox)
    attorney = str(matter["responsible_attorney"]["id"])
    backup_cms = str(next(u["id"] for u in sandbox.state.find("users", lambda u: str(u["id"]) != attorney)))
    away, _ = add_user(store, name="Alice Attorney", email="alice@firm.example", role="attorney")
    backup, _ = add_user(store, name="Bob Backup", email="bob@firm.example", role="attorney")
    with store.begin() as conn:
        conn.execute(update(users).where(users.c.id == away.id).values(cms_user_id=attorney))
        conn.execute(update(users).where(users.c.id == backup.id).values(cms_user_id=backup_cms))
    # Queued before she left: who gets it is decided when it is written.
    queue_urgent_task(store, str(matter["id"]), "escalation:9:2026-12-07")
    services.coverage.set_away(
        store,
        user_id=away.id,
        backup_id=backup.id,
        starts_at=None,
        ends_at=utcnow() + timedelta(days=2),
        reason=None,
        actor=Actor.of(away),
    )
    assert run(store, sandbox).written == 1
    [task] = sandbox.state.find("tasks", lambda t: t["name"].startswith("Urgent"))
    assert str(task["assignee"]["id"]) == backup_cms
    assert task["matter"]["id"] == matter["id"]
