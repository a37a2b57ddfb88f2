"""What Matterline syncs and where each field lives, checked so a bad path fails at load, not mid-sync."""

from __future__ import annotations

from typing import Any, ClassVar, Final

from marshmallow import fields, post_load, validates_schema
from marshmallow.validate import Length, OneOf

from mappings.model import PhonesSpec, ResourceSpec
from mappings.schema_base import (
    Errors,
    NamedDict,
    PathField,
    _add,
    _placeholder_errors,
    _raise_if,
    _relative_path,
    _Strict,
    _string_map,
)
from mappings.templates import templated_params

__all__ = ["ALLOWED_FIELDS", "REQUIRED_FIELDS", "ResourcesSchema"]

REQUIRED_FIELDS: Final[dict[str, frozenset[str]]] = {
    "clients": frozenset({"id", "name"}),
    "matters": frozenset({"id", "display_number", "status", "client_id"}),
    "relationships": frozenset({"id", "matter_id", "contact_id"}),
    "calendar_entries": frozenset({"id", "starts_at"}),
}
ALLOWED_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "clients": (
        "id",
        "name",
        "is_client",
        "updated_at",
        "client_key",
        "time_zone",
        "region_code",
        "state",
        "sms_consent",
    ),
    "matters": (
        "id",
        "display_number",
        "description",
        "status",
        "client_id",
        "responsible_attorney_id",
        "responsible_attorney_name",
        "updated_at",
    ),
    "relationships": ("id", "matter_id", "contact_id", "description", "updated_at"),
    "calendar_entries": (
        "id",
        "matter_id",
        "calendar",
        "event_type",
        "summary",
        "location",
        "starts_at",
        "ends_at",
        "all_day",
        "updated_at",
    ),
}

MATTER_STATUSES: Final = ("open", "pending", "closed")


class PhonesSchema(_Strict):
    """Where a contact's phone numbers live."""

    style = fields.String(required=True, validate=OneOf(("list", "slots")))
    path = PathField(load_default=None)
    number = PathField(load_default=None)
    label = PathField(load_default=None)
    primary = PathField(load_default=None)
    slots = NamedDict(keys=fields.String(), values=PathField(), load_default=dict)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_style(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        """``list`` needs path and number; ``slots`` needs slots; neither takes the other's keys."""
        if not isinstance(original, dict):
            return
        errors: Errors = {}
        style = original.get("style")
        list_keys = ("path", "number", "label", "primary")
        if style == "list":
            for key in ("path", "number"):
                if original.get(key) is None:
                    _add(errors, (key,), "required when style is 'list'")
            if "slots" in original:
                _add(errors, ("slots",), "only used with style 'slots'")
        elif style == "slots":
            if not original.get("slots"):
                _add(errors, ("slots",), "required (at least one slot) when style is 'slots'")
            for key in list_keys:
                if key in original:
                    _add(errors, (key,), "only used with style 'list'")
        _raise_if(errors)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> PhonesSpec:
        """Freeze the phone description."""
        return PhonesSpec(**data)


class ResourceSchema(_Strict):
    """A synced list endpoint. Subclasses fix the resource name and so its field keys."""

    resource: ClassVar[str] = ""

    path = fields.String(required=True, validate=_relative_path)
    params = _string_map(load_default=dict)
    updated_since_param = fields.String(load_default=None)
    updated_since_format = fields.String(load_default="iso8601", validate=OneOf(("iso8601",)))
    ids_param = fields.String(load_default=None)
    phones = fields.Nested(PhonesSchema, load_default=None)
    status_values = NamedDict(
        keys=fields.String(validate=Length(min=1)),
        values=fields.String(validate=OneOf(MATTER_STATUSES)),
        load_default=dict,
    )
    status_default = fields.String(load_default=None, validate=OneOf(MATTER_STATUSES))
    records_path = PathField(load_default=None)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_resource(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        """Required field keys, per-resource options, and no placeholders (resources are fixed)."""
        if not isinstance(original, dict):
            return
        errors: Errors = {}
        name = self.resource
        field_map = original.get("fields")
        if isinstance(field_map, dict):
            for key in sorted(REQUIRED_FIELDS[name] - field_map.keys()):
                _add(errors, ("fields", key), f"required: {name} must map '{key}'")
        if name != "clients" and "phones" in original:
            _add(errors, ("phones",), f"only clients have phones, not {name}")
        if name == "matters":
            if not original.get("status_values"):
                _add(errors, ("status_values",), "required: map each vendor status to open/pending/closed")
        else:
            for key in ("status_values", "status_default"):
                if key in original:
                    _add(errors, (key,), f"only matters have a status, not {name}")
        status_values = original.get("status_values")
        if isinstance(status_values, dict):
            seen: dict[str, str] = {}
            for vendor_value in status_values:
                folded = str(vendor_value).strip().lower()
                if folded in seen:
                    _add(
                        errors,
                        ("status_values", vendor_value),
                        f"duplicates {seen[folded]!r} (status values are matched ignoring case)",
                    )
                seen[folded] = vendor_value
        spot = "a resource"
        if isinstance(original.get("path"), str):
            _placeholder_errors(errors, ("path",), original["path"], frozenset(), spot)
        if isinstance(original.get("params"), dict):
            _placeholder_errors(errors, ("params",), templated_params(original["params"]), frozenset(), spot)
        _raise_if(errors)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> ResourceSpec:
        """Freeze the resource; status keys are lower-cased for case-insensitive lookup."""
        statuses = {str(key).strip().lower(): value for key, value in data.pop("status_values").items()}
        return ResourceSpec(fields=data.pop("field_paths"), status_values=statuses, **data)


def _field_keys(resource: str) -> NamedDict:
    allowed = ALLOWED_FIELDS[resource]
    return NamedDict(
        keys=fields.String(validate=OneOf(allowed, error="not a field Matterline knows; use one of: {choices}")),
        values=PathField(),
        required=True,
        data_key="fields",
    )


class ClientsResourceSchema(ResourceSchema):
    """Contacts that can text the firm."""

    resource = "clients"
    field_paths = _field_keys("clients")


class MattersResourceSchema(ResourceSchema):
    """Matters (cases, projects)."""

    resource = "matters"
    field_paths = _field_keys("matters")


class RelationshipsResourceSchema(ResourceSchema):
    """Contact–matter links beyond the matter's own client."""

    resource = "relationships"
    field_paths = _field_keys("relationships")


class CalendarEntriesResourceSchema(ResourceSchema):
    """Calendar entries (hearings, appointments) tied to matters: what client reminders are planned from."""

    resource = "calendar_entries"
    field_paths = _field_keys("calendar_entries")


class ResourcesSchema(_Strict):
    """The synced resources: clients and matters always; relationships and calendar entries when the vendor has them."""

    clients = fields.Nested(ClientsResourceSchema, required=True)
    matters = fields.Nested(MattersResourceSchema, required=True)
    relationships = fields.Nested(RelationshipsResourceSchema, load_default=None)
    calendar_entries = fields.Nested(CalendarEntriesResourceSchema, load_default=None)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> dict[str, ResourceSpec]:
        """A dict of the resources present."""
        return {name: spec for name, spec in data.items() if spec is not None}
