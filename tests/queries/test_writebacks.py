"""The records for the CMS as staff follow them: by state and matter, paged by id, each with its job's attempts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from connector import queries, services
from connector.errors import Kind, MatterlineError
from connector.jobs import kinds, outbox
from connector.staff.users import Actor
from connector.store.tables import messages, writebacks
from tests.support.firm import ANN_LEE, JANE, OMAR, seed, settings
from tests.support.matter_history import close_windows, confirm_written, file_omar_to, text_in

NY = ZoneInfo("America/New_York")
T0 = datetime(2026, 11, 30, 10, 0, tzinfo=NY)


@pytest.fixture
def store(engine: Engine) -> Engine:
    """Three conversations closed (Jane's on 101, Omar's on 201, the Lees' on 301); the CMS has confirmed Jane's."""
    seed(engine)
    text_in(engine, JANE, "Did you get my documents?", T0)
    text_in(engine, OMAR, "About the DUI hearing date", T0 + timedelta(minutes=1))
    file_omar_to(engine, "201", T0 + timedelta(minutes=2))
    ann = text_in(engine, ANN_LEE, "Can we move the mediation?", T0 + timedelta(minutes=3))
    with engine.connect() as conn:  # the Lees share a number: staff file the thread by hand
        thread_id = conn.execute(select(messages.c.thread_id).where(messages.c.id == ann)).scalar_one()
    services.threads.refile(engine, settings(), thread_id, "301", actor=Actor("user:1"), now=T0 + timedelta(minutes=4))
    windows = close_windows(engine, T0 + timedelta(hours=1))
    with engine.connect() as conn:
        jane_window = conn.execute(
            select(writebacks.c.window_id).where(writebacks.c.matter_cms_id == "101").distinct()
        ).scalar_one()
    assert jane_window in windows
    confirm_written(engine, T0 + timedelta(hours=2), window_ids=[jane_window])
    return engine


def listed(engine: Engine, **kw: Any) -> list[tuple[str, str, str]]:
    return [(w.matter_cms_id, w.kind, w.state) for w in queries.writebacks.listing(engine, **kw)]


def test_every_record_by_id_with_where_it_goes_and_how_far_it_got(store: Engine) -> None:
    everything = queries.writebacks.listing(store)
    assert [w.id for w in everything] == sorted(w.id for w in everything)
    assert sorted(listed(store)) == [
        ("101", "summary", "written"),
        ("101", "transcript", "written"),
        ("201", "summary", "pending"),
        ("201", "transcript", "pending"),
        ("301", "summary", "pending"),
        ("301", "transcript", "pending"),
    ]
    written = [w for w in everything if w.state == "written"]
    assert {w.cms_record_id for w in written} == {"cms-1"}
    assert all(w.attempts == 0 and w.last_error is None for w in everything)


def test_records_by_state_and_by_matter(store: Engine) -> None:
    assert {m for m, _, _ in listed(store, state="written")} == {"101"}
    assert {m for m, _, _ in listed(store, state="pending")} == {"201", "301"}
    assert listed(store, state="dead") == []
    assert sorted(listed(store, matter_cms_id="201")) == [
        ("201", "summary", "pending"),
        ("201", "transcript", "pending"),
    ]
    assert listed(store, matter_cms_id="201", state="written") == []
    assert listed(store, matter_cms_id="999") == []


def test_pages_by_id_have_no_gaps_or_repeats(store: Engine) -> None:
    everything = [w.id for w in queries.writebacks.listing(store)]
    seen: list[int] = []
    after: int | None = None
    while page := queries.writebacks.listing(store, after=after, limit=4):
        seen.extend(w.id for w in page)
        after = page[-1].id
    assert seen == everything
    pending = [w.id for w in queries.writebacks.listing(store, state="pending")]
    assert [w.id for w in queries.writebacks.listing(store, state="pending", after=pending[0], limit=2)] == pending[1:3]


def test_a_record_shows_the_attempts_its_job_has_made(store: Engine) -> None:
    [summary] = [w for w in queries.writebacks.listing(store, matter_cms_id="301") if w.kind == "summary"]
    key = kinds.write_key(summary.id)
    leased = [job for job in outbox.lease(store, "worker-1", kinds=(kinds.WRITE,)) if job.key == key]
    assert len(leased) == 1
    [again] = [w for w in queries.writebacks.listing(store, matter_cms_id="301") if w.kind == "summary"]
    assert again.attempts == 1


def test_one_record_with_its_text(store: Engine) -> None:
    [transcript] = [w for w in queries.writebacks.listing(store, matter_cms_id="101") if w.kind == "transcript"]
    record = queries.writebacks.get(store, transcript.id)
    assert (record.kind, record.matter_cms_id, record.state) == ("transcript", "101", "written")
    assert "Did you get my documents?" in record.body
    assert record.subject
    with pytest.raises(MatterlineError) as caught:
        queries.writebacks.get(store, 999_999)
    assert caught.value.kind is Kind.NOT_FOUND
