"""Retention and legal hold: what a purge removes and keeps, what it never touches, and how it is audited."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select, update

from connector import queries, services
from connector.compliance.retention import (
    NOT_WRITTEN,
    TRANSCRIPT_DEAD,
    TRANSCRIPT_PENDING,
    purge,
)
from connector.staff.users import Actor
from connector.store.engine import utcnow
from connector.store.tables import audit_log, legal_holds, messages, status_events, writebacks
from connector.store.triage_tables import triage_decisions
from tests.support.command import run
from tests.support.firm import JANE, OMAR, seed, settings
from tests.support.matter_history import close_windows, confirm_written, file_omar_to, message, reply, text_in

NY = ZoneInfo("America/New_York")
T0 = datetime(2026, 11, 2, 9, 14, tzinfo=NY)
WRITTEN = T0 + timedelta(hours=2)
RETENTION = 2555
# The day after the transcripts have been in the CMS for the whole retention period.
LATER = WRITTEN + timedelta(days=RETENTION + 1)

JANE_QUESTION = "Is the hearing still on Tuesday? My SSN is 123-45-6789"
# Not urgent, so no after-hours auto-reply joins the history whatever the time of day the test runs.
QUIET_QUESTION = "Did you get the documents I mailed? My SSN is 123-45-6789"
JANE_REPLY = "Yes, 3pm, courtroom 4B."
OMAR_TEXT = "About the lease renewal: the landlord called again"


@dataclass
class History:
    jane_question: int
    jane_reply: int
    omar_text: int


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine)
    return engine


def build(engine: Engine, *, confirm: bool = True) -> History:
    """Jane (matter 101) asks with a photo and gets an answer; Omar's text is filed to 201; both windows
    close, and their write-backs are confirmed by the CMS at WRITTEN."""
    question = text_in(engine, JANE, JANE_QUESTION, T0, media=True)
    answer = reply(engine, "101", JANE_REPLY, T0 + timedelta(minutes=3))
    omar = text_in(engine, OMAR, OMAR_TEXT, T0 + timedelta(minutes=5))
    file_omar_to(engine, "201", T0 + timedelta(minutes=6))
    close_windows(engine, T0 + timedelta(hours=1))
    if confirm:
        confirm_written(engine, WRITTEN)
    return History(question, answer, omar)


def snapshot(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(select(messages).order_by(messages.c.id))]
        rows += [tuple(r) for r in conn.execute(select(writebacks).order_by(writebacks.c.id))]
        rows.append((conn.execute(select(func.count()).select_from(audit_log)).scalar_one(),))
    return rows


def audit_rows(engine: Engine, action: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.id)))


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_purged_message_keeps_its_metadata_and_the_sha256_of_its_body(store: Engine) -> None:
    h = build(store)
    before = message(store, h.jane_question)
    assert before.media
    assert before.raw["Body"] == JANE_QUESTION

    report = purge(store, settings(), now=LATER)

    assert report.purged == 3
    assert report.bytes_freed > len(JANE_QUESTION) + len(JANE_REPLY) + len(OMAR_TEXT)
    question = message(store, h.jane_question)
    assert (question.body, question.media, question.raw) == ("", None, None)
    assert question.body_sha256 == sha(JANE_QUESTION)
    assert question.purged_at == LATER
    # What stays: who, when, which matter, the SID, the status and how many attachments there were.
    for column in ("sid", "status", "direction", "from_number", "to_number", "created_at", "matter_cms_id"):
        assert getattr(question, column) == getattr(before, column), column
    assert question.num_media == 1
    answer = message(store, h.jane_reply)
    assert (answer.body, answer.status, answer.body_sha256) == ("", "delivered", sha(JANE_REPLY))
    with store.connect() as conn:
        history = conn.execute(
            select(status_events.c.status)
            .where(status_events.c.message_id == h.jane_reply)
            .order_by(status_events.c.id)
        ).scalars()
        assert list(history) == ["sent", "delivered"]
        # The written transcript and summary quoted the texts verbatim: they lose their bodies too.
        records = conn.execute(
            select(writebacks.c.kind, writebacks.c.body, writebacks.c.subject).where(
                writebacks.c.window_id.is_not(None)
            )
        ).all()
    assert {r.kind for r in records} == {"transcript", "summary"}
    assert all(r.body == "" and r.subject for r in records)
    # Jane's question was urgent: the attorney's task quoted it, so the task's copy goes too.
    with store.connect() as conn:
        tasks = conn.execute(select(writebacks.c.body).where(writebacks.c.kind == "task")).scalars().all()
    assert tasks == [""]
    assert report.records_cleared == len(records) + 1


def test_triage_keeps_its_verdict_but_its_reasons_go_with_the_text(store: Engine) -> None:
    h = build(store)
    services.triage.correct(
        store, settings(), h.jane_question, urgent=False, actor=Actor("operator"), note="she said: hearing moved"
    )
    with store.connect() as conn:
        before = conn.execute(select(triage_decisions).where(triage_decisions.c.message_id == h.jane_question)).one()
    assert before.urgent
    assert before.reasons
    assert before.date_read == "tuesday (Tue 03 Nov)"
    purge(store, settings(), now=LATER)
    with store.connect() as conn:
        after = conn.execute(select(triage_decisions).where(triage_decisions.c.message_id == h.jane_question)).one()
    # The reasons quote the client's words ("hearing", "tuesday"); what was decided, and by which model, stays.
    assert (after.reasons, after.date_read) == ([], None)
    assert (after.urgent, after.category, after.version) == (before.urgent, before.category, before.version)
    [correction] = queries.triage.require(store, h.jane_question).corrections
    assert (correction.urgent, correction.by, correction.note) == (False, "operator", None)


def test_the_purge_is_audited_per_matter_without_any_body(store: Engine) -> None:
    h = build(store)
    purge(store, settings(), now=LATER, actor="cli:ops")
    entries = audit_rows(store, "purge")
    assert [(e.subject_type, e.subject_id, e.matter_cms_id, e.actor) for e in entries] == [
        ("matter", "101", "101", "cli:ops"),
        ("matter", "201", "201", "cli:ops"),
        ("matter", "101", "101", "cli:ops"),  # the escalation task that quoted Jane's question
    ]
    assert entries[2].details["tasks_cleared"] == 1
    jane = entries[0].details
    assert jane["messages"] == 2
    assert sorted(jane["message_ids"]) == sorted([h.jane_question, h.jane_reply])
    assert jane["retention_days"] == RETENTION
    with store.connect() as conn:
        every_detail = json.dumps([dict(r._mapping)["details"] for r in conn.execute(select(audit_log))])
    for body in (JANE_QUESTION, JANE_REPLY, OMAR_TEXT, "123-45-6789"):
        assert body not in every_detail


def test_nothing_is_purged_before_the_retention_period_has_passed_since_the_transcript_was_written(
    store: Engine,
) -> None:
    build(store)
    report = purge(store, settings(), now=WRITTEN + timedelta(days=RETENTION - 1))
    assert (report.purged, report.not_due) == (0, 0)  # not even old enough to look at
    report = purge(store, settings(), now=WRITTEN + timedelta(days=RETENTION, seconds=-1))
    assert report.purged == 0
    assert report.not_due == 3  # created long enough ago, but the CMS has had them a moment too short
    with store.connect() as conn:
        assert conn.execute(select(func.count()).where(messages.c.purged_at.is_not(None))).scalar_one() == 0


def test_a_matter_on_hold_is_never_purged_until_the_hold_is_released(store: Engine) -> None:
    h = build(store)
    services.holds.set_hold(
        store,
        "201",
        reason="Litigation hold: Haddad v. Landlord, preserve all communications",
        actor=Actor("user:1:gc@firm.example"),
    )
    omar_before = message(store, h.omar_text)

    report = purge(store, settings(), now=LATER)

    assert report.purged == 2
    assert dict(report.skipped_on_hold) == {"201": 1}
    assert message(store, h.omar_text) == omar_before  # untouched, every column
    assert message(store, h.jane_question).purged_at is not None
    with store.connect() as conn:
        held_records = conn.execute(select(writebacks.c.body).where(writebacks.c.matter_cms_id == "201")).scalars()
        assert all(OMAR_TEXT in body for body in held_records)

    # Still held: a second purge leaves it again.
    assert purge(store, settings(), now=LATER).skipped_on_hold == {"201": 1}

    services.holds.release(
        store, "201", reason="Case settled, hold lifted by GC", actor=Actor("user:1:gc@firm.example")
    )
    report = purge(store, settings(), now=LATER)
    assert (report.purged, dict(report.skipped_on_hold)) == (1, {})
    omar = message(store, h.omar_text)
    assert (omar.body, omar.body_sha256) == ("", sha(OMAR_TEXT))


def test_a_hold_on_the_matter_whose_transcript_carries_a_re_filed_text_keeps_it(store: Engine) -> None:
    h = build(store)
    from connector.messaging import filing

    with store.begin() as conn:  # the text turns out to be about Omar's other matter, after it was written
        filing.refile_message(conn, h.omar_text, "202", actor="user:1", actor_id=None, now=WRITTEN)
    services.holds.set_hold(store, "201", reason="preserve", actor=Actor("user:1"))
    report = purge(store, settings(), now=LATER)
    assert dict(report.skipped_on_hold) == {"201": 1}
    assert message(store, h.omar_text).body == OMAR_TEXT


def test_texts_whose_transcript_is_not_confirmed_are_skipped_and_reported(store: Engine) -> None:
    h = build(store)
    # A follow-up window that is still pending, one that is a dead letter, and a text never filed at all.
    pending = text_in(store, JANE, "One more thing I forgot", T0 + timedelta(hours=3))
    [pending_window] = close_windows(store, T0 + timedelta(hours=4))
    dead = text_in(store, JANE, "And another", T0 + timedelta(hours=5))
    [dead_window] = close_windows(store, T0 + timedelta(hours=6))
    with store.begin() as conn:
        conn.execute(
            update(writebacks)
            .where(writebacks.c.window_id == dead_window, writebacks.c.kind == "transcript")
            .values(state="dead", last_error="matter 101 was deleted in the CMS")
        )
    # Only the summary of the pending window is written: the transcript is what counts.
    confirm_written(store, WRITTEN, window_ids=[pending_window], kinds=["summary"])
    unknown = text_in(store, "+13105550142", "who is this?", T0 + timedelta(hours=7))

    report = purge(store, settings(), now=LATER)

    assert report.purged == 3  # the confirmed ones still go
    skipped = {(s.message_id, s.reason) for s in report.skipped_pending_writeback}
    assert skipped == {(pending, TRANSCRIPT_PENDING), (dead, TRANSCRIPT_DEAD), (unknown, NOT_WRITTEN)}
    pending_row = next(s for s in report.skipped_pending_writeback if s.message_id == pending)
    assert (pending_row.window_id, pending_row.matter_cms_id) == (pending_window, "101")
    for message_id, body in ((pending, "One more thing I forgot"), (dead, "And another"), (unknown, "who is this?")):
        row = message(store, message_id)
        assert (row.body, row.purged_at) == (body, None)
    assert message(store, h.jane_question).purged_at is not None
    assert report.to_json()["skipped_pending_writeback"] == [
        s.to_json() for s in sorted(report.skipped_pending_writeback, key=lambda s: s.message_id)
    ]


def test_a_dry_run_changes_nothing_and_reports_the_same_figures(store: Engine) -> None:
    build(store)
    services.holds.set_hold(store, "201", reason="preserve", actor=Actor("user:1"))
    text_in(store, "+13105550142", "who is this?", T0 + timedelta(hours=7))
    before = snapshot(store)

    dry = purge(store, settings(), now=LATER, dry_run=True)

    assert snapshot(store) == before
    real = purge(store, settings(), now=LATER)
    assert dry.dry_run
    assert not real.dry_run
    dry_json, real_json = dry.to_json(), real.to_json()
    del dry_json["dry_run"], real_json["dry_run"]
    assert dry_json == real_json
    assert (real.purged, dict(real.skipped_on_hold), len(real.skipped_pending_writeback)) == (2, {"201": 1}, 1)


def test_a_purge_runs_in_batches_and_a_second_purge_finds_nothing_left(store: Engine) -> None:
    build(store)
    report = purge(store, settings(), now=LATER, batch_size=1)
    assert report.purged == 3
    # One transaction, and one entry, per batch and matter; then one for the escalation task's copy.
    assert len(audit_rows(store, "purge")) == 4
    again = purge(store, settings(), now=LATER)
    assert (again.purged, again.bytes_freed, again.skipped_pending_writeback) == (0, 0, ())


def test_retention_days_come_from_settings(store: Engine) -> None:
    build(store)
    short = settings(MATTERLINE_RETENTION_DAYS="30")
    assert purge(store, short, now=WRITTEN + timedelta(days=29)).purged == 0
    assert purge(store, short, now=WRITTEN + timedelta(days=31)).purged == 3


# -- the command line ----------------------------------------------------------------------------------------


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    return {"MATTERLINE_DATABASE_URL": db_url, "MATTERLINE_RETENTION_DAYS": "1"}


def recent_history(engine: Engine) -> History:
    """The same history, ten days ago, confirmed written nine days ago: due under a one-day retention."""
    start = utcnow() - timedelta(days=10)
    question = text_in(engine, JANE, QUIET_QUESTION, start, media=True)
    answer = reply(engine, "101", JANE_REPLY, start + timedelta(minutes=3))
    omar = text_in(engine, OMAR, OMAR_TEXT, start + timedelta(minutes=5))
    file_omar_to(engine, "201", start + timedelta(minutes=6))
    close_windows(engine, start + timedelta(hours=1))
    confirm_written(engine, start + timedelta(days=1))
    return History(question, answer, omar)


def test_cli_hold_and_purge(store: Engine, env: dict[str, str]) -> None:
    h = recent_history(store)
    code, out, _ = run(env, "hold", "set", "--matter", "201", "--reason", "Litigation hold", "--json")
    assert code == 0
    held = json.loads(out)
    assert {k: held[k] for k in ("matter_cms_id", "action", "on_hold", "reason")} == {
        "matter_cms_id": "201",
        "action": "set",
        "on_hold": True,
        "reason": "Litigation hold",
    }
    assert held["actor"].startswith("cli:")
    code, out, _ = run(env, "hold", "list", "--json")
    assert [row["matter_cms_id"] for row in json.loads(out)] == ["201"]

    code, out, _ = run(env, "retention", "purge", "--dry-run", "--json")
    assert code == 0
    dry = json.loads(out)
    assert (dry["dry_run"], dry["purged"], dry["skipped_on_hold"]) == (True, 2, {"201": 1})
    assert message(store, h.jane_question).body == QUIET_QUESTION

    code, out, _ = run(env, "retention", "purge", "--json")
    assert code == 0
    report = json.loads(out)
    assert set(report) == {
        "dry_run",
        "retention_days",
        "cutoff",
        "purged",
        "bytes_freed",
        "records_cleared",
        "skipped_on_hold",
        "skipped_pending_writeback",
        "not_due",
    }
    assert (report["dry_run"], report["purged"], report["retention_days"]) == (False, 2, 1)
    assert message(store, h.jane_question).body_sha256 == sha(QUIET_QUESTION)
    assert message(store, h.omar_text).body == OMAR_TEXT

    code, out, _ = run(env, "hold", "release", "--matter", "201", "--reason", "Settled")
    assert code == 0
    assert "no longer on legal hold" in out
    code, out, _ = run(env, "retention", "purge")
    assert code == 0
    assert "purged 1 messages" in out
    assert message(store, h.omar_text).body == ""


def test_cli_purge_reports_what_it_skipped(store: Engine, env: dict[str, str]) -> None:
    recent_history(store)
    with store.begin() as conn:
        conn.execute(update(writebacks).where(writebacks.c.kind == "transcript").values(state="pending"))
    code, out, _ = run(env, "retention", "purge")
    assert code == 0
    assert "purged 0 messages" in out
    assert "skipped 3 messages: transcript pending" in out


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("hold", "set", "--matter", "101", "--reason", "  "), 2, "needs a reason"),
        (("hold", "set", "--matter", "999", "--reason", "preserve"), 1, "no matter 999"),
        (("hold", "release", "--matter", "101", "--reason", "done"), 1, "not on legal hold"),
    ],
)
def test_cli_refused_holds(store: Engine, env: dict[str, str], args: tuple[str, ...], code: int, says: str) -> None:
    exit_code, _, err = run(env, *args)
    assert exit_code == code
    assert says in err


def test_cli_a_second_hold_is_refused(store: Engine, env: dict[str, str]) -> None:
    assert run(env, "hold", "set", "--matter", "101", "--reason", "preserve")[0] == 0
    code, _, err = run(env, "hold", "set", "--matter", "101", "--reason", "preserve")
    assert code == 1
    assert "already_on_hold" in err
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(legal_holds)).scalar_one() == 1
