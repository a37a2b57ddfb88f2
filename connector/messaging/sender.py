"""The worker's side of sending: one text to Twilio, never twice, never after STOP.

Each call to Twilio's create is recorded before it is made, as an attempt its worker claims for the
length of the call: another worker that meets the text meanwhile leaves it alone. When a call ends
without an answer (a timeout, a dropped connection, a 5xx, a worker killed mid-call), the next attempt
first looks the message up at Twilio and adopts it if Twilio has it; only when Twilio has no such
message is the text sent again. The look-up goes by what Twilio records at once (the recipient, the
sender, the body, the creation time), never by `date_sent`, which stays empty while Twilio queues a text.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from sqlalchemy import Connection, Engine, insert, select, update
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from connector import logs, metrics
from connector.compliance import audit
from connector.const import (
    DEFAULT_TWILIO_API_URL,
    LOGGER,
    LOOK_UP_PAGE,
    LOOK_UP_SETTLE,
    SEND_BATCH,
    SEND_CLAIM,
    TWILIO_CLOCK_SKEW,
    TWILIO_TIMEOUT,
    UNSENT_STATUSES,
)
from connector.guardrails import optouts, pipeline
from connector.jobs import kinds, outbox
from connector.messaging import twilio_errors
from connector.redaction import describe
from connector.retry import JOBS
from connector.settings import Settings
from connector.store.engine import utcnow
from connector.store.tables import messages, send_attempts

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

    def add(self, result: str, twilio_code: int | None = None) -> None:
        """One text's outcome, in this round's counts and the metrics alike: one call, so the two never differ.
        `held` (quiet hours or a guardrail: the job is put back, untried) counts as retried."""
        field = "retried" if result == "held" else result
        setattr(self, field, getattr(self, field) + 1)
        metrics.text_sent(result, twilio_code)


def status_callback_url(settings: Settings) -> str | None:
    """Where Twilio reports delivery."""
    return f"{settings.public_url.rstrip('/')}/webhooks/twilio/status" if settings.public_url else None


def send_due(
    engine: Engine,
    settings: Settings,
    *,
    client_factory: ClientFactory = make_client,
    owner: str | None = None,
    limit: int = SEND_BATCH,
    now: datetime | None = None,
) -> SendCounts:
    """Send every text that is due (at `now`, by default the clock's); returns what happened.

    `owner` names this round in leases and claims; by default it is unique to the round, so two rounds (two
    threads, two processes, two hosts) never take each other's claims for their own.
    """
    owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    counts = SendCounts()
    jobs = outbox.lease(engine, owner, kinds=(kinds.SEND,), limit=limit, now=now)
    if not jobs:
        return counts
    client = client_factory(settings)
    for job in logs.each_job(jobs, counts):  # job_id on its lines, then one `job` line
        try:
            _send_one(engine, settings, client, job, owner, counts, now)
        except Exception as exc:  # one bad job must not stop the others
            LOGGER.exception("send job %s failed unexpectedly", job.id)
            with engine.begin() as conn:
                if outbox.retry(
                    conn,
                    job,
                    owner,
                    describe(exc),
                    delay=JOBS.delay(job.attempts),
                    max_attempts=settings.outbox_max_attempts,
                ):
                    counts.add("dead")
                else:
                    counts.add("retried")
    return counts


def _block(
    conn: Connection,
    job: outbox.Job,
    owner: str,
    message: Any,
    verdict: pipeline.SendVerdict,
    now: datetime,
    counts: SendCounts,
) -> None:
    """A guardrail stopped a queued text at the last moment: it is marked blocked, audited, and its job done."""
    _finish(conn, message, "blocked", None, verdict.detail, now)
    audit.append(
        conn,
        actor="worker",
        action=audit.Action.SEND_BLOCKED,
        subject_type="message",
        subject_id=message.id,
        matter_cms_id=message.matter_cms_id,
        details={"reason": verdict.code},
        at=now,
    )
    outbox.complete(conn, job, owner, now=now)
    counts.add("blocked")


def _wait(
    conn: Connection, job: outbox.Job, owner: str, message: Any, verdict: pipeline.SendVerdict, now: datetime
) -> None:
    """Not yet: put the job back, untried, until the guardrail that holds it may let it go."""
    until = verdict.until or now
    if verdict.hold:
        held = update(messages).where(messages.c.id == message.id).values(status="scheduled", scheduled_for=until)
        conn.execute(held)
    outbox.defer(conn, job, owner, verdict.detail, delay=until - now, now=now)


def _locked(conn: Connection, message_id: int) -> Any:
    """The message row, locked until the transaction ends: a cancel, and a second sender, wait for it."""
    return conn.execute(select(messages).where(messages.c.id == message_id).with_for_update()).first()


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
        message = _locked(conn, message_id)
        if message is None or message.status not in UNSENT_STATUSES:
            outbox.complete(conn, job, owner, now=now)
            return
        unresolved = _unresolved(conn, message_id)
        if _leave_alone(conn, job, owner, unresolved, now, counts):
            return
    if unresolved and not _resolve(engine, settings, client, job, owner, message, unresolved, now, counts):
        return
    with engine.begin() as conn:
        # The guardrails' last word, in the transaction that records the attempt, on the locked row, after
        # any look-up and immediately before the call: a STOP, a withdrawal or a cancel that committed
        # while this worker waited wins; one that comes after this commit sees the attempt.
        current = _locked(conn, message_id)
        if current is None or current.status not in UNSENT_STATUSES:
            outbox.complete(conn, job, owner, now=now)
            return
        # The job is still this worker's (its lease may have run out while earlier texts of the batch were
        # slow, and another worker may have it now), and no other worker's call for this text is under way.
        if not outbox.renew(conn, job, owner, now=now) or _leave_alone(
            conn, job, owner, _unresolved(conn, message_id), now, counts
        ):
            return
        verdict = pipeline.at_send(conn, settings, current, now)
        if verdict.action == "block":
            _block(conn, job, owner, current, verdict, now, counts)
            return
        if verdict.action == "wait":
            _wait(conn, job, owner, current, verdict, now)
            counts.add("held")
            return
        if current.status == "scheduled":
            conn.execute(update(messages).where(messages.c.id == message_id).values(status="pending"))
        attempt_id = int(
            conn.execute(
                insert(send_attempts)
                .values(
                    message_id=message_id,
                    started_at=now,
                    outcome="started",
                    owner=owner,
                    claimed_until=now + SEND_CLAIM,
                )
                .returning(send_attempts.c.id)
            ).scalar_one()
        )
    try:
        created = client.messages.create(**_create_args(settings, current))
    except TwilioRestException as exc:
        _refused(engine, settings, job, owner, current, attempt_id, exc, counts)
        return
    except (TwilioException, requests.RequestException, OSError) as exc:
        with engine.begin() as conn:
            conn.execute(
                update(send_attempts)
                .where(send_attempts.c.id == attempt_id)
                .values(outcome="ambiguous", detail=describe(exc), claimed_until=now + LOOK_UP_SETTLE)
            )
            _try_again(
                conn,
                settings,
                job,
                owner,
                current,
                f"no answer from Twilio ({type(exc).__name__}); will look it up",
                (None, "Twilio did not answer; gave up"),
                now,
                counts,
                not_before=now + LOOK_UP_SETTLE,
            )
        return
    with engine.begin() as conn:
        conn.execute(
            update(send_attempts).where(send_attempts.c.id == attempt_id).values(outcome="sent", sid=created.sid)
        )
        _accepted(conn, current, created, now)
        outbox.complete(conn, job, owner, now=now)
    counts.add("sent")


def _unresolved(conn: Connection, message_id: int) -> list[Any]:
    """The text's attempts that got no answer yet (one may still be under way), oldest first."""
    return list(
        conn.execute(
            select(
                send_attempts.c.id,
                send_attempts.c.started_at,
                send_attempts.c.outcome,
                send_attempts.c.owner,
                send_attempts.c.claimed_until,
            )
            .where(send_attempts.c.message_id == message_id, send_attempts.c.outcome.in_(("started", "ambiguous")))
            .order_by(send_attempts.c.id)
        ).all()
    )


def _leave_alone(
    conn: Connection, job: outbox.Job, owner: str, unresolved: list[Any], now: datetime, counts: SendCounts
) -> bool:
    """True (and the job put back, untried) while an unanswered call for this text may still reach Twilio.

    That is another worker's call still under way (SEND_CLAIM), or a call that ended without an answer
    less than LOOK_UP_SETTLE ago: Twilio may carry out a create it held past our timeout, so a look-up then
    could find nothing only because the message is not made yet, and sending again would text the
    client twice (the fault run saw exactly that with creates held 20 s).
    """
    claims = [
        a.claimed_until
        for a in unresolved
        if a.claimed_until is not None and a.claimed_until > now and (a.outcome == "ambiguous" or a.owner != owner)
    ]
    if not claims:
        return False
    sending = any(a.outcome == "started" for a in unresolved)
    reason = "another worker is sending this text" if sending else "Twilio has not answered yet; will look it up"
    outbox.defer(conn, job, owner, reason, delay=max(claims) - now, now=now)
    counts.add("retried")
    return True


def _resolve(
    engine: Engine,
    settings: Settings,
    client: Client,
    job: outbox.Job,
    owner: str,
    message: Any,
    unresolved: list[Any],
    now: datetime,
    counts: SendCounts,
) -> bool:
    """Earlier attempts got no answer: adopt the message Twilio made for them, if any. True when none went."""
    found = _look_up(client, message, unresolved[0].started_at)
    attempt_ids = [a.id for a in unresolved]
    with engine.begin() as conn:
        current = _locked(conn, message.id)
        if current is None or current.status not in UNSENT_STATUSES:
            outbox.complete(conn, job, owner, now=now)
            return False
        adopted = _first_unclaimed(conn, message.id, found)
        if adopted is not None:
            _accepted(conn, current, adopted, now)
            conn.execute(
                update(send_attempts)
                .where(send_attempts.c.id.in_(attempt_ids))
                .values(outcome="adopted", sid=adopted.sid, claimed_until=None)
            )
            outbox.complete(conn, job, owner, now=now)
            counts.add("adopted")
            return False
        conn.execute(
            update(send_attempts)
            .where(send_attempts.c.id.in_(attempt_ids))
            .values(outcome="not_sent", detail="Twilio has no such message", claimed_until=None)
        )
    return True


def _first_unclaimed(conn: Connection, message_id: int, found: list[Any]) -> Any:
    """The oldest of the messages found that no other text of ours already is (the same words sent before)."""
    sids = [candidate.sid for candidate in found]
    if not sids:
        return None
    taken = set(conn.execute(select(messages.c.sid).where(messages.c.sid.in_(sids))).scalars())
    taken |= set(
        conn.execute(
            select(send_attempts.c.sid).where(send_attempts.c.sid.in_(sids), send_attempts.c.message_id != message_id)
        ).scalars()
    )
    return next((candidate for candidate in reversed(found) if candidate.sid not in taken), None)


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


def _look_up(client: Client, message: Any, since: datetime) -> list[Any]:
    """The messages Twilio created, since an unanswered attempt began, that may be this text: newest first.

    Twilio's list filters only by To, From and DateSent, and a message waiting in its queue has no
    `date_sent` yet; so the recipient's messages are read newest first, without a date filter, until one
    was created before the attempt (less the clock skew between us and Twilio), and matched on what a
    create sets at once: direction, sender (number or Messaging Service) and body.
    """
    floor = since - TWILIO_CLOCK_SKEW
    service = message.from_number.startswith("MG")
    kwargs: dict[str, Any] = {"to": message.to_number, "page_size": LOOK_UP_PAGE}
    if not service:
        kwargs["from_"] = message.from_number
    found: list[Any] = []
    for candidate in client.messages.stream(**kwargs):
        if candidate.date_created is not None and candidate.date_created < floor:
            break
        if not str(candidate.direction or "").startswith("outbound"):
            continue
        if service and candidate.messaging_service_sid != message.from_number:
            continue
        if (candidate.body or "") == (message.body or ""):
            found.append(candidate)
    return found


def _accepted(conn: Connection, message: Any, created: Any, now: datetime) -> None:
    values: dict[str, Any] = {"sid": created.sid, "status": str(created.status or "queued"), "sent_at": now}
    if created.num_segments not in (None, "0", 0):
        values["num_segments"] = int(created.num_segments)
    conn.execute(update(messages).where(messages.c.id == message.id).values(**values))


def _finish(conn: Connection, message: Any, status: str, code: int | None, text: str, now: datetime) -> None:
    conn.execute(
        update(messages).where(messages.c.id == message.id).values(status=status, error_code=code, error_message=text)
    )


def _try_again(
    conn: Connection,
    settings: Settings,
    job: outbox.Job,
    owner: str,
    message: Any,
    error: str,
    given_up: tuple[int | None, str],
    now: datetime,
    counts: SendCounts,
    *,
    not_before: datetime | None = None,
) -> None:
    """Back off and try again (the one retry policy), or, out of attempts, mark the text failed with `given_up`.

    `not_before`: an unanswered call is not looked up before its claim ends, so the job waits at least that long.
    """
    delay = JOBS.delay(job.attempts)
    if not_before is not None:
        delay = max(delay, not_before - now)
    dead = outbox.retry(conn, job, owner, error, delay=delay, max_attempts=settings.outbox_max_attempts)
    if dead:
        _finish(conn, message, "failed", given_up[0], given_up[1], now)
    counts.add("dead" if dead else "retried", given_up[0])


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
    """Twilio answered with an error; what happens next is the error table's `Action` for it."""
    now = utcnow()
    code = int(exc.code) if exc.code is not None else None
    action = twilio_errors.classify(exc.status, code)
    # A 5xx may come after Twilio created the message: mark it unresolved, so the next try looks it up first.
    # A 4xx created nothing, so retrying it can never double-text.
    outcome = "ambiguous" if action is twilio_errors.Action.RETRY else "refused"
    with engine.begin() as conn:
        conn.execute(
            update(send_attempts)
            .where(send_attempts.c.id == attempt_id)
            .values(
                outcome=outcome,
                error_code=code,
                detail=describe(exc),
                claimed_until=now + LOOK_UP_SETTLE if outcome == "ambiguous" else None,
            )
        )
        if action in (twilio_errors.Action.RETRY, twilio_errors.Action.BACK_OFF):
            # A 5xx may have created the message: like an unanswered call, it is looked up once its claim ends.
            not_before = now + LOOK_UP_SETTLE if outcome == "ambiguous" else None
            gave_up = (code, f"Twilio kept refusing: {describe(exc)}")
            _try_again(conn, settings, job, owner, message, describe(exc), gave_up, now, counts, not_before=not_before)
            return
        known = twilio_errors.ERRORS.get(code) if code is not None else None
        meaning = known.meaning if known is not None else str(exc.msg)
        _finish(conn, message, "failed", code, meaning, now)
        if action is twilio_errors.Action.OPT_OUT:
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
                action=audit.Action.OPT_OUT,
                subject_type="phone",
                subject_id=message.to_number,
                matter_cms_id=message.matter_cms_id,
                details={"source": "error_21610"},
                at=now,
            )
        audit.append(
            conn,
            actor="worker",
            action=audit.Action.SEND_FAILED,
            subject_type="message",
            subject_id=message.id,
            matter_cms_id=message.matter_cms_id,
            details={"error_code": code, "meaning": meaning},
            at=now,
        )
        outbox.complete(conn, job, owner, now=now)
    counts.add("failed", code)


def revive(conn: Connection, payload: dict[str, Any]) -> None:
    """A dead send was replayed: the text it gave up on is waiting again (its unanswered attempts, if any,
    are still looked up at Twilio before anything is sent)."""
    conn.execute(
        update(messages)
        .where(messages.c.id == int(payload["message_id"]), messages.c.status == "failed")
        .values(status="pending", error_code=None, error_message=None)
    )


def abandon(conn: Connection, payload: dict[str, Any], why: str) -> None:
    """An admin discarded the send: a text not yet sent is shown as never sent, with why."""
    conn.execute(
        update(messages)
        .where(messages.c.id == int(payload["message_id"]), messages.c.status.in_((*UNSENT_STATUSES, "failed")))
        .values(status="canceled", error_message=why[:500])
    )
