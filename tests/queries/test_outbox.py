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
