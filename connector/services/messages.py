"""What staff do with a text: send it, take it back before it goes, check a draft, move it to another matter.

Each action is one function that owns its transaction and its audit entry; the API, the CLI and the
pages call it and only translate input and output. A send that the guardrails refuse is audited as
`send_blocked` in its own committed transaction, so the attempt is on record though nothing was stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from connector import queries
from connector.compliance import audit
from connector.const import MAX_MEDIA, UNSENT_STATUSES
from connector.errors import (
    MatterlineError,
    conflict,
    forbidden,
    invalid,
    malformed,
    not_found,
    require_reason,
    unavailable,
)
from connector.guardrails import content, operational, pipeline
from connector.jobs import kinds, outbox
from connector.messaging import filing, recipients, reply_templates, texts
from connector.messaging.purpose import CONVERSATION, NOTICE, PURPOSES, REMINDER
from connector.messaging.segments import MAX_BODY_CHARS, measure, too_long
from connector.services import threads as threads_service
from connector.settings import Settings
from connector.staff.users import COUNSEL_ROLES, Actor
from connector.store.engine import utcnow
from connector.store.tables import matters, messages, send_attempts, send_keys
from connector.writeback import writer

__all__ = ["Draft", "Queued", "cancel", "check_draft", "refile", "send"]


@dataclass(frozen=True, slots=True)
class Queued:
    """A stored, queued outbound text, and what it will cost."""

    id: int
    thread_id: int
    to: str
    status: str
    encoding: str
    segments: int
    matter_cms_id: str | None
    scheduled_for: datetime | None
    warnings: tuple[content.FindingView, ...]
    # Why it is sent (messaging.purpose): a conversation, or a notice from a reply template.
    purpose: str = CONVERSATION


@dataclass(frozen=True, slots=True)
class Draft:
    """What the content rules find in a draft (a composer shows it while the person types): every finding,
    whether it may go at all (no rule blocks it), and whether it needs an override reason (a rule warns)."""

    findings: tuple[content.FindingView, ...]
    sendable: bool
    needs_override_reason: bool


def check_draft(engine: Engine, settings: Settings, body: str) -> Draft:
    """The content rules' findings for a draft; sends and stores nothing.

    Raises:
        MatterlineError: unavailable `rules_unavailable` (the rules file is broken).
    """
    found = pipeline.findings(engine, settings, body)
    return Draft(
        tuple(f.view() for f in found),
        sendable=not any(f.action == "block" for f in found),
        needs_override_reason=any(f.action == "warn" for f in found),
    )


def _check_input(body: str, media_urls: Sequence[str], reasons: dict[str, str | None]) -> None:
    if not body.strip() and not media_urls:
        raise invalid("empty_message", "a text needs a body or media")
    if too_long(body):
        raise invalid("body_too_long", f"the body is over {MAX_BODY_CHARS} characters")
    if len(media_urls) > MAX_MEDIA or any(not u.startswith("https://") for u in media_urls):
        raise invalid("bad_media", f"at most {MAX_MEDIA} media URLs, each https://")
    for name, reason in reasons.items():
        if reason is not None:
            require_reason(reason, name)


def send(
    engine: Engine,
    settings: Settings,
    *,
    body: str,
    actor: Actor,
    thread_id: int | None = None,
    matter_cms_id: str | None = None,
    to: str | Sequence[str] | None = None,
    media_urls: Sequence[str] = (),
    override_reason: str | None = None,
    quiet_hours_reason: str | None = None,
    idempotency_key: str | None = None,
    call_back: bool = False,
    purpose: str = CONVERSATION,
    template: str | None = None,
    now: datetime | None = None,
) -> Queued:
    """Check, store and queue one text to a thread, a matter's client, a number, or a matter's person by number.

    With a matter and `to`, the number must be one of the matter's client's or related contacts' numbers.

    `override_reason` sends past content-rule warnings; `quiet_hours_reason` sends now during the
    recipient's quiet hours (attorneys, admins and operators only). `now` is the clock's unless given.

    `idempotency_key` (a composer's one-time key for the draft it showed): a second send with the same
    key stores nothing and answers with the text the first one stored, so a double click or a resent
    form reaches the client once. `call_back`: the text promises the client a call (the firm answers
    legal questions by phone, not by text), so the matter's attorney gets a CMS task to call, queued
    in the same transaction as the text, once per text.

    A text from a matter other than its thread's (or to a thread waiting in needs filing) would move the
    thread, and re-filing is for attorneys and admins: staff are refused, theirs is audited as `refile`.

    Client work only (guardrails/operational.py): a promotion is refused, and so is a blast, whether one
    request names several recipients (`to` as a list, or numbers separated by commas) or the same body
    goes one text at a time to many numbers. `purpose` is a conversation, or a `notice` whose body is the
    reply template `template` filled in; reminders come from the CMS calendar, never from a person.

    Raises:
        MatterlineError: conflict `recipient_opted_out`, `consent_required` or `bulk_refused`; invalid
            `marketing_refused`, `template_required`, `reminder_refused`, `unknown_purpose`, `content_rule`,
            `body_too_long`, `empty_message`, `bad_media`, `empty_reason` and the recipient errors;
            forbidden `forbidden_role`; not found (thread, matter); unavailable `rules_unavailable`;
            invalid `needs_matter` (a call-back task for a thread not filed to a matter).
    """
    moment = now or utcnow()
    several = pipeline.bulk_request(to)
    if several is not None:
        _refused(engine, actor, several, thread_id, matter_cms_id, moment)
    if to is not None and not isinstance(to, str):
        to = next(iter(to), None)
    if (thread_id is None) == (matter_cms_id is None and to is None) or (thread_id is not None and to is not None):
        raise malformed("bad_request", "give a thread, or a matter, or a number, or a matter and one of its numbers")
    if idempotency_key is not None:
        earlier = _sent_with(engine, settings, idempotency_key)
        if earlier is not None:
            return earlier
    _check_input(body, media_urls, {"override_reason": override_reason, "quiet_hours_reason": quiet_hours_reason})
    if quiet_hours_reason is not None and not actor.counsel:
        raise forbidden(
            "forbidden_role",
            "only attorneys and admins may send during the recipient's quiet hours",
            {"role": actor.user.role if actor.user else None, "allowed": list(COUNSEL_ROLES)},
        )
    _check_purpose(engine, settings, purpose, template, body)
    found = pipeline.findings(engine, settings, body)
    try:
        queued = _send_checked(
            engine,
            settings,
            body=body,
            actor=actor,
            target=(thread_id, matter_cms_id, to),
            media_urls=media_urls,
            found=found,
            override_reason=override_reason,
            quiet_hours_reason=quiet_hours_reason,
            idempotency_key=idempotency_key,
            call_back=call_back,
            purpose=purpose,
            template=template if purpose == NOTICE else None,
            moment=moment,
        )
    except IntegrityError:
        # Two submits of one draft at once: the other stored it first (its key is unique); answer with its text.
        earlier = None if idempotency_key is None else _sent_with(engine, settings, idempotency_key)
        if earlier is None:
            raise
        return earlier
    return queued


def _refused(
    engine: Engine, actor: Actor, refusal: MatterlineError, thread_id: int | None, matter: str | None, now: datetime
) -> NoReturn:
    """Audit a send refused before its recipient is looked up (`send_blocked`, its own transaction); raise it."""
    with engine.begin() as conn:
        audit.append(
            conn,
            actor=actor.label,
            action=audit.Action.SEND_BLOCKED,
            subject_type="thread",
            subject_id=thread_id,
            matter_cms_id=matter,
            request_id=actor.request_id,
            details={"reason": refusal.code, **(refusal.details or {})},
            at=now,
        )
    raise refusal


def _check_purpose(engine: Engine, settings: Settings, purpose: str, template: str | None, body: str) -> None:
    """A person sends conversations, and notices that are one of the firm's reply templates as it is written."""
    if purpose not in PURPOSES:
        raise invalid("unknown_purpose", f"a text's purpose is one of {', '.join(PURPOSES)}", {"field": "purpose"})
    if purpose == REMINDER:
        raise invalid(
            "reminder_refused",
            "reminders are sent from the CMS calendar by the firm's reminder rules, not by a person",
            {"field": "purpose"},
        )
    if purpose != NOTICE:
        return
    try:
        chosen = (
            None if template is None else reply_templates.find(reply_templates.in_force(settings, engine), template)
        )
    except reply_templates.TemplatesError:
        raise unavailable(
            "templates_unavailable", "the reply templates are broken; fix them to send a notice"
        ) from None
    if chosen is None or not operational.from_template(chosen.body, body):
        why = "choose one of the firm's reply templates" if chosen is None else f"this is not template {chosen.id!r}"
        raise invalid(
            "template_required",
            f"a notice is one of the firm's reply templates as written ({why}); an edited text is a conversation",
            {"field": "template"},
        )


def _send_checked(
    engine: Engine,
    settings: Settings,
    *,
    body: str,
    actor: Actor,
    target: tuple[int | None, str | None, str | None],
    media_urls: Sequence[str],
    found: list[content.Finding],
    override_reason: str | None,
    quiet_hours_reason: str | None,
    idempotency_key: str | None,
    call_back: bool,
    purpose: str,
    template: str | None,
    moment: datetime,
) -> Queued:
    """`send` once its input is checked: the guardrails, the stored text, its job, its audit entries."""
    thread_id, matter_cms_id, to = target
    # One transaction: the checks and the stored text see the same opt-out, consent and quiet-hours state.
    # A refusal commits only its audit entry, so the attempt is on record; the refusal is raised after.
    with engine.begin() as conn:
        thread, matter = recipients.resolve(
            conn, settings, thread_id=thread_id, matter_cms_id=matter_cms_id, to=to, now=moment
        )
        refusal = pipeline.at_queue(
            conn,
            settings,
            phone=thread.client_phone,
            firm_number=thread.firm_number,
            found=found,
            override_reason=override_reason,
            now=moment,
            body=body,
        )
        if refusal is not None:
            audit.append(
                conn,
                actor=actor.label,
                action=audit.Action.SEND_BLOCKED,
                subject_type="thread",
                subject_id=thread.id,
                matter_cms_id=matter,
                request_id=actor.request_id,
                details={"reason": refusal.code, "to": thread.client_phone, "rules": pipeline.rule_ids(found)},
                at=moment,
            )
        else:
            moves = _moves_thread(thread, matter_cms_id)
            if moves and not actor.counsel:
                raise _move_refused(actor, thread, matter_cms_id)
            if call_back and matter is None:
                raise invalid(
                    "needs_matter",
                    "a call-back task goes to a matter's attorney: file the thread to a matter first",
                    {"field": "call_back"},
                )
            queued, exempt = _store(
                conn,
                settings,
                thread,
                matter,
                matter_cms_id,
                body,
                media_urls,
                found,
                actor,
                quiet_hours_reason,
                moment,
                purpose=purpose,
            )
            overrides = {
                audit.Action.OVERRIDE: (override_reason if found else None, {"rules": pipeline.rule_ids(found)}),
                audit.Action.QUIET_HOURS_OVERRIDE: (quiet_hours_reason if exempt else None, {}),
            }
            if moves and matter_cms_id is not None:  # a re-file like any other: its unfiled texts go too, audited
                threads_service.refile_in(
                    conn,
                    settings,
                    thread,
                    matter_cms_id,
                    actor=actor,
                    now=moment,
                    details={"via": "send", "message_id": queued.id},
                    rule=filing.RULE_OUTBOUND,
                    reason=f"sent from matter {matter_cms_id}",
                )
            _audit_send(conn, actor, queued, overrides, len(media_urls), moment, template=template)
            if call_back and matter is not None:
                _queue_call_task(conn, settings, queued, matter, moment)
            if idempotency_key is not None:
                conn.execute(
                    insert(send_keys).values(
                        key=idempotency_key, user_id=actor.user_id, message_id=queued.id, created_at=moment
                    )
                )
    if refusal is not None:
        raise refusal
    return queued


def _sent_with(engine: Engine, settings: Settings, key: str) -> Queued | None:
    """The text an earlier send with `key` stored, as that send answered it; None when there was none."""
    with engine.connect() as conn:
        row = conn.execute(
            select(messages).join(send_keys, send_keys.c.message_id == messages.c.id).where(send_keys.c.key == key)
        ).first()
    if row is None:
        return None
    segments = measure(row.body or "")
    return Queued(
        id=row.id,
        thread_id=row.thread_id,
        to=row.to_number,
        status=row.status,
        encoding=segments.encoding,
        segments=segments.segments,
        matter_cms_id=row.matter_cms_id,
        scheduled_for=row.scheduled_for if row.status == "scheduled" else None,
        warnings=tuple(f.view() for f in pipeline.findings(engine, settings, row.body or "")),
        purpose=row.purpose or CONVERSATION,
    )


def _queue_call_task(conn: Connection, settings: Settings, queued: Queued, matter_cms_id: str, now: datetime) -> None:
    """The attorney's task to call the client the text promised a call; its trigger is the text, so once."""
    number = conn.execute(select(matters.c.display_number).where(matters.c.cms_id == matter_cms_id)).scalar()
    label = number or f"matter {matter_cms_id}"
    writer.queue_task(
        conn,
        thread_id=queued.thread_id,
        matter_cms_id=matter_cms_id,
        trigger=f"call_back:{queued.id}",
        subject=f"Call the client — {label}",
        body=(
            f"The firm told the client by text (message {queued.id}) that someone will call about their "
            f"question on {label}. Call them; open thread {queued.thread_id} in Matterline to read it."
        ),
        now=now,
    )


def _moves_thread(thread: Any, from_matter: str | None) -> bool:
    """Whether texting from `from_matter` re-files the thread: it is on another matter, or waits in needs
    filing with texts in it. A thread's first text (a new thread) decides its matter and moves nothing."""
    if from_matter is None or thread.matter_cms_id == from_matter:
        return False
    return thread.matter_cms_id is not None or thread.message_count > 0


def _move_refused(actor: Actor, thread: Any, matter_cms_id: str | None) -> MatterlineError:
    where = f"filed to matter {thread.matter_cms_id}" if thread.matter_cms_id else "waiting in needs filing"
    return forbidden(
        "forbidden_role",
        f"thread {thread.id} is {where}; only attorneys and admins may move it to matter {matter_cms_id}: "
        "reply in the thread instead",
        {
            "role": actor.user.role if actor.user else None,
            "allowed": list(COUNSEL_ROLES),
            "thread_id": thread.id,
            "thread_matter": thread.matter_cms_id,
            "matter": matter_cms_id,
        },
    )


def _store(
    conn: Connection,
    settings: Settings,
    thread: Any,
    matter: str | None,
    from_matter: str | None,
    body: str,
    media_urls: Sequence[str],
    found: Sequence[content.Finding],
    actor: Actor,
    quiet_hours_reason: str | None,
    now: datetime,
    *,
    purpose: str = CONVERSATION,
) -> tuple[Queued, bool]:
    """The message, its job, its filing and the thread's counters; and whether quiet hours were overridden."""
    first = (
        None
        if from_matter is None
        else filing.Filing(from_matter, filing.RULE_OUTBOUND, f"sent from matter {from_matter}", None)
    )
    stored = texts.queue_in_thread(
        conn,
        settings,
        thread,
        body=body,
        matter_cms_id=matter,
        now=now,
        first_filing=first,
        media_urls=media_urls,
        author_id=actor.user_id,
        quiet_hours_override=quiet_hours_reason is not None,
        purpose=purpose,
    )
    held_until, exempt = stored.held_until, stored.exempt
    segments = measure(body)
    queued = Queued(
        id=stored.id,
        thread_id=thread.id,
        to=thread.client_phone,
        status="scheduled" if held_until else "pending",
        encoding=segments.encoding,
        segments=segments.segments,
        matter_cms_id=matter,
        scheduled_for=held_until,
        warnings=tuple(f.view() for f in found),
        purpose=purpose,
    )
    return queued, exempt


def _audit_send(
    conn: Connection,
    actor: Actor,
    queued: Queued,
    overrides: dict[audit.Action, tuple[str | None, dict[str, Any]]],
    media: int,
    now: datetime,
    *,
    template: str | None = None,
) -> None:
    """The `send` entry (with the text's purpose, and a notice's template), and one entry for each guardrail
    the sender overrode with a reason."""
    entries: list[tuple[audit.Action, dict[str, Any]]] = [
        (
            audit.Action.SEND,
            {
                "thread": queued.thread_id,
                "to": queued.to,
                "segments": queued.segments,
                "media": media,
                "scheduled_for": queued.scheduled_for.isoformat() if queued.scheduled_for else None,
                "purpose": queued.purpose,
                **({"template": template} if template else {}),
            },
        )
    ]
    entries += [
        (action, {"reason": require_reason(reason), **extra})
        for action, (reason, extra) in overrides.items()
        if reason is not None
    ]
    for action, details in entries:
        audit.append(
            conn,
            actor=actor.label,
            action=action,
            subject_type="message",
            subject_id=queued.id,
            matter_cms_id=queued.matter_cms_id,
            request_id=actor.request_id,
            details=details,
            at=now,
        )


def cancel(engine: Engine, message_id: int, *, reason: str, actor: Actor, now: datetime | None = None) -> None:
    """Take back a text that has not gone (queued, or held for quiet hours); audited as `send_canceled`.

    Its author, attorneys, admins and operators may cancel it. The message row is locked, so a worker
    about to send waits for this decision (and finds the text canceled), and a cancel that comes after a
    send attempt started is refused.

    Raises:
        MatterlineError: invalid `empty_reason`; not found; forbidden `forbidden_role`; conflict
            `not_cancelable` (sending, sent or finished).
    """
    why = require_reason(reason)
    moment = now or utcnow()
    with engine.begin() as conn:
        row = conn.execute(select(messages).where(messages.c.id == message_id).with_for_update()).first()
        if row is None or row.direction != "outbound":
            raise not_found(f"no outbound text {message_id}")
        if not (actor.counsel or row.author_id == actor.user_id):
            raise forbidden("forbidden_role", "only its author, an attorney or an admin may cancel a text")
        started = conn.execute(select(send_attempts.c.id).where(send_attempts.c.message_id == message_id)).first()
        if row.status not in UNSENT_STATUSES or started is not None:
            state = "being sent" if started is not None and row.status in UNSENT_STATUSES else row.status
            raise conflict("not_cancelable", f"text {message_id} is {state}: only a text not yet sent can be")
        conn.execute(
            update(messages)
            .where(messages.c.id == message_id)
            .values(status="canceled", error_message=f"canceled by {actor.label} before it was sent: {why}"[:500])
        )
        outbox.finish(conn, kinds.send_key(message_id), "canceled", now=moment)
        audit.append(
            conn,
            actor=actor.label,
            action=audit.Action.SEND_CANCELED,
            subject_type="message",
            subject_id=message_id,
            matter_cms_id=row.matter_cms_id,
            request_id=actor.request_id,
            details={"reason": why, "was": row.status},
            at=moment,
        )


def refile(
    engine: Engine,
    settings: Settings,
    message_id: int,
    matter_cms_id: str,
    *,
    actor: Actor,
    now: datetime | None = None,
) -> queries.messages.MessageView:
    """Move one message to another matter; a text already written gets a correction note on both matters.

    Raises:
        MatterlineError: forbidden `forbidden_role` (attorneys and admins only); not found (message);
            invalid `unknown_matter`.
    """
    actor.require_counsel("move a text to another matter")
    moment = now or utcnow()
    with engine.begin() as conn:
        previous = filing.refile_message(
            conn, message_id, matter_cms_id, actor=actor.label, actor_id=actor.user_id, now=moment
        )
        audit.append(
            conn,
            actor=actor.label,
            action=audit.Action.REFILE,
            subject_type="message",
            subject_id=message_id,
            matter_cms_id=matter_cms_id,
            request_id=actor.request_id,
            details={"from_matter": previous, "to_matter": matter_cms_id},
            at=moment,
        )
    view = queries.messages.get(engine, message_id)
    if view is None:  # pragma: no cover - deleted between the commit and this read
        raise not_found(f"no message {message_id}")
    return view
