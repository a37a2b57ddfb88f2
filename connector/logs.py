"""Structured logs: one line per event, key=value for a person reading the journal or JSON for a shipper.

Matterline's messages are already written as events (`LOGGER.warning("readyz.store_unreachable error=%s",
name)`); the formatter here turns "event.name k=v k=v" into an `event` and its fields, keeps any other
message whole as `msg`, and adds the request id or job id of the work under way (the `request_id` and
`job_id` context variables, set by the web middleware and the worker), so every line of one request or
one job can be found together. New code calls `log_event(logger, level, event, **fields)`.

Nothing a line carries can hold client data or a secret: `connector.redaction` has already made each
record safe (exceptions described, phone numbers in the message masked), and here every rendered value
is masked again and every configured secret (the settings' SECRET_FIELDS and the database password) is
replaced by `[secret]`, whichever field it turns up in. Bodies are never logged.
"""

from __future__ import annotations

import contextvars
import dataclasses
import json
import logging
import re
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import IO, Any, Final, Protocol, TypeVar

from sqlalchemy.engine import make_url

from connector import const, redaction
from connector.settings import SECRET_FIELDS, Settings

__all__ = ["FORMATS", "Formatter", "configure", "each_job", "job_id", "log_event", "request_id"]

# The web request and the outbox job a line belongs to; None outside one.
request_id: Final[contextvars.ContextVar[str | None]] = contextvars.ContextVar("request_id", default=None)
job_id: Final[contextvars.ContextVar[str | None]] = contextvars.ContextVar("job_id", default=None)

FORMATS: Final = ("keyvalue", "json")
SECRET_MASK: Final = "[secret]"  # noqa: S105 (what a secret becomes, not one)
# A secret shorter than this would blank ordinary words out of every line; real ones are far longer
# (the settings demand 16 characters for Matterline's own keys).
_MIN_SECRET: Final = 6
_RESERVED: Final = frozenset({"ts", "level", "logger", "event", "msg"})
_EVENT: Final = re.compile(r"([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)(?:\s+(.*))?", re.DOTALL)
_KEY: Final = re.compile(r"(?:^|(?<=\s))([A-Za-z_][A-Za-z0-9_]*)=")
_NEEDS_QUOTES: Final = re.compile(r'[\s"=\\]')
_ESCAPES: Final = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_OURS: Final = "_matterline_handler"
_EVENT_ATTR: Final = "matterline_event"
_JOBS: Final = logging.getLogger(f"{const.DOMAIN}.jobs")

J = TypeVar("J", bound="_Job")


class _Job(Protocol):
    """What a job line needs of an outbox job (connector.jobs.outbox.Job)."""

    @property
    def id(self) -> int: ...

    @property
    def kind(self) -> str: ...

    @property
    def attempts(self) -> int: ...


def log_event(logger: logging.Logger, level: int, event: str, **fields: Any) -> None:
    """Log `event` with `fields` as its own keys (rendered, masked and secret-checked by the formatter)."""
    logger.log(level, event, extra={_EVENT_ATTR: event, "fields": fields}, stacklevel=2)


def parse_message(message: str) -> dict[str, Any]:
    """An "event.name k=v k=v" message as {"event": ..., k: v}; any other message as {"msg": message}.

    A value runs to the next ` key=`, so `error=CmsError: HTTP 500` stays one value. Words between the
    event and its first key stay as `msg`; a key that would overwrite a line's own key gets a trailing `_`.
    """
    matched = _EVENT.fullmatch(message)
    if matched is None:
        return {"msg": message}
    parsed: dict[str, Any] = {"event": matched.group(1)}
    rest = matched.group(2) or ""
    keys = list(_KEY.finditer(rest))
    lead = rest[: keys[0].start()] if keys else rest
    if lead.strip():
        parsed["msg"] = lead.strip()
    for index, key in enumerate(keys):
        end = keys[index + 1].start() if index + 1 < len(keys) else len(rest)
        name = key.group(1)
        parsed[f"{name}_" if name in _RESERVED else name] = rest[key.end() : end].strip()
    return parsed


class Formatter(logging.Formatter):
    """Renders a record as one line of `style` ("keyvalue" or "json"), with `secrets` replaced."""

    def __init__(self, style: str = "keyvalue", secrets: Iterable[str] = ()) -> None:
        super().__init__()
        if style not in FORMATS:
            raise ValueError(f"unknown log format {style!r}")
        self.style = style
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = tuple(sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True))

    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        """The line's keys in order: ts, level, logger, the event and its fields, the ids, the traceback."""
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        line: dict[str, Any] = {
            "ts": f"{stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        event = getattr(record, _EVENT_ATTR, None)
        line.update({"event": event} if isinstance(event, str) else parse_message(record.getMessage()))
        extra = getattr(record, "fields", None)
        if isinstance(extra, Mapping):
            line.update({f"{k}_" if k in _RESERVED else str(k): v for k, v in extra.items()})
        for name, var in (("request_id", request_id), ("job_id", job_id)):
            value = var.get()
            if value is not None and name not in line:
                line[name] = value
        if record.exc_info and record.exc_info[1] is not None:  # redaction not installed: describe, never quote
            line["error"] = redaction.describe(record.exc_info[1])
        if record.exc_text:
            line["traceback"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return {k: self._clean(v) for k, v in line.items() if v is not None}

    def _clean(self, value: Any) -> Any:
        if isinstance(value, bool | int | float):
            return value
        text = redaction.mask_phones(value if isinstance(value, str) else str(value))
        for secret in self.secrets:
            text = text.replace(secret, SECRET_MASK)
        return text

    def format(self, record: logging.LogRecord) -> str:
        line = self.fields(record)
        if self.style == "json":
            return json.dumps(line, ensure_ascii=False, default=str)
        return " ".join(f"{key}={_quoted(value)}" for key, value in line.items())


def _quoted(value: Any) -> str:
    """A logfmt value: bare when it can be, else in double quotes with quotes, backslashes and newlines escaped."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text and _NEEDS_QUOTES.search(text) is None:
        return text
    return f'"{text.translate(_ESCAPES)}"'


class _Stderr(logging.StreamHandler[IO[str]]):
    """Writes to the process's own stderr (the journal under systemd), looked up at each line.

    Not `sys.stderr` as it was at start-up: a caller that swaps it for a while (click's test runner
    capturing a command's output) would get log lines in the output, then a closed stream.
    """

    def __init__(self, stream: IO[str] | None) -> None:
        super().__init__(stream or sys.stderr)
        self._fixed = stream

    def emit(self, record: logging.LogRecord) -> None:
        if self._fixed is None:
            self.stream = sys.__stderr__ or sys.stderr
        super().emit(record)


def _ours_or_serious(record: logging.LogRecord) -> bool:
    """Matterline's own records at their level; a library's (SQLAlchemy, urllib3, waitress) from WARNING."""
    return (
        record.name == const.DOMAIN or record.name.startswith(f"{const.DOMAIN}.") or record.levelno >= logging.WARNING
    )


def secrets_of(settings: Settings) -> tuple[str, ...]:
    """Every secret value the settings hold: the SECRET_FIELDS and the database URL's password."""
    found = [getattr(settings, name, None) for name in sorted(SECRET_FIELDS)]
    found.append(make_url(settings.database_url).password)
    return tuple(str(value) for value in found if value)


def configure(settings: Settings | None = None, *, stream: IO[str] | None = None) -> logging.Handler:
    """Put Matterline's one handler on the root logger, replacing the one an earlier call put there.

    Without settings (a command before they are read) lines are key=value, no secrets are registered yet
    and levels are left as they are. `stream` replaces stderr (tests). Returns the handler.
    """
    redaction.install()
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
    style = settings.log_format if settings is not None else "keyvalue"
    handler = _Stderr(stream)
    handler.setFormatter(Formatter(style, secrets_of(settings) if settings is not None else ()))
    handler.addFilter(_ours_or_serious)
    setattr(handler, _OURS, True)
    root.addHandler(handler)
    if settings is not None:  # before them, the level is Python's own (WARNING) or whatever it was set to
        logging.getLogger(const.DOMAIN).setLevel(settings.log_level)
    return handler


def _tally(counts: Any) -> dict[str, Any]:
    """A counts dataclass (SendCounts, WriteCounts, SyncRuns) flattened to {field: value}."""
    if not dataclasses.is_dataclass(counts):
        return {}
    return {f.name: getattr(counts, f.name) for f in dataclasses.fields(counts)}


def _outcome(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    moved = [name for name, value in after.items() if value != before.get(name)]
    # Nothing moved: the job had nothing left to do (its text already went or was cancelled) or was put
    # back untried (a lease lost, a paused CMS).
    return "+".join(moved) or "skipped"


def each_job(jobs: Iterable[J], counts: Any, logger: logging.Logger = _JOBS) -> Iterator[J]:
    """Yield each leased job with `job_id` set while the caller handles it, then log one `job` line.

    The line's outcome is the counter of `counts` the job moved (`sent`, `retried`, `dead`...), so the
    handlers stay as they are; it carries the kind, job id, attempt and time, never the payload.
    """
    for job in jobs:
        token = job_id.set(str(job.id))
        before, started, outcome = _tally(counts), time.perf_counter(), "interrupted"
        try:
            yield job
            outcome = _outcome(before, _tally(counts))
        finally:
            ms = round((time.perf_counter() - started) * 1000, 1)
            log_event(logger, logging.INFO, "job", kind=job.kind, outcome=outcome, attempt=job.attempts, ms=ms)
            try:
                job_id.reset(token)
            except ValueError:  # closed from another context (the caller raised): clear it instead
                job_id.set(None)
