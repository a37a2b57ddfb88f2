"""One conversation as its page shows it: the thread, its newest texts oldest first with who wrote each
and, for a client's text, what triage decided and why (and who corrected it), what may be done to it (the
people to assign, the matters to file it to), its neighbours in the inbox, and whether a text to the client
could go now.

One function per page so the view calls one query; each part is a short indexed read, however long
the thread: the texts are the newest page of `messages.listing` (a keyset range scan), the earlier
ones a link away, and triage's decisions on that page's client texts one `triage.for_messages` read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import Connection, Engine, literal, select, tuple_

from connector.guardrails import consent, optouts, pipeline
from connector.messaging import purpose, twilio_errors
from connector.queries import matters as matters_query
from connector.queries import messages as messages_query
from connector.queries import threads as threads_query
from connector.queries import triage as triage_query
from connector.queries import users as users_query
from connector.settings import Settings
from connector.store.engine import utcnow
from connector.store.tables import threads, users

__all__ = ["PAGE", "Conversation", "Entry", "Gate", "gate", "load"]

# The newest texts a thread page shows at once; earlier ones are a keyset link away.
PAGE: Final = 100
# Texts Matterline wrote itself, and how the page names their author.
_AUTOMATIC: Final = {
    "auto_reply": "Automatic reply (emergency instructions)",
    "confirmation": "Automatic reply (opt-out confirmation)",
    "help": "Automatic reply (help)",
}


@dataclass(frozen=True, slots=True)
class Entry:
    """One text with its author as a person would name them and, when Twilio refused it, what that means;
    a client text triage decided carries that decision, why, and staff's corrections (`triage`)."""

    message: messages_query.MessageView
    author_name: str
    automatic: bool
    error_meaning: str | None
    triage: triage_query.TriageView | None

    @property
    def purpose_label(self) -> str | None:
        """The tag the page shows beside a reminder or a notice; a conversation needs none."""
        return purpose.LABELS.get(self.message.purpose)


@dataclass(frozen=True, slots=True)
class Gate:
    """Whether a text to the client could go now: opted out, no consent (and why), or held until when."""

    opted_out: bool
    consent_missing: str | None
    held_until: datetime | None

    @property
    def blocked(self) -> bool:
        """Nothing can be sent until the client opts back in or consent is recorded."""
        return self.opted_out or self.consent_missing is not None


@dataclass(frozen=True, slots=True)
class Conversation:
    """What a thread page draws."""

    thread: threads_query.ThreadView
    entries: tuple[Entry, ...]
    # The `before` of the "Earlier messages" link (None: the first text is shown).
    earlier: int | None
    people: tuple[users_query.UserRecord, ...]
    matters: tuple[matters_query.MatterView, ...]
    newer_thread: int | None
    older_thread: int | None
    gate: Gate


def _names(conn: Connection, emails: set[str]) -> dict[str, str]:
    if not emails:
        return {}
    return {
        row.email: row.name
        for row in conn.execute(select(users.c.email, users.c.name).where(users.c.email.in_(emails)))
    }


def _author(
    view: messages_query.MessageView, thread: threads_query.ThreadView, names: dict[str, str]
) -> tuple[str, bool]:
    if view.direction == "inbound":
        return thread.client_name or thread.client_phone, False
    if view.author is None:
        return _AUTOMATIC.get(view.kind, "The firm (automatic)"), True
    return names.get(view.author, view.author), False


def _neighbours(conn: Connection, thread: threads_query.ThreadView) -> tuple[int | None, int | None]:
    """The threads just newer and just older in the inbox's order (newest activity first).

    A row-value comparison, not an OR of the two columns: both engines then seek the
    (last_message_at, id) index to the thread and read one entry, where the OR walked half the index.
    A thread with no text yet (a NULL time) compares as unknown, so it is never a neighbour.
    """
    if thread.last_message_at is None:
        return None, None
    at, key = threads.c.last_message_at, threads.c.id
    here = tuple_(literal(thread.last_message_at, at.type), literal(thread.id))
    newer = conn.execute(select(key).where(tuple_(at, key) > here).order_by(at, key).limit(1)).scalar()
    older = conn.execute(select(key).where(tuple_(at, key) < here).order_by(at.desc(), key.desc()).limit(1)).scalar()
    return newer, older


def _gate(conn: Connection, settings: Settings, phone: str, firm_number: str, now: datetime) -> Gate:
    if optouts.is_opted_out(conn, phone):
        return Gate(True, None, None)
    verdict = consent.check(conn, phone, firm_number, inbound_days=settings.consent_inbound_days, now=now)
    return Gate(False, None if verdict.allowed else verdict.detail, pipeline.hold_until(conn, settings, phone, now))


def gate(engine: Engine, settings: Settings, thread_id: int, *, now: datetime | None = None) -> Gate:
    """Whether a text in thread `thread_id` could go now (what the composer says before anyone types).

    Raises:
        MatterlineError: not found.
    """
    thread = threads_query.require(engine, thread_id, None)
    with engine.connect() as conn:
        return _gate(conn, settings, thread.client_phone, thread.firm_number, now or utcnow())


def load(
    engine: Engine,
    settings: Settings,
    thread_id: int,
    user_id: int,
    *,
    before: int | None = None,
    now: datetime | None = None,
) -> Conversation:
    """The thread page for person `user_id`: the newest PAGE texts (older than `before`, when given).

    Raises:
        MatterlineError: not found (thread); malformed `invalid_parameter` (a bad `before`).
    """
    thread = threads_query.require(engine, thread_id, user_id)
    newest_first, earlier = messages_query.listing(engine, thread_id, before_id=before, limit=PAGE)
    people = tuple(users_query.listing(engine, include_disabled=False))
    if thread.client_cms_id is not None:
        choices = matters_query.listing(engine, client_cms_id=thread.client_cms_id)
    else:
        choices = matters_query.listing(engine, status="open", limit=threads_query.MAX_LIMIT)
    decided = triage_query.for_messages(engine, [v.id for v in newest_first if v.direction == "inbound"])
    with engine.connect() as conn:
        names = _names(conn, {v.author for v in newest_first if v.direction == "outbound" and v.author})
        newer, older = _neighbours(conn, thread)
        door = _gate(conn, settings, thread.client_phone, thread.firm_number, now or utcnow())
    entries = []
    for view in reversed(newest_first):
        name, automatic = _author(view, thread, names)
        meaning = twilio_errors.meaning(view.error_code) if view.error_code is not None else None
        entries.append(Entry(view, name, automatic, meaning, decided.get(view.id)))
    return Conversation(
        thread=thread,
        entries=tuple(entries),
        earlier=earlier,
        people=people,
        matters=tuple(choices),
        newer_thread=newer,
        older_thread=older,
        gate=door,
    )
