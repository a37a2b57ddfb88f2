"""The values a request body carries (ids, text, choices, dates), read as Clio reads them; a bad one is a 422."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from connector.sandbox.clio.errors import SandboxError
from connector.sandbox.firm import format_timestamp


def parse_timestamp(text: str) -> datetime:
    """Read an ISO-8601 timestamp or date; naive values are UTC; a '+' eaten by form-decoding is restored."""
    value = text.strip()
    if len(value) > 6 and value[-6] == " " and value[-3] == ":":
        value = f"{value[:-6]}+{value[-5:]}"
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _is_id(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and value.isdigit())


def _ref_id(value: Any, label: str) -> int:
    """The id inside a `{"id": ...}` reference (ints or digit strings, as Rails accepts)."""
    if not isinstance(value, Mapping) or not _is_id(value.get("id")):
        raise SandboxError(422, f"{label} must be an object with a numeric id")
    return int(value["id"])


def _require_text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SandboxError(422, f"{key} can't be blank")
    return value


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise SandboxError(422, f"{key} must be a string")
    return value


def _enum(value: Any, allowed: Sequence[str], label: str) -> str:
    if value not in allowed:
        raise SandboxError(422, f"{label} must be one of {', '.join(allowed)} (got {value!r})")
    return str(value)


def _date_text(value: Any, label: str) -> str:
    """A YYYY-MM-DD date, as Clio's date fields take."""
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError as exc:
        raise SandboxError(422, f"{label} must be a date (YYYY-MM-DD)") from exc


def _moment(value: Any, label: str) -> datetime:
    if not isinstance(value, str):
        raise SandboxError(422, f"{label} must be an ISO-8601 timestamp")
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise SandboxError(422, f"{label} must be an ISO-8601 timestamp") from exc


def _date_or_moment(value: Any, label: str) -> str:
    """Clio's loosely typed date fields: a plain date stays a date, a timestamp is normalised to UTC."""
    text = str(value)
    if len(text) == 10:
        return _date_text(text, label)
    return format_timestamp(_moment(text, label))
