"""An inbound text in the webhook: verified elsewhere, stored once here, and nothing more than that.

The request does the minimum that must not wait: store the message (unique on MessageSid, so a retried
or concurrent duplicate stores nothing) and, for STOP/START/HELP, write the opt-out ledger and answer,
so no send can slip between a STOP and its record. Threading, filing, counters and the audit entry
are the worker's intake (`connector.messaging.intake`), a moment later.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from connector.compliance import audit
from connector.const import MAX_MEDIA
from connector.errors import MatterlineError, malformed
from connector.guardrails import optouts
from connector.messaging.keywords import Keyword, keyword_only
from connector.messaging.segments import measure
from connector.phones import to_e164
from connector.settings import Settings
from connector.store import dialect
from connector.store.tables import messages

_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")


def _bad(field: str, message: str) -> MatterlineError:
    """A malformed webhook parameter: 400 `invalid_parameter` naming the field."""
    return malformed("invalid_parameter", f"{field}: {message}", {"field": field})


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
    duplicate: bool
    reply: str | None


def parse(form: Mapping[str, str], settings: Settings) -> Inbound:
    """Check the parameters Matterline relies on; keep every parameter as sent.

    Raises:
        MatterlineError: malformed `invalid_parameter` when a required parameter is missing or malformed,
            or the text is not to a firm number.
    """
    raw = {key: str(value) for key, value in form.items()}
    sid = raw.get("MessageSid", "").strip()
    if not sid:
        raise _bad("MessageSid", "missing")
    if not _SID.match(sid):
        raise _bad("MessageSid", "must be SM or MM followed by 32 hex characters")
    from_number = raw.get("From", "").strip()
    to_number = raw.get("To", "").strip()
    for name, value in (("From", from_number), ("To", to_number)):
        if not value:
            raise _bad(name, "missing")
    service = raw.get("MessagingServiceSid") or None
    ours = to_number in settings.firm_numbers or (
        service is not None and service == settings.twilio_messaging_service_sid
    )
    if not ours:
        raise _bad("To", f"{to_number} is not one of the firm's numbers or its Messaging Service")
    num_media = _count(raw, "NumMedia")
    if num_media > MAX_MEDIA:
        raise _bad("NumMedia", f"at most {MAX_MEDIA}")
    media = []
    for index in range(num_media):
        url = raw.get(f"MediaUrl{index}")
        if not url:
            raise _bad(f"MediaUrl{index}", "missing although NumMedia says it is there")
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
        raise _bad(name, "must be a whole number")
    return int(value)


# Built once: the webhook's one statement, without per-request construction cost. Rows whose MessageSid
# is already stored are skipped by the database itself, so concurrent duplicates cannot both land.
_INSERTS = {
    name: dialect.insert(name, messages)
    .on_conflict_do_nothing(index_elements=["sid"])
    .returning(messages.c.id, messages.c.sid)
    for name in ("postgresql", "sqlite")
}


def _row(inbound: Inbound, now: datetime) -> dict[str, Any]:
    return {
        "thread_id": None,
        "sid": inbound.sid,
        "direction": "inbound",
        "kind": "message",
        "from_number": inbound.from_number,
        "to_number": inbound.to_number,
        "body": inbound.body,
        "encoding": None,
        "num_segments": inbound.num_segments,
        "num_media": len(inbound.media),
        "media": list(inbound.media),
        "status": "received",
        "raw": inbound.raw,
        "created_at": now,
    }


def receive(conn: Connection, inbound: Inbound, settings: Settings, now: datetime) -> Received:
    """Store one inbound text (once) inside the caller's transaction; handle STOP/START/HELP at once."""
    return receive_many(conn, [inbound], settings, now)[0]


def receive_many(conn: Connection, batch: list[Inbound], settings: Settings, now: datetime) -> list[Received]:
    """Store a batch of inbound texts in one statement; a MessageSid already stored (or earlier in the
    batch) comes back as a duplicate. STOP/START/HELP are handled for the new ones, in order."""
    stored = {row.sid: row.id for row in conn.execute(_INSERTS[conn.dialect.name], [_row(item, now) for item in batch])}
    results = []
    for item in batch:
        message_id = stored.pop(item.sid, None)
        if message_id is None:
            results.append(Received(None, True, None))
            continue
        found = keyword_only(item.body, item.opt_out_type)
        reply = None if found.kind == "none" else _keywords(conn, item, settings, found, now)
        results.append(Received(message_id, False, reply))
    return results


def _keywords(conn: Connection, inbound: Inbound, settings: Settings, found: Keyword, now: datetime) -> str | None:
    """Opt-out, opt-in and help: the ledger entry, and the reply when it is ours to send (in TwiML)."""
    if found.kind == "help":
        return _reply(conn, inbound, settings.help_reply, "help", now)
    text = record_signal(conn, inbound.from_number, inbound.to_number, found, inbound.sid, settings, now)
    return None if text is None else _reply(conn, inbound, text, "confirmation", now)


def record_signal(
    conn: Connection,
    phone: str,
    firm_number: str,
    found: Keyword,
    sid: str | None,
    settings: Settings,
    now: datetime,
    *,
    matter_cms_id: str | None = None,
) -> str | None:
    """Write an opt-out or opt-in to the ledger and the audit log; the confirmation text when one is due.

    One confirmation, never two: none when Twilio already sent its own (single keywords and OptOutType,
    unless the firm turned Twilio's keyword replies off) or when the number was already in that state.
    """
    action = "opt_out" if found.kind == "opt_out" else "opt_in"
    changed = optouts.record(
        conn, phone, action, found.source, keyword=found.keyword, message_sid=sid, firm_number=firm_number, at=now
    )
    audit.append(
        conn,
        actor=f"client:{phone}",
        action=audit.Action.OPT_OUT if action == "opt_out" else audit.Action.OPT_IN,
        subject_type="phone",
        subject_id=phone,
        matter_cms_id=matter_cms_id,
        details={"source": found.source, "keyword": found.keyword, "sid": sid, "changed": changed},
        at=now,
    )
    twilio_replied = found.twilio_confirms and settings.twilio_keyword_replies
    if not changed or twilio_replied:
        return None
    if action == "opt_out":
        return f"{settings.firm_name}: you will not get more texts from us. Reply START to undo."
    return f"{settings.firm_name}: you can get texts from us again. Reply STOP to stop."


def _reply(conn: Connection, inbound: Inbound, text: str, kind: str, now: datetime) -> str:
    """Keep the TwiML reply as a message too, so the record shows what the client was told."""
    segments = measure(text)
    conn.execute(
        messages.insert().values(
            thread_id=None,
            sid=None,
            direction="outbound",
            kind=kind,
            from_number=inbound.to_number,
            to_number=inbound.from_number,
            body=text,
            encoding=segments.encoding,
            num_segments=segments.segments,
            num_media=0,
            status="replied",
            raw={"MessagingServiceSid": inbound.messaging_service_sid} if inbound.messaging_service_sid else None,
            created_at=now,
        )
    )
    return text
