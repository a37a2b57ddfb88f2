"""No client text and no client phone number reaches a log line or a stored error, however a send or write fails.

Sends fail at the Twilio stand-in (a 500, a dropped connection, a landline refusal that names the number)
and in the store (a constraint refusing the sent message); write-backs fail at the sandbox CMS with a 500
and a 422 that echo the record they refused. Every log record of every library is captured at DEBUG.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, text

from connector import services
from connector.cms.connect import build_client
from connector.messaging.filing import thread_for
from connector.messaging.sender import send_due
from connector.retry import RetryPolicy
from connector.sandbox import DEFAULT_TOKEN as CLIO_TOKEN
from connector.sandbox import ClioState, Fault, SandboxServer, TwilioServer, TwilioState, generate_firm, twilio_fault
from connector.staff.users import Actor
from connector.store.engine import utcnow
from connector.store.tables import outbox, send_attempts, writebacks
from connector.writeback.writer import enqueue, run_due
from tests.support.firm import CLIO, FIRM_NUMBER, JANE, OMAR, seed, via_twilio
from tests.support.queue import make_due

SECRET = "Tangerine-Okapi-4471 he hit me again"
WORDS = "Tangerine-Okapi-4471"
NUMBERS = [JANE.lstrip("+"), OMAR.lstrip("+")]  # also catches +1…, %2B1… and "1 415…" forms


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine)
    return engine


@pytest.fixture
def twilio() -> Iterator[TwilioServer]:
    with TwilioServer(TwilioState(incoming_numbers=(FIRM_NUMBER,))) as server:
        yield server


@pytest.fixture
def clio() -> Iterator[SandboxServer]:
    with SandboxServer(ClioState(generate_firm(3, 2, seed=4))) as server:
        yield server


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy", "werkzeug", "waitress", "twilio", "urllib3", "flask"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def refuse_sent_messages(engine: Engine) -> None:
    """The store refuses to record a message as sent: a database error in the middle of a send."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":  # PostgreSQL's error repeats the whole row
            conn.execute(text("ALTER TABLE messages ADD CONSTRAINT no_sid CHECK (sid IS NULL) NOT VALID"))
        else:
            conn.execute(
                text(
                    "CREATE TRIGGER no_sid BEFORE UPDATE OF sid ON messages WHEN NEW.sid IS NOT NULL "
                    "BEGIN SELECT RAISE(ABORT, 'no sid'); END"
                )
            )


def add_note(engine: Engine, marker: str) -> int:
    now = utcnow()
    with engine.begin() as conn:
        thread = thread_for(conn, FIRM_NUMBER, JANE, now).id
        writeback_id = conn.execute(
            insert(writebacks)
            .values(
                kind="summary",
                thread_id=thread,
                matter_cms_id="101",
                part=1,
                marker=marker,
                subject=f"SMS summary [{marker}]",
                body=f"{JANE} wrote: {SECRET}",
                state="pending",
                ambiguous=False,
                created_at=now,
            )
            .returning(writebacks.c.id)
        ).scalar_one()
        enqueue(conn, writeback_id, now)
    return int(writeback_id)


def stored_errors(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        found = [
            *conn.execute(select(outbox.c.last_error)).scalars(),
            *conn.execute(select(send_attempts.c.detail)).scalars(),
            *conn.execute(select(writebacks.c.last_error)).scalars(),
        ]
    return [e for e in found if e]


def test_failing_sends_and_write_backs_leave_no_text_or_number_in_logs_or_errors(
    store: Engine, twilio: TwilioServer, clio: SandboxServer, logs: pytest.LogCaptureFixture
) -> None:
    settings = via_twilio(twilio, MATTERLINE_CMS_BASE_URL=clio.base_url, MATTERLINE_CMS_ACCESS_TOKEN=CLIO_TOKEN)
    staff = Actor("avery")
    services.messages.send(store, settings, to=JANE, body=SECRET, actor=staff)
    twilio.state.landlines.add(OMAR)
    services.messages.send(store, settings, to=OMAR, body=SECRET, actor=staff)

    twilio.state.faults.add(twilio_fault("status", status=500))  # Twilio refuses Jane's text with a 500
    first = send_due(store, settings)
    make_due(store)
    twilio.state.faults.add(twilio_fault("drop"))  # then the connection drops unanswered
    second = send_due(store, settings)
    make_due(store)
    refuse_sent_messages(store)  # then Twilio takes it, and the store fails to record it
    third = send_due(store, settings)
    assert (first.failed, first.retried, second.retried, third.retried) == (1, 1, 1, 1)

    client = build_client(settings, CLIO, store, policy=RetryPolicy(max_attempts=1))
    for status, marker in ((500, "ml-p500"), (422, "ml-p422")):
        clio.state.faults.add(Fault("status", method="POST", path="/notes.json", status=status, echo=True))
        add_note(store, marker)
        run_due(store, settings, CLIO, client)

    errors = stored_errors(store)
    assert any("notes.json: HTTP 422" in e for e in errors)  # the failures happened and were kept
    with store.connect() as conn:
        refused = conn.execute(select(send_attempts.c.id).where(send_attempts.c.error_code == 21614)).all()
    assert len(refused) == 1
    assert any(r.levelno >= logging.ERROR and r.name.startswith("matterline") for r in logs.records)
    seen: list[Any] = [logs.text, *(r.getMessage() for r in logs.records), *errors]
    everything = "\n".join(str(s) for s in seen)
    assert WORDS not in everything
    for number in NUMBERS:
        assert number not in everything
