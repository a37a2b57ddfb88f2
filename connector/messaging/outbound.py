"""Staff sending a text: checked, stored and queued in one transaction; the worker talks to Twilio.

Every send passes the same guardrails, whoever asks (API, CLI, auto-replies; scheduled sends are checked
again when they go): opt-out (409 `recipient_opted_out`), consent (409 `consent_required`), content rules
(422 `content_rule`; a warning needs `override_reason`, a block cannot be sent) and quiet hours (held as
`scheduled` until the recipient's morning unless an attorney overrides with a reason). A refusal is
audited in its own transaction, so the record of the attempt survives the refusal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Engine, insert, select, update

from connector.compliance import audit
from connector.guardrails import consent, content, optouts, policy, quiet_hours
from connector.jobs import outbox
from connector.messaging import filing
from connector.messaging.segments import MAX_BODY_CHARS, measure, too_long
from connector.phones import to_e164
from connector.settings import Settings
from connector.staff.users import COUNSEL_ROLES
from connector.store.engine import utcnow
from connector.store.tables import contact_phones, contacts, matters, messages, send_attempts, users
from connector.store.tables import outbox as outbox_table
from connector.store.tables import threads as threads_table

SEND_KIND = "sms_send"
_MAX_MEDIA = 10


class SendRefused(Exception):
    """A send that will not happen; `code` and `status` are what the API and CLI report."""

    def __init__(self, code: str, message: str, status: int, details: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.details = details


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
    scheduled_for: datetime | None = None
    warnings: tuple[dict[str, Any], ...] = ()


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
        return filing.thread_for(conn, sender, phone, now), matter_cms_id
    assert to is not None
    phone = to_e164(to, settings.default_region)
    if phone is None:
        raise SendRefused("invalid_recipient", f"{to!r} is not a valid phone number", 422)
    thread = filing.thread_for(conn, sender, phone, now)
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
    override_reason: str | None = None,
    quiet_hours_reason: str | None = None,
    now: datetime | None = None,
) -> Queued:
    """Check, store and queue one text.

    `override_reason` sends past content-rule warnings; `quiet_hours_reason` sends now during quiet
    hours (an author who is not an attorney or admin is refused; an operator at the CLI may). `now` is
    the clock's unless given (tests).

    Raises:
        SendRefused: opted out or no consent (409), too long, empty, bad media or a content rule (422),
            unknown thread/matter (404).
    """
    if sum(x is not None for x in (thread_id, matter_cms_id, to)) != 1:
        raise SendRefused("bad_request", "give exactly one of a thread, a matter or a number", 400)
    if not body.strip() and not media_urls:
        raise SendRefused("empty_message", "a text needs a body or media", 422)
    if too_long(body):
        raise SendRefused("body_too_long", f"the body is over {MAX_BODY_CHARS} characters", 422)
    if len(media_urls) > _MAX_MEDIA or any(not u.startswith("https://") for u in media_urls):
        raise SendRefused("bad_media", f"at most {_MAX_MEDIA} media URLs, each https://", 422)
    for name, reason in (("override_reason", override_reason), ("quiet_hours_reason", quiet_hours_reason)):
        if reason is not None and not reason.strip():
            raise SendRefused("empty_reason", f"{name} must say why (it is kept in the audit log)", 422)
    try:
        findings = policy.content_rules(settings).check(body)
    except content.RulesError as exc:  # fail closed: no send goes unchecked
        raise SendRefused(
            "rules_unavailable", "the content rules file is broken; fix it to send", 503, exc.errors
        ) from None
    now = now or utcnow()
    segments = measure(body)
    # One transaction: the checks and the stored text see the same opt-out, consent and quiet-hours
    # state. A refusal commits only its audit entry, so the attempt is on record; the refusal is raised after.
    with engine.begin() as conn:
        if quiet_hours_reason is not None and author_id is not None:
            role = conn.execute(select(users.c.role).where(users.c.id == author_id)).scalar()
            if role not in COUNSEL_ROLES:
                raise SendRefused(
                    "forbidden_role",
                    "only attorneys and admins may send during the recipient's quiet hours",
                    403,
                    {"role": role, "allowed": list(COUNSEL_ROLES)},
                )
        thread, matter = _target(conn, settings, thread_id=thread_id, matter_cms_id=matter_cms_id, to=to, now=now)
        refusal = _refusal(conn, settings, thread, findings, override_reason, now)
        if refusal is not None:
            audit.append(
                conn,
                actor=actor,
                action="send_blocked",
                subject_type="thread",
                subject_id=thread.id,
                matter_cms_id=matter,
                request_id=request_id,
                details={"reason": refusal.code, "to": thread.client_phone, "rules": _rule_ids(findings)},
                at=now,
            )
        else:
            held_until = hold_until(conn, settings, thread.client_phone, now)
            exempt = held_until is not None and quiet_hours_reason is not None
            if exempt:
                held_until = None
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
                        status="scheduled" if held_until else "pending",
                        scheduled_for=held_until,
                        quiet_hours_exempt=exempt,
                        matter_cms_id=matter,
                        author_id=author_id,
                        created_at=now,
                    )
                    .returning(messages.c.id)
                ).scalar_one()
            )
            if matter_cms_id is not None and thread.matter_cms_id != matter_cms_id:
                decision = filing.Filing(matter_cms_id, filing.RULE_OUTBOUND, f"sent from matter {matter_cms_id}", None)
                filing.apply_filing(conn, thread.id, None, decision, now, actor_id=author_id)
            conn.execute(
                update(threads_table)
                .where(threads_table.c.id == thread.id)
                .values(
                    message_count=threads_table.c.message_count + 1, last_message_at=now, last_message_id=message_id
                )
            )
            outbox.enqueue(
                conn, SEND_KIND, f"sms:{message_id}", {"message_id": message_id}, now=now, due=held_until or now
            )
            _audit_send(
                conn,
                actor=actor,
                request_id=request_id,
                message_id=message_id,
                matter=matter,
                details={
                    "thread": thread.id,
                    "to": thread.client_phone,
                    "segments": segments.segments,
                    "media": len(media_urls),
                    "scheduled_for": held_until.isoformat() if held_until else None,
                },
                overrides=(
                    ("override", override_reason if findings else None, {"rules": _rule_ids(findings)}),
                    ("quiet_hours_override", quiet_hours_reason if exempt else None, {}),
                ),
                now=now,
            )
    if refusal is not None:
        raise refusal
    return Queued(
        message_id,
        thread.id,
        thread.client_phone,
        matter,
        segments.encoding,
        segments.segments,
        "scheduled" if held_until else "pending",
        held_until,
        tuple(f.to_json() for f in findings),
    )


def _audit_send(
    conn: Connection,
    *,
    actor: str,
    request_id: str | None,
    message_id: int,
    matter: str | None,
    details: dict[str, Any],
    overrides: Sequence[tuple[str, str | None, dict[str, Any]]],
    now: datetime,
) -> None:
    """The `send` entry, and one entry for each guardrail the sender overrode with a reason."""
    entries = [
        ("send", details),
        *(
            (action, {"reason": reason.strip()[:500], **extra})
            for action, reason, extra in overrides
            if reason is not None
        ),
    ]
    for action, entry in entries:
        audit.append(
            conn,
            actor=actor,
            action=action,
            subject_type="message",
            subject_id=message_id,
            matter_cms_id=matter,
            request_id=request_id,
            details=entry,
            at=now,
        )


CANCELABLE: Final = ("pending", "scheduled")


def cancel(
    engine: Engine,
    message_id: int,
    *,
    actor: str,
    reason: str,
    allowed: Callable[[Any], bool] = lambda _: True,
    request_id: str | None = None,
    now: datetime | None = None,
) -> None:
    """Take back a text that has not gone (queued, or held for quiet hours); audited as `send_canceled`.

    `allowed` sees the message row and says whether this caller may cancel it (its author, or an
    attorney or admin, for the API).

    Raises:
        SendRefused: empty reason (422); no such outbound text (404); not the caller's to cancel (403);
            already sent, sending or finished (409 `not_cancelable`).
    """
    if not reason.strip():
        raise SendRefused("empty_reason", "a cancel must say why (it is kept in the audit log)", 422)
    moment = now or utcnow()
    with engine.begin() as conn:
        # Locked, so a worker about to send waits for this decision (and finds the text canceled).
        row = conn.execute(select(messages).where(messages.c.id == message_id).with_for_update()).first()
        if row is None or row.direction != "outbound":
            raise SendRefused("not_found", f"no outbound text {message_id}", 404)
        if not allowed(row):
            raise SendRefused("forbidden_role", "only its author, an attorney or an admin may cancel a text", 403)
        started = conn.execute(select(send_attempts.c.id).where(send_attempts.c.message_id == message_id)).first()
        if row.status not in CANCELABLE or started is not None:
            state = "being sent" if started is not None and row.status in CANCELABLE else row.status
            raise SendRefused("not_cancelable", f"text {message_id} is {state}: only a text not yet sent can be", 409)
        conn.execute(
            update(messages)
            .where(messages.c.id == message_id)
            .values(status="canceled", error_message=f"canceled by {actor} before it was sent: {reason.strip()}"[:500])
        )
        conn.execute(
            update(outbox_table)
            .where(outbox_table.c.idempotency_key == f"sms:{message_id}", outbox_table.c.state == "pending")
            .values(state="done", leased_until=None, last_error="canceled", updated_at=moment)
        )
        audit.append(
            conn,
            actor=actor,
            action="send_canceled",
            subject_type="message",
            subject_id=message_id,
            matter_cms_id=row.matter_cms_id,
            request_id=request_id,
            details={"reason": reason.strip()[:500], "was": row.status},
            at=moment,
        )


def queue_system_text(
    conn: Connection,
    *,
    thread_id: int,
    kind: str,
    firm_key: str,
    to: str,
    body: str,
    matter_cms_id: str | None,
    now: datetime,
    quiet_hours_exempt: bool = False,
) -> int:
    """A text Matterline sends on its own (an opt-out confirmation, the after-hours emergency reply),
    stored with its outbox job in the caller's transaction; the message id."""
    segments = measure(body)
    message_id = int(
        conn.execute(
            insert(messages)
            .values(
                thread_id=thread_id,
                direction="outbound",
                kind=kind,
                from_number=firm_key,
                to_number=to,
                body=body,
                encoding=segments.encoding,
                num_segments=segments.segments,
                num_media=0,
                status="pending",
                quiet_hours_exempt=quiet_hours_exempt,
                matter_cms_id=matter_cms_id,
                created_at=now,
            )
            .returning(messages.c.id)
        ).scalar_one()
    )
    outbox.enqueue(conn, SEND_KIND, f"sms:{message_id}", {"message_id": message_id}, now=now)
    return message_id


def _rule_ids(findings: Sequence[content.Finding]) -> list[str]:
    return sorted({f.rule_id for f in findings})


def _refusal(
    conn: Connection,
    settings: Settings,
    thread: Any,
    findings: Sequence[content.Finding],
    override_reason: str | None,
    now: datetime,
) -> SendRefused | None:
    """The first guardrail that stops this send, in the order a firm would explain it."""
    phone = thread.client_phone
    if optouts.is_opted_out(conn, phone):
        return SendRefused("recipient_opted_out", f"{phone} has opted out of texts", 409)
    verdict = consent.check(conn, phone, thread.firm_number, inbound_days=settings.consent_inbound_days, now=now)
    if not verdict.allowed:
        return SendRefused("consent_required", verdict.detail, 409)
    blocked = [f for f in findings if f.action == "block"]
    if blocked or (findings and override_reason is None):
        ids = ", ".join(_rule_ids(blocked or findings))
        message = (
            f"this text cannot be sent: {ids}" if blocked else f"this text needs an override_reason to be sent: {ids}"
        )
        return SendRefused("content_rule", message, 422, {"findings": [f.to_json() for f in findings]})
    return None


def hold_until(conn: Connection, settings: Settings, phone: str, now: datetime) -> datetime | None:
    """When quiet hours let a text to `phone` go, or None when they let it go now."""
    default = policy.quiet_window(settings)
    if default is None:
        return None
    contact = conn.execute(
        select(contacts.c.time_zone, contacts.c.state)
        .join(contact_phones, contact_phones.c.contact_id == contacts.c.id)
        .where(contact_phones.c.e164 == phone, contacts.c.deleted_at.is_(None))
        .order_by(contacts.c.is_client.desc(), contacts.c.id)
        .limit(1)
    ).first()
    recipient = quiet_hours.recipient(
        phone,
        time_zone=contact.time_zone if contact else None,
        state=contact.state if contact else None,
        firm_zone=settings.zone,
    )
    window = quiet_hours.window_for(recipient, default, policy.state_windows(settings))
    allowed: datetime | None = quiet_hours.next_allowed(now, recipient, window)
    return allowed
