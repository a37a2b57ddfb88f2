"""One error for every refusal a person can meet: a stable code, a message, details, and what kind it is.

Services raise it; the front ends only translate it. The web app turns the kind into an HTTP status
(`webhooks/errors.py`, one table) and the CLI into an exit code, so a rule such as "a text to an
opted-out number is a conflict" is written once, where the refusal is decided. The message and the
details are shown to the caller as they are, so they must never hold a secret or a message body.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """What sort of refusal it is; each front end decides how to say it (HTTP status, exit code, page)."""

    MALFORMED = "malformed"  # the request cannot be read: bad JSON, an unknown parameter, a bad cursor
    UNAUTHENTICATED = "unauthenticated"  # no credentials, or ones that are unknown, revoked or disabled
    FORBIDDEN = "forbidden"  # the caller's role, or a signature, does not allow it
    NOT_FOUND = "not_found"  # no such thread, message, matter, job, user
    CONFLICT = "conflict"  # the store's state forbids it now: opted out, already written, not cancelable
    INVALID = "invalid"  # well-formed but refused: a content rule, an unknown matter, an empty reason
    TOO_LARGE = "too_large"  # a body over the size limit
    UNSUPPORTED = "unsupported"  # a body in a media type the endpoint does not read
    UNAVAILABLE = "unavailable"  # a dependency is broken or not ready: the rules file, the store


class MatterlineError(Exception):
    """A refusal: `code` is stable for machines, `message` is for people, `details` gives the context."""

    def __init__(self, kind: Kind, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.message = message
        self.details = details

    def __repr__(self) -> str:
        return f"MatterlineError({self.kind.value}, {self.code!r}, {self.message!r})"


def malformed(code: str, message: str, details: Any = None) -> MatterlineError:
    """The request cannot be read as sent."""
    return MatterlineError(Kind.MALFORMED, code, message, details)


def bad_parameter(name: str, message: str, **details: Any) -> MatterlineError:
    """A query parameter or argument that does not fit, named so the caller can fix it."""
    return MatterlineError(Kind.MALFORMED, "invalid_parameter", f"{name}: {message}", {"parameter": name, **details})


def forbidden(code: str, message: str, details: Any = None) -> MatterlineError:
    """The caller may not do this."""
    return MatterlineError(Kind.FORBIDDEN, code, message, details)


def not_found(message: str, details: Any = None) -> MatterlineError:
    """No such record; the code is always `not_found`."""
    return MatterlineError(Kind.NOT_FOUND, "not_found", message, details)


def conflict(code: str, message: str, details: Any = None) -> MatterlineError:
    """The record's current state forbids it."""
    return MatterlineError(Kind.CONFLICT, code, message, details)


def invalid(code: str, message: str, details: Any = None) -> MatterlineError:
    """Well-formed, but refused as asked."""
    return MatterlineError(Kind.INVALID, code, message, details)


def unavailable(code: str, message: str, details: Any = None) -> MatterlineError:
    """Something Matterline depends on cannot answer; nothing was done."""
    return MatterlineError(Kind.UNAVAILABLE, code, message, details)


def require_reason(reason: str | None, name: str = "reason") -> str:
    """A reason that is kept in the audit log must say something; the stripped text, at most 500 characters.

    Raises:
        MatterlineError: `empty_reason` (invalid).
    """
    text = (reason or "").strip()
    if not text:
        raise invalid("empty_reason", f"{name} must say why (it is kept in the audit log)", {"field": name})
    return text[:500]
