"""A firm inbox filled through the real paths (webhook store, worker intake); for the thread and message tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select, update

from connector.errors import MatterlineError
from connector.messaging import intake, reception
from connector.store.tables import audit_log, messages
from tests.support.firm import FIRM_NUMBER, JANE, NOW, new_sid, settings

SETTINGS = settings()


@dataclass(frozen=True)
class Texted:
    thread_id: int
    message_id: int


def text_in(engine: Engine, phone: str, body: str = "Hello", *, minutes: float = 0) -> Texted:
    """An inbound text from `phone`, received `minutes` after the firm's fixed clock, threaded and filed."""
    sid = new_sid()
    params = {"MessageSid": sid, "From": phone, "To": FIRM_NUMBER, "Body": body, "NumMedia": "0"}
    parsed = reception.parse(params, SETTINGS)
    with engine.begin() as conn:
        reception.receive(conn, parsed, SETTINGS, NOW + timedelta(minutes=minutes))
    intake.drain(engine, SETTINGS)
    with engine.connect() as conn:
        row = conn.execute(select(messages.c.id, messages.c.thread_id).where(messages.c.sid == sid)).one()
    return Texted(row.thread_id, row.id)


def stranger(n: int) -> str:
    """A number no contact has: its thread goes to needs filing."""
    return f"+1415555{n:04d}"


def at_fault(exc: MatterlineError) -> str:
    """The parameter or field a refusal names."""
    details = exc.details or {}
    return str(details.get("parameter") or details.get("field"))


def audit_rows(engine: Engine, action: str) -> list[Any]:
    """The audit entries of one action, oldest first."""
    with engine.connect() as conn:
        return list(conn.execute(select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.id)))


def set_aside(engine: Engine, body: str = "held back") -> int:
    """A stored text intake set aside (as if a step had failed on it); its id."""
    s = settings()
    form = {"MessageSid": new_sid(), "From": JANE, "To": FIRM_NUMBER, "Body": body, "NumMedia": "0"}
    with engine.begin() as conn:
        reception.receive(conn, reception.parse(form, s), s, NOW)
        message_id = int(conn.execute(select(messages.c.id).where(messages.c.body == body)).scalar_one())
        conn.execute(update(messages).where(messages.c.id == message_id).values(intake_error="ValueError: boom"))
    return message_id
