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
from typing import Any, Final, cast
from urllib.parse import quote, unquote

from sqlalchemy import Connection, String

from connector.compliance import audit
from connector.const import LOGGER, MAX_MEDIA
from connector.errors import MatterlineError, malformed
from connector.guardrails import optouts
from connector.messaging.keywords import Keyword, keyword_only
from connector.messaging.purpose import CONVERSATION, of_kind
from connector.messaging.segments import measure
from connector.phones import to_e164
from connector.settings import Settings
from connector.store import dialect
from connector.store.tables import PARTY, messages, opt_outs

_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
_MEDIA_SCAN: Final = 100  # MediaUrlN looked for at most, however many NumMedia claims
_NUL = "\x00"
# The key in messages.raw that lists the parameters kept percent-encoded (see `stored_raw`).
ENCODED_KEY: Final = "_matterline_percent_encoded"
_PARTY_WIDTH: Final = PARTY
_KEYWORD_WIDTH: Final = cast(String, opt_outs.c.keyword.type).length or 64


def _bad(field: str, message: str) -> MatterlineError:
    """A malformed webhook parameter: 400 `invalid_parameter` naming the field (never quoting its value)."""
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
    raw: dict[str, Any]
    # STOP, START, HELP or none: read once here, for the group commit's choice and for the handling alike.
    keyword: Keyword


@dataclass(frozen=True, slots=True)
class Received:
    """The outcome: the stored message (None for a duplicate) and the reply to send in TwiML, if any."""

    message_id: int | None
    duplicate: bool
    reply: str | None
    keyword: str = "none"  # the keyword a new text was (opt_out, opt_in, help), "none" for a plain text

    @property
    def result(self) -> str:
        """What happened, for the received-texts metric: duplicate, stored, or the keyword (stored too)."""
        return "duplicate" if self.duplicate else ("stored" if self.keyword == "none" else self.keyword)


def parse(form: Mapping[str, str], settings: Settings) -> Inbound:
    """Check the parameters a text cannot be kept without; make the rest storable, keeping every one as sent.

    A signed text is Twilio's word that a client wrote to the firm, and Twilio does not retry an inbound
    webhook that fails: refusing it loses it. So only what identifies the text and its two parties can
    refuse it: MessageSid, From and To. Everything else is cosmetic and normalised: a NUL (which
    PostgreSQL cannot store) becomes U+FFFD in the body, a NumSegments that is not a sensible count is
    dropped (intake measures the body instead), media are the MediaUrlN actually sent, whatever NumMedia
    says. A To that is not a configured firm number is kept too: the signature proves it reached one of
    the account's numbers (one added in Twilio and not yet here, say), and intake threads it by that number.

    Raises:
        MatterlineError: malformed `invalid_parameter` when MessageSid, From or To is missing or malformed.
    """
    sid = str(form.get("MessageSid", "")).strip()
    if not sid:
        raise _bad("MessageSid", "missing")
    if not _SID.match(sid):
        raise _bad("MessageSid", "must be SM or MM followed by 32 hex characters")
    from_number = _address(form, "From")
    to_number = _address(form, "To")
    service = str(form.get("MessagingServiceSid", "")) or None
    ours = to_number in settings.firm_numbers or (
        service is not None and service == settings.twilio_messaging_service_sid
    )
    if not ours:
        LOGGER.warning("twilio.unconfigured_firm_number sid=%s", sid)
    body = _storable(str(form.get("Body", "")))
    opt_out_type = str(form.get("OptOutType", "")) or None
    return Inbound(
        sid=sid,
        from_number=to_e164(from_number, settings.default_region) or from_number,
        to_number=to_number,
        body=body,
        media=_media(form),
        num_segments=_count(form.get("NumSegments")),
        messaging_service_sid=service,
        opt_out_type=opt_out_type,
        raw=stored_raw(form),
        keyword=keyword_only(body, opt_out_type),
    )


def _address(form: Mapping[str, str], name: str) -> str:
    """From or To: a phone number or channel address (`whatsapp:+1…`) that fits where parties are kept."""
    value = str(form.get(name, "")).strip()
    if not value:
        raise _bad(name, "missing")
    if len(value) > _PARTY_WIDTH or not value.isprintable():
        raise _bad(name, f"must be a phone number or channel address of at most {_PARTY_WIDTH} printable characters")
    return value


def _storable(text: str) -> str:
    """A value for a text column: NUL, which PostgreSQL refuses, becomes U+FFFD (the raw form keeps it)."""
    return text.replace(_NUL, "\ufffd")


def _count(value: str | None) -> int | None:
    """A count Twilio sent, or None when it is not a plausible one (absent, words, negative, overflowing)."""
    text = (value or "").strip()
    if not (text.isascii() and text.isdecimal()) or len(text) > 9:
        return None
    return int(text) or None


def _media(form: Mapping[str, str]) -> tuple[dict[str, str], ...]:
    """Every MediaUrlN sent (N below Twilio's 10, or below NumMedia when it claims more), in order of N: the
    URLs are the media, NumMedia only describes them. Any further ones stay in the raw form."""
    limit = max(MAX_MEDIA, min(_count(form.get("NumMedia")) or 0, _MEDIA_SCAN))
    return tuple(
        {"url": _storable(url), "content_type": _storable(str(form.get(f"MediaContentType{index}", "")))}
        for index in range(limit)
        if (url := str(form.get(f"MediaUrl{index}", "")))
    )


def stored_raw(form: Mapping[str, str]) -> dict[str, Any]:
    """Every parameter as sent, for messages.raw; reversible with `original_raw`.

    PostgreSQL keeps neither a NUL in text nor its escape in JSONB, so a parameter whose name or value holds
    one is kept percent-encoded (RFC 3986, UTF-8, every reserved character escaped: `urllib.parse.quote`
    with `safe=""`), and its stored name is listed under ENCODED_KEY. Every other parameter is kept as is.
    """
    raw: dict[str, Any] = {str(key): str(value) for key, value in form.items()}
    if not any(_NUL in key or _NUL in value for key, value in raw.items()):
        return raw
    encoded: list[str] = []
    kept: dict[str, Any] = {}
    for key, value in raw.items():
        if _NUL in key or _NUL in value:
            key, value = quote(key, safe=""), quote(value, safe="")
            encoded.append(key)
        kept[key] = value
    kept[ENCODED_KEY] = encoded
    return kept


def original_raw(raw: Mapping[str, Any]) -> dict[str, str]:
    """The parameters exactly as Twilio sent them, from messages.raw (`stored_raw` undone)."""
    encoded = set(raw.get(ENCODED_KEY) or ())
    return {
        (unquote(key) if key in encoded else key): (unquote(value) if key in encoded else value)
        for key, value in raw.items()
        if key != ENCODED_KEY
    }


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
        "purpose": CONVERSATION,
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


def plain_texts(batch: list[Inbound]) -> bool:
    """No STOP, START or HELP among them: `receive_many` stores them in its one INSERT statement and no other."""
    return all(item.keyword.kind == "none" for item in batch)


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
        found = item.keyword
        reply = None if found.kind == "none" else _keywords(conn, item, settings, found, now)
        results.append(Received(message_id, False, reply, found.kind))
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
    keyword = found.keyword[:_KEYWORD_WIDTH] if found.keyword else None  # OptOutType with one long word as body
    changed = optouts.record(
        conn, phone, action, found.source, keyword=keyword, message_sid=sid, firm_number=firm_number, at=now
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
            purpose=of_kind(kind),
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
