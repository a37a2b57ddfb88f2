"""The sandbox firm's records and the bookkeeping every change shares, so each concern changes them alike."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connector.sandbox.clio.collection import Collection
from connector.sandbox.clio.constants import (
    COMMUNICATION_ID_BASE,
    CUSTOM_ACTION_ID_BASE,
    NOTE_ID_BASE,
    PARTICIPANT,
    SUBRECORD_ID_BASE,
    TASK_ID_BASE,
    WEBHOOK_ID_BASE,
)
from connector.sandbox.clio.errors import RecordNotFound, SandboxError
from connector.sandbox.clio.fields import _COLLECTIONS, _NESTED, _REFERENCES, FieldSelection, _default_nested
from connector.sandbox.clio.queries import Cursor, ListQuery, Page
from connector.sandbox.clio.ratelimit import SandboxRateLimiter
from connector.sandbox.clio.values import _ref_id
from connector.sandbox.faults import FaultQueue
from connector.sandbox.firm import (
    CALENDAR_ENTRY_ID_BASE,
    CONTACT_ID_BASE,
    MATTER_ID_BASE,
    PRACTICE_AREA_ID_BASE,
    RELATIONSHIP_ID_BASE,
    USER_ID_BASE,
    Firm,
    Record,
    calendar_from,
    format_timestamp,
)
from connector.sandbox.stats import SandboxStats


def _etag(seed: str) -> str:
    return f'"{hashlib.blake2b(seed.encode(), digest_size=16).hexdigest()}"'


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as received; `path` is relative to /api/v4 for API calls."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    json_body: Any | None


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A change waiting for delivery to the webhooks of its model."""

    seq: int
    model: str
    event: str
    record: Record
    changed: frozenset[str]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ClioStore:
    """The firm's records by collection, the request log, limits and fault plan; one re-entrant lock guards all.

    Every change goes through the bookkeeping here (new ids and etags, `updated_at` stamps) and is
    logged as a `WebhookEvent` when some webhook watches its model.
    """

    def __init__(self, firm: Firm, clock: Callable[[], datetime] | None = None) -> None:
        self._lock = threading.RLock()
        self._clock = clock or _utc_now
        self._cols: dict[str, Collection] = {
            "users": Collection(firm.users, USER_ID_BASE),
            "practice_areas": Collection(firm.practice_areas, PRACTICE_AREA_ID_BASE),
            "contacts": Collection(firm.contacts, CONTACT_ID_BASE),
            "matters": Collection(firm.matters, MATTER_ID_BASE),
            "relationships": Collection(firm.relationships, RELATIONSHIP_ID_BASE),
            # Served as if generated today, so the firm's hearings are always in the coming days.
            "calendar_entries": Collection(calendar_from(firm.calendar_entries, self._clock()), CALENDAR_ENTRY_ID_BASE),
            "notes": Collection((), NOTE_ID_BASE),
            "communications": Collection((), COMMUNICATION_ID_BASE),
            "tasks": Collection((), TASK_ID_BASE),
            "webhooks": Collection((), WEBHOOK_ID_BASE),
            "custom_actions": Collection((), CUSTOM_ACTION_ID_BASE),
        }
        self._subrecord_ids = itertools.count(SUBRECORD_ID_BASE)
        self.record_requests = False
        self.retry_after_header = "Retry-After"
        self.faults = FaultQueue()
        self.stats = SandboxStats()
        self.rate_limiter = SandboxRateLimiter()
        self.requests: list[RecordedRequest] = []
        self._events: list[WebhookEvent] = []
        self._event_seq = 0
        self._etag_seq = 0

    # -- clock, limits, request log -----------------------------------------------------------------

    def now(self) -> datetime:
        """The state's clock (injectable for tests)."""
        return self._clock()

    def _now_text(self) -> str:
        return format_timestamp(self._clock())

    def set_rate_limit(self, limit: int | None, window_seconds: float = 60) -> None:
        """Limit each token to `limit` requests per fixed window (None lifts the limit)."""
        self.rate_limiter.configure(limit, window_seconds)

    def record(self, request: RecordedRequest) -> None:
        """Keep a request for the spec-conformance test (only while `record_requests` is on)."""
        with self._lock:
            self.requests.append(request)

    # -- reading -----------------------------------------------------------------------------------

    @property
    def me(self) -> Record:
        """The user the sandbox token belongs to: the firm's first user."""
        with self._lock:
            users = self._cols["users"]
            return users.by_id[users.ids[0]]

    def get(self, collection: str, record_id: int) -> Record:
        """A copy of one stored record (`collection` is e.g. "contacts", "notes", "webhooks")."""
        with self._lock:
            record = self._cols[collection].by_id.get(record_id)
            if record is None:
                raise RecordNotFound(f"{collection} has no record {record_id}")
            copied: Record = json.loads(json.dumps(record))
            return copied

    def ids(self, collection: str) -> list[int]:
        """Every id in a collection, ascending."""
        with self._lock:
            return list(self._cols[collection].ids)

    def count(self, collection: str) -> int:
        """How many records a collection holds."""
        with self._lock:
            return len(self._cols[collection].ids)

    def find(self, collection: str, predicate: Callable[[Record], bool]) -> list[Record]:
        """Copies of the records a predicate accepts (for assertions in tests)."""
        with self._lock:
            rows = [record for record in self._cols[collection].by_id.values() if predicate(record)]
            copied: list[Record] = json.loads(json.dumps(rows))
            return copied

    def page(self, query: ListQuery, after: Cursor, limit: int, selection: FieldSelection) -> Page:
        """Run an index query from a cursor and render one page."""
        with self._lock:
            collection = self._cols[query.collection]
            if query.order == "date":
                records, has_more = collection.scan_by_date(query, after, limit)
            else:
                records, has_more = collection.scan(query, after, limit)
            data = [self.render(selection, record) for record in records]
            last = records[-1] if records else None
            cursor = None if last is None else Cursor(self._order_key(query.order, last), last["id"])
            return Page(data, cursor, has_more, collection.count(query))

    @staticmethod
    def _order_key(order: str, record: Record) -> str:
        return str(record.get("date") or "") if order == "date" else ""

    def show(self, resource: str, record_id: int, selection: FieldSelection) -> tuple[Record, str]:
        """One record rendered, plus its etag; 404 when missing."""
        with self._lock:
            record = self._cols[_COLLECTIONS[resource]].by_id.get(record_id)
            if record is None:
                raise SandboxError(404, f"{resource.replace('_', ' ').capitalize()} {record_id} not found")
            return self.render(selection, record), str(record["etag"])

    def render(self, selection: FieldSelection, record: Record) -> Record:
        """A record reduced to the selected fields; references render the live target record."""
        nested = _NESTED.get(selection.resource, {})
        out: Record = {}
        for name, subfields in selection.items:
            value = record.get(name)
            if value is not None and name in nested:
                value = self._render_nested(selection.resource, name, value, subfields)
            out[name] = value
        return out

    def render_locked(self, selection: FieldSelection, record: Record) -> Record:
        """`render` for callers outside the state lock (the record may be changing concurrently)."""
        with self._lock:
            return self.render(selection, record)

    def _render_nested(self, owner: str, name: str, value: Any, subfields: tuple[str, ...] | None) -> Any:
        names = subfields if subfields is not None else _default_nested(_NESTED[owner][name])
        source = _REFERENCES.get((owner, name))
        if isinstance(value, list):
            return [self._project(source, item, names) for item in value]
        return self._project(source, value, names)

    def _project(self, source: str | None, item: Record, names: tuple[str, ...]) -> Record:
        full = self._resolve(source, item)
        return {name: full.get(name) for name in names}

    def _resolve(self, source: str | None, item: Record) -> Record:
        if source is None:
            return item
        if source == PARTICIPANT:
            return self._participant(item)
        return self._cols[source].by_id.get(item.get("id", 0), item)

    def _participant(self, item: Record) -> Record:
        collection = "users" if item.get("type") == "User" else "contacts"
        target = self._cols[collection].by_id.get(item.get("id", 0))
        if target is None:
            return item
        return {
            "id": target["id"],
            "etag": target["etag"],
            "type": item.get("type"),
            "name": target.get("name"),
            "initials": target.get("initials"),
            "enabled": target.get("enabled", True),
            "identifier": target.get("email") or target.get("primary_email_address"),
            "created_at": target.get("created_at"),
            "updated_at": target.get("updated_at"),
        }

    # -- bookkeeping shared by every change ----------------------------------------------------------

    def _new_etag(self, collection: str, record_id: int) -> str:
        self._etag_seq += 1
        return _etag(f"{collection}:{record_id}:{self._etag_seq}:{time.monotonic_ns()}")

    def _stamp(self, collection: str, record: Record) -> None:
        record["updated_at"] = self._now_text()
        record["etag"] = self._new_etag(collection, record["id"])
        self._cols[collection].changed()

    def _queue(self, model: str, event: str, record: Record, changed: Iterable[str] = ()) -> None:
        hooks = self._cols["webhooks"].by_id.values()
        if not any(hook["model"] == model for hook in hooks):
            return
        self._event_seq += 1
        watched = frozenset(changed) | {"etag", "updated_at"}
        self._events.append(WebhookEvent(self._event_seq, model, event, record, watched))

    def _require(self, collection: str, record_id: int) -> Record:
        record = self._cols[collection].by_id.get(record_id)
        if record is None:
            raise RecordNotFound(f"{collection} has no record {record_id}")
        return record

    def _existing(self, collection: str, reference: Any, label: str) -> int:
        record_id = _ref_id(reference, label)
        if record_id not in self._cols[collection].by_id:
            raise SandboxError(422, f"{label} {record_id} does not exist")
        return record_id

    def _new_record(self, collection: str, fields: Record) -> Record:
        stamp = self._now_text()
        record_id = self._cols[collection].allocate()
        record: Record = {"id": record_id, "etag": self._new_etag(collection, record_id)}
        record.update(fields)
        record["created_at"] = record["updated_at"] = stamp
        self._cols[collection].insert(record)
        return record
