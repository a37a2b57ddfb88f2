"""Write-backs and webhook subscriptions, checked so idempotency and renewal are workable before anything runs."""

from __future__ import annotations

import builtins
from typing import Any, Final

from marshmallow import fields, post_load, validates_schema
from marshmallow.validate import Length, OneOf, Range, Regexp

from mappings.model import SignatureSpec, WebhookSpec, WriteSpec
from mappings.schema_base import (
    _HEADER_NAME,
    Errors,
    NamedDict,
    PathField,
    RequestSchema,
    _add,
    _raise_if,
    _Strict,
)
from mappings.templates import iter_placeholders, templated_params

__all__ = [
    "REQUIRED_WRITE_TARGETS",
    "WEBHOOK_PLACEHOLDERS",
    "WRITE_PLACEHOLDERS",
    "WRITE_TARGETS",
    "WebhookSchema",
    "WriteSchema",
]

#: Placeholders each spot may use; the engine supplies exactly these values there.
WRITE_PLACEHOLDERS: Final = frozenset(
    {"matter_id", "client_id", "subject", "body", "date", "received_at", "due_at", "assignee_id", "marker"}
)
WEBHOOK_PLACEHOLDERS: Final = frozenset({"url", "model", "fields", "expires_at", "webhook_id"})

#: What the engine writes; ``transcript`` and ``summary`` must be mapped, the rest are optional.
WRITE_TARGETS: Final = ("transcript", "summary", "correction", "task")
REQUIRED_WRITE_TARGETS: Final = ("transcript", "summary")

IDEMPOTENCY: Final = ("external_property", "query_marker", "native_key", "none")


class WriteRequestSchema(RequestSchema):
    """A write's create or find request."""

    allowed_placeholders = WRITE_PLACEHOLDERS
    spot = "a write"


class WebhookRequestSchema(RequestSchema):
    """A webhook subscription request."""

    allowed_placeholders = WEBHOOK_PLACEHOLDERS
    spot = "a webhook request"


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
    # `list` is a field name in this class, so the built-in is spelt out for the default.
    deleted_events = fields.List(fields.String(), load_default=builtins.list)

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
