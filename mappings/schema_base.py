"""One error shape for every part of a mapping: the strict base, custom fields and request schema they share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Final

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validates_schema
from marshmallow.validate import OneOf

from mappings.fieldpath import FieldPath, compile_path
from mappings.model import RequestSpec
from mappings.templates import iter_placeholders, templated_params

__all__ = ["Errors", "NamedDict", "PathField", "RequestSchema"]

METHODS: Final = ("GET", "POST", "PUT", "PATCH", "DELETE")

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
