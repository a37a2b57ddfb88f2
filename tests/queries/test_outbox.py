"""The outbox as an admin reads it: newest job first, by state and kind, paged back by id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from connector import queries, services
from connector.jobs import kinds, outbox
from connector.staff.users import Actor
from tests.support.firm import JANE, seed, settings
from tests.support.matter_history import close_windows, text_in

NY = ZoneInfo("America/New_York")
T0 = datetime(2026, 11, 30, 10, 0, tzinfo=NY)
ALICE = Actor("user:1:alice@firm.example")


@dataclass(frozen=True)
class Queue:
    writes: list[int]  # the transcript's and the summary's jobs
    sends: list[int]  # three texts, oldest first
    dead: int
    discarded: int


@pytest.fixture
def queue(engine: Engine) -> Queue:
    """Jane's conversation closed (two CMS writes), then three texts queued: one died, one was given up."""
    seed(engine)
    text_in(engine, JANE, "Did you get my documents?", T0)
    close_windows(engine, T0 + timedelta(hours=1))
    writes = sorted(job.id for job in queries.outbox.listing(engine, kind=kinds.WRITE))
    for matter in ("101", "201", "301"):
        services.messages.send(engine, settings(), matter_cms_id=matter, body="Papers ready", actor=ALICE, now=T0)
    sends = sorted(job.id for job in queries.outbox.listing(engine, kind=kinds.SEND))
    [taken] = outbox.lease(engine, "worker-1", kinds=(kinds.SEND,), limit=1, now=T0)
    with engine.begin() as conn:
        outbox.retry(conn, taken, "worker-1", "Twilio 500", delay=timedelta(minutes=1), max_attempts=1)
    services.outbox.discard(engine, sends[2], reason="client came in", actor=ALICE)
    return Queue(writes, sends, taken.id, sends[2])


def ids(jobs: list[queries.outbox.JobView]) -> list[int]:
    return [job.id for job in jobs]


def test_every_job_newest_first_with_its_state_and_attempts(engine: Engine, queue: Queue) -> None:
    everything = queries.outbox.listing(engine)
    assert ids(everything) == sorted(queue.writes + queue.sends, reverse=True)
    by_id = {job.id: job for job in everything}
    dead = by_id[queue.dead]
    assert (dead.kind, dead.state, dead.attempts, dead.last_error) == (kinds.SEND, "dead", 1, "Twilio 500")
    assert by_id[queue.discarded].state == "discarded"
    assert by_id[queue.discarded].last_error == "discarded: client came in"
    assert {by_id[job].kind for job in queue.writes} == {kinds.WRITE}
    assert all(by_id[job].key == kinds.send_key(by_id[job].payload["message_id"]) for job in queue.sends)


def test_jobs_by_state_and_kind(engine: Engine, queue: Queue) -> None:
    assert ids(queries.outbox.listing(engine, state="dead")) == [queue.dead]
    assert ids(queries.outbox.listing(engine, state="discarded")) == [queue.discarded]
    pending = [job for job in queue.sends if job not in (queue.dead, queue.discarded)]
    assert ids(queries.outbox.listing(engine, state="pending", kind=kinds.SEND)) == pending
    assert ids(queries.outbox.listing(engine, kind=kinds.WRITE)) == sorted(queue.writes, reverse=True)
    assert queries.outbox.listing(engine, state="done") == []
    assert queries.outbox.listing(engine, kind="no_such_kind") == []


def test_paging_back_from_the_newest(engine: Engine, queue: Queue) -> None:
    everything = ids(queries.outbox.listing(engine))
    seen: list[int] = []
    before: int | None = None
    while page := queries.outbox.listing(engine, before=before, limit=2):
        seen.extend(ids(page))
        before = page[-1].id
    assert seen == everything
    assert ids(queries.outbox.listing(engine, kind=kinds.SEND, before=queue.sends[2], limit=1)) == [queue.sends[1]]


# -- the admin page's board: counts, what each job is about, and its last error in words -------------------


def test_the_board_counts_every_job_by_kind_and_state_and_pages_back(engine: Engine, queue: Queue) -> None:
    board = queries.outbox.board(engine, limit=2)
    assert board.counts == {
        (kinds.WRITE, "pending"): 2,
        (kinds.SEND, "pending"): 1,
        (kinds.SEND, "dead"): 1,
        (kinds.SEND, "discarded"): 1,
    }
    assert (board.count(), board.count(kinds.SEND), board.count(state="pending")) == (5, 3, 3)
    assert [job.id for job in board.jobs] == sorted(queue.sends, reverse=True)[:2]
    assert board.more
    older = queries.outbox.board(engine, before=board.jobs[-1].id, limit=2)
    assert [job.id for job in older.jobs] == [min(queue.sends), *sorted(queue.writes, reverse=True)][:2]
    assert older.counts == board.counts  # the counts are the whole outbox's, whatever the page
    dead = queries.outbox.board(engine, state="dead", kind=kinds.SEND)
    assert ([job.id for job in dead.jobs], dead.more) == ([queue.dead], False)


def test_each_job_says_what_it_is_about_without_a_body(engine: Engine, queue: Queue) -> None:
    by_id = {job.id: job for job in queries.outbox.board(engine).jobs}
    text = by_id[queue.sends[0]]
    assert (text.kind_label, text.about.what, text.about.matter_cms_id, text.about.matter_number) == (
        "Text send",
        "text",
        "101",
        "00101-Doe",
    )
    assert text.about.phone == JANE  # the page masks it
    assert text.about.status == "pending"
    summary = [by_id[j] for j in queue.writes if by_id[j].about.what == "summary note"]
    assert len(summary) == 1
    assert (summary[0].kind_label, summary[0].about.matter_cms_id, summary[0].about.phone) == ("CMS write", "101", None)
    assert summary[0].about.thread_id is not None
    assert (by_id[queue.dead].replayable, by_id[queue.dead].discardable) == (True, True)
    assert (by_id[queue.discarded].replayable, by_id[queue.discarded].discardable) == (False, False)
    assert by_id[queue.dead].error == queries.outbox.ErrorMeaning(
        "Twilio", "HTTP 500", "Twilio had a server error; the text is looked up at Twilio before it is tried again"
    )
    assert by_id[queue.discarded].error == queries.outbox.ErrorMeaning(
        "Matterline", None, "an admin gave this job up: client came in"
    )


@pytest.mark.parametrize(
    ("last_error", "twilio_code", "source", "code", "says"),
    [
        ("Twilio 429 20429 (TwilioRestException)", None, "Twilio", "20429", "Twilio is busy (too many requests)"),
        ("Twilio 400 21211 (TwilioRestException)", None, "Twilio", "21211", "invalid 'To' number"),
        ("Twilio 503 20503 (TwilioRestException)", None, "Twilio", "20503", "Twilio had a server error"),
        ("Twilio 400 None (TwilioRestException)", None, "Twilio", "HTTP 400", "Twilio refused the text"),
        (None, 21610, "Twilio", "21610", "the recipient has opted out (STOP)"),
        ("POST /api/v4/notes.json: HTTP 401 (ConfigError)", None, "CMS", "HTTP 401", "invalid_auth: the CMS refused"),
        ("POST /api/v4/notes.json: HTTP 404 (FatalError)", None, "CMS", "HTTP 404", "the record is not in the CMS"),
        ("POST /api/v4/notes.json: HTTP 422 (FatalError)", None, "CMS", "HTTP 422", "trying again gives the same"),
        ("GET /api/v4/notes.json: HTTP 429 (RateLimitedError)", None, "CMS", "HTTP 429", "rate limited"),
        ("POST /api/v4/notes.json: HTTP 503 (AmbiguousWriteError)", None, "CMS", "HTTP 503", "may have been written"),
        ("GET /api/v4/notes.json: HTTP 502 (RetryableError)", None, "CMS", "HTTP 502", "tries again with backoff"),
        ("POST /api/v4/x.json: HTTP 410 (ConfigError)", None, "CMS", "HTTP 410", "invalid_config: the CMS no longer"),
        (
            "matter 7 is closed in the CMS: POST /n: HTTP 422 (FatalError)",
            None,
            "CMS",
            "HTTP 422",
            "matter 7 is closed",
        ),
        ("POST /n: connection failed after sending (ReadTimeout); outcome unknown", None, "CMS", None, "looks it up"),
        ("GET /n: connection failed (ConnectTimeout)", None, "CMS", None, "could not be reached"),
        ("paused: the CMS asked Matterline to wait 90s", None, "CMS", None, "paused: the CMS asked"),
        ("matter 9 was deleted in the CMS", None, "Matterline", None, "matter 9 was deleted in the CMS"),
    ],
)
def test_a_last_error_explained(
    last_error: str | None, twilio_code: int | None, source: str, code: str | None, says: str
) -> None:
    meaning = queries.outbox.explain(last_error, twilio_code=twilio_code)
    assert meaning is not None
    assert (meaning.source, meaning.code) == (source, code)
    assert says in meaning.meaning


def test_no_error_means_nothing_to_explain() -> None:
    assert queries.outbox.explain(None) is None


def test_a_sync_an_admin_asked_for_is_on_the_board_too(engine: Engine) -> None:
    seed(engine)
    with engine.begin() as conn:
        outbox.enqueue(conn, "cms_sync", "sync:test-1", {"full": True, "requested_by": ALICE.label})
    board = queries.outbox.board(engine, kind="cms_sync")
    [job] = board.jobs
    assert (job.kind_label, job.about.what, job.about.phone, job.error) == ("CMS sync", "full sync", None, None)
    assert board.kinds == ["sms_send", "cms_write", "cms_sync"]
    assert board.count("cms_sync", "pending") == 1
