"""Marshmallow schemas that validate a mapping document and build :mod:`mappings.model` from it.

A mapping is edited by hand, often by a firm admin writing an override, so validation must find
*every* mistake in one pass and say where each one is. Hence:

* ``unknown = RAISE`` everywhere, so a misspelt key is an error instead of a silently ignored line;
* every cross-field rule runs even when other fields already failed (``skip_on_field_errors=False``)
  and reads the *original* input, so one bad value never hides another error;
* ``@post_load`` builds the frozen dataclasses only when the whole document is valid.

Error messages are nested dicts keyed like the document; :func:`mappings.flatten_errors` turns them
into JSON paths.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any, ClassVar, Final

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validates_schema
from marshmallow.validate import Length, OneOf, Range, Regexp

from mappings.fieldpath import FieldPath, compile_path
from mappings.model import (
    ApiSpec,
    AuthSpec,
    Mapping,
    PaginationSpec,
    PhonesSpec,
    RateLimitSpec,
    RequestSpec,
    ResourceSpec,
    SignatureSpec,
    WebhookSpec,
    WriteSpec,
)
from mappings.templates import iter_placeholders, templated_params

__all__ = [
    "ALLOWED_FIELDS",
    "AUTH_PLACEHOLDERS",
    "REQUIRED_FIELDS",
    "WEBHOOK_PLACEHOLDERS",
    "WRITE_PLACEHOLDERS",
    "WRITE_TARGETS",
    "MappingSchema",
]

#: Placeholders each spot may use; the engine supplies exactly these values there.
AUTH_PLACEHOLDERS: Final = frozenset({"origin", "refresh_token", "client_id", "client_secret", "access_token"})
WRITE_PLACEHOLDERS: Final = frozenset(
    {"matter_id", "client_id", "subject", "body", "date", "received_at", "due_at", "assignee_id", "marker"}
)
WEBHOOK_PLACEHOLDERS: Final = frozenset({"url", "model", "fields", "expires_at", "webhook_id"})

REQUIRED_FIELDS: Final[dict[str, frozenset[str]]] = {
    "clients": frozenset({"id", "name"}),
    "matters": frozenset({"id", "display_number", "status", "client_id"}),
    "relationships": frozenset({"id", "matter_id", "contact_id"}),
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
}

#: What the engine writes; ``transcript`` and ``summary`` must be mapped, the rest are optional.
WRITE_TARGETS: Final = ("transcript", "summary", "correction", "task")
REQUIRED_WRITE_TARGETS: Final = ("transcript", "summary")

MATTER_STATUSES: Final = ("open", "pending", "closed")
METHODS: Final = ("GET", "POST", "PUT", "PATCH", "DELETE")
PAGINATION_STYLES: Final = ("next_url", "link_header", "offset", "page")
IDEMPOTENCY: Final = ("external_property", "query_marker", "native_key", "none")

# Keys that belong to one pagination style only, and the keys that style cannot do without.
_STYLE_KEYS: Final[dict[str, frozenset[str]]] = {
    "next_url": frozenset({"next_path"}),
    "link_header": frozenset(),
    "offset": frozenset({"offset_param", "offset_path", "has_more_path"}),
    "page": frozenset({"page_param", "first_page", "next_page_path"}),
}
_STYLE_REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "next_url": ("next_path",),
    "link_header": (),
    "offset": ("offset_param",),
    "page": ("page_param",),
}

_IDENTIFIER: Final = r"^[a-z][a-z0-9_]*$"
_HEADER_NAME: Final = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"

# Nested error messages as marshmallow builds them: {key: [messages] | {...}}.
Errors = dict[str | int, Any]


def _add(errors: Errors, location: Iterable[str | int], message: str) -> None:
    """Record ``message`` at a nested location of an error dict."""
    *parents, last = location
    node = errors
    for step in parents:
        child = node.get(step)
        if not isinstance(child, dict):
            # An object with its own messages and messages for its members: marshmallow's layout
            # keeps the object's own under "_schema".
            child = {} if child is None else {"_schema": child}
            node[step] = child
        node = child
    existing = node.get(last)
    if isinstance(existing, dict):
        existing.setdefault("_schema", []).append(message)
    else:
        node.setdefault(last, []).append(message)


def _raise_if(errors: Errors) -> None:
    if errors:
        raise ValidationError(errors)


def _placeholder_errors(
    errors: Errors, location: tuple[str | int, ...], template: Any, allowed: frozenset[str], spot: str
) -> None:
    """Report each placeholder in ``template`` that the engine will not supply at this spot."""
    for where, name in iter_placeholders(template, location):
        if name in allowed:
            continue
        if allowed:
            names = ", ".join("{" + n + "}" for n in sorted(allowed))
            _add(errors, where, f"unknown placeholder {{{name}}}; {spot} may use {names}")
        else:
            _add(errors, where, f"placeholder {{{name}}} is not allowed: {spot} takes no placeholders")


def _relative_path(value: str) -> None:
    if not value.startswith("/"):
        raise ValidationError("must start with '/' (it is appended to the API base URL)")


def _param_value(value: Any) -> None:
    scalars = (str, int, float, bool)
    if isinstance(value, scalars):
        return
    if isinstance(value, list) and all(isinstance(item, scalars) for item in value):
        return
    raise ValidationError("a query parameter value must be a string, number, boolean or a list of them")


class PathField(fields.Field[FieldPath]):
    """A field path string, compiled on load so a bad path is a validation error, not a runtime one."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> FieldPath:
        if not isinstance(value, str):
            raise ValidationError("Not a valid field path: expected a string.")
        try:
            return compile_path(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class NamedDict(fields.Dict):
    """``fields.Dict`` whose errors sit directly under the offending key.

    Marshmallow files dict errors as ``{key: {"key": [...], "value": [...]}}``; admins need
    ``$.resources.clients.fields.nmae``, not ``...nmae.key``.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict[Any, Any]:
        base: Any = super()  # fields.Dict is not annotated
        try:
            result: dict[Any, Any] = base._deserialize(value, attr, data, **kwargs)
        except ValidationError as exc:
            if not isinstance(exc.messages, dict):
                raise
            reshaped: Errors = {}
            for key, parts in exc.messages.items():
                if isinstance(parts, dict) and set(parts) <= {"key", "value"}:
                    reshaped[key] = _merge_key_and_value_errors(parts.get("key", []), parts.get("value", []))
                else:
                    reshaped[key] = parts
            raise ValidationError(reshaped, valid_data=exc.valid_data) from exc
        return result


def _merge_key_and_value_errors(key_errors: list[str], value_errors: Any) -> Any:
    """One entry per dict key: the key's own problems first, then its value's."""
    if isinstance(value_errors, dict):
        if not key_errors:
            return value_errors
        merged = dict(value_errors)
        merged["_schema"] = [*key_errors, *merged.get("_schema", [])]
        return merged
    return [*key_errors, *value_errors]


def _string_map(**kwargs: Any) -> NamedDict:
    return NamedDict(keys=fields.String(), values=fields.String(), **kwargs)


class _Strict(Schema):
    """Base of every mapping schema: unknown keys are errors."""

    class Meta:
        unknown = RAISE


# --- requests -----------------------------------------------------------------------------------


class RequestSchema(_Strict):
    """One templated request. Subclasses say which placeholders their spot may use."""

    allowed_placeholders: ClassVar[frozenset[str]] = frozenset()
    spot: ClassVar[str] = "this request"

    method = fields.String(load_default="GET", validate=OneOf(METHODS))
    path = fields.String(required=True, validate=_relative_path)
    params = NamedDict(keys=fields.String(), values=fields.Raw(validate=_param_value), load_default=dict)
    body = fields.Raw(load_default=None)
    id_path = PathField(load_default=None)
    match_path = PathField(load_default=None)
    records_path = PathField(load_default=None)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_placeholders(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        """Every placeholder must be one the engine supplies here (``fields`` params are exempt)."""
        if not isinstance(original, dict):
            return
        errors: Errors = {}
        allowed, spot = self.allowed_placeholders, self.spot
        if isinstance(original.get("path"), str):
            _placeholder_errors(errors, ("path",), original["path"], allowed, spot)
        if isinstance(original.get("params"), dict):
            _placeholder_errors(errors, ("params",), templated_params(original["params"]), allowed, spot)
        if "body" in original:
            _placeholder_errors(errors, ("body",), original["body"], allowed, spot)
        _raise_if(errors)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> RequestSpec:
        """Freeze the request."""
        return RequestSpec(**data)


class CheckRequestSchema(RequestSchema):
    """The connectivity check (``matterline mappings check``): a fixed request."""

    spot = "check"


class WriteRequestSchema(RequestSchema):
    """A write's create or find request."""

    allowed_placeholders = WRITE_PLACEHOLDERS
    spot = "a write"


class WebhookRequestSchema(RequestSchema):
    """A webhook subscription request."""

    allowed_placeholders = WEBHOOK_PLACEHOLDERS
    spot = "a webhook request"


# --- api, auth, rate limits, pagination -----------------------------------------------------------


class ApiSchema(_Strict):
    """Base URLs per region and response conventions."""

    regions = NamedDict(
        keys=fields.String(validate=Regexp(_IDENTIFIER, error="a region id is lowercase letters/digits/_")),
        values=fields.Url(schemes={"http", "https"}, require_tld=False),
        required=True,
        validate=Length(min=1, error="at least one region is required"),
    )
    default_region = fields.String(required=True)
    headers = NamedDict(
        keys=fields.String(validate=Regexp(_HEADER_NAME, error="not a valid HTTP header name")),
        values=fields.String(),
        load_default=dict,
    )
    records_path = PathField(load_default=compile_path(""))
    error_message_paths = fields.List(PathField(), load_default=list)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_regions(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        """The default region must exist, and base URLs must not end in '/' (paths start with one)."""
        if not isinstance(original, dict):
            return
        errors: Errors = {}
        regions = original.get("regions")
        default = original.get("default_region")
        if isinstance(regions, dict):
            if isinstance(default, str) and default not in regions:
                known = ", ".join(sorted(regions)) or "none"
                _add(errors, ("default_region",), f"{default!r} is not one of the regions ({known})")
            for region, url in regions.items():
                if isinstance(url, str) and url.endswith("/"):
                    _add(errors, ("regions", region), "must not end with '/'")
        _raise_if(errors)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> ApiSpec:
        """Freeze the API description."""
        return ApiSpec(
            regions=data["regions"],
            default_region=data["default_region"],
            headers=data["headers"],
            records_path=data["records_path"],
            error_message_paths=tuple(data["error_message_paths"]),
        )


class AuthSchema(_Strict):
    """Bearer token or OAuth2 refresh."""

    kind = fields.String(required=True, validate=OneOf(("bearer", "oauth2")))
    token_url = fields.String(load_default=None)
    token_encoding = fields.String(load_default="form", validate=OneOf(("form", "json")))
    refresh_params = _string_map(load_default=dict)
    rotates_refresh_token = fields.Boolean(load_default=False)
    header = fields.String(load_default="Authorization", validate=Regexp(_HEADER_NAME))
    scheme = fields.String(load_default="Bearer")

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_oauth(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        """OAuth2 needs a token URL and refresh params; both may only use the auth placeholders."""
        if not isinstance(original, dict):
            return
        errors: Errors = {}
        kind = original.get("kind")
        if kind == "oauth2":
            for key in ("token_url", "refresh_params"):
                if not original.get(key):
                    _add(errors, (key,), "required when kind is 'oauth2'")
        elif kind == "bearer":
            for key in ("token_url", "refresh_params", "token_encoding", "rotates_refresh_token"):
                if key in original:
                    _add(errors, (key,), "only used when kind is 'oauth2'")
        token_url = original.get("token_url")
        if isinstance(token_url, str) and not token_url.startswith(("{origin}/", "https://", "http://")):
            _add(errors, ("token_url",), "must be an http(s) URL or start with '{origin}/'")
        spot = "auth"
        _placeholder_errors(errors, ("token_url",), token_url, AUTH_PLACEHOLDERS, spot)
        _placeholder_errors(errors, ("refresh_params",), original.get("refresh_params"), AUTH_PLACEHOLDERS, spot)
        _raise_if(errors)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> AuthSpec:
        """Freeze the auth description."""
        return AuthSpec(**data)


class RateLimitSchema(_Strict):
    """Names of the rate-limit headers; all optional."""

    limit_header = fields.String(load_default=None)
    remaining_header = fields.String(load_default=None)
    reset_header = fields.String(load_default=None)
    reset_format = fields.String(load_default="epoch_seconds", validate=OneOf(("epoch_seconds", "delta_seconds")))
    retry_after_headers = fields.List(fields.String(), load_default=list)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> RateLimitSpec:
        """Freeze the rate-limit description."""
        return RateLimitSpec(**{**data, "retry_after_headers": tuple(data["retry_after_headers"])})


class PaginationSchema(_Strict):
    """How list endpoints page."""

    style = fields.String(required=True, validate=OneOf(PAGINATION_STYLES))
    size_param = fields.String(load_default=None)
    page_size = fields.Integer(strict=True, required=True, validate=Range(min=1))
    max_page_size = fields.Integer(strict=True, required=True, validate=Range(min=1))
    next_path = PathField(load_default=None)
    offset_param = fields.String(load_default=None)
    offset_path = PathField(load_default=None)
    has_more_path = PathField(load_default=None)
    page_param = fields.String(load_default=None)
    first_page = fields.Integer(strict=True, load_default=1, validate=Range(min=0))
    next_page_path = PathField(load_default=None)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_style(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        """Each style has what it needs and nothing from another style; page_size ≤ max_page_size."""
        if not isinstance(original, dict):
            return
        errors: Errors = {}
        page_size, max_size = original.get("page_size"), original.get("max_page_size")
        if isinstance(page_size, int) and isinstance(max_size, int) and page_size > max_size:
            _add(errors, ("page_size",), f"{page_size} is larger than max_page_size ({max_size})")
        style = original.get("style")
        if style in _STYLE_KEYS:
            for key in _STYLE_REQUIRED[style]:
                if original.get(key) is None:
                    _add(errors, (key,), f"required when style is {style!r}")
            for other, keys in _STYLE_KEYS.items():
                if other == style:
                    continue
                for key in sorted(keys & original.keys()):
                    _add(errors, (key,), f"only used with style {other!r}, not {style!r}")
        _raise_if(errors)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> PaginationSpec:
        """Freeze the pagination description."""
        return PaginationSpec(**data)


# --- resources ------------------------------------------------------------------------------------


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


class ResourcesSchema(_Strict):
    """The synced resources: clients and matters always, relationships when the vendor has them."""

    clients = fields.Nested(ClientsResourceSchema, required=True)
    matters = fields.Nested(MattersResourceSchema, required=True)
    relationships = fields.Nested(RelationshipsResourceSchema, load_default=None)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> dict[str, ResourceSpec]:
        """A dict of the resources present."""
        return {name: spec for name, spec in data.items() if spec is not None}


# --- writes and webhooks ----------------------------------------------------------------------------


class WriteSchema(_Strict):
    """A record the engine writes to the CMS, and how it avoids writing it twice."""

    idempotency = fields.String(required=True, validate=OneOf(IDEMPOTENCY))
    create = fields.Nested(WriteRequestSchema, required=True)
    find = fields.Nested(WriteRequestSchema, load_default=None)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_idempotency(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        """The chosen strategy must be implementable from the requests given."""
        if not isinstance(original, dict):
            return
        errors: Errors = {}
        strategy = original.get("idempotency")
        create, find = original.get("create"), original.get("find")
        if isinstance(create, dict) and create.get("id_path") is None:
            _add(errors, ("create", "id_path"), "required: where the created record's id is in the response")
        if strategy in ("external_property", "query_marker"):
            if find is None:
                _add(errors, ("find",), f"required when idempotency is {strategy!r}")
            elif isinstance(find, dict) and find.get("id_path") is None:
                _add(errors, ("find", "id_path"), "required: where a found record's id is")
        if strategy == "query_marker" and isinstance(find, dict) and find.get("match_path") is None:
            _add(errors, ("find", "match_path"), "required when idempotency is 'query_marker'")
        if strategy == "external_property" and isinstance(find, dict) and not _uses(find, "marker"):
            _add(errors, ("find",), "must filter on {marker} when idempotency is 'external_property'")
        needs_marker = strategy in ("external_property", "native_key")
        if needs_marker and isinstance(create, dict) and not _uses(create, "marker"):
            _add(errors, ("create",), f"must send {{marker}} when idempotency is {strategy!r}")
        _raise_if(errors)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> WriteSpec:
        """Freeze the write."""
        return WriteSpec(**data)


def _uses(request: dict[str, Any], name: str) -> bool:
    params = request.get("params")
    templated = templated_params(params) if isinstance(params, dict) else None
    parts = (request.get("path"), templated, request.get("body"))
    return any(found == name for part in parts for _where, found in iter_placeholders(part))


class SignatureSchema(_Strict):
    """How webhook deliveries are signed."""

    header = fields.String(required=True, validate=Regexp(_HEADER_NAME))
    algorithm = fields.String(required=True, validate=OneOf(("hmac-sha256",)))
    prefix = fields.String(load_default=None)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> SignatureSpec:
        """Freeze the signature scheme."""
        return SignatureSpec(**data)


class WebhookSchema(_Strict):
    """Change-notification subscriptions."""

    create = fields.Nested(WebhookRequestSchema, required=True)
    renew = fields.Nested(WebhookRequestSchema, load_default=None)
    list = fields.Nested(WebhookRequestSchema, required=True)
    delete = fields.Nested(WebhookRequestSchema, load_default=None)
    models = NamedDict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        validate=Length(min=1, error="map at least one vendor model to a resource"),
    )
    max_lifetime_days = fields.Integer(strict=True, load_default=0, validate=Range(min=0))
    renew_before_days = fields.Integer(strict=True, load_default=0, validate=Range(min=0))
    handshake_header = fields.String(load_default=None, validate=Regexp(_HEADER_NAME))
    signature = fields.Nested(SignatureSchema, required=True)
    event_path = PathField(required=True)
    record_path = PathField(required=True)
    deleted_events = fields.List(fields.String(), load_default=list)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_lifetime(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        """Expiring subscriptions need a renew request that runs before they lapse."""
        if not isinstance(original, dict):
            return
        errors: Errors = {}
        lifetime, before = original.get("max_lifetime_days", 0), original.get("renew_before_days", 0)
        if isinstance(lifetime, int) and lifetime > 0:
            if original.get("renew") is None:
                _add(errors, ("renew",), "required when subscriptions expire (max_lifetime_days > 0)")
            if isinstance(before, int) and before >= lifetime:
                _add(errors, ("renew_before_days",), f"must be less than max_lifetime_days ({lifetime})")
        _raise_if(errors)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> WebhookSpec:
        """Freeze the webhook description."""
        return WebhookSpec(**{**data, "deleted_events": tuple(data["deleted_events"])})


# --- the document ---------------------------------------------------------------------------------


class MappingSchema(_Strict):
    """A whole mapping document (after any firm override has been merged in)."""

    id = fields.String(required=True, validate=Regexp(_IDENTIFIER, error="lowercase letters, digits and _"))
    name = fields.String(required=True, validate=Length(min=1))
    api = fields.Nested(ApiSchema, required=True)
    auth = fields.Nested(AuthSchema, required=True)
    rate_limit = fields.Nested(RateLimitSchema, load_default=None)
    pagination = fields.Nested(PaginationSchema, required=True)
    check = fields.Nested(CheckRequestSchema, required=True)
    resources = fields.Nested(ResourcesSchema, required=True)
    writes = NamedDict(
        keys=fields.String(validate=Regexp(_IDENTIFIER, error="a write name is lowercase letters, digits and _")),
        values=fields.Nested(WriteSchema),
        required=True,
        validate=Length(min=1, error="at least one write is required"),
    )
    write_targets = NamedDict(
        keys=fields.String(validate=OneOf(WRITE_TARGETS, error="not a write target; use one of: {choices}")),
        values=fields.String(),
        required=True,
    )
    webhooks = fields.Nested(WebhookSchema, load_default=None)
    permissions = fields.List(fields.String(), load_default=list)
    notes = fields.List(fields.String(), load_default=list)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_references(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        """Names that point elsewhere in the document must resolve."""
        if not isinstance(original, dict):
            return
        errors: Errors = {}
        writes = original.get("writes")
        targets = original.get("write_targets")
        if isinstance(targets, dict):
            for target in REQUIRED_WRITE_TARGETS:
                if target not in targets:
                    _add(errors, ("write_targets", target), f"required: name the write used for {target}s")
            if isinstance(writes, dict):
                known = ", ".join(sorted(writes)) or "none"
                for target, write in targets.items():
                    if isinstance(write, str) and write not in writes:
                        _add(errors, ("write_targets", target), f"{write!r} is not one of the writes ({known})")
        resources = original.get("resources")
        webhooks = original.get("webhooks")
        if isinstance(webhooks, dict) and isinstance(resources, dict):
            models = webhooks.get("models")
            if isinstance(models, dict):
                known = ", ".join(sorted(resources)) or "none"
                for model, resource in models.items():
                    if isinstance(resource, str) and resource not in resources:
                        _add(
                            errors,
                            ("webhooks", "models", model),
                            f"{resource!r} is not one of the resources ({known})",
                        )
        _raise_if(errors)

    @post_load(pass_original=True)
    def build(self, data: dict[str, Any], original: Any, **kwargs: Any) -> Mapping:
        """Freeze the mapping, keeping a private copy of the document it came from."""
        return Mapping(
            id=data["id"],
            name=data["name"],
            api=data["api"],
            auth=data["auth"],
            rate_limit=data["rate_limit"] or RateLimitSpec(),
            pagination=data["pagination"],
            check=data["check"],
            resources=data["resources"],
            writes=data["writes"],
            write_targets=data["write_targets"],
            webhooks=data["webhooks"],
            permissions=tuple(data["permissions"]),
            notes=tuple(data["notes"]),
            raw=copy.deepcopy(original),
        )
