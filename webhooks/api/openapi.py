"""`/api/openapi.json`, generated from the route table: paths, parameters, bodies and typed answers.

Request bodies come from their marshmallow schemas, answers from the frozen view dataclasses the
services and queries return, so the document describes exactly what the code checks and sends. Each
dataclass an answer names becomes a component (`ThreadView` is `Thread`), found by walking the types.

apispec's marshmallow plugin was weighed for this: it reads marshmallow schemas only, so every view
would need a twin schema (more code than this module), and the custom fields would need plugins too.
"""

from __future__ import annotations

import dataclasses
import re
import types
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final, Union, get_args, get_origin, get_type_hints

from marshmallow import Schema, fields
from marshmallow.validate import Length, OneOf

from webhooks.api.routing import FlagsParam, Route, StoreId

__all__ = ["API_VERSION", "PREFIX", "document", "path_of"]

PREFIX: Final = "/api"
API_VERSION: Final = "1.1.0"
_RULE_ARG: Final = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
_STATUS_TEXT: Final = {
    400: (
        "Malformed: bad JSON (`invalid_json`; nested deeper than 32 levels: `too_deep`; an integer beyond the "
        "signed 64-bit range: `number_out_of_range`), a body or query parameter that does not fit the schema "
        "(a cursor beyond the store's range is `invalid_parameter`), or an unknown one."
    ),
    401: "No bearer token, or an unknown, revoked or disabled one.",
    403: "The caller's role may not do this.",
    404: "No such thread, message, matter, job or user; an id beyond the store's range (`maximum`) names none.",
    409: "Conflict with the record's state: e.g. `recipient_opted_out`, `consent_required`, `not_cancelable`.",
    413: "The body is larger than the server takes (1 MiB): refused before it is read; nothing was done.",
    415: "The body is not application/json.",
    422: "Well-formed but refused; `error.code` says why.",
    503: "The guardrails cannot run (`rules_unavailable`: the content rules file is broken); nothing was done.",
}
_SIMPLE: Final[dict[Any, dict[str, Any]]] = {
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    float: {"type": "number"},
    str: {"type": "string"},
    datetime: {"type": "string", "format": "date-time"},
    date: {"type": "string", "format": "date"},
}


def path_of(rule: str) -> str:
    """A Flask rule under /api as an OpenAPI path template (`<int:thread_id>` → `{thread_id}`)."""
    return PREFIX + _RULE_ARG.sub(lambda m: "{" + m.group("name") + "}", rule)


def ref(name: str) -> dict[str, Any]:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def _component(cls: type[Any]) -> str:
    return cls.__name__.removesuffix("View")


class _Components:
    """The dataclass schemas the answers name, collected as the types are walked."""

    def __init__(self) -> None:
        self.schemas: dict[str, dict[str, Any]] = {}
        self._classes: dict[str, type[Any]] = {}

    def type_schema(self, annotation: Any) -> dict[str, Any]:
        """JSON schema (OpenAPI 3.0 dialect) of a Python type."""
        if annotation is Any:
            return {}
        if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
            return ref(self._add(annotation))
        origin = get_origin(annotation)
        if origin in (Union, types.UnionType):
            present = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(present) != 1:
                raise TypeError(f"cannot describe {annotation!r}")
            inner = self.type_schema(present[0])
            return {"allOf": [inner], "nullable": True} if "$ref" in inner else {**inner, "nullable": True}
        if origin in (list, tuple, set, frozenset):
            return {"type": "array", "items": self.type_schema(get_args(annotation)[0])}
        if origin is dict:
            return {"type": "object", "additionalProperties": self.type_schema(get_args(annotation)[1])}
        if annotation in _SIMPLE:
            return dict(_SIMPLE[annotation])
        raise TypeError(f"cannot describe {annotation!r}")

    def _add(self, cls: type[Any]) -> str:
        name = _component(cls)
        known = self._classes.get(name)
        if known is cls:
            return name
        if known is not None:
            raise TypeError(f"two views are both called {name}: {known.__module__} and {cls.__module__}")
        self._classes[name] = cls
        self.schemas[name] = {}  # placeholder: a view may refer to itself
        hints = get_type_hints(cls)
        names = [f.name for f in dataclasses.fields(cls)]
        properties = {}
        for item in dataclasses.fields(cls):
            properties[item.name] = self.type_schema(hints[item.name])
            if "enum" in item.metadata:  # the constant the code checks, named on the field
                properties[item.name]["enum"] = list(item.metadata["enum"])
        self.schemas[name] = {
            "type": "object",
            "description": (cls.__doc__ or "").strip().split("\n\n")[0],
            "required": names,
            "properties": properties,
            "additionalProperties": False,
        }
        return name

    def answer(self, shape: Mapping[str, Any]) -> dict[str, Any]:
        """The schema of an answer object: each named field with its type, every one present."""
        return {
            "type": "object",
            "required": list(shape),
            "properties": {key: self.type_schema(value) for key, value in shape.items()},
            "additionalProperties": False,
        }


def _field_schema(item: fields.Field[Any]) -> dict[str, Any]:
    custom = getattr(item, "json_schema", None)
    if isinstance(custom, dict):
        out = dict(custom)
    elif isinstance(item, fields.String):
        out = {"type": "string"}
        for validator in item.validators:
            if isinstance(validator, Length):
                if validator.min is not None:
                    out["minLength"] = validator.min
                if validator.max is not None:
                    out["maxLength"] = validator.max
            if isinstance(validator, OneOf):
                out["enum"] = list(validator.choices)
    elif isinstance(item, fields.Integer):
        out = {"type": "integer"}
    elif isinstance(item, fields.List):
        out = {"type": "array", "items": _field_schema(item.inner)}
    else:
        raise TypeError(f"cannot describe a {type(item).__name__} field")
    if item.allow_none:
        out["nullable"] = True
    if "description" in item.metadata:
        out["description"] = item.metadata["description"]
    return out


def _body_schema(schema: type[Schema]) -> dict[str, Any]:
    declared = schema().fields
    out: dict[str, Any] = {
        "type": "object",
        "description": (schema.__doc__ or "").strip(),
        "properties": {name: _field_schema(item) for name, item in declared.items()},
        "additionalProperties": False,
    }
    required = [name for name, item in declared.items() if item.required]
    if required:  # OpenAPI 3.0 forbids an empty `required` list
        out["required"] = required
    return out


def _parameters(route: Route) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = []
    for match in _RULE_ARG.finditer(route.rule):
        integer = match.group("converter") == "int"
        parameters.append(
            {
                "name": match.group("name"),
                "in": "path",
                "required": True,
                "schema": StoreId.schema() if integer else {"type": "string"},
            }
        )
    for param in route.params:
        entry: dict[str, Any] = {
            "name": param.name,
            "in": "query",
            "required": False,
            "description": param.description,
            "schema": param.kind.schema(),
        }
        if isinstance(param.kind, FlagsParam):
            entry.update(style="form", explode=True)
        parameters.append(entry)
    return parameters


def _operation(route: Route, components: _Components) -> dict[str, Any]:
    status, description, shape = route.ok
    schema = shape if "type" in shape and isinstance(shape.get("type"), str) else components.answer(shape)
    responses: dict[str, Any] = {
        str(status): {"description": description, "content": {"application/json": {"schema": schema}}}
    }
    errors = set(route.errors) | {400}  # every route refuses unknown query parameters
    if _RULE_ARG.search(route.rule):
        errors.add(404)  # a path whose id names nothing (or is no id) matches no record
    if route.body is not None:
        errors.update((413, 415))
    if route.authenticated:
        errors.add(401)
    if route.roles is not None:
        errors.add(403)
    for code in sorted(errors):
        responses[str(code)] = {"$ref": f"#/components/responses/E{code}"}
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": list(route.tags),
        "responses": responses,
    }
    text = " ".join(part for part in ((route.view.__doc__ or "").strip(), route.description) if part)
    if text:
        operation["description"] = text
    parameters = _parameters(route)
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        body = _body_schema(route.body)
        operation["requestBody"] = {"required": "required" in body, "content": {"application/json": {"schema": body}}}
    if not route.authenticated:
        operation["security"] = []
    return operation


def document(routes: Sequence[Route]) -> dict[str, Any]:
    """The OpenAPI 3.0 document for `routes`."""
    components = _Components()
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(path_of(route.rule), {})[route.method.lower()] = _operation(route, components)
    error_schema = {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "additionalProperties": False,
                "properties": {
                    "code": {"type": "string", "description": "Stable, machine-readable; e.g. `recipient_opted_out`."},
                    "message": {"type": "string", "description": "For people; never contains a secret."},
                    "details": {"description": "Structured context (the parameter or field at fault), or null."},
                },
            }
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Matterline API",
            "version": API_VERSION,
            "description": (
                "The firm inbox, sending, assignment, read state, re-filing, write-backs, consent, holds and "
                "the outbox. Every operation but this document needs `Authorization: Bearer <token>` "
                "(`matterline users add` prints a token once). Roles: admin, attorney and staff may read, send, "
                "assign, mark read and flag urgent; only admin and attorney may re-file and export a matter (staff get "
                "403 `forbidden_role`); admins alone manage users, holds, the outbox and the audit log. "
                "Every response carries `X-Request-Id` (the caller's, when sent, else a new one); audit entries "
                'record it. Errors are `{"error": {"code", "message", "details"}}`. Unknown query parameters '
                "and body fields are refused with 400."
            ),
        },
        "paths": paths,
        "security": [{"bearerAuth": []}],
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": error_schema, **dict(sorted(components.schemas.items()))},
            "responses": {
                f"E{code}": {"description": text, "content": {"application/json": {"schema": ref("Error")}}}
                for code, text in _STATUS_TEXT.items()
            },
        },
    }


# The document's own shape, for its route's answer: enough to tell an OpenAPI 3.0 document from anything else.
DOCUMENT_SCHEMA: Final = {
    "type": "object",
    "required": ["openapi", "info", "paths", "components"],
    "properties": {
        "openapi": {"type": "string", "pattern": r"^3\.0\.\d+$"},
        "info": {
            "type": "object",
            "required": ["title", "version"],
            "properties": {"title": {"type": "string"}, "version": {"type": "string"}},
        },
        "paths": {"type": "object", "additionalProperties": {"type": "object"}},
        "components": {"type": "object", "additionalProperties": {"type": "object"}},
    },
}
