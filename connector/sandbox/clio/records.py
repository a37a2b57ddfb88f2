"""Staff editing Clio: contacts, matters, relationships and calendar entries changed from Python, each change
queued for webhooks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from connector.sandbox.clio.constants import MATTER_STATUSES, PHONE_LABELS, STATUS_DATES, STATUS_EVENTS
from connector.sandbox.clio.errors import SandboxError
from connector.sandbox.clio.fields import CALENDAR_ENTRY_EDITABLE, CONTACT_EDITABLE, MATTER_EDITABLE
from connector.sandbox.clio.store import ClioStore
from connector.sandbox.clio.values import _date_or_moment, _is_id
from connector.sandbox.firm import EVENT_TYPE_ID_BASE, Record, today_text
from connector.sandbox.vocabulary import CALENDAR_EVENT_TYPES


class StaffEdits(ClioStore):
    """Python-side mutations (`update_contact`, `close_matter`, ...; also `/_sandbox/mutate`) standing in for staff."""

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

    # -- calendar entries ----------------------------------------------------------------------------

    def _entry_times(self, changes: dict[str, Any], record: Record) -> None:
        """Clio's shapes: an all-day entry's times are dates, a timed entry's are UTC timestamps."""
        all_day = bool(changes.get("all_day", record.get("all_day", False)))
        for key in ("start_at", "end_at"):
            value = changes.get(key, record.get(key) if "all_day" in changes else None)
            if value is not None:
                text = _entry_time(value, key)
                changes[key] = text[:10] if all_day else (f"{text}T00:00:00+00:00" if len(text) == 10 else text)
        if "matter" in changes:
            matter = self._require("matters", _plain_id(changes["matter"]))
            changes["matter"] = {"id": matter["id"]}

    def add_calendar_entry(
        self,
        matter_id: int,
        summary: str,
        start_at: str,
        *,
        end_at: str | None = None,
        all_day: bool = False,
        location: str | None = None,
        event_type: str = "Hearing",
    ) -> int:
        """Put an entry on a matter, on its responsible attorney's calendar (times as ISO text or dates)."""
        with self._lock:
            matter = self._require("matters", matter_id)
            owner = self._require("users", matter["responsible_attorney"]["id"])
            calendar_id = owner.get("default_calendar_id") or owner["id"]
            fields: Record = {"summary": summary, "all_day": all_day, "start_at": start_at, "matter": {"id": matter_id}}
            if end_at is not None:
                fields["end_at"] = end_at
            self._entry_times(fields, {})
            fields.update(
                location=location,
                calendar_owner={"id": calendar_id, "name": owner["name"], "type": "UserCalendar"},
                calendar_owner_id=calendar_id,
                calendar_entry_event_type={"id": _event_type_id(event_type), "name": event_type},
            )
            record = self._new_record("calendar_entries", fields)
            self._queue("calendar_entry", "created", record)
            return int(record["id"])

    def update_calendar_entry(self, entry_id: int, **changes: Any) -> None:
        """Edit an entry as staff would (`start_at`, `end_at`, `all_day`, `summary`, `location`, `matter` ...)."""
        unknown = sorted(set(changes) - CALENDAR_ENTRY_EDITABLE)
        if unknown:
            raise ValueError(f"not an editable calendar entry field: {', '.join(unknown)}")
        with self._lock:
            record = self._require("calendar_entries", entry_id)
            self._entry_times(changes, record)
            record.update(changes)
            self._stamp("calendar_entries", record)
            self._queue("calendar_entry", "updated", record, changes)

    def move_calendar_entry(self, entry_id: int, start_at: str, end_at: str | None = None) -> None:
        """Reschedule an entry; without `end_at` it keeps its length (a date for an all-day entry)."""
        with self._lock:
            record = self._require("calendar_entries", entry_id)
            changes: dict[str, Any] = {"start_at": start_at}
            if end_at is not None:
                changes["end_at"] = end_at
            elif record.get("end_at") and record.get("start_at"):
                old_start = _parsed(record["start_at"])
                new_start = _parsed(_entry_time(start_at, "start_at"))
                changes["end_at"] = (_parsed(record["end_at"]) + (new_start - old_start)).isoformat()
            self.update_calendar_entry(entry_id, **changes)

    def delete_calendar_entry(self, entry_id: int) -> None:
        """Delete an entry (its webhook event carries only the id)."""
        with self._lock:
            self._require("calendar_entries", entry_id)
            self._cols["calendar_entries"].remove(entry_id)
            self._queue("calendar_entry", "deleted", {"id": entry_id})

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


def _event_type_id(name: str) -> int:
    """The firm's id for an event type; a type the firm lacks gets the next one (the sandbox has no type table)."""
    known = CALENDAR_EVENT_TYPES.index(name) if name in CALENDAR_EVENT_TYPES else len(CALENDAR_EVENT_TYPES)
    return EVENT_TYPE_ID_BASE + known + 1


def _entry_time(value: Any, label: str) -> str:
    """A date or a UTC timestamp; a bad one is a ValueError (a Python-side or `/_sandbox/mutate` argument: 400)."""
    try:
        return _date_or_moment(value, label)
    except SandboxError as exc:
        raise ValueError(exc.message) from exc


def _parsed(text: str) -> datetime:
    """A stored entry time (a date or a UTC timestamp) as an aware moment."""
    moment = datetime.fromisoformat(f"{text}T00:00:00+00:00" if len(text) == 10 else text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _plain_id(value: Any) -> int:
    """An id given as an int or as a `{"id": ...}` reference (Python-side mutation arguments)."""
    if isinstance(value, Mapping):
        value = value.get("id")
    if not _is_id(value):
        raise ValueError(f"expected an id, got {value!r}")
    return int(value)
