"""Staff correcting triage: a wrong flag taken back, a missed text marked urgent; each kept with who and when,
acting on the thread and the attorney's task at once, and audited without the text."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from connector import queries, services
from connector.errors import Kind, MatterlineError
from connector.staff.users import Actor, User
from connector.store.tables import threads, writebacks
from connector.store.triage_tables import triage_corrections
from tests.support.firm import JANE, OMAR, seed
from tests.support.inbox import SETTINGS, at_fault, audit_rows, text_in
from tests.support.people import add_user

ARREST = "They arrested my son last night, he's in county jail"
ROUTINE = "Thanks, see you at the meeting next month"


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine)
    return engine


@pytest.fixture
def pat(store: Engine) -> User:
    user, _ = add_user(store, name="Pat Paralegal", email="pat@firm.example", role="staff")
    return user


def thread_urgent(engine: Engine, thread_id: int) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(select(threads.c.urgent).where(threads.c.id == thread_id)).scalar_one())


def tasks(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(writebacks).where(writebacks.c.kind == "task")))


def corrections(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(triage_corrections)).scalar_one())


def test_a_wrong_flag_taken_back_clears_the_thread_and_is_kept_with_who_and_when(store: Engine, pat: User) -> None:
    flagged = text_in(store, JANE, ARREST)
    assert thread_urgent(store, flagged.thread_id)
    view = services.triage.correct(
        store, SETTINGS, flagged.message_id, urgent=False, actor=Actor.of(pat, "req-9"), note="old news, he's home"
    )
    assert (view.urgent, view.situation, view.decided_urgent) == (False, None, True)
    [correction] = view.corrections
    assert (correction.by, correction.was_urgent, correction.note) == ("Pat Paralegal", True, "old news, he's home")
    assert correction.version == view.version
    assert view.version.startswith("triage-")
    assert not thread_urgent(store, flagged.thread_id)
    [entry] = audit_rows(store, "triage_corrected")
    assert (entry.actor, entry.request_id, entry.subject_id) == (pat.actor, "req-9", str(flagged.message_id))
    assert entry.details["urgent"] is False
    assert entry.details["was_urgent"] is True
    assert "jail" not in str(entry.details)
    assert "home" not in str(entry.details)


def test_the_thread_stays_urgent_while_another_of_its_texts_is(store: Engine, pat: User) -> None:
    first = text_in(store, JANE, ARREST)
    text_in(store, JANE, "the bail hearing is tomorrow morning at 9 and nobody called me back", minutes=2)
    services.triage.correct(store, SETTINGS, first.message_id, urgent=False, actor=Actor.of(pat))
    assert thread_urgent(store, first.thread_id)
    assert [task.state for task in tasks(store)] == ["pending"]  # the attorney is still needed


def test_a_wrong_flag_taken_back_withdraws_the_attorneys_task_before_it_goes(store: Engine, pat: User) -> None:
    flagged = text_in(store, JANE, ARREST)
    [task] = tasks(store)
    assert task.state == "pending"
    services.triage.correct(store, SETTINGS, flagged.message_id, urgent=False, actor=Actor.of(pat))
    [task] = tasks(store)
    assert (task.state, task.last_error) == ("withdrawn", "withdrawn: staff marked the text not urgent")
    [entry] = audit_rows(store, "triage_corrected")
    assert entry.details["task_withdrawn"] == task.id
    # Staff change their minds the same day: the day's task is put back, not queued twice.
    services.triage.correct(store, SETTINGS, flagged.message_id, urgent=True, actor=Actor.of(pat))
    assert [(t.id, t.state, t.last_error) for t in tasks(store)] == [(task.id, "pending", None)]
    assert audit_rows(store, "triage_corrected")[-1].details["task_writeback"] == task.id


def test_a_missed_text_marked_urgent_flags_the_thread_and_tasks_the_attorney_once(store: Engine, pat: User) -> None:
    routine = text_in(store, JANE, ROUTINE)
    assert not thread_urgent(store, routine.thread_id)
    view = services.triage.correct(
        store, SETTINGS, routine.message_id, urgent=True, category="court_deadline", actor=Actor.of(pat)
    )
    assert (view.urgent, view.category, view.situation) == (True, "court_deadline", "court date or deadline")
    assert thread_urgent(store, routine.thread_id)
    [task] = tasks(store)
    assert task.matter_cms_id == "101"
    assert ": court date or deadline — " in task.subject
    assert "marked urgent by Pat Paralegal" in task.body
    assert "Marked urgent by staff in Matterline." in task.body
    # Saying it again (or changing the situation) adds a correction, not a second task the same day.
    services.triage.correct(store, SETTINGS, routine.message_id, urgent=True, category="other", actor=Actor.of(pat))
    assert len(tasks(store)) == 1
    assert [c.category for c in queries.triage.require(store, routine.message_id).corrections] == [
        "court_deadline",
        "other",
    ]


def test_an_unfiled_text_marked_urgent_tasks_nobody_until_it_is_filed(store: Engine, pat: User) -> None:
    omar = text_in(store, OMAR, ROUTINE)  # two open matters: it waits to be filed
    services.triage.correct(store, SETTINGS, omar.message_id, urgent=True, actor=Actor.of(pat))
    assert thread_urgent(store, omar.thread_id)
    assert tasks(store) == []
    services.threads.refile(store, SETTINGS, omar.thread_id, "201", actor=Actor("operator"))
    [task] = tasks(store)
    assert "marked urgent by Pat Paralegal" in task.body


@pytest.mark.parametrize(
    ("urgent", "category", "code", "field"),
    [
        (True, "parking", "unknown_category", "category"),
        (False, "court_deadline", "category_needs_urgent", "category"),
    ],
)
def test_a_bad_correction_is_refused_and_nothing_is_kept(
    store: Engine, pat: User, urgent: bool, category: str, code: str, field: str
) -> None:
    text = text_in(store, JANE, ROUTINE)
    with pytest.raises(MatterlineError) as caught:
        services.triage.correct(store, SETTINGS, text.message_id, urgent=urgent, category=category, actor=Actor.of(pat))
    assert (caught.value.kind, caught.value.code, at_fault(caught.value)) == (Kind.INVALID, code, field)
    assert corrections(store) == 0
    assert audit_rows(store, "triage_corrected") == []
    assert not thread_urgent(store, text.thread_id)


def test_a_long_note_is_refused(store: Engine, pat: User) -> None:
    text = text_in(store, JANE, ROUTINE)
    with pytest.raises(MatterlineError) as caught:
        services.triage.correct(store, SETTINGS, text.message_id, urgent=True, note="x" * 501, actor=Actor.of(pat))
    assert caught.value.code == "note_too_long"
    assert corrections(store) == 0


def test_only_a_client_text_taken_in_can_be_corrected(store: Engine, pat: User) -> None:
    with pytest.raises(MatterlineError) as caught:
        services.triage.correct(store, SETTINGS, 999, urgent=True, actor=Actor.of(pat))
    assert caught.value.kind == Kind.NOT_FOUND


def test_corrected_texts_are_exported_with_their_newest_label_in_the_clients_time(store: Engine, pat: User) -> None:
    flagged = text_in(store, JANE, ARREST)
    routine = text_in(store, JANE, ROUTINE, minutes=5)
    text_in(store, JANE, "ok thanks", minutes=6)  # never corrected: not exported
    services.triage.correct(store, SETTINGS, routine.message_id, urgent=True, actor=Actor.of(pat))
    services.triage.correct(store, SETTINGS, flagged.message_id, urgent=False, actor=Actor.of(pat))
    services.triage.correct(store, SETTINGS, routine.message_id, urgent=False, actor=Actor.of(pat))
    exported = list(queries.triage.corrected(store, SETTINGS))
    assert [(c.id, c.urgent, c.category) for c in exported] == [
        (f"msg-{flagged.message_id}", False, "none"),
        (f"msg-{routine.message_id}", False, "none"),
    ]
    assert exported[0].text == ARREST
    # NOW is 15:00 UTC: Jane's number is a San Francisco one (415), where it was 7:00.
    assert exported[0].received_at.hour == 7
    assert exported[0].received_at.tzinfo is None


def test_every_correction_records_what_triage_said_not_the_previous_correction(store: Engine, pat: User) -> None:
    flagged = text_in(store, JANE, ARREST)
    services.triage.correct(store, SETTINGS, flagged.message_id, urgent=False, actor=Actor.of(pat))
    view = services.triage.correct(store, SETTINGS, flagged.message_id, urgent=True, actor=Actor.of(pat))
    assert [c.was_urgent for c in view.corrections] == [True, True]
    assert view.corrections[-1].category == "arrest_custody"  # the situation triage named, when none is given
