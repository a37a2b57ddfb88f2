"""Staff read, edit and file a conversation's summary before it goes onto the matter; each change audited, the
CMS marker kept through every edit, and nothing changed once a write may be under way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, update

from connector import queries, services
from connector.errors import Kind, MatterlineError
from connector.jobs import kinds
from connector.settings import Settings
from connector.staff.users import Actor
from connector.store.tables import outbox, writebacks
from tests.support.firm import JANE, NOW, seed, settings
from tests.support.inbox import audit_rows
from tests.support.matter_history import confirm_written, text_in

PAT = Actor("user:3:pat@firm.example", request_id="req-pat")
REVIEW = settings(MATTERLINE_SUMMARY_REVIEW="true")


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine)
    return engine


def closed_window(engine: Engine, s: Settings = REVIEW) -> dict[str, int]:
    """Jane asks for her retainer agreement and staff close the conversation: the ids of its records by kind."""
    text_in(engine, JANE, "Can you send me the retainer agreement in writing?", NOW)
    services.threads.close_windows(engine, s, actor=PAT, now=NOW + timedelta(hours=1))
    with engine.connect() as conn:
        return {r.kind: r.id for r in conn.execute(select(writebacks.c.kind, writebacks.c.id))}


def cms_jobs(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(outbox.c.kind == kinds.WRITE)).scalar_one())


# -- editing ---------------------------------------------------------------------------------------------


def test_a_draft_summary_is_edited_keeping_its_marker_and_the_edit_is_audited(store: Engine) -> None:
    summary_id = closed_window(store)["summary"]
    before = queries.writebacks.get(store, summary_id)
    assert before.state == "draft"
    marker = before.subject.rsplit("[", 1)[1].rstrip("]")

    edited = services.summaries.edit(
        store, summary_id, subject="  Retainer agreement request ", body="Jane asked for the agreement.", actor=PAT
    )

    assert edited.subject == f"Retainer agreement request [{marker}]"
    assert edited.body == "Jane asked for the agreement."
    assert edited.state == "draft"
    assert queries.writebacks.get(store, summary_id) == edited
    [entry] = audit_rows(store, "summary_edit")
    assert (entry.actor, entry.request_id, entry.subject_type, entry.subject_id) == (
        PAT.label,
        "req-pat",
        "writeback",
        str(summary_id),
    )
    assert (entry.matter_cms_id, entry.details) == ("101", {"fields": ["body", "subject"]})
    assert "Jane asked" not in str(entry.details)


def test_editing_only_the_text_leaves_the_subject(store: Engine) -> None:
    summary_id = closed_window(store)["summary"]
    subject = queries.writebacks.get(store, summary_id).subject
    edited = services.summaries.edit(store, summary_id, subject=None, body="Shorter.", actor=PAT)
    assert (edited.subject, edited.body) == (subject, "Shorter.")
    assert [e.details for e in audit_rows(store, "summary_edit")] == [{"fields": ["body"]}]


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_subject_is_refused_and_the_summary_kept(store: Engine, blank: str) -> None:
    summary_id = closed_window(store)["summary"]
    before = queries.writebacks.get(store, summary_id)
    with pytest.raises(MatterlineError) as caught:
        services.summaries.edit(store, summary_id, subject=blank, body="New text", actor=PAT)
    assert (caught.value.kind, caught.value.code) == (Kind.INVALID, "empty_subject")
    assert queries.writebacks.get(store, summary_id) == before  # the body did not change either
    assert audit_rows(store, "summary_edit") == []


def test_an_edit_that_changes_nothing_is_not_audited(store: Engine) -> None:
    summary_id = closed_window(store)["summary"]
    before = queries.writebacks.get(store, summary_id)
    assert services.summaries.edit(store, summary_id, subject=None, body=None, actor=PAT) == before
    assert audit_rows(store, "summary_edit") == []


def test_a_queued_summary_not_yet_being_written_can_still_be_edited(store: Engine) -> None:
    summary_id = closed_window(store, settings())["summary"]
    assert queries.writebacks.get(store, summary_id).state == "pending"
    assert services.summaries.edit(store, summary_id, subject=None, body="Fixed a typo.", actor=PAT).body == (
        "Fixed a typo."
    )


def test_a_transcript_is_the_record_as_sent_and_is_never_edited(store: Engine) -> None:
    transcript_id = closed_window(store)["transcript"]
    body = queries.writebacks.get(store, transcript_id).body
    with pytest.raises(MatterlineError) as caught:
        services.summaries.edit(store, transcript_id, subject=None, body="rewritten", actor=PAT)
    assert (caught.value.kind, caught.value.code) == (Kind.CONFLICT, "not_editable")
    assert queries.writebacks.get(store, transcript_id).body == body


def test_a_summary_already_on_the_matter_is_not_edited(store: Engine) -> None:
    summary_id = closed_window(store, settings())["summary"]
    confirm_written(store, NOW + timedelta(hours=2))
    with pytest.raises(MatterlineError) as caught:
        services.summaries.edit(store, summary_id, subject=None, body="too late", actor=PAT)
    assert (caught.value.kind, caught.value.code) == (Kind.CONFLICT, "already_written")
    assert audit_rows(store, "summary_edit") == []


@pytest.mark.parametrize("why", ["leased", "ambiguous"])
def test_a_summary_that_may_be_being_written_is_not_edited(store: Engine, why: str) -> None:
    summary_id = closed_window(store, settings())["summary"]
    with store.begin() as conn:
        if why == "leased":  # a worker holds the job: the write may be under way
            conn.execute(
                update(outbox)
                .where(outbox.c.idempotency_key == kinds.write_key(summary_id))
                .values(leased_until=datetime(2099, 1, 1, tzinfo=UTC))
            )
        else:  # an earlier write got no answer: the CMS may have it already
            conn.execute(update(writebacks).where(writebacks.c.id == summary_id).values(ambiguous=True))
    with pytest.raises(MatterlineError) as caught:
        services.summaries.edit(store, summary_id, subject=None, body="too late", actor=PAT)
    assert (caught.value.kind, caught.value.code) == (Kind.CONFLICT, "in_flight")
    assert queries.writebacks.get(store, summary_id).body != "too late"


# -- filing ----------------------------------------------------------------------------------------------


def test_filing_a_reviewed_draft_queues_it_for_the_cms_and_is_audited(store: Engine) -> None:
    summary_id = closed_window(store)["summary"]
    assert cms_jobs(store) == 1  # the transcript only: the draft waits for review
    filed = services.summaries.file(store, summary_id, actor=PAT)
    assert filed.state == "pending"
    assert cms_jobs(store) == 2
    [entry] = audit_rows(store, "summary_filed")
    assert (entry.actor, entry.request_id, entry.subject_id, entry.matter_cms_id) == (
        PAT.label,
        "req-pat",
        str(summary_id),
        "101",
    )


def test_only_a_draft_is_filed(store: Engine) -> None:
    records = closed_window(store)
    services.summaries.file(store, records["summary"], actor=PAT)
    for record in (records["summary"], records["transcript"]):
        with pytest.raises(MatterlineError) as caught:
            services.summaries.file(store, record, actor=PAT)
        assert (caught.value.kind, caught.value.code) == (Kind.CONFLICT, "not_a_draft")
    assert cms_jobs(store) == 2
    assert len(audit_rows(store, "summary_filed")) == 1


def test_an_unknown_record_is_not_found(store: Engine) -> None:
    with pytest.raises(MatterlineError) as editing:
        services.summaries.edit(store, 999_999, subject="x", body=None, actor=PAT)
    with pytest.raises(MatterlineError) as filing:
        services.summaries.file(store, 999_999, actor=PAT)
    assert editing.value.kind is filing.value.kind is Kind.NOT_FOUND
