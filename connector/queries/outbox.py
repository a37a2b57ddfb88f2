"""The queue of work leaving the building: each job's kind, state, attempts, and its last error's meaning."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Engine, func, select

from connector.cms import errors as cms_errors
from connector.jobs import kinds
from connector.messaging import twilio_errors
from connector.store.tables import matters, messages, outbox, writebacks

__all__ = [
    "KIND_LABELS",
    "STATES",
    "Board",
    "BoardJob",
    "ErrorMeaning",
    "JobView",
    "Subject",
    "board",
    "explain",
    "listing",
]

STATES: Final = ("pending", "done", "dead", "discarded")


@dataclass(frozen=True, slots=True)
class JobView:
    """One outbox job as an admin reads it."""

    id: int
    kind: str
    key: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    payload: dict[str, Any]


def listing(
    engine: Engine,
    *,
    state: str | None = None,
    kind: str | None = None,
    before: int | None = None,
    limit: int | None = None,
) -> list[JobView]:
    """Jobs, newest first, filtered and paged in SQL (`before`: only jobs older than this id)."""
    query = select(outbox).order_by(outbox.c.id.desc())
    if state is not None:
        query = query.where(outbox.c.state == state)
    if kind is not None:
        query = query.where(outbox.c.kind == kind)
    if before is not None:
        query = query.where(outbox.c.id < before)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [
            JobView(
                id=r.id,
                kind=r.kind,
                key=r.idempotency_key,
                state=r.state,
                attempts=r.attempts,
                next_attempt_at=r.next_attempt_at,
                last_error=r.last_error,
                payload=dict(r.payload),
            )
            for r in conn.execute(query)
        ]


# -- the admin page: the queue at a glance, each job with what it is about and its last error in words ---------

# Each kind of job as the admin page names it.
# "cms_sync": a sync an admin asked for on the connection page (`connector.sync.requested`).
KIND_LABELS: Final = {kinds.SEND: "Text send", kinds.WRITE: "CMS write", "cms_sync": "CMS sync"}
# What a write-back record becomes in the CMS (Clio's mapping: a transcript is a communication, a task a task).
_RECORD_WORDS: Final = {
    "transcript": "transcript",
    "summary": "summary note",
    "correction": "correction note",
    "task": "task for the attorney",
}
_TWILIO: Final = re.compile(r"\bTwilio (\d{3})(?: (\d+|None))?\b")
_CMS_STATUS: Final = re.compile(r"\bHTTP (\d{3}) \((\w+)\)")
# What the CMS's HTTP status means for the record; what Matterline does about it comes from `cms.errors`.
_CMS_STATUS_WORDS: Final = {
    400: "the CMS refused the request as malformed",
    401: "invalid_auth: the CMS refused Matterline's credentials (expired or revoked)",
    402: "the firm's CMS plan does not include API access",
    403: "invalid_auth: the CMS account Matterline uses lacks permission for this",
    404: "the record is not in the CMS (the matter was deleted or merged?)",
    405: "the CMS does not allow this request",
    408: "the CMS timed out",
    409: "the CMS refused it as conflicting with the record's current state",
    410: "the CMS no longer serves the API version Matterline uses",
    412: "the record changed in the CMS since Matterline read it",
    413: "the record is too large for the CMS",
    422: "the CMS refused the record as invalid (a closed matter, a missing or wrong field)",
    423: "the record is locked in the CMS",
    425: "the CMS asked Matterline to try again a little later",
    429: "rate limited: the CMS asked Matterline to slow down",
    500: "the CMS had an internal error",
    502: "the CMS's gateway had an error",
    503: "the CMS was unavailable",
    504: "the CMS's gateway timed out",
}
_CMS_ACTION_WORDS: Final = {
    cms_errors.Action.RETRY: "Matterline tries again with backoff",
    cms_errors.Action.RATE_LIMITED: "Matterline waits as long as the CMS asks, then tries again",
    cms_errors.Action.FIX_CONFIG: "an admin must fix the CMS connection; writes wait until then",
    cms_errors.Action.FATAL: "trying again gives the same answer: fix the cause in the CMS, then replay, or discard",
}
_TWILIO_5XX: Final = "Twilio had a server error; the text is looked up at Twilio before it is tried again"
_TWILIO_429: Final = "Twilio is busy (too many requests); retried with backoff"


@dataclass(frozen=True, slots=True)
class ErrorMeaning:
    """A job's last error as a person reads it: who answered, the code they gave, and what it means."""

    source: str  # "Twilio", "CMS" or "Matterline"
    code: str | None  # Twilio's error code, the CMS's "HTTP 422", or None
    meaning: str


def explain(last_error: str | None, *, twilio_code: int | None = None) -> ErrorMeaning | None:
    """What a job's `last_error` means, in words; None when there is none.

    The errors are Matterline's own renderings (`redaction.describe`): "Twilio 429 20429 (...)" for
    Twilio, "POST /api/v4/notes.json: HTTP 422 (FatalError)" for the CMS, so the code is read back out
    and looked up in the same tables that decided what the worker did (`twilio_errors`, `cms.errors`).
    `twilio_code`: the error code on a text Twilio refused for good (its job is done, with no error).
    """
    if last_error is None:
        return None if twilio_code is None else _twilio(None, twilio_code)
    if last_error.startswith("discarded: "):
        return ErrorMeaning("Matterline", None, f"an admin gave this job up: {last_error.removeprefix('discarded: ')}")
    twilio = _TWILIO.search(last_error)
    if twilio is not None:
        code = int(twilio.group(2)) if (twilio.group(2) or "").isdigit() else None
        return _twilio(int(twilio.group(1)), code)
    status = _CMS_STATUS.search(last_error)
    if status is not None:
        return _cms(int(status.group(1)), status.group(2), last_error)
    if "outcome unknown" in last_error:
        return ErrorMeaning(
            "CMS",
            None,
            "the connection broke after the record was sent, so it may have been written; "
            "the next try looks it up in the CMS before writing",
        )
    if "connection failed" in last_error:
        return ErrorMeaning("CMS", None, "the CMS could not be reached; Matterline tries again with backoff")
    if last_error.startswith("paused: "):
        return ErrorMeaning("CMS", None, f"writes to the CMS are paused: {last_error.removeprefix('paused: ')}")
    return ErrorMeaning("Matterline", None, last_error)


def _twilio(status: int | None, code: int | None) -> ErrorMeaning:
    known = twilio_errors.ERRORS.get(code) if code is not None else None
    shown = str(code) if code is not None else (f"HTTP {status}" if status is not None else None)
    if known is not None:
        return ErrorMeaning("Twilio", shown, known.meaning)
    if status is not None and status >= 500:
        return ErrorMeaning("Twilio", shown, _TWILIO_5XX)
    if status == 429:
        return ErrorMeaning("Twilio", shown, _TWILIO_429)
    return ErrorMeaning("Twilio", shown, "Twilio refused the text; it cannot go as it is")


def _cms(status: int, error: str, last_error: str) -> ErrorMeaning:
    action = cms_errors.classify(status)
    words = _CMS_STATUS_WORDS.get(status) or (
        "the CMS had a server error" if status >= 500 else "the CMS refused the request"
    )
    if status in (401, 403) or error == "ConfigError":
        words = words if words.startswith("invalid_auth") else f"invalid_config: {words}"
    closed = last_error.partition(" is closed in the CMS")
    if closed[1]:
        words = f"{closed[0]} is closed in the CMS; {words}"
    if error == "AmbiguousWriteError":
        then = "the record may have been written, so the next try looks it up in the CMS before writing"
    else:
        then = _CMS_ACTION_WORDS[action]
    return ErrorMeaning("CMS", f"HTTP {status}", f"{words}; {then}")


@dataclass(frozen=True, slots=True)
class Subject:
    """What a job is about, without a message body or a whole phone number (the page masks `phone`)."""

    what: str  # "text", "confirmation text", "summary note", ...
    thread_id: int | None
    matter_cms_id: str | None
    matter_number: str | None  # the matter's display number, when the store has it
    phone: str | None  # the number a text goes to, for the page to mask
    status: str | None  # the text's status or the write-back's state


@dataclass(frozen=True, slots=True)
class BoardJob:
    """One job on the admin page: its facts, what it is about, and its last error explained."""

    id: int
    kind: str
    kind_label: str
    state: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    last_error: str | None
    error: ErrorMeaning | None
    about: Subject

    @property
    def replayable(self) -> bool:
        """Only a dead letter can be put back in the queue (`services.outbox.replay`)."""
        return self.state == "dead"

    @property
    def discardable(self) -> bool:
        """A job still waiting (pending or dead) can be given up (`services.outbox.discard`)."""
        return self.state in ("pending", "dead")


@dataclass(frozen=True, slots=True)
class Board:
    """The admin page's outbox: how many jobs of each kind are in each state, and one page of jobs."""

    counts: dict[tuple[str, str], int]  # (kind, state) -> jobs, over the whole outbox
    jobs: list[BoardJob]
    more: bool  # older jobs match too (page back with `before` = the last job's id)

    def count(self, kind: str | None = None, state: str | None = None) -> int:
        """Jobs of `kind` in `state` (None: any)."""
        return sum(n for (k, s), n in self.counts.items() if kind in (None, k) and state in (None, s))

    @property
    def kinds(self) -> list[str]:
        """The known kinds, then any other kind the outbox holds."""
        return [*KIND_LABELS, *sorted({k for k, _ in self.counts} - set(KIND_LABELS))]


def board(
    engine: Engine,
    *,
    state: str | None = None,
    kind: str | None = None,
    before: int | None = None,
    limit: int = 100,
) -> Board:
    """The outbox for the admin page: counts by kind and state, then jobs newest first, filtered and paged in SQL.

    Each job says what it is about (the text's matter, thread and number; the record's kind and matter) and
    what its last error means (`explain`); a text Twilio refused for good explains its code from the text.
    """
    query = select(outbox).order_by(outbox.c.id.desc()).limit(limit + 1)
    if state is not None:
        query = query.where(outbox.c.state == state)
    if kind is not None:
        query = query.where(outbox.c.kind == kind)
    if before is not None:
        query = query.where(outbox.c.id < before)
    with engine.connect() as conn:
        counts = {
            (r.kind, r.state): int(r.n)
            for r in conn.execute(
                select(outbox.c.kind, outbox.c.state, func.count().label("n")).group_by(outbox.c.kind, outbox.c.state)
            )
        }
        rows = conn.execute(query).all()
        page = rows[:limit]
        texts = _texts(conn, [int(r.payload["message_id"]) for r in page if r.kind == kinds.SEND])
        records = _records(conn, [int(r.payload["writeback_id"]) for r in page if r.kind == kinds.WRITE])
        numbers = _matter_numbers(
            conn, {m.matter_cms_id for m in [*texts.values(), *records.values()] if m.matter_cms_id}
        )
    jobs = []
    for r in page:
        text = texts.get(int(r.payload["message_id"])) if r.kind == kinds.SEND else None
        record = records.get(int(r.payload["writeback_id"])) if r.kind == kinds.WRITE else None
        about = _about(r.kind, dict(r.payload), text, record, numbers)
        code = text.error_code if text is not None and text.status == "failed" else None
        jobs.append(
            BoardJob(
                id=r.id,
                kind=r.kind,
                kind_label=KIND_LABELS.get(r.kind, r.kind),
                state=r.state,
                attempts=r.attempts,
                next_attempt_at=r.next_attempt_at,
                created_at=r.created_at,
                last_error=r.last_error,
                error=explain(r.last_error, twilio_code=code if r.last_error is None else None),
                about=about,
            )
        )
    return Board(counts=counts, jobs=jobs, more=len(rows) > limit)


def _texts(conn: Connection, ids: list[int]) -> dict[int, Any]:
    if not ids:
        return {}
    query = select(
        messages.c.id,
        messages.c.kind,
        messages.c.thread_id,
        messages.c.matter_cms_id,
        messages.c.to_number,
        messages.c.status,
        messages.c.error_code,
    ).where(messages.c.id.in_(ids))
    return {r.id: r for r in conn.execute(query)}


def _records(conn: Connection, ids: list[int]) -> dict[int, Any]:
    if not ids:
        return {}
    query = select(
        writebacks.c.id, writebacks.c.kind, writebacks.c.thread_id, writebacks.c.matter_cms_id, writebacks.c.state
    ).where(writebacks.c.id.in_(ids))
    return {r.id: r for r in conn.execute(query)}


def _matter_numbers(conn: Connection, cms_ids: set[str]) -> dict[str, str]:
    if not cms_ids:
        return {}
    query = select(matters.c.cms_id, matters.c.display_number).where(matters.c.cms_id.in_(cms_ids))
    return {r.cms_id: r.display_number for r in conn.execute(query)}


def _about(kind: str, payload: dict[str, Any], text: Any, record: Any, numbers: dict[str, str]) -> Subject:
    if text is not None:
        what = "text" if text.kind == "message" else f"{text.kind.replace('_', ' ')} text"
        return Subject(
            what, text.thread_id, text.matter_cms_id, numbers.get(text.matter_cms_id or ""), text.to_number, text.status
        )
    if record is not None:
        what = _RECORD_WORDS.get(record.kind, record.kind)
        return Subject(
            what, record.thread_id, record.matter_cms_id, numbers.get(record.matter_cms_id), None, record.state
        )
    if kind in (kinds.SEND, kinds.WRITE):  # its text or record is no longer in the store
        return Subject("text" if kind == kinds.SEND else "record", None, None, None, None, "gone")
    if kind == "cms_sync":
        return Subject("full sync" if payload.get("full") else "sync", None, None, None, None, None)
    return Subject(kind.replace("_", " "), None, None, None, None, None)
