"""The filing chain never guesses: a number several contacts share waits in needs filing, whoever the firm
texted last from it and however recently."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from connector import services
from connector.messaging import intake, reception
from connector.reminders.run import run as reminders_run
from connector.staff.users import Actor
from connector.store.tables import filing_decisions, messages, threads
from connector.store.triage_tables import triage_decisions
from tests.support.calendar import entry
from tests.support.firm import ANN_LEE, BO_LEE, FIRM_NUMBER, JANE, NOW, OMAR, new_sid, seed, settings

ACTIVE_DAYS = settings().thread_active_days


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine)
    return engine


def text_in(engine: Engine, sender: str, body: str, after: timedelta) -> str:
    """A client's text through the webhook's store and the worker's intake; its SID."""
    s = settings()
    sid = new_sid()
    form = {"MessageSid": sid, "From": sender, "To": FIRM_NUMBER, "Body": body, "NumMedia": "0"}
    with engine.begin() as conn:
        reception.receive(conn, reception.parse(form, s), s, NOW + after)
    intake.drain(engine, s)
    return sid


def filed(engine: Engine, sid: str) -> tuple[Any, ...]:
    """Where the text went, by which rule, and why."""
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                select(messages.c.matter_cms_id, filing_decisions.c.rule, filing_decisions.c.detail)
                .join(filing_decisions, filing_decisions.c.message_id == messages.c.id)
                .where(messages.c.sid == sid)
            ).one()
        )


def thread_state(engine: Engine, phone: str) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(threads.c.state).where(threads.c.client_phone == phone)).scalar_one())


@pytest.mark.parametrize(
    "after",
    [timedelta(minutes=5), timedelta(days=ACTIVE_DAYS + 1)],
    ids=["while-the-thread-is-active", "after-the-thread-went-quiet"],
)
def test_a_reply_on_a_number_two_contacts_share_waits_for_staff_though_the_firm_texted_one_of_them(
    store: Engine, after: timedelta
) -> None:
    assert ANN_LEE == BO_LEE  # Ann and Bo Lee share one number; only Ann has a matter (301)
    services.messages.send(
        store, settings(), matter_cms_id="301", body="Mediation is on Friday.", actor=Actor("cli:ops"), now=NOW
    )
    reply = text_in(store, BO_LEE, "Which case is this about?", after)
    assert filed(store, reply) == (None, "needs_filing", "number shared by 2 contacts")
    assert thread_state(store, BO_LEE) == "needs_filing"


def test_a_number_one_client_has_still_follows_the_last_text_the_firm_sent(store: Engine) -> None:
    services.messages.send(
        store, settings(), matter_cms_id="101", body="Your hearing moved.", actor=Actor("cli:ops"), now=NOW
    )
    reply = text_in(store, JANE, "Thanks", timedelta(minutes=5))
    assert filed(store, reply)[:2] == ("101", "recent_thread")
    later = text_in(store, JANE, "One more thing", timedelta(days=ACTIVE_DAYS + 1))
    assert filed(store, later)[:2] == ("101", "last_outbound")


def test_a_reply_to_a_reminder_files_to_the_reminders_matter_and_is_triaged(store: Engine) -> None:
    # Omar has two open matters; the firm wrote to him about the DUI (201), then reminded him of an appointment
    # about the lease (202): his answer is about the appointment, though the thread is filed to the DUI.
    s = settings()
    services.messages.send(store, s, matter_cms_id="201", body="Got your papers.", actor=Actor("cli:ops"), now=NOW)
    entry(store, "a1", matter="202", event_type="Appointment", starts_at=NOW + timedelta(hours=24, minutes=5))
    assert reminders_run(store, s, NOW).planned.planned == 1
    assert reminders_run(store, s, NOW + timedelta(minutes=5)).due.sent == 1
    reply = text_in(store, OMAR, "Do I need to bring the lease?", timedelta(minutes=10))
    assert filed(store, reply) == ("202", "reminder_reply", "matter of the reminder the firm just sent")
    with store.connect() as conn:
        triaged = conn.execute(
            select(triage_decisions.c.urgent)
            .join(messages, messages.c.id == triage_decisions.c.message_id)
            .where(messages.c.sid == reply)
        ).all()
    assert triaged == [(False,)]  # triaged like any client text
    later = text_in(store, OMAR, "Never mind", timedelta(days=ACTIVE_DAYS + 1))
    assert filed(store, later)[:2] == ("202", "last_outbound")  # an old reminder is the firm's last text, no more
