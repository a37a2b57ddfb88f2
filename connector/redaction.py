"""Exceptions and log lines without the client data they carry: one rendering for error columns and logs.

An exception's text repeats what was sent or received: SQLAlchemy appends the SQL parameters (bodies,
phone numbers), PostgreSQL adds "Failing row contains (...)", a CMS echoes the record it refused,
Twilio names the number it would not text, and requests puts the URL with its query in a connection
error. Those texts outlive the retention purge in `outbox.last_error`, `send_attempts.detail`,
`writebacks.last_error` and the logs, so none of them is kept: `describe` says what failed and where
in Matterline's own words, and `install` makes every log record of the process do the same (a
traceback keeps its frames, each exception becomes its description, and phone numbers in any log
message are masked).
"""

from __future__ import annotations

import errno
import logging
import re
import traceback
from collections.abc import Mapping
from typing import Any, Final

import requests
from sqlalchemy.exc import DBAPIError, StatementError
from twilio.base.exceptions import TwilioRestException

from connector.cms.errors import CmsError
from connector.errors import MatterlineError

__all__ = ["describe", "install", "mask_phones"]

# E.164 as written (+14158675309), URL-encoded (%2B14158675309) or with separators (+1 415-867-5309).
_PHONE: Final = re.compile(r"(?:\+|%2[Bb])\d(?:[\s().-]?\d){6,14}")
_MASK: Final = "[phone]"
_SQLALCHEMY_ROW: Final = "Row %r"


def mask_phones(text: str) -> str:
    """`text` with every phone number in international form replaced by `[phone]`."""
    return _PHONE.sub(_MASK, text)


def describe(exc: BaseException) -> str:
    """What failed, fit for an error column or a log line: the kind of failure and where, never its data.

    Matterline's own refusals keep their message (it is shown to callers and never holds a body); a
    CMS error keeps its endpoint and status but not the CMS's words; Twilio's its status and error
    code; a database error the driver's error class and SQLSTATE; anything else its class only.
    """
    name = type(exc).__name__
    if isinstance(exc, MatterlineError):
        return mask_phones(f"{exc.code}: {exc.message}")
    if isinstance(exc, CmsError):
        if exc.status is None or exc.status < 400:  # our own words: a transport failure, an unreadable answer
            return mask_phones(str(exc))
        return f"{exc.endpoint}: HTTP {exc.status} ({name})"
    if isinstance(exc, TwilioRestException):
        return f"Twilio {exc.status} {exc.code} ({name})"
    if isinstance(exc, StatementError):
        orig = exc.orig if isinstance(exc, DBAPIError) else getattr(exc, "orig", None)
        if orig is None:
            return name
        code = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
        return f"{name} ({type(orig).__name__}{f' {code}' if code else ''})"
    if isinstance(exc, requests.RequestException):  # its text holds the URL, query and all
        return name
    code = errno.errorcode.get(exc.errno) if isinstance(exc, OSError) and exc.errno is not None else None
    if code is not None:
        return f"{name} ({code})"
    return name


def _traceback(exc: BaseException) -> str:
    """The traceback's frames for `exc` and the exceptions that led to it, each named by `describe`."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    parts: list[str] = []
    for item in reversed(chain):
        if parts:
            parts.append("\nwhich led to:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.StackSummary.extract(traceback.walk_tb(item.__traceback__)).format())
        parts.append(describe(item) + "\n")
    return "".join(parts).rstrip("\n")


def _safe_args(args: Any) -> Any:
    if isinstance(args, Mapping):
        return {k: describe(v) if isinstance(v, BaseException) else v for k, v in args.items()}
    if isinstance(args, tuple):
        return tuple(describe(a) if isinstance(a, BaseException) else a for a in args)
    return args


def _guard(record: logging.LogRecord) -> None:
    if record.name.startswith("sqlalchemy.engine") and record.msg == _SQLALCHEMY_ROW:
        # SQLAlchemy's DEBUG echo prints every result row (bodies, numbers); hide_parameters leaves rows be.
        record.args = ("(row hidden)",)
    if record.args:
        record.args = _safe_args(record.args)
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # a malformed call: logging reports it when the record is emitted
        return
    masked = mask_phones(message)
    if masked != message:
        record.msg, record.args = masked, ()
    if record.exc_info and record.exc_info[1] is not None:
        record.exc_text = _traceback(record.exc_info[1])
        record.exc_info = None


_INSTALLED: Final = "_matterline_redaction"


def install() -> None:
    """Make every log record created in this process from now on safe (idempotent).

    Installed as the record factory, so it covers every logger, Matterline's and the libraries'
    (SQLAlchemy, Flask, waitress, werkzeug, twilio, urllib3), whatever handler later writes the record.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, _INSTALLED, False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _guard(record)
        return record

    setattr(factory, _INSTALLED, True)
    logging.setLogRecordFactory(factory)
