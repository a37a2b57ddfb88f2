"""The filing chain never guesses: a number several contacts share waits in needs filing, whoever the firm
texted last from it and however recently."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from connector import services
from connector.messaging import intake, reception
from connector.staff.users import Actor
from connector.store.tables import filing_decisions, messages, threads
from tests.support.firm import ANN_LEE, BO_LEE, FIRM_NUMBER, JANE, NOW, new_sid, seed, settings

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
