"""The sandbox Clio Manage v4: in-memory firm state plus a WSGI app that speaks the v4 API.

Nothing in Matterline may call a real CMS, so the demo, the tests and the benchmarks talk to this
stand-in. It keeps Clio's shapes and quirks (the `data` envelope, `fields=` selection, cursor paging
through `meta.paging.next`, lowercase status filters, the two 401 body shapes, rate-limit headers,
webhooks with a handshake and HMAC signatures) because a client that works here must work there.
The field tables below were read once from Clio's published OpenAPI spec; the spec is never loaded
at runtime.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import itertools
import json
import math
import secrets
import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Final
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connector.sandbox.faults import (
    Fault,
    FaultQueue,
    RequestStats,
    control_payload,
    drop_connection,
    error_response,
    immediate_response,
    json_response,
    pause,
)
from connector.sandbox.firm import (
    CONTACT_ID_BASE,
    MATTER_ID_BASE,
    PRACTICE_AREA_ID_BASE,
    RELATIONSHIP_ID_BASE,
    USER_ID_BASE,
    Firm,
    Record,
    format_timestamp,
    generate_firm,
    today_text,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

API_PREFIX: Final = "/api/v4"
OAUTH_PATH: Final = "/oauth/token"
CONTROL_PREFIX: Final = "/_sandbox/"
API_VERSION: Final = "4.0.13"
DEFAULT_TOKEN: Final = "sandbox-token"  # noqa: S105 - a well-known sandbox fixture, not a secret
DEFAULT_CLIENT_ID: Final = "sandbox-client"
DEFAULT_CLIENT_SECRET: Final = "sandbox-secret"  # noqa: S105 - sandbox fixture
DEFAULT_REFRESH_TOKEN: Final = "sandbox-refresh"  # noqa: S105 - sandbox fixture
ACCESS_TOKEN_TTL: Final = 2_592_000
INVALID_TOKEN_BODY: Final = {
    "error": "invalid_token",
    "error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons.",
}
MAX_LIMIT: Final = 200
ID_ORDER: Final = "id(asc)"
DATE_ORDER: Final = "date(asc)"
MAX_EXTERNAL_PROPERTIES: Final = 5
MAX_WEBHOOK_FIELDS_LENGTH: Final = 1000
WEBHOOK_DEFAULT_TTL: Final = timedelta(days=3)
WEBHOOK_MAX_TTL: Final = timedelta(days=31)
WEBHOOK_TIMEOUT: Final = 5.0
WEBHOOK_MODELS: Final = (
    "matter",
    "activity",
    "bill",
    "calendar_entry",
    "communication",
    "contact",
    "task",
    "document",
    "folder",
    "clio_payments_payment",
)
WEBHOOK_EVENTS: Final = ("created", "updated", "deleted", "matter_opened", "matter_pended", "matter_closed")
MATTER_ONLY_EVENTS: Final = frozenset({"matter_opened", "matter_pended", "matter_closed"})
MATTER_STATUSES: Final = {"open": "Open", "pending": "Pending", "closed": "Closed"}
STATUS_EVENTS: Final = {"Open": "matter_opened", "Pending": "matter_pended", "Closed": "matter_closed"}
STATUS_DATES: Final = {"Open": "open_date", "Pending": "pending_date", "Closed": "close_date"}
NOTE_TYPES: Final = ("Matter", "Contact")
TEXT_TYPES: Final = ("plain_text", "rich_text")
COMMUNICATION_TYPES: Final = ("PhoneCommunication", "EmailCommunication")
PARTICIPANT_TYPES: Final = ("User", "Contact")
TASK_PRIORITIES: Final = ("High", "Normal", "Low")
TASK_STATUSES: Final = ("pending", "in_progress", "in_review", "complete")
PHONE_LABELS: Final = ("Mobile", "Work", "Home", "Personal", "Other", "Fax", "Pager", "Skype")
COUNT_CACHE_SIZE: Final = 256
PARTICIPANT: Final = "participant"
ANONYMOUS: Final = "anonymous"
NOTE_ID_BASE: Final = 70_000_000
COMMUNICATION_ID_BASE: Final = 80_000_000
TASK_ID_BASE: Final = 90_000_000
WEBHOOK_ID_BASE: Final = 1_000
SUBRECORD_ID_BASE: Final = 96_000_000
MUTATIONS: Final = frozenset(
    {
        "update_contact",
        "set_phone_numbers",
        "add_contact",
        "delete_contact",
        "update_matter",
        "close_matter",
        "add_matter",
        "delete_matter",
        "add_relationship",
        "expire_token",
        "expire_all_tokens",
        "add_token",
    }
)

# Readable field names per resource, from Clio's OpenAPI spec (Contact, Matter, ... and their nested types).
_SCALARS: Final[dict[str, str]] = {
    "account": "id etag name state created_at updated_at",
    "account_balance": "id balance type name currency_id",
    "activity": (
        "id etag type date quantity_in_hours rounded_quantity_in_hours quantity rounded_quantity "
        "quantity_redacted price note flat_rate billed on_bill total contingency_fee created_at "
        "updated_at reference non_billable non_billable_total no_charge tax_setting currency"
    ),
    "activity_description": (
        "id etag name visible_to_co_counsel created_at updated_at default type utbms_activity_id "
        "utbms_task_name utbms_task_id xero_service_code accessible_to_user category_type currency"
    ),
    "activity_rate": "id etag rate flat_rate created_at updated_at contact_id co_counsel_contact_id",
    "address": "id etag street city province postal_code country name created_at updated_at primary",
    "avatar": "id etag created_at updated_at url _destroy",
    "communication": "id etag subject body type date time_entries_count created_at updated_at received_at",
    "communication_eml_file": "id",
    "contact": (
        "id etag name first_name middle_name last_name date_of_birth type created_at updated_at prefix "
        "title initials clio_connect_email locked_clio_connect_email client_connect_user_id "
        "primary_email_address secondary_email_address primary_phone_number secondary_phone_number "
        "ledes_client_id has_clio_for_clients_permission is_client is_clio_for_client_user is_co_counsel "
        "is_bill_recipient sales_tax_number currency"
    ),
    "contingency_fee": "id etag created_at updated_at show_contingency_award",
    "custom_field_set_association": "id etag display_order created_at updated_at",
    "custom_field_value": (
        "id etag field_name created_at updated_at field_type field_required field_displayed "
        "field_display_order value soft_deleted"
    ),
    "document": ("id etag created_at updated_at deleted_at type locked name received_at filename size content_type"),
    "email_address": "id etag address name primary created_at updated_at",
    "evergreen_retainer": "id created_at updated_at etag minimum_threshold",
    "external_property": "id etag name value created_at updated_at",
    "folder": "id etag created_at updated_at deleted_at type locked name root",
    "group": "client_connect_user etag id name type updated_at",
    "instant_messenger": "id etag address name created_at updated_at",
    "job_title": "id etag name initials",
    "legal_aid_uk_contact": (
        "id disability disability_code ethnicity ethnicity_title financially_eligible gender gender_title "
        "national_insurance_number"
    ),
    "legal_aid_uk_matter": (
        "access_point laa_office_number ait_hearing_centre "
        "attended_several_hearings_acting_for_multiple_clients bill_ho_ucn bill_number_of_attendances "
        "bill_outcome_for_the_client_code bill_stage_reached_code case_reference case_start_date category "
        "category_as_string certificate_effective_date certificate_expiration_date certificate_number "
        "certificate_scope certification_type change_of_solicitor client_equal_opportunity_monitoring "
        "client_type clr_start_date clr_total_profit_costs cost_limit counsel court court_id "
        "court_id_code created_at delivery_location dscc_number duty_solicitor etag "
        "exceptional_case_funding_reference expense_limit fee_scheme first_conducting_solicitor id "
        "irc_surgery legacy_case legal_representation_number lh_total_disbursements lh_start_date "
        "lh_total_profit_costs linked_matter_id local_authority_number maat_id matter_type "
        "matter_type_code matter_type_1 matter_type_1_code matter_type_1_title matter_type_2 "
        "matter_type_2_code matter_type_2_title matter_types_combined number_of_clients_seen_at_surgery "
        "number_of_clients party police_station post_transfer_clients_represented "
        "postal_application_accepted prior_authority_reference prison_id prison_law_prior_approval_number "
        "procurement_area region related_claims_number representation_order_date "
        "schedule_reference_number scheme_id session_type solicitor_type standard_fee_category "
        "surgery_clients_resulting_in_a_legal_help_matter_opened surgery_clients surgery_date "
        "transfer_date type_of_advice type_of_service ucn ufn undesignated_area_court updated_at "
        "user_type youth_court"
    ),
    "matter": (
        "id etag number display_number custom_number currency description status location "
        "client_reference client_id billable maildrop_address billing_method open_date close_date "
        "pending_date created_at updated_at shared has_tasks last_activity_date matter_stage_updated_at"
    ),
    "matter_bill_recipient": "created_at etag id updated_at",
    "matter_budget": ("id etag budget include_expenses notification_threshold notify_users created_at updated_at"),
    "matter_custom_rate": "type on_invoice",
    "matter_stage": "id etag practice_area_id name order created_at updated_at",
    "note": "id etag type subject detail detail_text_type date created_at updated_at time_entries_count",
    "notification_event_subscriber": "id etag user_id name created_at updated_at",
    "notification_method": "id etag type email_address is_default_email_address created_at updated_at",
    "participant": (
        "id etag created_at updated_at type identifier secondary_identifier enabled name initials job_title_name"
    ),
    "payment_profile": (
        "id etag created_at updated_at billing_setting_id name terms discount_rate discount_period "
        "interest_rate interest_period interest_type"
    ),
    "phone_number": "id etag number name primary created_at updated_at",
    "practice_area": "id etag created_at updated_at name category code",
    "relationship": "id etag description created_at updated_at",
    "reminder": "id etag duration next_delivery_at state created_at updated_at",
    "split_invoice_payer": ("id contact_id matter_id send_to_bill_recipients split_portion etag created_at updated_at"),
    "task": (
        "id etag name status description description_text_type priority due_at permission completed_at "
        "notify_completion statute_of_limitations time_estimated created_at updated_at time_entries_count"
    ),
    "task_template_list_instance": "id etag created_at updated_at",
    "task_type": "id etag name deleted_at created_at updated_at",
    "user": (
        "account_owner clio_connect court_rules_default_attendee created_at default_calendar_id email "
        "enabled etag first_name id initials last_name name phone_number rate roles subscription_type "
        "time_zone updated_at"
    ),
    "web_site": "id etag address name default_web_site created_at updated_at",
    "webhook": "id etag url fields shared_secret model status events expires_at created_at updated_at",
}
_NESTED: Final[dict[str, dict[str, str]]] = {
    "contact": {
        "activity_rates": "activity_rate",
        "addresses": "address",
        "custom_field_values": "custom_field_value",
        "custom_field_set_associations": "custom_field_set_association",
        "email_addresses": "email_address",
        "instant_messengers": "instant_messenger",
        "phone_numbers": "phone_number",
        "web_sites": "web_site",
        "notification_methods": "notification_method",
        "account_balances": "account_balance",
        "related_contacts": "contact",
        "primary_work_address": "address",
        "primary_address": "address",
        "secondary_address": "address",
        "company": "contact",
        "avatar": "avatar",
        "payment_profile": "payment_profile",
        "folder": "folder",
        "co_counsel_rate": "activity_rate",
        "primary_web_site": "web_site",
        "legal_aid_uk_contact": "legal_aid_uk_contact",
    },
    "matter": {
        "client": "contact",
        "contingency_fee": "contingency_fee",
        "custom_rate": "matter_custom_rate",
        "evergreen_retainer": "evergreen_retainer",
        "folder": "folder",
        "group": "group",
        "matter_budget": "matter_budget",
        "matter_stage": "matter_stage",
        "originating_attorney": "user",
        "practice_area": "practice_area",
        "responsible_attorney": "user",
        "statute_of_limitations": "task",
        "user": "user",
        "legal_aid_uk_matter": "legal_aid_uk_matter",
        "account_balances": "account_balance",
        "custom_field_values": "custom_field_value",
        "custom_field_set_associations": "custom_field_set_association",
        "matter_bill_recipients": "matter_bill_recipient",
        "relationships": "relationship",
        "task_template_list_instances": "task_template_list_instance",
        "split_invoice_payers": "split_invoice_payer",
    },
    "relationship": {"matter": "matter", "contact": "contact"},
    "note": {
        "matter": "matter",
        "contact": "contact",
        "author": "user",
        "time_entries": "activity",
        "notification_event_subscribers": "notification_event_subscriber",
    },
    "communication": {
        "user": "user",
        "matter": "matter",
        "communication_eml_file": "communication_eml_file",
        "senders": "participant",
        "receivers": "participant",
        "external_properties": "external_property",
        "time_entries": "activity",
        "documents": "document",
        "notification_event_subscribers": "notification_event_subscriber",
    },
    "task": {
        "time_entries": "activity",
        "task_type": "task_type",
        "assigner": "user",
        "matter": "matter",
        "assignee": "participant",
        "reminders": "reminder",
    },
    "webhook": {"user": "user"},
    "user": {
        "default_activity_description": "activity_description",
        "notification_methods": "notification_method",
        "account": "account",
        "avatar": "avatar",
        "contact": "contact",
        "job_title": "job_title",
        "groups": "group",
    },
}
_SCALAR_SETS: Final[dict[str, frozenset[str]]] = {name: frozenset(text.split()) for name, text in _SCALARS.items()}

# Which nested fields point at a record the sandbox stores (rendered live), by (owner, field).
_REFERENCES: Final[dict[tuple[str, str], str]] = {
    ("matter", "client"): "contacts",
    ("matter", "responsible_attorney"): "users",
    ("matter", "originating_attorney"): "users",
    ("matter", "user"): "users",
    ("matter", "practice_area"): "practice_areas",
    ("contact", "company"): "contacts",
    ("contact", "related_contacts"): "contacts",
    ("relationship", "matter"): "matters",
    ("relationship", "contact"): "contacts",
    ("note", "matter"): "matters",
    ("note", "contact"): "contacts",
    ("note", "author"): "users",
    ("communication", "matter"): "matters",
    ("communication", "user"): "users",
    ("communication", "senders"): PARTICIPANT,
    ("communication", "receivers"): PARTICIPANT,
    ("task", "matter"): "matters",
    ("task", "assignee"): PARTICIPANT,
    ("task", "assigner"): "users",
    ("webhook", "user"): "users",
}
# What a nested resource named without braces returns (Clio's "default fields").
_DEFAULT_NESTED: Final[dict[str, tuple[str, ...]]] = {
    "contact": ("id", "etag", "name"),
    "user": ("id", "etag", "name"),
    "matter": ("id", "etag", "display_number"),
    "practice_area": ("id", "etag", "name"),
    "participant": ("id", "etag", "type", "name"),
    "phone_number": ("id", "etag", "number", "name", "primary"),
    "address": ("id", "etag", "street", "city", "province", "postal_code", "country"),
    "email_address": ("id", "etag", "address", "name", "primary"),
    "external_property": ("id", "etag", "name", "value"),
}
_COLLECTIONS: Final[dict[str, str]] = {
    "contact": "contacts",
    "matter": "matters",
    "relationship": "relationships",
    "note": "notes",
    "communication": "communications",
    "task": "tasks",
    "webhook": "webhooks",
    "user": "users",
    "practice_area": "practice_areas",
}
_READ_ONLY: Final = frozenset({"id", "etag", "created_at", "updated_at"})
CONTACT_EDITABLE: Final = _SCALAR_SETS["contact"].union(_NESTED["contact"]) - _READ_ONLY
MATTER_EDITABLE: Final = _SCALAR_SETS["matter"].union(_NESTED["matter"]) - _READ_ONLY


class ApiError(Exception):
    """A request the API refuses; carries the HTTP status and Clio's error message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class RecordNotFound(KeyError):
    """A Python-side mutation named a record the sandbox does not hold."""


@dataclass(frozen=True, slots=True)
class FieldSelection:
    """A parsed `fields=` value: top-level names, each with its braced sub-fields (or None)."""

    resource: str
    items: tuple[tuple[str, tuple[str, ...] | None], ...]

    @property
    def names(self) -> frozenset[str]:
        """The top-level field names selected."""
        return frozenset(name for name, _ in self.items)


_ID_ONLY: Final = (("id", None), ("etag", None))


def _scalars(resource: str) -> frozenset[str]:
    return _SCALAR_SETS.get(resource, frozenset({"id", "etag"}))


def _split_top_level(text: str) -> list[str]:
    """Split a fields string on the commas outside braces."""
    parts: list[str] = []
    depth = start = 0
    for index, char in enumerate(text):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                raise ApiError(400, f"Invalid fields parameter: unbalanced '}}' in {text!r}")
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    if depth:
        raise ApiError(400, f"Invalid fields parameter: unbalanced '{{' in {text!r}")
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


def _parse_field(resource: str, part: str, unknown: list[str]) -> tuple[str, tuple[str, ...] | None]:
    name, brace, rest = part.partition("{")
    name = name.strip()
    nested = _NESTED.get(resource, {})
    if name not in _scalars(resource) and name not in nested:
        unknown.append(name)
        return name, None
    if not brace:
        return name, None
    if name not in nested:
        raise ApiError(400, f"Invalid fields parameter: {name} is not a nested resource")
    if not rest.endswith("}"):
        raise ApiError(400, f"Invalid fields parameter: {part!r}")
    inner = rest[:-1]
    if "{" in inner:
        raise ApiError(400, f"Invalid fields parameter: nesting deeper than one level is not supported ({part})")
    target = _scalars(nested[name])
    subfields = tuple(sub.strip() for sub in inner.split(",") if sub.strip())
    unknown.extend(f"{name}{{{sub}}}" for sub in subfields if sub not in target)
    return name, subfields


@lru_cache(maxsize=1024)
def parse_fields(resource: str, text: str | None) -> FieldSelection:
    """Parse and check a `fields=` value for a resource; without one, Clio returns id and etag.

    Raises:
        ApiError: 400 naming any unknown field, a second nesting level, or malformed braces.
    """
    if text is None or not text.strip():
        return FieldSelection(resource, _ID_ONLY)
    unknown: list[str] = []
    items = tuple(_parse_field(resource, part, unknown) for part in _split_top_level(text))
    if unknown:
        raise ApiError(400, f"Invalid fields parameter: unknown field(s) {', '.join(unknown)}")
    return FieldSelection(resource, items)


def _default_nested(target: str) -> tuple[str, ...]:
    return _DEFAULT_NESTED.get(target, ("id", "etag"))


def parse_timestamp(text: str) -> datetime:
    """Read an ISO-8601 timestamp or date; naive values are UTC; a '+' eaten by form-decoding is restored."""
    value = text.strip()
    if len(value) > 6 and value[-6] == " " and value[-3] == ":":
        value = f"{value[:-6]}+{value[-5:]}"
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _threshold(moment: datetime) -> str:
    """The record timestamp text a `*_since` value means: stored times are whole seconds, so round up."""
    whole = moment.replace(microsecond=0)
    return format_timestamp(whole if whole == moment else whole + timedelta(seconds=1))


def _etag(seed: str) -> str:
    return f'"{hashlib.blake2b(seed.encode(), digest_size=16).hexdigest()}"'


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
        raise ApiError(400, "Invalid page_token") from exc
    if token_order != order:
        raise ApiError(400, "Invalid page_token for this order")
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


class _Collection:
    """Records of one resource by id, plus the ascending id list cursor paging bisects."""

    __slots__ = ("by_id", "counts", "ids", "last_id", "version")

    def __init__(self, records: Iterable[Record], id_base: int) -> None:
        self.by_id: dict[int, Record] = {record["id"]: record for record in records}
        self.ids: list[int] = sorted(self.by_id)
        self.last_id = self.ids[-1] if self.ids else id_base
        self.version = 0
        self.counts: dict[tuple[Any, ...], int] = {}

    def allocate(self) -> int:
        self.last_id += 1
        return self.last_id

    def insert(self, record: Record) -> None:
        self.by_id[record["id"]] = record
        self.ids.insert(bisect_right(self.ids, record["id"]), record["id"])
        self.changed()

    def remove(self, record_id: int) -> Record:
        record = self.by_id.pop(record_id)
        del self.ids[bisect_right(self.ids, record_id) - 1]
        self.changed()
        return record

    def changed(self) -> None:
        self.version += 1
        self.counts.clear()

    def candidates(self, only_ids: tuple[int, ...] | None) -> list[int]:
        if only_ids is None:
            return self.ids
        return sorted({record_id for record_id in only_ids if record_id in self.by_id})

    def count(self, query: ListQuery) -> int:
        cached = self.counts.get(query.signature)
        if cached is not None:
            return cached
        candidates = self.candidates(query.only_ids)
        if query.predicates:
            total = sum(1 for record_id in candidates if query.matches(self.by_id[record_id]))
        else:
            total = len(candidates)
        if len(self.counts) >= COUNT_CACHE_SIZE:
            self.counts.clear()
        self.counts[query.signature] = total
        return total

    def scan(self, query: ListQuery, after: Cursor, limit: int) -> tuple[list[Record], bool]:
        """Records after the cursor in id order, up to `limit`, and whether more follow."""
        candidates = self.candidates(query.only_ids)
        found: list[Record] = []
        for record_id in itertools.islice(candidates, bisect_right(candidates, after.record_id), None):
            record = self.by_id[record_id]
            if not query.predicates or query.matches(record):
                if len(found) == limit:
                    return found, True
                found.append(record)
        return found, False

    def scan_by_date(self, query: ListQuery, after: Cursor, limit: int) -> tuple[list[Record], bool]:
        """Same as `scan`, ordered by (date, id): Clio's default order for communications."""
        rows = sorted(
            (str(record.get("date") or ""), record["id"], record)
            for record in (self.by_id[record_id] for record_id in self.candidates(query.only_ids))
            if query.matches(record)
        )
        keys = [(key, record_id) for key, record_id, _ in rows]
        start = bisect_right(keys, (after.key, after.record_id))
        chosen = [record for _, _, record in rows[start : start + limit]]
        return chosen, start + limit < len(rows)


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The rate-limit verdict for one request and the header values that report it."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    retry_after: int


class RateLimiter:
    """Fixed windows aligned to multiples of the window on the epoch clock, counted per access token."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.limit: int | None = None
        self.window = 60.0
        self._counts: dict[str, tuple[float, int]] = {}

    def configure(self, limit: int | None, window_seconds: float = 60.0) -> None:
        """Set (or with None, lift) the limit; counting restarts."""
        if limit is not None and limit < 1:
            raise ValueError("rate limit must be at least 1 request per window")
        if window_seconds <= 0:
            raise ValueError("rate window must be positive")
        with self._lock:
            self.limit, self.window = limit, float(window_seconds)
            self._counts.clear()

    def hit(self, key: str) -> RateDecision | None:
        """Count one request for a token; None when no limit is configured."""
        with self._lock:
            if self.limit is None:
                return None
            now = self._clock()
            start = math.floor(now / self.window) * self.window
            window_start, used = self._counts.get(key, (start, 0))
            used = used + 1 if window_start == start else 1
            self._counts[key] = (start, used)
            end = start + self.window
            return RateDecision(
                allowed=used <= self.limit,
                limit=self.limit,
                remaining=max(self.limit - used, 0),
                reset=math.ceil(end),
                retry_after=max(1, math.ceil(end - now)),
            )


class SandboxStats(RequestStats):
    """Counters a benchmark or test reads back: requests, per endpoint, 429s, refreshes, faults."""

    COUNTERS: ClassVar[tuple[str, ...]] = ("total_requests", "rate_limited", "refreshes", "faults_fired")
    rate_limited: int
    refreshes: int
    faults_fired: int


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


@dataclass(slots=True)
class _HookState:
    """Delivery bookkeeping for one webhook: events after `since` reach it; watched-field rule state."""

    since: int
    fired_update: bool = False
    pending_handshake: bool = True


@dataclass(frozen=True, slots=True)
class _Delivery:
    hook_id: int
    url: str
    secret: str
    event: str
    body: bytes


class OAuthError(Exception):
    """A refresh the token endpoint refuses, with its RFC 6749 error code and status."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _is_id(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and value.isdigit())


def _ref_id(value: Any, label: str) -> int:
    """The id inside a `{"id": ...}` reference (ints or digit strings, as Rails accepts)."""
    if not isinstance(value, Mapping) or not _is_id(value.get("id")):
        raise ApiError(422, f"{label} must be an object with a numeric id")
    return int(value["id"])


def _require_text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(422, f"{key} can't be blank")
    return value


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ApiError(422, f"{key} must be a string")
    return value


def _enum(value: Any, allowed: Sequence[str], label: str) -> str:
    if value not in allowed:
        raise ApiError(422, f"{label} must be one of {', '.join(allowed)} (got {value!r})")
    return str(value)


def _date_text(value: Any, label: str) -> str:
    """A YYYY-MM-DD date, as Clio's date fields take."""
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError as exc:
        raise ApiError(422, f"{label} must be a date (YYYY-MM-DD)") from exc


def _moment(value: Any, label: str) -> datetime:
    if not isinstance(value, str):
        raise ApiError(422, f"{label} must be an ISO-8601 timestamp")
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise ApiError(422, f"{label} must be an ISO-8601 timestamp") from exc


def _date_or_moment(value: Any, label: str) -> str:
    """Clio's loosely typed date fields: a plain date stays a date, a timestamp is normalised to UTC."""
    text = str(value)
    if len(text) == 10:
        return _date_text(text, label)
    return format_timestamp(_moment(text, label))


def _webhook_model(value: Any) -> str:
    """A webhook model by name or by Clio's numeric id (1 = matter ... 10 = clio_payments_payment)."""
    if _is_id(value) and 1 <= int(value) <= len(WEBHOOK_MODELS):
        return WEBHOOK_MODELS[int(value) - 1]
    return _enum(value, WEBHOOK_MODELS, "model")


def _webhook_events(value: Any, model: str) -> list[str]:
    if value is None:
        return ["created", "updated", "deleted", *(sorted(MATTER_ONLY_EVENTS) if model == "matter" else [])]
    if not isinstance(value, list) or not value:
        raise ApiError(422, "events must be a non-empty list")
    events = [_enum(event, WEBHOOK_EVENTS, "events") for event in value]
    if model != "matter" and MATTER_ONLY_EVENTS.intersection(events):
        raise ApiError(422, "matter_opened, matter_pended and matter_closed are only valid for the matter model")
    if model == "clio_payments_payment" and "deleted" in events:
        raise ApiError(422, "clio_payments_payment webhooks support only created and updated")
    return events


def _webhook_fields(value: Any, model: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ApiError(422, "fields can't be blank")
    if len(value) > MAX_WEBHOOK_FIELDS_LENGTH:
        raise ApiError(422, f"fields is limited to {MAX_WEBHOOK_FIELDS_LENGTH} characters")
    if model in _SCALAR_SETS:
        try:
            parse_fields(model, value)
        except ApiError as exc:
            raise ApiError(422, exc.message) from exc
    return value


def _sign(secret: str, body: bytes) -> str:
    """Clio's X-Hook-Signature: hex HMAC-SHA256 of the raw body, keyed by the webhook's shared secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _post(url: str, body: bytes, headers: Mapping[str, str]) -> requests.Response | None:
    try:
        return requests.post(url, data=body, headers=dict(headers), timeout=WEBHOOK_TIMEOUT)
    except requests.RequestException:
        return None


class ClioState:
    """The sandbox firm's data, tokens, limits and fault plan; shared by every server thread.

    Python-side mutations (`update_contact`, `close_matter`, ...) stand in for staff editing Clio:
    each bumps `updated_at` to the state's clock, changes the `etag`, and queues webhook events.
    """

    def __init__(
        self,
        firm: Firm | None = None,
        *,
        tokens: Iterable[str] = (DEFAULT_TOKEN,),
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        refresh_token: str = DEFAULT_REFRESH_TOKEN,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        firm = firm if firm is not None else generate_firm(40, 25)
        self._lock = threading.RLock()
        self._clock = clock or _utc_now
        self._cols: dict[str, _Collection] = {
            "users": _Collection(firm.users, USER_ID_BASE),
            "practice_areas": _Collection(firm.practice_areas, PRACTICE_AREA_ID_BASE),
            "contacts": _Collection(firm.contacts, CONTACT_ID_BASE),
            "matters": _Collection(firm.matters, MATTER_ID_BASE),
            "relationships": _Collection(firm.relationships, RELATIONSHIP_ID_BASE),
            "notes": _Collection((), NOTE_ID_BASE),
            "communications": _Collection((), COMMUNICATION_ID_BASE),
            "tasks": _Collection((), TASK_ID_BASE),
            "webhooks": _Collection((), WEBHOOK_ID_BASE),
        }
        self._subrecord_ids = itertools.count(SUBRECORD_ID_BASE)
        self._tokens = set(tokens)
        self.client_id, self.client_secret, self.refresh_token = client_id, client_secret, refresh_token
        self.refresh_disabled = False
        self.allow_http_webhooks = False
        self.record_requests = False
        self.retry_after_header = "Retry-After"
        self.faults = FaultQueue()
        self.stats = SandboxStats()
        self.rate_limiter = RateLimiter()
        self.requests: list[RecordedRequest] = []
        self._events: list[WebhookEvent] = []
        self._event_seq = 0
        self._etag_seq = 0
        self._hooks: dict[int, _HookState] = {}

    # -- clock, tokens, limits -------------------------------------------------------------------

    def now(self) -> datetime:
        """The state's clock (injectable for tests)."""
        return self._clock()

    def _now_text(self) -> str:
        return format_timestamp(self._clock())

    @property
    def tokens(self) -> frozenset[str]:
        """The access tokens currently accepted."""
        with self._lock:
            return frozenset(self._tokens)

    def is_valid_token(self, token: str) -> bool:
        """True when a bearer token is known and not expired."""
        with self._lock:
            return token in self._tokens

    def add_token(self, token: str) -> None:
        """Accept another access token (e.g. a second user's)."""
        with self._lock:
            self._tokens.add(token)

    def expire_token(self, token: str) -> None:
        """Make a token fail with Clio's `invalid_token` 401 from now on."""
        with self._lock:
            self._tokens.discard(token)

    def expire_all_tokens(self) -> None:
        """Expire every access token; only a refresh gets the client back in."""
        with self._lock:
            self._tokens.clear()

    def refresh(self, form: Mapping[str, str]) -> dict[str, Any]:
        """Answer `POST /oauth/token` with grant_type=refresh_token; Clio does not rotate the refresh token.

        Raises:
            OAuthError: invalid_request / unsupported_grant_type / invalid_client / invalid_grant.
        """
        if form.get("grant_type") != "refresh_token":
            raise OAuthError(400, "unsupported_grant_type" if form.get("grant_type") else "invalid_request")
        client_ok = hmac.compare_digest(form.get("client_id", ""), self.client_id) and hmac.compare_digest(
            form.get("client_secret", ""), self.client_secret
        )
        if not client_ok:
            raise OAuthError(401, "invalid_client")
        if self.refresh_disabled or not hmac.compare_digest(form.get("refresh_token", ""), self.refresh_token):
            raise OAuthError(400, "invalid_grant")
        token = secrets.token_urlsafe(32)
        self.add_token(token)
        self.stats.bump("refreshes")
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": ACCESS_TOKEN_TTL,
            "refresh_token": self.refresh_token,
        }

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
                raise ApiError(404, f"{resource.replace('_', ' ').capitalize()} {record_id} not found")
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
            raise ApiError(422, f"{label} {record_id} does not exist")
        return record_id

    def _new_record(self, collection: str, fields: Record) -> Record:
        stamp = self._now_text()
        record_id = self._cols[collection].allocate()
        record: Record = {"id": record_id, "etag": self._new_etag(collection, record_id)}
        record.update(fields)
        record["created_at"] = record["updated_at"] = stamp
        self._cols[collection].insert(record)
        return record

    # -- contacts ------------------------------------------------------------------------------------

    def _phone_rows(self, numbers: Sequence[str | Mapping[str, Any]]) -> list[Record]:
        stamp = self._now_text()
        rows: list[Record] = []
        for index, entry in enumerate(numbers):
            spec: Mapping[str, Any] = {"number": entry} if isinstance(entry, str) else entry
            label = spec.get("name", "Mobile" if index == 0 else "Work")
            if label not in PHONE_LABELS:
                raise ValueError(f"phone label must be one of {', '.join(PHONE_LABELS)}")
            row_id = next(self._subrecord_ids)
            rows.append(
                {
                    "id": row_id,
                    "etag": self._new_etag("phone_numbers", row_id),
                    "number": str(spec["number"]),
                    "name": label,
                    "primary": bool(spec.get("primary", index == 0)),
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
        return rows

    @staticmethod
    def _apply_phones(record: Record, rows: list[Record]) -> None:
        primary = next((row for row in rows if row["primary"]), None)
        others = [row for row in rows if row is not primary]
        record["phone_numbers"] = rows
        record["primary_phone_number"] = primary["number"] if primary else None
        record["secondary_phone_number"] = others[0]["number"] if others else None

    def update_contact(self, contact_id: int, **changes: Any) -> None:
        """Edit a contact as staff would; `phone_numbers` may be a list of strings or dicts."""
        unknown = sorted(set(changes) - CONTACT_EDITABLE)
        if unknown:
            raise ValueError(f"not an editable contact field: {', '.join(unknown)}")
        with self._lock:
            record = self._require("contacts", contact_id)
            phones = changes.pop("phone_numbers", None)
            record.update(changes)
            if phones is not None:
                self._apply_phones(record, self._phone_rows(phones))
            if "name" not in changes and {"first_name", "last_name"} & set(changes) and record.get("type") == "Person":
                record["name"] = " ".join(p for p in (record.get("first_name"), record.get("last_name")) if p)
            self._stamp("contacts", record)
            self._queue("contact", "updated", record, {*changes, *(["phone_numbers"] if phones else [])})

    def set_phone_numbers(self, contact_id: int, numbers: Sequence[str | Mapping[str, Any]]) -> None:
        """Replace a contact's phone numbers; the first is primary unless one says otherwise."""
        self.update_contact(contact_id, phone_numbers=list(numbers))

    def add_contact(
        self,
        *,
        name: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        type: str = "Person",
        is_client: bool = True,
        phone_numbers: Sequence[str | Mapping[str, Any]] = (),
        email: str | None = None,
    ) -> int:
        """Create a contact; a Person needs a first or last name, a Company a name."""
        if type not in ("Person", "Company"):
            raise ValueError("type must be Person or Company")
        full = name or " ".join(part for part in (first_name, last_name) if part)
        if not full:
            raise ValueError("At least one of first name or last name must be provided")
        fields: Record = {"name": full, "type": type, "is_client": is_client}
        if type == "Person":
            fields.update(first_name=first_name, last_name=last_name)
        if email:
            fields["primary_email_address"] = email
        with self._lock:
            record = self._new_record("contacts", fields)
            self._apply_phones(record, self._phone_rows(phone_numbers))
            self._queue("contact", "created", record)
            return int(record["id"])

    def delete_contact(self, contact_id: int) -> None:
        """Delete a contact (its webhook event carries only the id)."""
        with self._lock:
            self._require("contacts", contact_id)
            self._cols["contacts"].remove(contact_id)
            self._queue("contact", "deleted", {"id": contact_id})

    # -- matters -------------------------------------------------------------------------------------

    def _matter_changes(self, changes: dict[str, Any], record: Record) -> list[str]:
        events = ["updated"]
        if "status" in changes:
            status = MATTER_STATUSES.get(str(changes["status"]).lower())
            if status is None:
                raise ValueError("status must be Open, Pending or Closed")
            changes["status"] = status
            if status != record.get("status"):
                events.append(STATUS_EVENTS[status])
                changes.setdefault(STATUS_DATES[status], today_text(self._clock()))
        if "client" in changes:
            client = self._require("contacts", _plain_id(changes["client"]))
            changes["client"] = {"id": client["id"], "name": client["name"]}
            changes["client_id"] = client["id"]
        for key in ("responsible_attorney", "originating_attorney"):
            if key in changes:
                user = self._require("users", _plain_id(changes[key]))
                changes[key] = {"id": user["id"], "name": user["name"]}
        return events

    def update_matter(self, matter_id: int, **changes: Any) -> None:
        """Edit a matter; a status change also queues matter_opened/pended/closed."""
        unknown = sorted(set(changes) - MATTER_EDITABLE)
        if unknown:
            raise ValueError(f"not an editable matter field: {', '.join(unknown)}")
        with self._lock:
            record = self._require("matters", matter_id)
            events = self._matter_changes(changes, record)
            record.update(changes)
            self._stamp("matters", record)
            for event in events:
                self._queue("matter", event, record, changes)

    def close_matter(self, matter_id: int) -> None:
        """Close a matter (status Closed, close_date today)."""
        self.update_matter(matter_id, status="Closed")

    def add_matter(
        self,
        client_id: int,
        description: str,
        *,
        status: str = "Open",
        responsible_attorney_id: int | None = None,
        practice_area_id: int | None = None,
    ) -> int:
        """Open a matter for a client; the display number follows Clio's `00042-Name` style."""
        state = MATTER_STATUSES.get(status.lower())
        if state is None:
            raise ValueError("status must be Open, Pending or Closed")
        with self._lock:
            client = self._require("contacts", client_id)
            attorney = self._require("users", responsible_attorney_id or self.me["id"])
            matters = self._cols["matters"]
            number = max((matters.by_id[i].get("number", 0) for i in matters.ids[-1:]), default=0) + 1
            label = str(client.get("last_name") or client["name"]).split(" ")[0]
            fields: Record = {
                "number": number,
                "display_number": f"{number:05d}-{label}",
                "description": description,
                "status": state,
                "client": {"id": client["id"], "name": client["name"]},
                "client_id": client["id"],
                "responsible_attorney": {"id": attorney["id"], "name": attorney["name"]},
                "billable": True,
                "open_date": today_text(self._clock()),
            }
            if practice_area_id is not None:
                area = self._require("practice_areas", practice_area_id)
                fields["practice_area"] = {"id": area["id"], "name": area["name"]}
            record = self._new_record("matters", fields)
            self._queue("matter", "created", record)
            return int(record["id"])

    def delete_matter(self, matter_id: int) -> None:
        """Delete a matter and the relationships that pointed at it."""
        with self._lock:
            self._require("matters", matter_id)
            self._cols["matters"].remove(matter_id)
            links = self._cols["relationships"]
            for row_id in [i for i in links.ids if links.by_id[i]["matter"]["id"] == matter_id]:
                links.remove(row_id)
            self._queue("matter", "deleted", {"id": matter_id})

    def add_relationship(self, matter_id: int, contact_id: int, description: str = "Spouse") -> int:
        """Relate a contact to a matter (spouse, guardian, opposing party ...)."""
        with self._lock:
            self._require("matters", matter_id)
            self._require("contacts", contact_id)
            fields = {"description": description, "matter": {"id": matter_id}, "contact": {"id": contact_id}}
            return int(self._new_record("relationships", fields)["id"])

    def touch(self, resource: str, count: int) -> list[int]:
        """Bump `updated_at` of `count` records spread evenly across the id range; returns their ids."""
        if resource not in ("contacts", "matters"):
            raise ValueError("resource must be contacts or matters")
        with self._lock:
            ids = self._cols[resource].ids
            if count <= 0 or not ids:
                return []
            step = max(len(ids) / count, 1.0)
            chosen = sorted({ids[int(index * step)] for index in range(min(count, len(ids)))})
            model = "contact" if resource == "contacts" else "matter"
            for record_id in chosen:
                record = self._cols[resource].by_id[record_id]
                self._stamp(resource, record)
                self._queue(model, "updated", record)
            return chosen

    # -- writes through the API ----------------------------------------------------------------------

    def create_note(self, data: Mapping[str, Any]) -> Record:
        """`POST /notes.json`: only the object matching `type` is required (the spec's list is wrong)."""
        note_type = _enum(data.get("type"), NOTE_TYPES, "type")
        fields: Record = {
            "type": note_type,
            "subject": _optional_text(data, "subject") or "",
            "detail": _optional_text(data, "detail") or "",
            "detail_text_type": _enum(data.get("detail_text_type", "plain_text"), TEXT_TYPES, "detail_text_type"),
            "time_entries_count": 0,
        }
        with self._lock:
            fields["date"] = _date_text(data["date"], "date") if data.get("date") else today_text(self._clock())
            if note_type == "Matter":
                fields["matter"] = {"id": self._existing("matters", data.get("matter"), "matter")}
            else:
                fields["contact"] = {"id": self._existing("contacts", data.get("contact"), "contact")}
            fields["author"] = {"id": self.me["id"]}
            return self._new_record("notes", fields)

    def _external_properties(self, value: Any) -> list[Record]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise ApiError(422, "external_properties must be a list")
        if len(value) > MAX_EXTERNAL_PROPERTIES:
            raise ApiError(422, f"A communication can have at most {MAX_EXTERNAL_PROPERTIES} external properties")
        stamp = self._now_text()
        rows: list[Record] = []
        for entry in value:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str) or not entry["name"]:
                raise ApiError(422, "each external property needs a name and a value")
            row_id = next(self._subrecord_ids)
            rows.append(
                {
                    "id": row_id,
                    "etag": self._new_etag("external_properties", row_id),
                    "name": entry["name"],
                    "value": str(entry.get("value", "")),
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
        return rows

    def _participants(self, value: Any, label: str) -> list[Record]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise ApiError(422, f"{label} must be a list")
        rows: list[Record] = []
        for entry in value:
            kind = _enum(entry.get("type") if isinstance(entry, Mapping) else None, PARTICIPANT_TYPES, f"{label}.type")
            collection = "users" if kind == "User" else "contacts"
            rows.append({"id": self._existing(collection, entry, f"{label} {kind}"), "type": kind})
        return rows

    def create_communication(self, data: Mapping[str, Any]) -> Record:
        """`POST /communications.json`: body, subject and type are required; at most 5 external properties."""
        fields: Record = {
            "body": _require_text(data, "body"),
            "subject": _require_text(data, "subject"),
            "type": _enum(data.get("type"), COMMUNICATION_TYPES, "type"),
            "time_entries_count": 0,
        }
        with self._lock:
            fields["external_properties"] = self._external_properties(data.get("external_properties"))
            fields["senders"] = self._participants(data.get("senders"), "senders")
            fields["receivers"] = self._participants(data.get("receivers"), "receivers")
            if data.get("matter") is not None:
                fields["matter"] = {"id": self._existing("matters", data["matter"], "matter")}
            stamp = self._clock()
            fields["date"] = _date_or_moment(data["date"], "date") if data.get("date") else today_text(stamp)
            received = data.get("received_at")
            fields["received_at"] = format_timestamp(_moment(received, "received_at") if received else stamp)
            fields["user"] = {"id": self.me["id"]}
            record = self._new_record("communications", fields)
            self._queue("communication", "created", record)
            return record

    def create_task(self, data: Mapping[str, Any]) -> Record:
        """`POST /tasks.json`: name, description and assignee{id,type} are required."""
        fields: Record = {
            "name": _require_text(data, "name"),
            "description": _require_text(data, "description"),
            "priority": _enum(data.get("priority", "Normal"), TASK_PRIORITIES, "priority"),
            "status": _enum(data.get("status", "pending"), TASK_STATUSES, "status"),
            "description_text_type": _enum(
                data.get("description_text_type", "plain_text"), TEXT_TYPES, "description_text_type"
            ),
            "time_entries_count": 0,
        }
        if not isinstance(data.get("assignee"), Mapping):
            raise ApiError(422, "assignee can't be blank")
        with self._lock:
            fields["assignee"] = self._participants([data["assignee"]], "assignee")[0]
            if data.get("matter") is not None:
                fields["matter"] = {"id": self._existing("matters", data["matter"], "matter")}
            if data.get("due_at"):
                fields["due_at"] = _date_or_moment(data["due_at"], "due_at")
            fields["assigner"] = {"id": self.me["id"]}
            record = self._new_record("tasks", fields)
            self._queue("task", "created", record)
            return record

    # -- webhooks ------------------------------------------------------------------------------------

    def _webhook_url(self, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ApiError(422, "url can't be blank")
        parts = urlsplit(value)
        allowed = ("https", "http") if self.allow_http_webhooks else ("https",)
        if parts.scheme not in allowed or not parts.netloc:
            raise ApiError(422, "url must be a valid https URL")
        return value

    def _webhook_expiry(self, value: Any) -> str:
        now = self._clock()
        moment = now + WEBHOOK_DEFAULT_TTL if value is None else _moment(value, "expires_at")
        if moment <= now:
            raise ApiError(422, "expires_at must be in the future")
        if moment > now + WEBHOOK_MAX_TTL:
            raise ApiError(422, "expires_at cannot be more than 31 days in the future")
        return format_timestamp(moment)

    def create_webhook(self, data: Mapping[str, Any]) -> Record:
        """`POST /webhooks.json`: the webhook starts `pending` and a handshake is queued."""
        model = _webhook_model(data.get("model"))
        fields: Record = {
            "url": self._webhook_url(data.get("url")),
            "model": model,
            "fields": _webhook_fields(data.get("fields"), model),
            "events": _webhook_events(data.get("events"), model),
            "status": "pending",
            "shared_secret": secrets.token_hex(16),
        }
        with self._lock:
            fields["expires_at"] = self._webhook_expiry(data.get("expires_at"))
            fields["user"] = {"id": self.me["id"]}
            record = self._new_record("webhooks", fields)
            self._hooks[record["id"]] = _HookState(since=self._event_seq)
            return record

    def update_webhook(self, hook_id: int, data: Mapping[str, Any]) -> Record:
        """`PATCH /webhooks/{id}.json`: url, events, fields, expires_at; a new url needs a new handshake."""
        with self._lock:
            record = self._cols["webhooks"].by_id.get(hook_id)
            if record is None:
                raise ApiError(404, f"Webhook {hook_id} not found")
            changes: Record = {}
            if "model" in data:
                changes["model"] = _webhook_model(data["model"])
            model = str(changes.get("model", record["model"]))
            if "url" in data:
                changes["url"] = self._webhook_url(data["url"])
            if "fields" in data:
                changes["fields"] = _webhook_fields(data["fields"], model)
            if "events" in data:
                changes["events"] = _webhook_events(data["events"], model)
            if "expires_at" in data:
                changes["expires_at"] = self._webhook_expiry(data["expires_at"])
            if changes.get("url", record["url"]) != record["url"]:
                changes["status"] = "pending"
                self._hooks[hook_id] = _HookState(since=self._event_seq)
            record.update(changes)
            self._stamp("webhooks", record)
            return record

    def delete_webhook(self, hook_id: int) -> None:
        """`DELETE /webhooks/{id}.json`."""
        with self._lock:
            if hook_id not in self._cols["webhooks"].by_id:
                raise ApiError(404, f"Webhook {hook_id} not found")
            self._cols["webhooks"].remove(hook_id)
            self._hooks.pop(hook_id, None)

    def deliver_webhooks(self) -> list[tuple[int, str, int]]:
        """Run queued handshakes, then POST each queued event to each live webhook of its model.

        Synchronous and opt-in, so tests decide when deliveries happen. The state lock is not held
        during HTTP calls: a receiver may call back into the sandbox. Returns (webhook id, event or
        "handshake", HTTP status; 0 when the receiver could not be reached).
        """
        results = [self._handshake(*job) for job in self._handshake_jobs()]
        for delivery in self._delivery_jobs():
            response = _post(
                delivery.url,
                delivery.body,
                {
                    "Content-Type": "application/json",
                    "X-Hook-Signature": _sign(delivery.secret, delivery.body),
                },
            )
            status = response.status_code if response is not None else 0
            if status == 410:
                self._set_hook_status(delivery.hook_id, "suspended")
            results.append((delivery.hook_id, delivery.event, status))
        return results

    def _handshake_jobs(self) -> list[tuple[int, str, str]]:
        with self._lock:
            jobs = []
            for hook_id, hook in self._hooks.items():
                record = self._cols["webhooks"].by_id[hook_id]
                if hook.pending_handshake and record["status"] == "pending":
                    hook.pending_handshake = False
                    jobs.append((hook_id, str(record["url"]), str(record["shared_secret"])))
            return jobs

    def _handshake(self, hook_id: int, url: str, secret: str) -> tuple[int, str, int]:
        body = json.dumps({"data": {"id": hook_id}}).encode()
        response = _post(url, body, {"Content-Type": "application/json", "X-Hook-Secret": secret})
        if response is None:
            return hook_id, "handshake", 0
        if response.status_code == 200 and hmac.compare_digest(response.headers.get("X-Hook-Secret", ""), secret):
            self._set_hook_status(hook_id, "enabled")
        return hook_id, "handshake", response.status_code

    def confirm_handshake(self, hook_id: int) -> None:
        """Mark a pending webhook enabled, as a receiver echoing `X-Hook-Secret` would.

        For tests whose receiver is not running; `deliver_webhooks` does the real handshake.
        """
        with self._lock:
            self._require("webhooks", hook_id)
            hook = self._hooks.get(hook_id)
            if hook is not None:
                hook.pending_handshake = False
        self._set_hook_status(hook_id, "enabled")

    def _set_hook_status(self, hook_id: int, status: str) -> None:
        with self._lock:
            record = self._cols["webhooks"].by_id.get(hook_id)
            if record is not None:
                record["status"] = status
                self._stamp("webhooks", record)

    def _delivery_jobs(self) -> list[_Delivery]:
        with self._lock:
            events, self._events = self._events, []
            now = self._now_text()
            live = [
                record
                for record in self._cols["webhooks"].by_id.values()
                if record["status"] == "enabled" and record["expires_at"] > now
            ]
            return [job for event in events for record in live if (job := self._delivery(event, record))]

    def _delivery(self, event: WebhookEvent, hook: Record) -> _Delivery | None:
        state = self._hooks[hook["id"]]
        if hook["model"] != event.model or event.seq <= state.since or event.event not in hook["events"]:
            return None
        selection = parse_fields(event.model, hook["fields"])
        if event.event == "updated":
            if state.fired_update and not (selection.names & event.changed):
                return None
            state.fired_update = True
        data = {"id": event.record["id"]} if event.event == "deleted" else self.render(selection, event.record)
        payload = {"data": data, "meta": {"event": event.event, "webhook_id": hook["id"]}}
        body = json.dumps(payload, separators=(",", ":")).encode()
        return _Delivery(hook["id"], str(hook["url"]), str(hook["shared_secret"]), event.event, body)


def _plain_id(value: Any) -> int:
    """An id given as an int or as a `{"id": ...}` reference (Python-side mutation arguments)."""
    if isinstance(value, Mapping):
        value = value.get("id")
    if not _is_id(value):
        raise ValueError(f"expected an id, got {value!r}")
    return int(value)


# -- the HTTP side ---------------------------------------------------------------------------------

Args = MultiDict[str, str]
_API_ROUTES: Final = (
    ("GET", "/contacts.json", "contacts_index"),
    ("GET", "/contacts/<int:record_id>.json", "contacts_show"),
    ("GET", "/matters.json", "matters_index"),
    ("GET", "/matters/<int:record_id>.json", "matters_show"),
    ("GET", "/relationships.json", "relationships_index"),
    ("GET", "/relationships/<int:record_id>.json", "relationships_show"),
    ("GET", "/users.json", "users_index"),
    ("GET", "/users/who_am_i.json", "users_me"),
    ("GET", "/users/<int:record_id>.json", "users_show"),
    ("GET", "/notes.json", "notes_index"),
    ("POST", "/notes.json", "notes_create"),
    ("GET", "/notes/<int:record_id>.json", "notes_show"),
    ("GET", "/communications.json", "communications_index"),
    ("POST", "/communications.json", "communications_create"),
    ("GET", "/communications/<int:record_id>.json", "communications_show"),
    ("GET", "/tasks.json", "tasks_index"),
    ("POST", "/tasks.json", "tasks_create"),
    ("GET", "/tasks/<int:record_id>.json", "tasks_show"),
    ("GET", "/webhooks.json", "webhooks_index"),
    ("POST", "/webhooks.json", "webhooks_create"),
    ("GET", "/webhooks/<int:record_id>.json", "webhooks_show"),
    ("PATCH", "/webhooks/<int:record_id>.json", "webhooks_update"),
    ("DELETE", "/webhooks/<int:record_id>.json", "webhooks_delete"),
)
_SHOW_RESOURCES: Final = {
    "contacts_show": "contact",
    "matters_show": "matter",
    "relationships_show": "relationship",
    "users_show": "user",
    "notes_show": "note",
    "communications_show": "communication",
    "tasks_show": "task",
    "webhooks_show": "webhook",
}
_VERSION_PREFIX: Final = "4.0."
_SETTINGS: Final = ("allow_http_webhooks", "refresh_disabled", "record_requests", "retry_after_header")


@dataclass(frozen=True, slots=True)
class _Call:
    """What a handler needs: the request, the id in the path, and whether to repeat the page token."""

    request: Request
    record_id: int
    repeat_token: bool = False

    @property
    def args(self) -> Args:
        return self.request.args


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
            raise ApiError(400, f"{name} must be an integer")
        return int(raw)

    def boolean(self, name: str) -> bool | None:
        raw = self.args.get(name)
        if raw is None or raw == "":
            return None
        if raw.lower() not in ("true", "false", "1", "0"):
            raise ApiError(400, f"{name} must be true or false")
        return raw.lower() in ("true", "1")

    def since(self, name: str, field_name: str) -> None:
        raw = self.args.get(name)
        if raw is None:
            return
        try:
            threshold = _threshold(parse_timestamp(raw))
        except ValueError as exc:
            raise ApiError(400, f"{name} must be an ISO-8601 timestamp (got {raw!r})") from exc
        self.add(name, threshold, lambda record: str(record.get(field_name) or "") >= threshold)

    def ids(self) -> None:
        raw = [*self.args.getlist("ids[]"), *self.args.getlist("ids")]
        if not raw:
            return
        if not all(value.isdigit() for value in raw):
            raise ApiError(400, "ids[] must be integers")
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
            raise ApiError(400, f"{name} must be one of {', '.join(allowed)}")
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
        raise ApiError(400, "order is not supported on this endpoint")
    if raw not in allowed:
        raise ApiError(400, f"order must be one of {', '.join(allowed)} (got {raw!r})")
    return raw.split("(")[0]


def _limit(args: Args) -> int:
    raw = args.get("limit")
    if raw is None:
        return MAX_LIMIT
    if not raw.lstrip("-").isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(400, f"limit must be an integer between 1 and {MAX_LIMIT} (got {raw!r})")
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
        raise ApiError(400, f"status must be a comma list of open, pending, closed (got {raw!r})")
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
        raise ApiError(400, "type is required and must be Matter or Contact")
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


def _body_data(request: Request) -> Mapping[str, Any]:
    try:
        body = json.loads(request.get_data(as_text=True) or "null")
    except ValueError as exc:
        raise ApiError(400, "Request body is not valid JSON") from exc
    if not isinstance(body, Mapping) or not isinstance(body.get("data"), Mapping):
        raise ApiError(400, 'Request body must be a JSON object of the form {"data": {...}}')
    data: Mapping[str, Any] = body["data"]
    return data


class ClioApp:
    """The WSGI app: `/api/v4` (Clio), `/oauth/token`, and unauthenticated `/_sandbox/` controls."""

    def __init__(self, state: ClioState) -> None:
        self.state = state
        self._map = Map([Rule(path, endpoint=name, methods=[method]) for method, path, name in _API_ROUTES])
        self._writes: dict[str, tuple[str, Callable[[Mapping[str, Any]], Record], int]] = {
            "notes_create": ("note", state.create_note, 201),
            "communications_create": ("communication", state.create_communication, 201),
            "tasks_create": ("task", state.create_task, 201),
            "webhooks_create": ("webhook", state.create_webhook, 201),
        }
        self._controls: dict[tuple[str, str], Callable[[Request], Any]] = {
            ("POST", "faults"): self._control_add_fault,
            ("GET", "faults"): lambda _: [{**f.to_json(), "remaining": n} for f, n in state.faults.pending()],
            ("DELETE", "faults"): lambda _: state.faults.clear(),
            ("POST", "rate_limit"): self._control_rate_limit,
            ("GET", "stats"): lambda _: state.stats.snapshot(),
            ("DELETE", "stats"): lambda _: state.stats.reset(),
            ("POST", "mutate"): self._control_mutate,
            ("POST", "touch"): self._control_touch,
            ("POST", "deliver_webhooks"): lambda _: [list(row) for row in state.deliver_webhooks()],
            ("POST", "settings"): self._control_settings,
            ("GET", "requests"): self._control_requests,
        }

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        path = request.path
        if path.startswith(CONTROL_PREFIX):
            response = self._control(request)
        elif path == OAUTH_PATH:
            response = self._token(request)
        elif path == API_PREFIX or path.startswith(f"{API_PREFIX}/"):
            response = self._api(request, environ)
        else:
            response = error_response(404, f"No route matches {path}")
        return response(environ, start_response)

    # -- /api/v4 -------------------------------------------------------------------------------------

    def _match(self, method: str, path: str) -> tuple[str | None, str, int]:
        """(endpoint or None, path template for stats, record id)."""
        try:
            rule, values = self._map.bind("sandbox").match(path, method=method, return_rule=True)
        except (NotFound, MethodNotAllowed):
            return None, "*", 0
        return str(rule.endpoint), rule.rule.replace("<int:record_id>", "{id}"), int(values.get("record_id", 0))

    def _api(self, request: Request, environ: WSGIEnvironment) -> Response:
        path = request.path[len(API_PREFIX) :] or "/"
        endpoint, template, record_id = self._match(request.method, path)
        self.state.stats.request(request.method, template)
        self._record(request, path)
        fault = self.state.faults.take(request.method, path)
        if fault is not None:
            early = self._fault(fault, environ)
            if early is not None:
                return early
        call = _Call(request, record_id, fault is not None and fault.kind == "repeat_token")
        response = self._limited(call, endpoint)
        if fault is not None and fault.kind == "applied_lost":
            drop_connection(environ)
        return response

    def _fault(self, fault: Fault, environ: WSGIEnvironment) -> Response | None:
        self.state.stats.bump("faults_fired")
        if fault.kind == "drop":
            drop_connection(environ)
        pause(fault)
        early = immediate_response(fault, self.state.retry_after_header)
        if fault.kind == "rate_limit":
            self.state.stats.bump("rate_limited")
        return early

    def _record(self, request: Request, path: str) -> None:
        if not self.state.record_requests:
            return
        body = request.get_json(silent=True) if request.mimetype == "application/json" else None
        query = parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True)
        self.state.record(RecordedRequest(request.method, path, query, dict(request.headers), body))

    def _limited(self, call: _Call, endpoint: str | None) -> Response:
        token = _bearer_token(call.request)
        decision = self.state.rate_limiter.hit(token or ANONYMOUS)
        if decision is not None and not decision.allowed:
            self.state.stats.bump("rate_limited")
            message = f"Rate limit exceeded. Retry in {decision.retry_after} seconds."
            response = error_response(429, message, {self.state.retry_after_header: str(decision.retry_after)})
        else:
            response = self._authorized(call, endpoint, token)
        if decision is not None:
            response.headers["X-RateLimit-Limit"] = str(decision.limit)
            response.headers["X-RateLimit-Remaining"] = str(decision.remaining)
            response.headers["X-RateLimit-Reset"] = str(decision.reset)
        return response

    def _authorized(self, call: _Call, endpoint: str | None, token: str | None) -> Response:
        header = call.request.headers.get("Authorization")
        if header is None:
            return error_response(401, "Missing Authorization header; send 'Bearer <access token>'")
        if token is None:
            return error_response(401, "Malformed Authorization header; expected 'Bearer <access token>'")
        if not self.state.is_valid_token(token):
            return json_response(INVALID_TOKEN_BODY, 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        version = call.request.headers.get("X-API-VERSION")
        if version is not None and not (version.startswith(_VERSION_PREFIX) and version[4:].isdigit()):
            return error_response(410, f"API version {version} is not supported")
        if endpoint is None:
            return error_response(404, f"No route matches {call.request.method} {call.request.path}")
        try:
            response = self._dispatch(call, endpoint)
        except ApiError as exc:
            response = error_response(exc.status, exc.message)
        response.headers["X-API-VERSION"] = version or API_VERSION
        return response

    def _dispatch(self, call: _Call, endpoint: str) -> Response:
        if endpoint in _INDEXES:
            resource, build = _INDEXES[endpoint]
            return self._index(call, resource, build)
        if endpoint in _SHOW_RESOURCES:
            return self._show(call, _SHOW_RESOURCES[endpoint], call.record_id)
        if endpoint == "users_me":
            return self._show(call, "user", int(self.state.me["id"]))
        if endpoint in self._writes:
            resource, create, status = self._writes[endpoint]
            selection = parse_fields(resource, call.args.get("fields"))
            record = create(_body_data(call.request))
            return json_response({"data": self.state.render_locked(selection, record)}, status)
        if endpoint == "webhooks_update":
            selection = parse_fields("webhook", call.args.get("fields"))
            record = self.state.update_webhook(call.record_id, _body_data(call.request))
            return json_response({"data": self.state.render_locked(selection, record)})
        self.state.delete_webhook(call.record_id)
        return Response(status=204)

    def _index(self, call: _Call, resource: str, build: Callable[[Args], ListQuery]) -> Response:
        selection = parse_fields(resource, call.args.get("fields"))
        limit = _limit(call.args)
        query = build(call.args)
        token = call.args.get("page_token")
        after = decode_page_token(query.order, token) if token else START
        page = self.state.page(query, after, limit, selection)
        paging: dict[str, str] = {}
        if call.repeat_token:
            paging["next"] = _page_url(call.request, encode_page_token(query.order, after))
        elif page.has_more and page.last is not None:
            paging["next"] = _page_url(call.request, encode_page_token(query.order, page.last))
        return json_response({"data": page.data, "meta": {"paging": paging, "records": page.total}})

    def _show(self, call: _Call, resource: str, record_id: int) -> Response:
        selection = parse_fields(resource, call.args.get("fields"))
        data, etag = self.state.show(resource, record_id, selection)
        if call.request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return json_response({"data": data}, headers={"ETag": etag})

    # -- /oauth/token --------------------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        self.state.stats.request(request.method, OAUTH_PATH)
        self._record(request, OAUTH_PATH)
        if request.method != "POST":
            return json_response({"error": "invalid_request"}, 405)
        try:
            body = self.state.refresh(request.form)
        except OAuthError as exc:
            return json_response({"error": exc.code}, exc.status)
        return json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    # -- /_sandbox -----------------------------------------------------------------------------------

    def _control(self, request: Request) -> Response:
        name = request.path[len(CONTROL_PREFIX) :].strip("/")
        handler = self._controls.get((request.method, name))
        if handler is None:
            return error_response(404, f"No sandbox control {request.method} {request.path}")
        try:
            result = handler(request)
        except RecordNotFound as exc:
            return error_response(404, str(exc.args[0] if exc.args else exc))
        except (ValueError, TypeError, KeyError) as exc:
            return error_response(400, str(exc))
        return json_response({"ok": True, "result": result})

    def _control_add_fault(self, request: Request) -> dict[str, Any]:
        fault = Fault.from_json(control_payload(request))
        self.state.faults.add(fault)
        return fault.to_json()

    def _control_rate_limit(self, request: Request) -> dict[str, Any]:
        payload = control_payload(request)
        limit = payload.get("limit")
        window = float(payload.get("window_seconds", 60))
        self.state.set_rate_limit(None if limit is None else int(limit), window)
        return {"limit": limit, "window_seconds": window}

    def _control_mutate(self, request: Request) -> Any:
        payload = control_payload(request)
        op, args = payload.get("op"), payload.get("args") or {}
        if op not in MUTATIONS:
            raise ValueError(f"op must be one of {', '.join(sorted(MUTATIONS))}")
        if not isinstance(args, dict):
            raise TypeError("args must be an object")
        return getattr(self.state, str(op))(**args)

    def _control_touch(self, request: Request) -> dict[str, Any]:
        payload = control_payload(request)
        touched = self.state.touch(str(payload.get("resource")), int(payload.get("count", 0)))
        return {"touched": len(touched), "first_ids": touched[:10]}

    def _control_settings(self, request: Request) -> dict[str, Any]:
        payload = control_payload(request)
        unknown = sorted(set(payload) - set(_SETTINGS))
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        for key, value in payload.items():
            setattr(self.state, key, str(value) if key == "retry_after_header" else bool(value))
        return {key: getattr(self.state, key) for key in _SETTINGS}

    def _control_requests(self, _: Request) -> list[dict[str, Any]]:
        return [
            {"method": r.method, "path": r.path, "query": r.query, "json_body": r.json_body}
            for r in list(self.state.requests)
        ]


def _bearer_token(request: Request) -> str | None:
    """The token of a well-formed `Authorization: Bearer <token>` header, else None."""
    scheme, _, token = (request.headers.get("Authorization") or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def create_app(state: ClioState | None = None) -> ClioApp:
    """The sandbox WSGI app over a state (a fresh small firm when none is given)."""
    return ClioApp(state if state is not None else ClioState())
