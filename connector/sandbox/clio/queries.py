"""An index request's filters, order and page token, read as Clio reads them, ready for a collection to run."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request

from connector.sandbox.clio.constants import (
    COMMUNICATION_TYPES,
    DATE_ORDER,
    ID_ORDER,
    MATTER_STATUSES,
    MAX_LIMIT,
    NOTE_TYPES,
    TASK_PRIORITIES,
    TASK_STATUSES,
)
from connector.sandbox.clio.errors import SandboxError
from connector.sandbox.clio.values import parse_timestamp
from connector.sandbox.firm import Record, format_timestamp

Args = MultiDict[str, str]


def _threshold(moment: datetime) -> str:
    """The record timestamp text a `*_since` value means: stored times are whole seconds, so round up."""
    whole = moment.replace(microsecond=0)
    return format_timestamp(whole if whole == moment else whole + timedelta(seconds=1))


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ended: the sort key (empty for id order) and the id of the last record."""

    key: str
    record_id: int


START: Final = Cursor("", 0)


def encode_page_token(order: str, cursor: Cursor) -> str:
    """An opaque page token for a position in an ordering."""
    raw = f"{order}|{cursor.key}|{cursor.record_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(order: str, token: str) -> Cursor:
    """Read a page token back; a token from another ordering or garbage is a 400."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        token_order, key, record_id = raw.split("|")
        cursor = Cursor(key, int(record_id))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise SandboxError(400, "Invalid page_token") from exc
    if token_order != order:
        raise SandboxError(400, "Invalid page_token for this order")
    return cursor


@dataclass(frozen=True, slots=True)
class ListQuery:
    """One index request's filters, ready to run; `signature` keys the record-count cache."""

    collection: str
    predicates: tuple[Callable[[Record], bool], ...]
    signature: tuple[Any, ...]
    only_ids: tuple[int, ...] | None = None
    order: str = "id"

    def matches(self, record: Record) -> bool:
        """True when a record passes every filter."""
        return all(predicate(record) for predicate in self.predicates)


@dataclass(frozen=True, slots=True)
class Page:
    """One page of rendered records."""

    data: list[Record]
    last: Cursor | None
    has_more: bool
    total: int


class _Filters:
    """Collects an index request's filters into predicates plus a cache signature."""

    def __init__(self, args: Args) -> None:
        self.args = args
        self.predicates: list[Callable[[Record], bool]] = []
        self.signature: list[Any] = []
        self.only_ids: tuple[int, ...] | None = None

    def add(self, key: str, value: Any, predicate: Callable[[Record], bool]) -> None:
        self.predicates.append(predicate)
        self.signature.append((key, value))

    def integer(self, name: str) -> int | None:
        raw = self.args.get(name)
        if raw is None or raw == "":
            return None
        if not raw.isdigit():
            raise SandboxError(400, f"{name} must be an integer")
        return int(raw)

    def boolean(self, name: str) -> bool | None:
        raw = self.args.get(name)
        if raw is None or raw == "":
            return None
        if raw.lower() not in ("true", "false", "1", "0"):
            raise SandboxError(400, f"{name} must be true or false")
        return raw.lower() in ("true", "1")

    def since(self, name: str, field_name: str) -> None:
        raw = self.args.get(name)
        if raw is None:
            return
        try:
            threshold = _threshold(parse_timestamp(raw))
        except ValueError as exc:
            raise SandboxError(400, f"{name} must be an ISO-8601 timestamp (got {raw!r})") from exc
        self.add(name, threshold, lambda record: str(record.get(field_name) or "") >= threshold)

    def ids(self) -> None:
        raw = [*self.args.getlist("ids[]"), *self.args.getlist("ids")]
        if not raw:
            return
        if not all(value.isdigit() for value in raw):
            raise SandboxError(400, "ids[] must be integers")
        self.only_ids = tuple(sorted({int(value) for value in raw}))
        self.signature.append(("ids", self.only_ids))

    def reference(self, name: str, field_name: str) -> None:
        wanted = self.integer(name)
        if wanted is not None:
            self.add(name, wanted, lambda record: (record.get(field_name) or {}).get("id") == wanted)

    def choice(self, name: str, field_name: str, allowed: Sequence[str]) -> None:
        raw = self.args.get(name)
        if raw is None:
            return
        if raw not in allowed:
            raise SandboxError(400, f"{name} must be one of {', '.join(allowed)}")
        self.add(name, raw, lambda record: record.get(field_name) == raw)

    def text(self, fields: Sequence[str]) -> None:
        raw = self.args.get("query")
        if not raw:
            return
        needle = raw.lower()
        self.add("query", needle, lambda record: any(needle in str(record.get(f) or "").lower() for f in fields))

    def common(self) -> None:
        self.since("updated_since", "updated_at")
        self.since("created_since", "created_at")
        self.ids()

    def build(self, collection: str, order: str) -> ListQuery:
        return ListQuery(collection, tuple(self.predicates), (order, *self.signature), self.only_ids, order)


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


def _contact_text_filter(raw: str) -> Callable[[Record], bool]:
    """Clio's contact `query`: name, email and phone numbers, case-insensitive; digits match any format."""
    needle = raw.lower()
    digits = _digits(raw)
    by_digits = len(digits) >= 3 and not any(char.isalpha() for char in raw)

    def match(record: Record) -> bool:
        if needle in str(record.get("name") or "").lower():
            return True
        if needle in str(record.get("primary_email_address") or "").lower():
            return True
        for phone in record.get("phone_numbers") or ():
            number = str(phone.get("number") or "")
            if needle in number.lower() or (by_digits and digits in _digits(number)):
                return True
        return False

    return match


def _order(args: Args, allowed: Sequence[str] | None, default: str) -> str:
    raw = args.get("order")
    if raw is None:
        return default
    if allowed is None:
        raise SandboxError(400, "order is not supported on this endpoint")
    if raw not in allowed:
        raise SandboxError(400, f"order must be one of {', '.join(allowed)} (got {raw!r})")
    return raw.split("(")[0]


def _limit(args: Args) -> int:
    raw = args.get("limit")
    if raw is None:
        return MAX_LIMIT
    if not raw.lstrip("-").isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise SandboxError(400, f"limit must be an integer between 1 and {MAX_LIMIT} (got {raw!r})")
    return int(raw)


def contacts_query(args: Args) -> ListQuery:
    """Filters of `GET /contacts.json`."""
    order = _order(args, (ID_ORDER,), "id")
    filters = _Filters(args)
    filters.common()
    if filters.boolean("client_only"):
        filters.add("client_only", True, lambda record: bool(record.get("is_client")))
    filters.choice("type", "type", ("Person", "Company"))
    raw = args.get("query")
    if raw:
        filters.add("query", raw.lower(), _contact_text_filter(raw))
    return filters.build("contacts", order)


def _status_filter(raw: str) -> frozenset[str]:
    wanted = [part.strip() for part in raw.split(",") if part.strip()]
    bad = [part for part in wanted if part not in MATTER_STATUSES]
    if bad or not wanted:
        raise SandboxError(400, f"status must be a comma list of open, pending, closed (got {raw!r})")
    return frozenset(MATTER_STATUSES[part] for part in wanted)


def matters_query(args: Args) -> ListQuery:
    """Filters of `GET /matters.json` (status is lowercase in, capitalised out)."""
    order = _order(args, (ID_ORDER,), "id")
    filters = _Filters(args)
    filters.common()
    raw_status = args.get("status")
    if raw_status is not None:
        statuses = _status_filter(raw_status)
        filters.add("status", tuple(sorted(statuses)), lambda record: record.get("status") in statuses)
    client_id = filters.integer("client_id")
    if client_id is not None:
        filters.add("client_id", client_id, lambda record: record.get("client_id") == client_id)
    filters.reference("responsible_attorney_id", "responsible_attorney")
    filters.reference("practice_area_id", "practice_area")
    filters.text(("display_number", "description", "number"))
    return filters.build("matters", order)


def relationships_query(args: Args) -> ListQuery:
    """Filters of `GET /relationships.json`, which takes no `order` at all."""
    order = _order(args, None, "id")
    filters = _Filters(args)
    filters.common()
    filters.reference("matter_id", "matter")
    filters.reference("contact_id", "contact")
    return filters.build("relationships", order)


def _moment_filter(filters: _Filters, name: str, keep: Callable[[str, str], bool], *fields: str) -> None:
    """A `from`/`to` bound on an entry's times; an all-day entry's date compares as its midnight UTC."""
    raw = filters.args.get(name)
    if raw is None:
        return
    try:
        bound = format_timestamp(parse_timestamp(raw))
    except ValueError as exc:
        raise SandboxError(400, f"{name} must be an ISO-8601 timestamp (got {raw!r})") from exc

    def match(record: Record) -> bool:
        value = next((str(record[f]) for f in fields if record.get(f)), "")
        moment = f"{value}T00:00:00+00:00" if len(value) == 10 else value
        return bool(moment) and keep(moment, bound)

    filters.add(name, bound, match)


def calendar_entries_query(args: Args) -> ListQuery:
    """Filters of `GET /calendar_entries.json`, which takes no `order` (cursor paging in id order)."""
    order = _order(args, None, "id")
    filters = _Filters(args)
    filters.common()
    filters.reference("matter_id", "matter")
    all_day = filters.boolean("is_all_day")
    if all_day is not None:
        filters.add("is_all_day", all_day, lambda record: bool(record.get("all_day")) == all_day)
    # `from`: entries ending on or after it; `to`: entries beginning on or before it (Clio's wording).
    _moment_filter(filters, "from", lambda moment, bound: moment >= bound, "end_at", "start_at")
    _moment_filter(filters, "to", lambda moment, bound: moment <= bound, "start_at")
    filters.text(("summary", "description", "location"))
    return filters.build("calendar_entries", order)


def users_query(args: Args) -> ListQuery:
    """Filters of `GET /users.json`."""
    order = _order(args, (ID_ORDER,), "id")
    filters = _Filters(args)
    filters.common()
    enabled = filters.boolean("enabled")
    if enabled is not None:
        filters.add("enabled", enabled, lambda record: bool(record.get("enabled")) == enabled)
    return filters.build("users", order)


def notes_query(args: Args) -> ListQuery:
    """Filters of `GET /notes.json`; `type` is required."""
    order = _order(args, (ID_ORDER,), "id")
    if args.get("type") not in NOTE_TYPES:
        raise SandboxError(400, "type is required and must be Matter or Contact")
    filters = _Filters(args)
    filters.common()
    filters.choice("type", "type", NOTE_TYPES)
    filters.reference("matter_id", "matter")
    filters.reference("contact_id", "contact")
    filters.text(("subject", "detail"))
    return filters.build("notes", order)


def _has_participant(kind: str, wanted: int) -> Callable[[Record], bool]:
    def match(record: Record) -> bool:
        people = [*(record.get("senders") or ()), *(record.get("receivers") or ())]
        return any(person.get("type") == kind and person.get("id") == wanted for person in people)

    return match


def _external_property_filter(name: str | None, value: str | None) -> Callable[[Record], bool]:
    def match(record: Record) -> bool:
        return any(
            (name is None or prop.get("name") == name) and (value is None or prop.get("value") == value)
            for prop in record.get("external_properties") or ()
        )

    return match


def communications_query(args: Args) -> ListQuery:
    """Filters of `GET /communications.json` (default order date, as in Clio)."""
    order = _order(args, (ID_ORDER, DATE_ORDER), "date")
    filters = _Filters(args)
    filters.common()
    filters.reference("matter_id", "matter")
    filters.reference("user_id", "user")
    contact_id = filters.integer("contact_id")
    if contact_id is not None:
        filters.add("contact_id", contact_id, _has_participant("Contact", contact_id))
    filters.choice("type", "type", COMMUNICATION_TYPES)
    name, value = args.get("external_property_name"), args.get("external_property_value")
    if name is not None or value is not None:
        filters.add("external_property", (name, value), _external_property_filter(name, value))
    filters.text(("body", "subject"))
    return filters.build("communications", order)


def tasks_query(args: Args) -> ListQuery:
    """Filters of `GET /tasks.json`."""
    order = _order(args, (ID_ORDER,), "id")
    filters = _Filters(args)
    filters.common()
    filters.reference("matter_id", "matter")
    filters.reference("assignee_id", "assignee")
    filters.choice("status", "status", TASK_STATUSES)
    filters.choice("priority", "priority", TASK_PRIORITIES)
    filters.text(("name", "description"))
    return filters.build("tasks", order)


def webhooks_query(args: Args) -> ListQuery:
    """Filters of `GET /webhooks.json`."""
    order = _order(args, (ID_ORDER,), "id")
    filters = _Filters(args)
    filters.common()
    return filters.build("webhooks", order)


_INDEXES: Final[dict[str, tuple[str, Callable[[Args], ListQuery]]]] = {
    "contacts_index": ("contact", contacts_query),
    "matters_index": ("matter", matters_query),
    "relationships_index": ("relationship", relationships_query),
    "calendar_entries_index": ("calendar_entry", calendar_entries_query),
    "users_index": ("user", users_query),
    "notes_index": ("note", notes_query),
    "communications_index": ("communication", communications_query),
    "tasks_index": ("task", tasks_query),
    "webhooks_index": ("webhook", webhooks_query),
}


def _page_url(request: Request, token: str) -> str:
    """The request's own URL with every original parameter, plus the next page token."""
    pairs = [
        (key, value)
        for key, value in parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True)
        if key != "page_token"
    ]
    pairs.append(("page_token", token))
    return f"{request.base_url}?{urlencode(pairs)}"
