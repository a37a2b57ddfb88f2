"""Every guardrail a text meets, in the order a firm explains them, at the two moments that count.

When a text is queued (`at_queue`): the recipient has not opted out, has consented (or texted the firm
lately), and the content rules let it go (a warning needs a reason, a block never goes); quiet hours
decide when (`hold_until`). When it is about to go (`at_send`), inside the transaction that records the
attempt and holds the message row, immediately before the Twilio call: the client's newest texts have
been taken in (one may say stop), the number is still not opted out, consent was not withdrawn, and it
is not night where the client is. A send can wait minutes or hours between the two, so both run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Engine, select

from connector.const import INTAKE_WAIT
from connector.errors import MatterlineError, conflict, invalid, unavailable
from connector.guardrails import consent, content, optouts, quiet_hours, rules_in_force
from connector.settings import Settings
from connector.store.tables import WAITING_FOR_INTAKE, contact_phones, contacts, messages

__all__ = ["GO", "SendVerdict", "at_queue", "at_send", "findings", "hold_until", "recipient_for", "rule_ids"]

# Only staff texts wait for consent and quiet hours; a confirmation answers a STOP, and the emergency
# reply answers a text the client sent a moment ago.
STAFF_KIND: Final = "message"
# The one text an opted-out number may still get: the confirmation that it is opted out.
CONFIRMATION_KIND: Final = "confirmation"


def findings(store: Engine | Connection, settings: Settings, body: str) -> list[content.Finding]:
    """What the firm's content rules find in `body`.

    Raises:
        MatterlineError: unavailable `rules_unavailable` when the rules file is broken (fail closed: no
            text goes unchecked).
    """
    try:
        return rules_in_force.content_rules(settings, store).check(body)
    except content.RulesError as exc:
        raise unavailable("rules_unavailable", "the content rules file is broken; fix it to send", exc.errors) from None


def rule_ids(found: Sequence[content.Finding]) -> list[str]:
    """The rules that fired, sorted, for the audit log (never the matched text)."""
    return sorted({f.rule_id for f in found})


def at_queue(
    conn: Connection,
    settings: Settings,
    *,
    phone: str,
    firm_number: str,
    found: Sequence[content.Finding],
    override_reason: str | None,
    now: datetime,
) -> MatterlineError | None:
    """The first guardrail that stops a staff text from being queued, or None when it may be."""
    if optouts.is_opted_out(conn, phone):
        return conflict("recipient_opted_out", f"{phone} has opted out of texts")
    verdict = consent.check(conn, phone, firm_number, inbound_days=settings.consent_inbound_days, now=now)
    if not verdict.allowed:
        return conflict("consent_required", verdict.detail)
    blocked = [f for f in found if f.action == "block"]
    if blocked or (found and override_reason is None):
        ids = ", ".join(rule_ids(blocked or found))
        message = (
            f"this text cannot be sent: {ids}" if blocked else f"this text needs an override_reason to be sent: {ids}"
        )
        return invalid("content_rule", message, {"findings": [f.to_json() for f in found]})
    return None


def recipient_for(conn: Connection, settings: Settings, phone: str) -> quiet_hours.Recipient:
    """Where the person at `phone` is, as best the firm knows: their time zone in the CMS, their state, their
    number's area code, or the firm's own zone."""
    contact = conn.execute(
        select(contacts.c.time_zone, contacts.c.state)
        .join(contact_phones, contact_phones.c.contact_id == contacts.c.id)
        .where(contact_phones.c.e164 == phone, contacts.c.deleted_at.is_(None))
        .order_by(contacts.c.is_client.desc(), contacts.c.id)
        .limit(1)
    ).first()
    return quiet_hours.recipient(
        phone,
        time_zone=contact.time_zone if contact else None,
        state=contact.state if contact else None,
        firm_zone=settings.zone,
    )


def hold_until(conn: Connection, settings: Settings, phone: str, now: datetime) -> datetime | None:
    """When quiet hours let a text to `phone` go, or None when they let it go now."""
    if settings.quiet_hours is None:
        return None
    recipient = recipient_for(conn, settings, phone)
    window = quiet_hours.window_for(recipient, settings.quiet_hours, settings.quiet_hours_by_state)
    allowed: datetime | None = quiet_hours.next_allowed(now, recipient, window)
    return allowed


@dataclass(frozen=True, slots=True)
class SendVerdict:
    """What the guardrails say at the moment of sending: go, block (for good), or wait (and look again).

    `code` is the refusal or the reason to wait; `detail` the sentence staff read; `until` when a wait
    ends (quiet hours) and `hold` whether the text is held for the recipient's morning.
    """

    action: str
    code: str = ""
    detail: str = ""
    until: datetime | None = None
    hold: bool = False

    @property
    def go(self) -> bool:
        """True when the text may be sent now."""
        return self.action == "go"


GO: Final = SendVerdict("go")


def _waiting_inbound(conn: Connection, phone: str) -> bool:
    return (
        conn.execute(
            select(messages.c.id)
            .where(WAITING_FOR_INTAKE, messages.c.direction == "inbound", messages.c.from_number == phone)
            .limit(1)
        ).first()
        is not None
    )


def at_send(conn: Connection, settings: Settings, message: Any, now: datetime) -> SendVerdict:
    """The guardrails once more, for the message row about to go to Twilio (locked by the caller)."""
    phone = message.to_number
    if _waiting_inbound(conn, phone):
        # The client's newest texts are not taken in yet: one may say stop in words. Send after intake.
        return SendVerdict(
            "wait", "intake_pending", "waiting for intake of the recipient's newest texts", now + INTAKE_WAIT
        )
    if message.kind != CONFIRMATION_KIND and optouts.is_opted_out(conn, phone):
        return SendVerdict("block", "recipient_opted_out", "recipient opted out before the text went")
    if message.kind != STAFF_KIND:
        return GO
    verdict = consent.check(conn, phone, message.from_number, inbound_days=settings.consent_inbound_days, now=now)
    if not verdict.allowed:
        return SendVerdict("block", "consent_required", f"consent withdrawn before the text went: {verdict.detail}")
    held = None if message.quiet_hours_exempt else hold_until(conn, settings, phone, now)
    if held is not None:
        return SendVerdict("wait", "quiet_hours", "quiet hours: held until the recipient's morning", held, hold=True)
    return GO
