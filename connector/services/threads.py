"""What staff do with a conversation: assign it, mark it read or unread, flag it urgent, file it, close it.

Each action is one function that owns its transaction and its audit entry, and answers with the
thread as the person now sees it (read after the commit, never inside it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, case, func, select, update

from connector import queries
from connector.compliance import audit
from connector.errors import invalid, malformed, not_found
from connector.messaging import filing, unread, urgent
from connector.settings import Settings
from connector.staff import coverage
from connector.staff.users import Actor, User, find_user
from connector.store import dialect
from connector.store.engine import utcnow
from connector.store.tables import messages, thread_reads, threads, users
from connector.writeback import windows

__all__ = ["Assigned", "assign", "close_windows", "mark_read", "mark_unread", "refile", "set_urgent"]


def _thread(conn: Connection, thread_id: int) -> Any:
    row = conn.execute(
        select(threads.c.id, threads.c.matter_cms_id, threads.c.assignee_id, threads.c.urgent)
        .where(threads.c.id == thread_id)
        .with_for_update()
    ).first()
    if row is None:
        raise not_found(f"no thread {thread_id}")
    return row


def _person(actor: Actor) -> User:
    if actor.user is None:
        raise malformed("needs_a_person", "read state is per person: say who (--as USER)", {"parameter": "as"})
    return actor.user


def _audit(
    conn: Connection,
    actor: Actor,
    action: audit.Action,
    thread: Any,
    details: dict[str, Any],
    *,
    matter_cms_id: str | None = None,
    at: datetime | None = None,
) -> None:
    """The entry for a change to `thread`, under its matter (or the matter it was just filed to)."""
    audit.append(
        conn,
        actor=actor.label,
        action=action,
        subject_type="thread",
        subject_id=thread.id,
        matter_cms_id=matter_cms_id or thread.matter_cms_id,
        request_id=actor.request_id,
        details=details,
        at=at or utcnow(),
    )


def _seen_by(engine: Engine, thread_id: int, actor: Actor) -> queries.threads.ThreadView:
    return queries.threads.require(engine, thread_id, actor.user_id)


def _set_mark(conn: Connection, thread_id: int, user_id: int, mark: int, *, forward_only: bool) -> int:
    """Write the person's read mark; with `forward_only` it never moves back (two tabs racing)."""
    statement = dialect.insert(conn, thread_reads).values(
        thread_id=thread_id, user_id=user_id, last_read_message_id=mark, read_at=utcnow()
    )
    new_mark: Any = statement.excluded.last_read_message_id
    if forward_only:
        new_mark = case(
            (new_mark > thread_reads.c.last_read_message_id, new_mark), else_=thread_reads.c.last_read_message_id
        )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[thread_reads.c.thread_id, thread_reads.c.user_id],
            set_={"last_read_message_id": new_mark, "read_at": statement.excluded.read_at},
        )
    )
    return int(
        conn.execute(
            select(thread_reads.c.last_read_message_id).where(
                thread_reads.c.thread_id == thread_id, thread_reads.c.user_id == user_id
            )
        ).scalar_one()
    )


def _message_in(conn: Connection, thread_id: int, message_id: int) -> int:
    found = conn.execute(
        select(messages.c.id).where(messages.c.id == message_id, messages.c.thread_id == thread_id)
    ).first()
    if found is None:
        raise invalid("invalid_message", f"no message {message_id} in thread {thread_id}", {"field": "message_id"})
    return message_id


def mark_read(engine: Engine, thread_id: int, *, actor: Actor, up_to_message_id: int | None = None) -> int:
    """Mark the thread read for the person up to a message (default: its newest); returns the read mark.

    The mark only moves forward, and only the person's own: colleagues keep their unread counts. A read
    that moves nothing is not written or audited.

    Raises:
        MatterlineError: not found; invalid `invalid_message` (not in the thread); malformed
            `needs_a_person` (an operator who did not say who).
    """
    person = _person(actor)
    with engine.begin() as conn:
        thread = _thread(conn, thread_id)
        if up_to_message_id is None:
            target = int(
                conn.execute(select(func.max(messages.c.id)).where(messages.c.thread_id == thread_id)).scalar() or 0
            )
        else:
            target = _message_in(conn, thread_id, up_to_message_id)
        current = conn.execute(
            select(thread_reads.c.last_read_message_id).where(
                thread_reads.c.thread_id == thread_id, thread_reads.c.user_id == person.id
            )
        ).scalar()
        if current is not None and current >= target:
            # Already read that far: nothing changes, so nothing is written or audited (opening a thread
            # again must not move every open page's live stamp).
            return int(current)
        mark = _set_mark(conn, thread_id, person.id, target, forward_only=True)
        unread.read(conn, thread_id, person.id, mark)
        _audit(conn, actor, audit.Action.READ, thread, {"up_to": target, "read_mark": mark})
    return mark


def mark_unread(engine: Engine, thread_id: int, *, actor: Actor, from_message_id: int | None = None) -> int:
    """Mark the thread unread for the person from a message on (default: the newest client text).

    The mark only moves back, so texts already unread stay unread. Returns the new read mark.

    Raises:
        MatterlineError: not found; invalid `invalid_message` (not in the thread, or no client text to
            mark); malformed `needs_a_person`.
    """
    person = _person(actor)
    with engine.begin() as conn:
        thread = _thread(conn, thread_id)
        if from_message_id is None:
            newest = conn.execute(
                select(func.max(messages.c.id)).where(
                    messages.c.thread_id == thread_id, messages.c.direction == "inbound"
                )
            ).scalar()
            if newest is None:
                raise invalid("invalid_message", f"thread {thread_id} has no client text to mark unread")
            target = int(newest)
        else:
            target = _message_in(conn, thread_id, from_message_id)
        current = conn.execute(
            select(thread_reads.c.last_read_message_id).where(
                thread_reads.c.thread_id == thread_id, thread_reads.c.user_id == person.id
            )
        ).scalar()
        mark = min(int(current) if current is not None else 0, target - 1)
        mark = _set_mark(conn, thread_id, person.id, mark, forward_only=False)
        unread.include(conn, thread_id, only=person.id)
        _audit(conn, actor, audit.Action.UNREAD, thread, {"from": target, "read_mark": mark})
    return mark


@dataclass(frozen=True, slots=True)
class Assigned:
    """A thread as it is after an assignment and, when the person asked for was away, who they are and that
    the thread went to whoever covers for them instead (`thread.assignee`)."""

    thread: queries.threads.ThreadView
    covering_for: coverage.Cover | None


def assign(
    engine: Engine, thread_id: int, assignee: str | int | None, *, actor: Actor, now: datetime | None = None
) -> Assigned:
    """Give the thread to a person (an email or user id), or to nobody (None).

    A person away now gets nothing new while they are gone: the thread goes to whoever covers for them,
    the answer says so, and the audit entry names them (`covering_for`).

    Raises:
        MatterlineError: not found (thread); invalid `unknown_user` (unknown or disabled assignee).
    """
    now = now or utcnow()
    away = None
    with engine.begin() as conn:
        thread = _thread(conn, thread_id)
        person = None if assignee is None else find_user(conn, assignee)
        if assignee is not None:
            active = person is not None and (
                conn.execute(select(users.c.disabled_at).where(users.c.id == person.id)).scalar() is None
            )
            if not active:
                raise invalid("unknown_user", f"no active user {assignee!r}", {"field": "assignee"})
        new_id = None if person is None else person.id
        if person is not None:
            acting, covering_for = coverage.covering(conn, person.id, now)
            if covering_for is not None:
                away = coverage.covers(conn, [person.id], now).get(person.id)
                new_id = acting
                person = find_user(conn, acting)
        conn.execute(update(threads).where(threads.c.id == thread_id).values(assignee_id=new_id))
        unread.rescope(conn, thread_id, new_id)
        details: dict[str, Any] = {
            "from": thread.assignee_id,
            "to": new_id,
            "to_email": None if person is None else person.email,
        }
        if away is not None:
            details["covering_for"] = away.user_id
        _audit(conn, actor, audit.Action.ASSIGN, thread, details, at=now)
    return Assigned(_seen_by(engine, thread_id, actor), away)


def set_urgent(engine: Engine, thread_id: int, urgent_now: bool, *, actor: Actor) -> queries.threads.ThreadView:
    """Flag the thread urgent or clear the flag.

    Raises:
        MatterlineError: not found.
    """
    with engine.begin() as conn:
        thread = _thread(conn, thread_id)
        conn.execute(update(threads).where(threads.c.id == thread_id).values(urgent=urgent_now))
        _audit(conn, actor, audit.Action.URGENT, thread, {"urgent": urgent_now, "was": bool(thread.urgent)})
    return _seen_by(engine, thread_id, actor)


def refile(
    engine: Engine,
    settings: Settings,
    thread_id: int,
    matter_cms_id: str,
    *,
    actor: Actor,
    now: datetime | None = None,
) -> tuple[queries.threads.ThreadView, int]:
    """File the thread to a matter: it becomes the thread's matter and its unfiled texts move there.

    A thread flagged urgent while it had no matter gets its attorney's task now. Returns the thread and
    how many texts moved.

    Re-filing is for attorneys and admins (and operators): the check is here, not only in the API's route
    table, so every caller (a page's form included) is refused alike.

    Raises:
        MatterlineError: forbidden `forbidden_role`; not found (thread); invalid `unknown_matter`.
    """
    actor.require_counsel("re-file a thread")
    now = now or utcnow()
    with engine.begin() as conn:
        moved = refile_in(conn, settings, _thread(conn, thread_id), matter_cms_id, actor=actor, now=now)
    return _seen_by(engine, thread_id, actor), moved


def refile_in(
    conn: Connection,
    settings: Settings,
    thread: Any,
    matter_cms_id: str,
    *,
    actor: Actor,
    now: datetime,
    details: dict[str, Any] | None = None,
    rule: str = filing.RULE_MANUAL,
    reason: str | None = None,
) -> int:
    """`refile` inside the caller's transaction (a send from another matter is a re-file too): the thread
    and its unfiled texts go to the matter, audited as `refile`, and an urgent thread's new attorney is
    tasked. Returns how many texts moved."""
    moved = filing.refile_thread(
        conn, thread.id, matter_cms_id, actor=actor.label, actor_id=actor.user_id, now=now, rule=rule, reason=reason
    )
    _audit(
        conn,
        actor,
        audit.Action.REFILE,
        thread,
        {"from_matter": thread.matter_cms_id, "to_matter": matter_cms_id, "messages": moved, **(details or {})},
        matter_cms_id=matter_cms_id,
        at=now,
    )
    urgent.on_filed(conn, settings, thread.id, matter_cms_id)
    return moved


def close_windows(
    engine: Engine, settings: Settings, *, actor: Actor, thread_id: int | None = None, now: datetime | None = None
) -> list[windows.Closed]:
    """Close conversation windows now (one thread's, or every open one); their records are queued for the CMS.

    Raises:
        MatterlineError: not found (thread).
    """
    if thread_id is not None:
        queries.threads.require(engine, thread_id, None)
    return windows.close_due(engine, settings, thread_id=thread_id, force=True, actor=actor.label, now=now)
