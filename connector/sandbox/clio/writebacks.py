"""What a client writes back through the API (notes, communications, tasks), refused where Clio refuses it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector.sandbox.clio.constants import (
    COMMUNICATION_TYPES,
    MAX_EXTERNAL_PROPERTIES,
    NOTE_TYPES,
    PARTICIPANT_TYPES,
    TASK_PRIORITIES,
    TASK_STATUSES,
    TEXT_TYPES,
)
from connector.sandbox.clio.errors import SandboxError
from connector.sandbox.clio.store import ClioStore
from connector.sandbox.clio.values import _date_or_moment, _date_text, _enum, _moment, _optional_text, _require_text
from connector.sandbox.firm import Record, format_timestamp, today_text


class WriteBacks(ClioStore):
    """`POST /notes.json`, `/communications.json` and `/tasks.json`, validated as Clio validates them."""

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
            raise SandboxError(422, "external_properties must be a list")
        if len(value) > MAX_EXTERNAL_PROPERTIES:
            raise SandboxError(422, f"A communication can have at most {MAX_EXTERNAL_PROPERTIES} external properties")
        stamp = self._now_text()
        rows: list[Record] = []
        for entry in value:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str) or not entry["name"]:
                raise SandboxError(422, "each external property needs a name and a value")
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
            raise SandboxError(422, f"{label} must be a list")
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
            raise SandboxError(422, "assignee can't be blank")
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
