"""An urgent text: the thread is flagged, the attorney gets one task, and after hours the client is told what to do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select, update

from connector.messaging import intake, reception, urgent
from connector.messaging.urgent import emergency_reply
from connector.store.tables import audit_log, contacts, messages, outbox, threads, writebacks
from connector.store.triage_tables import triage_decisions
from connector.triage import judge, model
from tests.support.firm import JANE, OMAR, inbound_form, seed, settings

NY = ZoneInfo("America/New_York")
TUESDAY_10AM = datetime(2026, 11, 24, 10, 0, tzinfo=NY)
TUESDAY_11PM = datetime(2026, 11, 24, 23, 0, tzinfo=NY)


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine)
    return engine


def text_in(engine: Engine, body: str, at: datetime, from_: str = JANE, **env: str) -> None:
    s = settings(**env)
    with engine.begin() as conn:
        reception.receive(conn, reception.parse(inbound_form(from_, body), s), s, at)
    intake.drain(engine, s)


def rows(engine: Engine, table: Any, *where: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(table).where(*where).order_by(table.c.id)))


def is_urgent(engine: Engine, phone: str) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(select(threads.c.urgent).where(threads.c.client_phone == phone)).scalar_one())


def test_an_urgent_text_in_office_hours_flags_the_thread_and_tasks_the_attorney_once(store: Engine) -> None:
    text_in(store, "They arrested my son last night, he's in county jail", TUESDAY_10AM)
    text_in(store, "Please call me back, the bail hearing is tomorrow", TUESDAY_10AM.replace(minute=5))
    assert is_urgent(store, JANE) is True
    assert [m.kind for m in rows(store, messages, messages.c.direction == "inbound")] == ["urgent", "urgent"]
    tasks = rows(store, writebacks, writebacks.c.kind == "task")
    assert len(tasks) == 1  # one task per thread per day, however many urgent texts
    assert tasks[0].matter_cms_id == "101"
    assert tasks[0].subject.startswith("Urgent text from Jane Doe: ")
    assert "county jail" in tasks[0].body
    assert rows(store, messages, messages.c.kind == "auto_reply") == []  # the office is open: staff answer
    escalated = rows(store, audit_log, audit_log.c.action == "escalate")
    assert len(escalated) == 2
    assert escalated[0].details["category"] == "arrest_custody"
    assert escalated[0].details["version"].startswith("triage-")
    assert "jail" not in str(escalated[0].details)  # the audit log never holds the text


def test_after_hours_the_client_gets_the_emergency_instructions_once_and_nothing_else(store: Engine) -> None:
    text_in(store, "My ex just showed up and said he'll kill me", TUESDAY_11PM)
    text_in(store, "He's still outside", TUESDAY_11PM.replace(minute=10))
    replies = rows(store, messages, messages.c.kind == "auto_reply")
    assert len(replies) == 1
    assert "call 911" in replies[0].body
    assert "Doe & Roe LLP" in replies[0].body
    assert replies[0].to_number == JANE
    assert replies[0].quiet_hours_exempt is True
    jobs = rows(store, outbox, outbox.c.kind == "sms_send")
    assert [j.payload["message_id"] for j in jobs] == [replies[0].id]


def test_self_harm_adds_the_crisis_line(store: Engine) -> None:
    text_in(store, "i cant do this anymore, i want to kill myself", TUESDAY_11PM)
    [reply] = rows(store, messages, messages.c.kind == "auto_reply")
    assert "988" in reply.body


@pytest.mark.parametrize(
    "body",
    ["I'm dying to know how the deposition went!", "arrested development on Netflix lol", "Thanks so much!"],
)
def test_ordinary_texts_raise_nothing(store: Engine, body: str) -> None:
    text_in(store, body, TUESDAY_11PM)
    assert is_urgent(store, JANE) is False
    assert [m.kind for m in rows(store, messages, messages.c.direction == "inbound")] == ["message"]
    assert rows(store, writebacks, writebacks.c.kind == "task") == []
    assert rows(store, messages, messages.c.direction == "outbound") == []


def test_private_previews_keep_names_and_text_out_of_the_task(store: Engine) -> None:
    text_in(store, "The police are at my door right now", TUESDAY_10AM, MATTERLINE_PRIVATE_PREVIEWS="true")
    [task] = rows(store, writebacks, writebacks.c.kind == "task")
    assert "Jane" not in task.subject + task.body
    assert "police are at my door" not in task.body
    assert "00101-Doe" in task.subject


def test_an_unfiled_urgent_text_is_still_flagged(store: Engine) -> None:
    text_in(store, "court date is tomorrow and I have no lawyer there", TUESDAY_10AM, from_=OMAR)  # two open matters
    assert is_urgent(store, OMAR) is True
    assert rows(store, writebacks, writebacks.c.kind == "task") == []  # no matter yet: staff file it first


def test_an_opted_out_client_gets_no_auto_reply(store: Engine) -> None:
    text_in(store, "STOP", TUESDAY_11PM)
    text_in(store, "they arrested my husband", TUESDAY_11PM.replace(minute=5))
    assert rows(store, messages, messages.c.kind == "auto_reply") == []
    assert is_urgent(store, JANE) is True


def test_filing_an_urgent_thread_gives_the_attorney_the_task_once(store: Engine) -> None:
    text_in(store, "court date is tomorrow and I have no lawyer there", TUESDAY_10AM, from_=OMAR)
    with store.begin() as conn:
        thread = conn.execute(select(threads.c.id).where(threads.c.client_phone == OMAR)).scalar_one()
        first = urgent.on_filed(conn, settings(), thread, "201")
        again = urgent.on_filed(conn, settings(), thread, "201")
    tasks = rows(store, writebacks, writebacks.c.kind == "task")
    assert [t.matter_cms_id for t in tasks] == ["201"]
    assert first == tasks[0].id
    assert again is None


# -- what triage decided, and why ---------------------------------------------------------------------------


def decision(engine: Engine, body: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            select(triage_decisions)
            .join(messages, messages.c.id == triage_decisions.c.message_id)
            .where(messages.c.body == body)
        ).one()


def test_every_client_text_keeps_what_triage_decided_and_the_task_says_why(store: Engine) -> None:
    text_in(store, "Thanks so much!", TUESDAY_10AM)
    text_in(store, "They arrested my son last night, he's in county jail", TUESDAY_10AM.replace(minute=5))
    routine = decision(store, "Thanks so much!")
    assert (routine.urgent, routine.category) == (False, None)
    flagged = decision(store, "They arrested my son last night, he's in county jail")
    assert (flagged.urgent, flagged.category) == (True, "arrest_custody")
    assert flagged.version.startswith("triage-")
    assert 0.5 < flagged.probability <= 1
    assert any("arrest" in reason or "jail" in reason for reason in flagged.reasons)
    [task] = rows(store, writebacks, writebacks.c.kind == "task")
    assert ": arrest or custody — 00101-Doe" in task.subject
    assert "Why: " in task.body
    assert f"Decided by the triage model {flagged.version}" in task.body


def test_private_previews_leave_the_reasons_out_of_the_task(store: Engine) -> None:
    text_in(store, "The police are at my door right now", TUESDAY_10AM, MATTERLINE_PRIVATE_PREVIEWS="true")
    [task] = rows(store, writebacks, writebacks.c.kind == "task")
    assert "Why:" not in task.body
    assert '"police' not in task.body
    assert "Decided by the triage model" in task.body


def test_dates_are_read_in_the_clients_own_zone(store: Engine) -> None:
    """10:30 p.m. in Los Angeles is already tomorrow in New York: the client's "tomorrow" is their own."""
    with store.begin() as conn:
        conn.execute(update(contacts).where(contacts.c.name == "Jane Doe").values(time_zone="America/Los_Angeles"))
    at = datetime(2026, 12, 8, 22, 30, tzinfo=ZoneInfo("America/Los_Angeles"))
    text_in(store, "the hearing is tomorrow at 9 and I have no ride", at.astimezone(NY))
    assert decision(store, "the hearing is tomorrow at 9 and I have no ride").date_read == "tomorrow (Wed 09 Dec)"


def test_an_opt_out_in_words_is_not_urgent_unless_it_speaks_of_self_harm(store: Engine) -> None:
    text_in(store, "Please don't text me anymore.", TUESDAY_10AM)
    quiet = decision(store, "Please don't text me anymore.")
    assert quiet.urgent is False
    assert quiet.reasons[0] == "an opt-out or keyword: only self-harm or crisis language flags it"
    assert is_urgent(store, JANE) is False
    assert rows(store, writebacks, writebacks.c.kind == "task") == []
    text_in(store, "stop texting me, I want to kill myself", TUESDAY_10AM.replace(minute=5), from_=OMAR)
    assert decision(store, "stop texting me, I want to kill myself").urgent is True
    assert is_urgent(store, OMAR) is True


@pytest.fixture
def broken_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    broken = tmp_path / "model.json.gz"
    broken.write_bytes(b"not gzip")
    monkeypatch.setattr(model, "MODEL_FILE", broken)
    judge._model.cache_clear()
    yield
    judge._model.cache_clear()


@pytest.mark.usefixtures("broken_model")
def test_without_a_readable_model_the_rules_decide_and_say_so(store: Engine, caplog: pytest.LogCaptureFixture) -> None:
    text_in(store, "They arrested my son last night, he's in county jail", TUESDAY_10AM)
    found = decision(store, "They arrested my son last night, he's in county jail")
    assert (found.urgent, found.category, found.version, found.probability) == (True, "arrest_custody", "rules", None)
    assert is_urgent(store, JANE) is True
    [task] = rows(store, writebacks, writebacks.c.kind == "task")
    assert "Decided by the escalation rules" in task.body
    assert "triage model unreadable" in caplog.text


# -- the emergency reply ----------------------------------------------------------------------------------


def test_the_emergency_reply_never_answers_and_adds_the_crisis_line_for_self_harm() -> None:
    firm = settings()
    plain = emergency_reply(firm, self_harm=False)
    assert "Doe & Roe LLP" in plain
    assert "911" in plain
    assert "988" not in plain
    assert "988" in emergency_reply(firm, self_harm=True)
    own = settings(MATTERLINE_EMERGENCY_REPLY="Closed. Emergencies: call 555-0100.")
    assert emergency_reply(own, self_harm=True).startswith("Closed. Emergencies: call 555-0100. ")
