"""CMS records read into Matterline's shape through a mapping: the one place vendor JSON is interpreted."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

from connector.phones import ParsedPhone, normalize
from mappings.model import ResourceSpec

MATTER_STATUSES = ("open", "pending", "closed")
# A status the mapping does not know is filed as pending: never auto-filed to, never hidden.
UNKNOWN_STATUS = "pending"


class RecordError(ValueError):
    """A record without the fields Matterline cannot do without (its id)."""


@dataclass(frozen=True, slots=True)
class PhoneRecord:
    """One number on a contact, as typed and as read."""

    raw: str
    e164: str | None
    label: str | None
    is_primary: bool
    error: str | None


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """A contact as Matterline stores it."""

    cms_id: str
    client_key: str
    name: str
    is_client: bool
    time_zone: str | None
    region_code: str | None
    updated_at: datetime | None
    phones: tuple[PhoneRecord, ...]
    fingerprint: str
    # The state or province of the client's address (quiet hours by state), where the mapping has it.
    state: str | None = None
    # The CMS field the mapping names for SMS consent: True/False when the field is set, None when absent.
    sms_consent: bool | None = None


@dataclass(frozen=True, slots=True)
class MatterRecord:
    """A matter as Matterline stores it."""

    cms_id: str
    display_number: str
    description: str
    status: str
    status_known: bool
    client_cms_id: str | None
    responsible_attorney_cms_id: str | None
    responsible_attorney: str | None
    updated_at: datetime | None
    fingerprint: str


@dataclass(frozen=True, slots=True)
class RelationshipRecord:
    """Another contact tied to a matter (spouse, guardian, co-defendant)."""

    cms_id: str
    matter_cms_id: str
    contact_cms_id: str
    description: str | None
    updated_at: datetime | None
    fingerprint: str


@dataclass(frozen=True, slots=True)
class CalendarEntryRecord:
    """A calendar entry (hearing, appointment) as Matterline stores it; reminders are planned from it.

    An all-day entry starts at midnight UTC of its date: the CMS gives it a date, not a moment, and the
    planner places its reminders by the date.
    """

    cms_id: str
    matter_cms_id: str | None
    calendar: str | None
    event_type: str | None
    summary: str | None
    location: str | None
    starts_at: datetime
    ends_at: datetime | None
    all_day: bool
    updated_at: datetime | None
    fingerprint: str


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip()
    return text or None


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "y")
    return bool(value)


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO-8601 timestamp from a CMS as an aware UTC datetime (naive ones are taken as UTC)."""
    text = _text(value)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _day_start(value: Any) -> datetime | None:
    """Midnight UTC of the date an all-day value names, whether written as a date or a moment on that date."""
    text = _text(value)
    if text is None:
        return None
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        return parse_timestamp(text)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha1(json.dumps(parts, default=str).encode(), usedforsecurity=False).hexdigest()


def _required_id(spec: ResourceSpec, raw: Any, key: str) -> str:
    value = _text(spec.fields[key].get(raw)) if key in spec.fields else None
    if value is None:
        raise RecordError(f"record without {key!r} at {spec.fields[key]}")
    return value


def _field(spec: ResourceSpec, raw: Any, key: str) -> Any:
    path = spec.fields.get(key)
    return None if path is None else path.get(raw)


def read_phones(spec: ResourceSpec, raw: Any, region: str) -> tuple[PhoneRecord, ...]:
    """Every number on a contact; the first primary one first, duplicates of one number dropped."""
    phones = spec.phones
    if phones is None:
        return ()
    found: list[tuple[str, str | None, bool]] = []
    if phones.style == "list" and phones.path is not None:
        items = phones.path.get(raw)
        for item in items if isinstance(items, list) else []:
            number = _text(phones.number.get(item) if phones.number is not None else item)
            if number is None:
                number = ""
            label = _text(phones.label.get(item)) if phones.label is not None else None
            primary = _truthy(phones.primary.get(item)) if phones.primary is not None else False
            found.append((number, label, primary))
    else:
        for label, path in phones.slots.items():
            number = _text(path.get(raw))
            if number is not None:
                found.append((number, label, not found))
    found.sort(key=lambda item: not item[2])
    records: list[PhoneRecord] = []
    seen: set[str] = set()
    for number, label, primary in found:
        parsed: ParsedPhone = normalize(number, region)
        if parsed.e164 is not None:
            if parsed.e164 in seen:
                continue
            seen.add(parsed.e164)
        records.append(PhoneRecord(number, parsed.e164, label, primary, parsed.error))
    return tuple(records)


def read_contact(spec: ResourceSpec, raw: Any, default_region: str) -> ContactRecord:
    """A contact from its CMS JSON.

    Raises:
        RecordError: the record has no id.
    """
    cms_id = _required_id(spec, raw, "id")
    region = (_text(_field(spec, raw, "region_code")) or default_region).upper()
    name = _text(_field(spec, raw, "name")) or f"(unnamed contact {cms_id})"
    client_key = _text(_field(spec, raw, "client_key")) or cms_id
    is_client = _truthy(_field(spec, raw, "is_client")) if "is_client" in spec.fields else True
    time_zone = _text(_field(spec, raw, "time_zone"))
    region_code = _text(_field(spec, raw, "region_code"))
    state = _text(_field(spec, raw, "state"))
    consent_value = _field(spec, raw, "sms_consent") if "sms_consent" in spec.fields else None
    sms_consent = None if consent_value is None or consent_value == "" else _truthy(consent_value)
    phones = read_phones(spec, raw, region)
    fingerprint = _fingerprint(
        name,
        client_key,
        is_client,
        time_zone,
        region_code,
        [(p.raw, p.label, p.is_primary) for p in phones],
        state,
        sms_consent,
    )
    return ContactRecord(
        cms_id=cms_id,
        client_key=client_key,
        name=name,
        is_client=is_client,
        time_zone=time_zone,
        region_code=region_code,
        updated_at=parse_timestamp(_field(spec, raw, "updated_at")),
        phones=phones,
        fingerprint=fingerprint,
        state=state,
        sms_consent=sms_consent,
    )


def read_matter(spec: ResourceSpec, raw: Any) -> MatterRecord:
    """A matter from its CMS JSON; its status mapped onto open/pending/closed.

    Raises:
        RecordError: the record has no id.
    """
    cms_id = _required_id(spec, raw, "id")
    vendor_status = _text(_field(spec, raw, "status"))
    status: str | None = spec.status_values.get(vendor_status.lower()) if vendor_status is not None else None
    known = status is not None
    if status is None:
        status = spec.status_default or UNKNOWN_STATUS
    display_number = _text(_field(spec, raw, "display_number")) or cms_id
    description = _text(_field(spec, raw, "description")) or ""
    client = _text(_field(spec, raw, "client_id"))
    attorney_id = _text(_field(spec, raw, "responsible_attorney_id"))
    attorney = _text(_field(spec, raw, "responsible_attorney_name"))
    return MatterRecord(
        cms_id=cms_id,
        display_number=display_number,
        description=description,
        status=status,
        status_known=known,
        client_cms_id=client,
        responsible_attorney_cms_id=attorney_id,
        responsible_attorney=attorney,
        updated_at=parse_timestamp(_field(spec, raw, "updated_at")),
        fingerprint=_fingerprint(display_number, description, status, client, attorney_id, attorney),
    )


def read_relationship(spec: ResourceSpec, raw: Any) -> RelationshipRecord:
    """A matter–contact relationship from its CMS JSON.

    Raises:
        RecordError: the record lacks its id, matter or contact.
    """
    cms_id = _required_id(spec, raw, "id")
    matter = _required_id(spec, raw, "matter_id")
    contact = _required_id(spec, raw, "contact_id")
    description = _text(_field(spec, raw, "description"))
    return RelationshipRecord(
        cms_id=cms_id,
        matter_cms_id=matter,
        contact_cms_id=contact,
        description=description,
        updated_at=parse_timestamp(_field(spec, raw, "updated_at")),
        fingerprint=_fingerprint(matter, contact, description),
    )


def read_calendar_entry(spec: ResourceSpec, raw: Any) -> CalendarEntryRecord:
    """A calendar entry from its CMS JSON; an all-day entry's start and end read as midnight UTC of their dates.

    Raises:
        RecordError: the record has no id, or no start Matterline can read (nothing could be planned from it).
    """
    cms_id = _required_id(spec, raw, "id")
    all_day = _truthy(_field(spec, raw, "all_day")) if "all_day" in spec.fields else False
    moment = _day_start if all_day else parse_timestamp
    starts_at = moment(_field(spec, raw, "starts_at"))
    if starts_at is None:
        raise RecordError(f"calendar entry {cms_id} without a readable start at {spec.fields['starts_at']}")
    ends_at = moment(_field(spec, raw, "ends_at"))
    matter = _text(_field(spec, raw, "matter_id"))
    calendar = _text(_field(spec, raw, "calendar"))
    event_type = _text(_field(spec, raw, "event_type"))
    summary = _text(_field(spec, raw, "summary"))
    location = _text(_field(spec, raw, "location"))
    return CalendarEntryRecord(
        cms_id=cms_id,
        matter_cms_id=matter,
        calendar=calendar,
        event_type=event_type,
        summary=summary,
        location=location,
        starts_at=starts_at,
        ends_at=ends_at,
        all_day=all_day,
        updated_at=parse_timestamp(_field(spec, raw, "updated_at")),
        fingerprint=_fingerprint(matter, calendar, event_type, summary, location, starts_at, ends_at, all_day),
    )


Reader = Callable[[ResourceSpec, Any, str], ContactRecord | MatterRecord | RelationshipRecord | CalendarEntryRecord]

# How each synced resource is read from a CMS record (the region reads contacts' phone numbers), for the
# sync pages and the CMS webhooks alike.
READERS: Final[dict[str, Reader]] = {
    "clients": read_contact,
    "matters": lambda spec, raw, _region: read_matter(spec, raw),
    "relationships": lambda spec, raw, _region: read_relationship(spec, raw),
    "calendar_entries": lambda spec, raw, _region: read_calendar_entry(spec, raw),
}
