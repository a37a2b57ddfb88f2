"""An inbound text, from Twilio's form to a stored, filed message: verify elsewhere, do the minimum here.

Everything happens in the caller's one transaction: the thread, the message (unique on MessageSid, so
a retried or concurrent duplicate stores nothing), the filing decision, the opt-out ledger, and the
audit entries. Slow work (media download, CMS writes) belongs to the worker.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from connector import audit, optouts, threads
from connector.keywords import classify
from connector.phones import to_e164
from connector.segments import measure
from connector.settings import Settings
from connector.store.tables import messages
from connector.store.tables import threads as threads_table

_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
_MAX_MEDIA = 10
TWILIO_ACTOR = "twilio"


class InboundError(ValueError):
    """A malformed webhook: `field` names the parameter at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class Inbound:
    """What Twilio told us, checked."""

    sid: str
    from_number: str
    to_number: str
    body: str
    media: tuple[dict[str, str], ...]
    num_segments: int | None
    messaging_service_sid: str | None
    opt_out_type: str | None
    raw: dict[str, str]


@dataclass(frozen=True, slots=True)
class Received:
    """The outcome: the stored message (None for a duplicate) and the reply to send in TwiML, if any."""

    message_id: int | None
    thread_id: int
    duplicate: bool
    reply: str | None
    filing: threads.Filing | None


def parse(form: Mapping[str, str], settings: Settings) -> Inbound:
    """Check the parameters Matterline relies on; keep every parameter as sent.

    Raises:
        InboundError: a required parameter is missing or malformed, or the text is not to a firm number.
    """
    raw = {key: str(value) for key, value in form.items()}
    sid = raw.get("MessageSid", "").strip()
    if not sid:
        raise InboundError("MessageSid", "missing")
    if not _SID.match(sid):
        raise InboundError("MessageSid", "must be SM or MM followed by 32 hex characters")
    from_number = raw.get("From", "").strip()
    to_number = raw.get("To", "").strip()
    for name, value in (("From", from_number), ("To", to_number)):
        if not value:
            raise InboundError(name, "missing")
    service = raw.get("MessagingServiceSid") or None
    ours = to_number in settings.firm_numbers or (
        service is not None and service == settings.twilio_messaging_service_sid
    )
    if not ours:
        raise InboundError("To", f"{to_number} is not one of the firm's numbers or its Messaging Service")
    num_media = _count(raw, "NumMedia")
    if num_media > _MAX_MEDIA:
        raise InboundError("NumMedia", f"at most {_MAX_MEDIA}")
    media = []
    for index in range(num_media):
        url = raw.get(f"MediaUrl{index}")
        if not url:
            raise InboundError(f"MediaUrl{index}", "missing although NumMedia says it is there")
        media.append({"url": url, "content_type": raw.get(f"MediaContentType{index}", "")})
    segments = raw.get("NumSegments")
    return Inbound(
        sid=sid,
        from_number=to_e164(from_number, settings.default_region) or from_number,
        to_number=to_number,
        body=raw.get("Body", ""),
        media=tuple(media),
        num_segments=int(segments) if segments and segments.isdigit() else None,
        messaging_service_sid=service,
        opt_out_type=(raw.get("OptOutType") or None),
        raw=raw,
    )


def _count(raw: Mapping[str, str], name: str) -> int:
    value = raw.get(name, "0").strip() or "0"
    if not value.isdigit():
        raise InboundError(name, "must be a whole number")
    return int(value)


def thread_key(inbound: Inbound, settings: Settings) -> str:
    """The firm side of the thread: the Messaging Service when the text came through it, else the number."""
    service = settings.twilio_messaging_service_sid
    if service and inbound.messaging_service_sid == service:
        return service
    return inbound.to_number


def receive(conn: Connection, inbound: Inbound, settings: Settings, now: datetime) -> Received:
    """Store, file and classify one inbound text inside the caller's transaction."""
    thread = threads.thread_for(conn, thread_key(inbound, settings), inbound.from_number, now)
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    segments = measure(inbound.body)
    message_id = conn.execute(
        insert(messages)
        .values(
            thread_id=thread.id,
            sid=inbound.sid,
            direction="inbound",
            kind="message",
            from_number=inbound.from_number,
            to_number=inbound.to_number,
            body=inbound.body,
            encoding=segments.encoding,
            num_segments=inbound.num_segments or segments.segments,
            num_media=len(inbound.media),
            media=list(inbound.media),
            status="received",
            raw=inbound.raw,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["sid"])
        .returning(messages.c.id)
    ).scalar()
    if message_id is None:
        return Received(None, thread.id, True, None, None)
    filing = threads.decide(conn, thread, now, settings.thread_active_days)
    threads.apply_filing(conn, thread.id, message_id, filing, now)
    conn.execute(
        update(threads_table)
        .where(threads_table.c.id == thread.id)
        .values(
            message_count=threads_table.c.message_count + 1,
            last_message_at=now,
            last_inbound_at=now,
            last_message_id=message_id,
        )
    )
    audit.append(
        conn,
        actor=TWILIO_ACTOR,
        action="receive",
        subject_type="message",
        subject_id=message_id,
        matter_cms_id=filing.matter_cms_id,
        details={"thread": thread.id, "sid": inbound.sid, "filing_rule": filing.rule, "media": len(inbound.media)},
        at=now,
    )
    reply = _keywords(conn, inbound, settings, thread.id, filing, now)
    return Received(message_id, thread.id, False, reply, filing)


def _keywords(
    conn: Connection, inbound: Inbound, settings: Settings, thread_id: int, filing: threads.Filing, now: datetime
) -> str | None:
    """Opt-out, opt-in and help: the ledger entry, and the one confirmation when it is ours to send."""
    found = classify(inbound.body, inbound.opt_out_type)
    if found.kind == "none":
        return None
    if found.kind == "help":
        return _reply(conn, inbound, thread_id, filing, settings.help_reply, "help", now)
    action = "opt_out" if found.kind == "opt_out" else "opt_in"
    changed = optouts.record(
        conn,
        inbound.from_number,
        action,
        found.source,
        keyword=found.keyword,
        message_sid=inbound.sid,
        firm_number=inbound.to_number,
        at=now,
    )
    audit.append(
        conn,
        actor=f"client:{inbound.from_number}",
        action=action.replace("_", "-"),
        subject_type="phone",
        subject_id=inbound.from_number,
        matter_cms_id=filing.matter_cms_id,
        details={"source": found.source, "keyword": found.keyword, "sid": inbound.sid, "changed": changed},
        at=now,
    )
    twilio_replied = found.twilio_confirms and settings.twilio_keyword_replies
    if not changed or twilio_replied:
        return None  # one confirmation, never two: Twilio sent it, or this number was already there
    text = (
        f"{settings.firm_name}: you will not get more texts from us. Reply START to undo."
        if action == "opt_out"
        else f"{settings.firm_name}: you can get texts from us again. Reply STOP to stop."
    )
    return _reply(conn, inbound, thread_id, filing, text, "confirmation", now)


def _reply(
    conn: Connection,
    inbound: Inbound,
    thread_id: int,
    filing: threads.Filing,
    text: str,
    kind: str,
    now: datetime,
) -> str:
    """Keep the TwiML reply in the thread, so the record shows what the client was told."""
    segments = measure(text)
    values: dict[str, Any] = {
        "thread_id": thread_id,
        "sid": None,
        "direction": "outbound",
        "kind": kind,
        "from_number": inbound.to_number,
        "to_number": inbound.from_number,
        "body": text,
        "encoding": segments.encoding,
        "num_segments": segments.segments,
        "num_media": 0,
        "status": "replied",
        "matter_cms_id": filing.matter_cms_id,
        "created_at": now,
    }
    reply_id = conn.execute(messages.insert().values(**values).returning(messages.c.id)).scalar_one()
    conn.execute(
        update(threads_table)
        .where(threads_table.c.id == thread_id)
        .values(message_count=threads_table.c.message_count + 1, last_message_id=reply_id)
    )
    return text
