"""Delivery status callbacks: each kept once, in order of arrival, the message's status only moving forward.

Twilio's callbacks arrive late, twice, or out of order; a `sent` that lands after `delivered` must not
make a delivered text look undelivered, and a later callback without an error code must not erase one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Connection, select, update

from connector import metrics
from connector.compliance import audit
from connector.errors import MatterlineError, malformed
from connector.messaging import twilio_errors
from connector.store import dialect
from connector.store.tables import messages, status_events

# Twilio's statuses by how far a message has come; terminal ones share the top rank, so the first wins.
RANK = {
    "pending": 0,
    "accepted": 1,
    "scheduled": 1,
    "queued": 2,
    "sending": 3,
    "sent": 4,
    "delivered": 5,
    "undelivered": 5,
    "failed": 5,
    "canceled": 5,
    "partially_delivered": 5,
    "read": 6,
}
FAILED = ("undelivered", "failed")


def _bad(field: str, message: str) -> MatterlineError:
    """A malformed webhook parameter: 400 `invalid_parameter` naming the field."""
    return malformed("invalid_parameter", f"{field}: {message}", {"field": field})


def apply(conn: Connection, form: Mapping[str, str], now: datetime) -> int | None:
    """Record one callback; returns the message it moved, None for an unknown SID (still recorded).

    Raises:
        MatterlineError: malformed `invalid_parameter` when MessageSid or MessageStatus is missing, or
            the error code is not a number.
    """
    raw = {key: str(value) for key, value in form.items()}
    sid = raw.get("MessageSid") or raw.get("SmsSid") or ""
    status = (raw.get("MessageStatus") or raw.get("SmsStatus") or "").strip().lower()
    if not sid:
        raise _bad("MessageSid", "missing")
    if not status:
        raise _bad("MessageStatus", "missing")
    code_text = (raw.get("ErrorCode") or "").strip()
    if code_text and not code_text.isdigit():
        raise _bad("ErrorCode", "must be a number")
    code = int(code_text) if code_text else None
    message = conn.execute(
        select(messages.c.id, messages.c.status, messages.c.error_code, messages.c.matter_cms_id).where(
            messages.c.sid == sid
        )
    ).first()
    event = {
        "message_id": message.id if message else None,
        "sid": sid,
        "status": status,
        "error_code": code,
        "raw": raw,
        "received_at": now,
    }
    # Twilio retries a callback it thinks went unanswered; the unique index keeps the first, and a repeat
    # has nothing new to apply.
    # preserve_rowcount: SQLAlchemy 2.1 reports -1 for an INSERT on PostgreSQL otherwise, and no repeat is seen.
    counted = conn.execution_options(preserve_rowcount=True)
    repeated = not counted.execute(
        dialect.insert(conn, status_events).values(**event).on_conflict_do_nothing()
    ).rowcount
    if message is None or repeated:
        return None if message is None else int(message.id)
    metrics.delivery_status(status, code)
    values: dict[str, object] = {}
    if RANK.get(status, -1) > RANK.get(message.status, -1):
        values["status"] = status
    if code is not None and message.error_code is None:
        values["error_code"] = code
        values["error_message"] = twilio_errors.meaning(code, raw.get("ErrorMessage"))
    if values:
        conn.execute(update(messages).where(messages.c.id == message.id).values(**values))
    if "status" in values and status in FAILED:
        audit.append(
            conn,
            actor="twilio",
            action=audit.Action.DELIVERY_FAILED,
            subject_type="message",
            subject_id=message.id,
            matter_cms_id=message.matter_cms_id,
            details={"status": status, "error_code": code},
            at=now,
        )
    return int(message.id)
