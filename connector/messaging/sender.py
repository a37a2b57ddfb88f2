"""The worker's side of sending: one text to Twilio, never twice.

Each call to Twilio's create is recorded before it is made. When a call ends without an answer (a
timeout, a dropped connection, a 5xx), the next attempt first looks the message up at Twilio (list by
To and date, match the body) and adopts it if it went; only when Twilio has no such message is the
text sent again.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import Connection, Engine, insert, select, update
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from connector.compliance import audit
from connector.const import DEFAULT_TWILIO_API_URL, LOGGER
from connector.guardrails import consent, optouts
from connector.jobs import outbox
from connector.messaging import outbound, twilio_errors
from connector.messaging.outbound import SEND_KIND
from connector.settings import Settings
from connector.store.engine import utcnow
from connector.store.tables import messages, send_attempts

TWILIO_TIMEOUT = 15.0
# How far before an attempt to look when matching a message Twilio may have created.
_CLOCK_SKEW = timedelta(minutes=5)

ClientFactory = Callable[[Settings], Client]


def make_client(settings: Settings) -> Client:
    """The twilio library's client, with a timeout and, in tests, the local stand-in's base URL."""
    settings.require("twilio_account_sid", "twilio_auth_token", why="to send texts")
    client = Client(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        http_client=TwilioHttpClient(timeout=TWILIO_TIMEOUT),
    )
    if settings.twilio_api_url.rstrip("/") != DEFAULT_TWILIO_API_URL:
        client.api.base_url = settings.twilio_api_url.rstrip("/")
    return client


@dataclass
class SendCounts:
    """What one round of sending did."""

    sent: int = 0
    adopted: int = 0
    failed: int = 0
    blocked: int = 0
    retried: int = 0
    dead: int = 0


def status_callback_url(settings: Settings) -> str | None:
    """Where Twilio reports delivery."""
    return f"{settings.public_url.rstrip('/')}/webhooks/twilio/status" if settings.public_url else None


def send_due(
    engine: Engine,
    settings: Settings,
    *,
    client_factory: ClientFactory = make_client,
    owner: str | None = None,
    limit: int = 50,
    now: datetime | None = None,
) -> SendCounts:
    """Send every text that is due (at `now`, by default the clock's); returns what happened."""
    owner = owner or f"{socket.gethostname()}:{id(engine)}"
    counts = SendCounts()
    jobs = outbox.lease(engine, owner, kinds=(SEND_KIND,), limit=limit, now=now)
    if not jobs:
        return counts
    client = client_factory(settings)
    for job in jobs:
        try:
            _send_one(engine, settings, client, job, owner, counts, now)
        except Exception as exc:  # one bad job must not stop the others
            LOGGER.exception("send job %s failed unexpectedly", job.id)
            with engine.begin() as conn:
                if outbox.retry(
                    conn,
                    job,
                    owner,
                    f"{type(exc).__name__}: {exc}",
                    delay=outbox.backoff(job.attempts),
                    max_attempts=settings.outbox_max_attempts,
                ):
                    counts.dead += 1
                else:
                    counts.retried += 1
    return counts


_INTAKE_WAIT = timedelta(seconds=2)


def _waiting_inbound(conn: Connection, phone: str) -> bool:
    return (
        conn.execute(
            select(messages.c.id)
            .where(messages.c.thread_id.is_(None), messages.c.direction == "inbound", messages.c.from_number == phone)
            .limit(1)
        ).first()
        is not None
    )


def _block(
    conn: Connection,
    job: outbox.Job,
    owner: str,
    message: Any,
    reason: str,
    why: str,
    now: datetime,
    counts: SendCounts,
) -> None:
    """A guardrail stopped a queued text at the last moment: it is marked blocked, audited, and its job done."""
    _finish(conn, message, "blocked", None, why, now)
    audit.append(
        conn,
        actor="worker",
        action="send_blocked",
        subject_type="message",
        subject_id=message.id,
        matter_cms_id=message.matter_cms_id,
        details={"reason": reason},
        at=now,
    )
    outbox.complete(conn, job, owner, now=now)
    counts.blocked += 1


def _held_again(
    conn: Connection, settings: Settings, job: outbox.Job, owner: str, message: Any, now: datetime, counts: SendCounts
) -> bool:
    """The guardrails again at the moment of sending: consent may have been withdrawn, and a text that
    waited (a retry, a worker that was down) may now fall in the recipient's quiet hours."""
    verdict = consent.check(
        conn, message.to_number, message.from_number, inbound_days=settings.consent_inbound_days, now=now
    )
    if not verdict.allowed:
        why = f"consent withdrawn before the text went: {verdict.detail}"
        _block(conn, job, owner, message, "consent_required", why, now, counts)
        return True
    held_until = None if message.quiet_hours_exempt else outbound.hold_until(conn, settings, message.to_number, now)
    if held_until is not None:
        conn.execute(
            update(messages).where(messages.c.id == message.id).values(status="scheduled", scheduled_for=held_until)
        )
        outbox.defer(
            conn, job, owner, "quiet hours: held until the recipient's morning", delay=held_until - now, now=now
        )
        counts.retried += 1
        return True
    if message.status == "scheduled":
        conn.execute(update(messages).where(messages.c.id == message.id).values(status="pending"))
    return False


def _load(conn: Connection, message_id: int) -> Any:
    return conn.execute(select(messages).where(messages.c.id == message_id)).first()


def _send_one(
    engine: Engine,
    settings: Settings,
    client: Client,
    job: outbox.Job,
    owner: str,
    counts: SendCounts,
    at: datetime | None = None,
) -> None:
    message_id = int(job.payload["message_id"])
    now = at or utcnow()
    with engine.begin() as conn:
        message = _load(conn, message_id)
        if message is None or message.status not in ("pending", "scheduled"):
            outbox.complete(conn, job, owner, now=now)
            return
        if _waiting_inbound(conn, message.to_number):
            # The client's newest texts are not taken in yet: one may say stop. Send after intake.
            outbox.defer(conn, job, owner, "waiting for intake of the recipient's newest texts", delay=_INTAKE_WAIT)
            counts.retried += 1
            return
        if optouts.is_opted_out(conn, message.to_number) and message.kind != "confirmation":
            why = "recipient opted out before the text went"
            _block(conn, job, owner, message, "recipient_opted_out", why, now, counts)
            return
        if message.kind == "message" and _held_again(conn, settings, job, owner, message, now, counts):
            return
        unresolved = conn.execute(
            select(send_attempts.c.id, send_attempts.c.started_at)
            .where(send_attempts.c.message_id == message_id, send_attempts.c.outcome.in_(("started", "ambiguous")))
            .order_by(send_attempts.c.id)
        ).all()
    if unresolved:
        found = _look_up(client, settings, message, unresolved[0].started_at)
        if found is not None:
            with engine.begin() as conn:
                _accepted(conn, message, found, now)
                conn.execute(
                    update(send_attempts)
                    .where(send_attempts.c.id.in_([a.id for a in unresolved]))
                    .values(outcome="adopted", sid=found.sid)
                )
                outbox.complete(conn, job, owner, now=now)
            counts.adopted += 1
            return
        with engine.begin() as conn:
            conn.execute(
                update(send_attempts)
                .where(send_attempts.c.id.in_([a.id for a in unresolved]))
                .values(outcome="not_sent", detail="Twilio has no such message")
            )
    with engine.begin() as conn:  # the attempt is on record before the call is made
        # The message row is locked and read again: a cancel that committed in between wins, and a cancel
        # that comes after this commit sees the attempt and is refused.
        current = conn.execute(select(messages.c.status).where(messages.c.id == message_id).with_for_update()).scalar()
        if current not in ("pending", "scheduled"):
            outbox.complete(conn, job, owner, now=now)
            return
        attempt_id = int(
            conn.execute(
                insert(send_attempts)
                .values(message_id=message_id, started_at=now, outcome="started")
                .returning(send_attempts.c.id)
            ).scalar_one()
        )
    try:
        created = client.messages.create(**_create_args(settings, message))
    except TwilioRestException as exc:
        _refused(engine, settings, job, owner, message, attempt_id, exc, counts)
        return
    except (TwilioException, requests.RequestException, OSError) as exc:
        with engine.begin() as conn:
            conn.execute(
                update(send_attempts)
                .where(send_attempts.c.id == attempt_id)
                .values(outcome="ambiguous", detail=f"{type(exc).__name__}: {exc}"[:500])
            )
            dead = outbox.retry(
                conn,
                job,
                owner,
                f"no answer from Twilio ({type(exc).__name__}); will look it up",
                delay=outbox.backoff(job.attempts),
                max_attempts=settings.outbox_max_attempts,
            )
            if dead:
                _finish(conn, message, "failed", None, "Twilio did not answer; gave up", now)
        counts.dead += dead
        counts.retried += not dead
        return
    with engine.begin() as conn:
        conn.execute(
            update(send_attempts).where(send_attempts.c.id == attempt_id).values(outcome="sent", sid=created.sid)
        )
        _accepted(conn, message, created, now)
        outbox.complete(conn, job, owner, now=now)
    counts.sent += 1


def _create_args(settings: Settings, message: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"to": message.to_number}
    if message.body:
        args["body"] = message.body
    media = [item["url"] for item in (message.media or []) if item.get("url")]
    if media:
        args["media_url"] = media
    if message.from_number.startswith("MG"):
        args["messaging_service_sid"] = message.from_number
    else:
        args["from_"] = message.from_number
    callback = status_callback_url(settings)
    if callback:
        args["status_callback"] = callback
    return args


def _look_up(client: Client, settings: Settings, message: Any, since: datetime) -> Any:
    """The message Twilio created for an unanswered attempt, if it did."""
    kwargs: dict[str, Any] = {"to": message.to_number, "date_sent_after": since - _CLOCK_SKEW, "limit": 50}
    if not message.from_number.startswith("MG"):
        kwargs["from_"] = message.from_number
    for candidate in client.messages.list(**kwargs):
        if (candidate.body or "") == (message.body or "") and str(candidate.direction or "").startswith("outbound"):
            return candidate
    return None


def _accepted(conn: Connection, message: Any, created: Any, now: datetime) -> None:
    values: dict[str, Any] = {"sid": created.sid, "status": str(created.status or "queued"), "sent_at": now}
    if created.num_segments not in (None, "0", 0):
        values["num_segments"] = int(created.num_segments)
    conn.execute(update(messages).where(messages.c.id == message.id).values(**values))


def _finish(conn: Connection, message: Any, status: str, code: int | None, text: str, now: datetime) -> None:
    conn.execute(
        update(messages).where(messages.c.id == message.id).values(status=status, error_code=code, error_message=text)
    )


def _refused(
    engine: Engine,
    settings: Settings,
    job: outbox.Job,
    owner: str,
    message: Any,
    attempt_id: int,
    exc: TwilioRestException,
    counts: SendCounts,
) -> None:
    """Twilio answered with an error; a 4xx created nothing, so retrying it can never double-text."""
    now = utcnow()
    code = int(exc.code) if exc.code is not None else None
    # A 5xx may come after Twilio created the message: mark it unresolved, so the next try looks it up first.
    outcome = "ambiguous" if exc.status >= 500 else "refused"
    with engine.begin() as conn:
        conn.execute(
            update(send_attempts)
            .where(send_attempts.c.id == attempt_id)
            .values(outcome=outcome, error_code=code, detail=str(exc.msg)[:500])
        )
        if code in twilio_errors.RATE_LIMITED or exc.status == 429 or exc.status >= 500:
            dead = outbox.retry(
                conn,
                job,
                owner,
                f"Twilio {exc.status} {code}: {exc.msg}",
                delay=outbox.backoff(job.attempts),
                max_attempts=settings.outbox_max_attempts,
            )
            if dead:
                _finish(conn, message, "failed", code, f"Twilio kept refusing: {exc.msg}", now)
            counts.dead += dead
            counts.retried += not dead
            return
        meaning = twilio_errors.MEANINGS.get(code or 0, str(exc.msg))
        _finish(conn, message, "failed", code, meaning, now)
        if code == 21610:
            optouts.record(
                conn,
                message.to_number,
                "opt_out",
                "error_21610",
                message_sid=None,
                firm_number=message.from_number,
                at=now,
            )
            audit.append(
                conn,
                actor="twilio",
                action="opt-out",
                subject_type="phone",
                subject_id=message.to_number,
                matter_cms_id=message.matter_cms_id,
                details={"source": "error_21610"},
                at=now,
            )
        audit.append(
            conn,
            actor="worker",
            action="send_failed",
            subject_type="message",
            subject_id=message.id,
            matter_cms_id=message.matter_cms_id,
            details={"error_code": code, "meaning": meaning},
            at=now,
        )
        outbox.complete(conn, job, owner, now=now)
    counts.failed += 1
