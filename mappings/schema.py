"""Marshmallow schemas that validate a mapping document and build :mod:`mappings.model` from it.

A mapping is edited by hand, often by a firm admin writing an override, so validation must find
*every* mistake in one pass and say where each one is. Hence:

* ``unknown = RAISE`` everywhere, so a misspelt key is an error instead of a silently ignored line;
* every cross-field rule runs even when other fields already failed (``skip_on_field_errors=False``)
  and reads the *original* input, so one bad value never hides another error;
* ``@post_load`` builds the frozen dataclasses only when the whole document is valid.

Error messages are nested dicts keyed like the document; :func:`mappings.flatten_errors` turns them
into JSON paths. The parts' schemas live by concern in ``mappings.schema_api``, ``schema_resources``
and ``schema_writes`` (shared fields in ``schema_base``); this module ties them into the document.
"""

from __future__ import annotations

import copy
from typing import Any

from marshmallow import fields, post_load, validates_schema
from marshmallow.validate import Length, OneOf, Regexp

from mappings.model import Mapping, RateLimitSpec
from mappings.schema_api import ApiSchema, AuthSchema, CheckRequestSchema, PaginationSchema, RateLimitSchema
from mappings.schema_base import _IDENTIFIER, Errors, NamedDict, _add, _raise_if, _Strict
from mappings.schema_resources import ResourcesSchema
from mappings.schema_writes import REQUIRED_WRITE_TARGETS, WRITE_TARGETS, WebhookSchema, WriteSchema

__all__ = ["MappingSchema"]


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
