"""Staff sending a text: checked, stored and queued in one transaction; the worker talks to Twilio.

Nothing reaches an opted-out number: the refusal is audited (in its own transaction, so the record of
the attempt survives the refusal) and answered as `recipient_opted_out`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from connector import audit, optouts, outbox, threads
from connector.phones import to_e164
from connector.segments import MAX_BODY_CHARS, measure, too_long
from connector.settings import Settings
from connector.store.engine import utcnow
from connector.store.tables import contact_phones, contacts, matters, messages
from connector.store.tables import threads as threads_table

SEND_KIND = "sms_send"
_MAX_MEDIA = 10


class SendRefused(Exception):
    """A send that will not happen; `code` and `status` are what the API and CLI report."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass(frozen=True, slots=True)
class Queued:
    """A stored, queued outbound text."""

    message_id: int
    thread_id: int
    to: str
    matter_cms_id: str | None
    encoding: str
    segments: int
    status: str


def _contact_phone(conn: Connection, client_key: str) -> str | None:
    """The number to text a client on: the primary readable number, else the first readable one."""
    return conn.execute(
        select(contact_phones.c.e164)
        .join(contacts, contacts.c.id == contact_phones.c.contact_id)
        .where(contacts.c.client_key == client_key, contacts.c.deleted_at.is_(None), contact_phones.c.e164.is_not(None))
        .order_by(contacts.c.is_client.desc(), contact_phones.c.is_primary.desc(), contact_phones.c.position)
        .limit(1)
    ).scalar()


def _target(
    conn: Connection,
    settings: Settings,
    *,
    thread_id: int | None,
    matter_cms_id: str | None,
    to: str | None,
    now: datetime,
) -> tuple[Any, str | None]:
    """The thread to send on and the matter the text is about."""
    if thread_id is not None:
        thread = conn.execute(select(threads_table).where(threads_table.c.id == thread_id)).first()
        if thread is None:
            raise SendRefused("not_found", f"no thread {thread_id}", 404)
        return thread, thread.matter_cms_id
    sender = settings.sender
    if sender is None:
        raise SendRefused("no_firm_number", "set MATTERLINE_FIRM_NUMBERS or TWILIO_MESSAGING_SERVICE_SID", 422)
    if matter_cms_id is not None:
        matter = conn.execute(
            select(matters.c.client_cms_id, matters.c.status).where(
                matters.c.cms_id == matter_cms_id, matters.c.deleted_at.is_(None)
            )
        ).first()
        if matter is None:
            raise SendRefused("not_found", f"no matter {matter_cms_id} in the store (run `matterline sync`?)", 404)
        phone = _contact_phone(conn, matter.client_cms_id) if matter.client_cms_id else None
        if phone is None:
            raise SendRefused(
                "no_textable_number", f"matter {matter_cms_id}'s client has no readable phone number", 422
            )
        return threads.thread_for(conn, sender, phone, now), matter_cms_id
    assert to is not None
    phone = to_e164(to, settings.default_region)
    if phone is None:
        raise SendRefused("invalid_recipient", f"{to!r} is not a valid phone number", 422)
    thread = threads.thread_for(conn, sender, phone, now)
    return thread, thread.matter_cms_id


def queue_send(
    engine: Engine,
    settings: Settings,
    *,
    body: str,
    thread_id: int | None = None,
    matter_cms_id: str | None = None,
    to: str | None = None,
    media_urls: Sequence[str] = (),
    author_id: int | None = None,
    actor: str,
    request_id: str | None = None,
) -> Queued:
    """Check, store and queue one text.

    Raises:
        SendRefused: opted out (409), too long or empty or bad media (422), unknown thread/matter (404).
    """
    if sum(x is not None for x in (thread_id, matter_cms_id, to)) != 1:
        raise SendRefused("bad_request", "give exactly one of a thread, a matter or a number", 400)
    if not body.strip() and not media_urls:
        raise SendRefused("empty_message", "a text needs a body or media", 422)
    if too_long(body):
        raise SendRefused("body_too_long", f"the body is over {MAX_BODY_CHARS} characters", 422)
    if len(media_urls) > _MAX_MEDIA or any(not u.startswith("https://") for u in media_urls):
        raise SendRefused("bad_media", f"at most {_MAX_MEDIA} media URLs, each https://", 422)
    now = utcnow()
    with engine.begin() as conn:
        thread, matter = _target(conn, settings, thread_id=thread_id, matter_cms_id=matter_cms_id, to=to, now=now)
        refused = optouts.is_opted_out(conn, thread.client_phone)
        if refused:
            audit.append(
                conn,
                actor=actor,
                action="send_blocked",
                subject_type="thread",
                subject_id=thread.id,
                matter_cms_id=matter,
                request_id=request_id,
                details={"reason": "recipient_opted_out", "to": thread.client_phone},
                at=now,
            )
    if refused:
        raise SendRefused("recipient_opted_out", f"{thread.client_phone} has opted out of texts", 409)
    segments = measure(body)
    with engine.begin() as conn:
        if optouts.is_opted_out(conn, thread.client_phone):  # an opt-out may have landed in between
            raise SendRefused("recipient_opted_out", f"{thread.client_phone} has opted out of texts", 409)
        message_id = int(
            conn.execute(
                insert(messages)
                .values(
                    thread_id=thread.id,
                    direction="outbound",
                    kind="message",
                    from_number=thread.firm_number,
                    to_number=thread.client_phone,
                    body=body,
                    encoding=segments.encoding,
                    num_segments=segments.segments,
                    num_media=len(media_urls),
                    media=[{"url": url, "content_type": ""} for url in media_urls],
                    status="pending",
                    matter_cms_id=matter,
                    author_id=author_id,
                    created_at=now,
                )
                .returning(messages.c.id)
            ).scalar_one()
        )
        if matter_cms_id is not None and thread.matter_cms_id != matter_cms_id:
            filing = threads.Filing(matter_cms_id, threads.RULE_OUTBOUND, f"sent from matter {matter_cms_id}", None)
            threads.apply_filing(conn, thread.id, None, filing, now, actor_id=author_id)
        conn.execute(
            update(threads_table)
            .where(threads_table.c.id == thread.id)
            .values(message_count=threads_table.c.message_count + 1, last_message_at=now, last_message_id=message_id)
        )
        outbox.enqueue(conn, SEND_KIND, f"sms:{message_id}", {"message_id": message_id}, now=now)
        audit.append(
            conn,
            actor=actor,
            action="send",
            subject_type="message",
            subject_id=message_id,
            matter_cms_id=matter,
            request_id=request_id,
            details={
                "thread": thread.id,
                "to": thread.client_phone,
                "segments": segments.segments,
                "media": len(media_urls),
            },
            at=now,
        )
    return Queued(message_id, thread.id, thread.client_phone, matter, segments.encoding, segments.segments, "pending")
