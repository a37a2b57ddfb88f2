"""Every guardrail a text meets, in the order a firm explains them, at the two moments that count.

When a text is queued (`at_queue`): it is client work, not marketing (no promotion, not one body sent to
many people: guardrails/operational.py, the product's stance that no firm setting turns off), the
recipient has not opted out, has consented (or texted the firm
lately), and the content rules let it go (a warning needs a reason, a block never goes); quiet hours
decide when (`hold_until`). When it is about to go (`at_send`), inside the transaction that records the
attempt and holds the message row, immediately before the Twilio call: the client's newest texts have
been taken in (one may say stop), the number is still not opted out, consent was not withdrawn, and it
is not night where the client is. A send can wait minutes or hours between the two, so both run.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Engine, select

from connector.const import BULK_OTHER_NUMBERS, BULK_WINDOW, INTAKE_WAIT
from connector.errors import MatterlineError, conflict, invalid, unavailable
from connector.guardrails import consent, content, operational, optouts, quiet_hours, rules_in_force
from connector.settings import Settings
from connector.store.tables import WAITING_FOR_INTAKE, contact_phones, contacts, messages

__all__ = [
    "GO",
    "SendVerdict",
    "at_queue",
    "at_send",
    "findings",
    "hold_until",
    "recipient_for",
    "recipients_for",
    "rule_ids",
]

# Only staff texts wait for consent and quiet hours; a confirmation answers a STOP, and the emergency
# reply answers a text the client sent a moment ago.
STAFF_KIND: Final = "message"
# The one text an opted-out number may still get: the confirmation that it is opted out.
CONFIRMATION_KIND: Final = "confirmation"


def findings(store: Engine | Connection, settings: Settings, body: str) -> list[content.Finding]:
    """What the firm's content rules find in `body`, and a promotion if it reads as one (a block the firm's
    rules cannot turn off), ordered by where each starts.

    Raises:
        MatterlineError: unavailable `rules_unavailable` when the rules file is broken (fail closed: no
            text goes unchecked).
    """
    try:
        found = rules_in_force.content_rules(settings, store).check(body)
    except content.RulesError as exc:
        raise unavailable("rules_unavailable", "the content rules file is broken; fix it to send", exc.errors) from None
    marketing = operational.promotion(body)
    return found if marketing is None else sorted([*found, marketing], key=lambda f: (f.start, f.end))


def rule_ids(found: Sequence[content.Finding]) -> list[str]:
    """The rules that fired, sorted, for the audit log (never the matched text)."""
    return sorted({f.rule_id for f in found})


# The sentence every blast refusal ends with.
_BULK_WHY: Final = (
    f"Matterline texts one client at a time about their matter; a text to many people {operational.MARKETING_TOOL}"
)


def bulk_request(to: str | Sequence[str] | None) -> MatterlineError | None:
    """The refusal of a request that names several recipients at once (a list, or numbers separated by commas
    or semicolons), before anything is looked up or stored; None for one recipient or none."""
    named = operational.recipients_named(to)
    if named < 2:
        return None
    return conflict("bulk_refused", f"{_BULK_WHY}: this request names {named} recipients", {"recipients": named})


def at_queue(
    conn: Connection,
    settings: Settings,
    *,
    phone: str,
    firm_number: str,
    found: Sequence[content.Finding],
    override_reason: str | None,
    now: datetime,
    body: str | None = None,
    reminder: bool = False,
) -> MatterlineError | None:
    """The first guardrail that stops a staff text from being queued, or None when it may be.

    With `body`, client work first: a promotion is refused (`marketing_refused`), and so is the same body
    sent one text at a time to many numbers (`bulk_refused`; a reminder never is)."""
    if body is not None:
        refusal = _operational(conn, body, phone, reminder, now)
        if refusal is not None:
            return refusal
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


def _operational(conn: Connection, body: str, phone: str, reminder: bool, now: datetime) -> MatterlineError | None:
    marketing = operational.promotion(body)
    if marketing is not None:
        return invalid(
            "marketing_refused",
            f"{marketing.message.rstrip('.')}; promotions, referral and review requests {operational.MARKETING_TOOL}",
            {"findings": [marketing.to_json()]},
        )
    if not reminder and operational.bulk(conn, body, phone, now):
        minutes = int(BULK_WINDOW.total_seconds() // 60)
        return conflict(
            "bulk_refused",
            f"{_BULK_WHY}: this same text went to {BULK_OTHER_NUMBERS} or more other numbers in the last "
            f"{minutes} minutes",
        )
    return None


def recipient_for(conn: Connection, settings: Settings, phone: str) -> quiet_hours.Recipient:
    """Where the person at `phone` is, as best the firm knows: their time zone in the CMS, their state, their
    number's area code, or the firm's own zone."""
    return recipients_for(conn, settings, (phone,))[phone]


def recipients_for(conn: Connection, settings: Settings, phones: Collection[str]) -> dict[str, quiet_hours.Recipient]:
    """`recipient_for` for many numbers in one read (the reminder planner's batch): number -> recipient."""
    if not phones:
        return {}
    rows = conn.execute(
        select(contact_phones.c.e164, contacts.c.time_zone, contacts.c.state)
        .join(contact_phones, contact_phones.c.contact_id == contacts.c.id)
        .where(contact_phones.c.e164.in_(sorted(phones)), contacts.c.deleted_at.is_(None))
        .order_by(contact_phones.c.e164, contacts.c.is_client.desc(), contacts.c.id)
    )
    best: dict[str, Any] = {}
    for row in rows:
        best.setdefault(row.e164, row)
    return {
        phone: quiet_hours.recipient(
            phone,
            time_zone=best[phone].time_zone if phone in best else None,
            state=best[phone].state if phone in best else None,
            firm_zone=settings.zone,
        )
        for phone in phones
    }


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
