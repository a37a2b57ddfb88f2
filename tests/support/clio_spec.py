"""Check recorded HTTP requests against Clio's published OpenAPI spec (v4, OpenAPI 3.0.0).

The sandbox CMS is written by us, so a request it accepts may still be one real Clio refuses. The
spec is the only independent statement of what Clio accepts, so :class:`ClioSpec` matches each
recorded request to a spec operation and lists everything about it the spec (or Clio's documented
rules the spec encodes only in prose) rejects:

* the (method, path) must be an operation; path parameters must fit their schema;
* every query parameter must be declared for the operation, each required one present, and each
  value must fit the parameter's schema (type, enum, date-time format); ``limit`` within the range
  the parameter's description states (Clio: 1–200);
* ``fields=`` may only name properties of the operation's 200/201 response record (``data`` item),
  one nesting level deep (``name{a,b}``): Clio answers 400 to unknown fields and to deeper nesting;
* a JSON body must validate against the operation's ``application/json`` request schema;
* ``X-API-VERSION`` must be sent, in the form the spec gives.

The spec copy is patched where section 1.12 of ``shared/reference/case-management-apis.md`` records
a known defect; each patch says why next to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Final, Protocol

from jsonschema import Draft4Validator, FormatChecker

from tests.support import specs

#: The vendored copy of Clio's published spec (tests/specs).
SPEC_PATH: Final = specs.CLIO

#: ``X-API-VERSION`` when the spec's parameter declares no pattern: the info text says "Versions are of
#: the form '4.X.Y'" and an invalid value is answered 410 Gone.
VERSION_HEADER: Final = "X-API-VERSION"
DEFAULT_VERSION_PATTERN: Final = r"^4\.\d+\.\d+$"

#: ``limit`` bounds when a description does not state them (Clio: "Limit can range between 1 and 200").
DEFAULT_LIMIT_RANGE: Final = (1, 200)

_METHODS: Final = ("get", "post", "put", "patch", "delete")
_LIMIT_TEXT: Final = re.compile(r"between\s+(\d+)\s+and\s+(\d+)", re.IGNORECASE)
_RFC3339: Final = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_INT_RANGES: Final = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


class RequestLike(Protocol):
    """What the checker reads from a request (``connector.sandbox.RecordedRequest`` fits)."""

    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def query(self) -> list[tuple[str, str]]: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def json_body(self) -> Any: ...


# -- formats the stock checker lacks -------------------------------------------------------------

FORMATS: Final = FormatChecker()


def _is_date_time(value: object) -> bool:
    """RFC 3339 (what "ISO-8601 timestamp" means in practice): a date, a time and an offset.

    jsonschema checks ``date-time`` only when ``rfc3339-validator`` is installed; it is not, and a
    silently skipped format would let ``2026-01-02 09:14`` (no offset) through.
    """
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    return True


FORMATS.checks("date-time", raises=ValueError)(_is_date_time)


def _int_format(name: str) -> None:
    low, high = _INT_RANGES[name]

    def check(value: object) -> bool:
        return not isinstance(value, int) or isinstance(value, bool) or low <= value <= high

    FORMATS.checks(name)(check)


for _name in _INT_RANGES:
    _int_format(_name)


# -- loading and patching the spec ---------------------------------------------------------------


def load_document(path: Path = SPEC_PATH) -> dict[str, Any]:
    """The spec as JSON, with the known defects patched (see :func:`patch_known_defects`)."""
    document = specs.read(path)
    patch_known_defects(document)
    return document


def patch_known_defects(document: dict[str, Any]) -> None:
    """Fix, in this in-memory copy only, what the reference brief (section 1.12) lists as spec defects."""
    # Note#create says `required: [contact, matter, type]`, but the field descriptions say `contact`
    # is "Required only if the Note type is Contact" and `matter` "only if the Note type is Matter";
    # Clio accepts a Matter note without a contact (brief 1.6, 1.11 item 4, 1.12 item 4). Require
    # `type`, plus the one object that type names, so a Matter note missing its matter still fails.
    note = document["paths"]["/notes.json"]["post"]["requestBody"]["content"]
    for media in note.values():
        data = media["schema"]["properties"]["data"]
        data["required"] = ["type"]
        data["anyOf"] = [
            {"properties": {"type": {"enum": [kind]}}, "required": [kind.lower()]} for kind in ("Matter", "Contact")
        ]
    # The Custom Actions tag text says the app sends `custom_action_nonce` back "in your next request to
    # the API" (the read of `subject_url`), but no operation declares it (brief 1.9): declare it on the
    # two reads a click can name here, Matter#show and Contact#show.
    for path in ("/matters/{id}.json", "/contacts/{id}.json"):
        document["paths"][path]["get"].setdefault("parameters", []).append(
            {"name": "custom_action_nonce", "in": "query", "required": False, "schema": {"type": "string"}}
        )
    # The `*_List` schemas define only `data` (brief 1.3, 1.12 item 3): `meta.paging` is documented in
    # prose only. Nothing here validates responses, so that defect needs no patch: the response schemas
    # are only read for the field names `fields=` may ask for.


def openapi_to_jsonschema(schema: Any) -> Any:
    """An OpenAPI 3.0 Schema Object as plain JSON Schema (draft 4), for ``jsonschema``.

    * ``nullable: true`` becomes a ``"null"`` member of ``type`` (and of ``enum``);
    * ``type: object`` schemas that list ``properties`` and say nothing of ``additionalProperties``
      are closed (partial schemas such as ``anyOf`` branches are left open). The
      spec never closes them, but Clio drops unknown attributes silently (Rails strong parameters),
      so a misspelt key in a mapping would lose data without any error. Here it fails instead.
    """
    if isinstance(schema, list):
        return [openapi_to_jsonschema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: openapi_to_jsonschema(value) for key, value in schema.items() if key not in ("nullable", "example")}
    if "properties" in schema:
        out["properties"] = {name: openapi_to_jsonschema(sub) for name, sub in schema["properties"].items()}
        if schema.get("type") == "object":
            out.setdefault("additionalProperties", False)
    if schema.get("nullable") is True:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


# -- the fields= selector ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """One item of ``fields=``: a name, and the names inside ``{}`` if it has them."""

    name: str
    nested: tuple[str, ...] | None


def parse_fields(text: str) -> tuple[list[FieldSelector], list[str]]:
    """Split Clio's ``a,b{c,d}`` selector; the second list holds syntax problems (deep nesting etc.)."""
    items: list[FieldSelector] = []
    problems: list[str] = []
    for part in _split_top_level(text):
        if not part:
            problems.append(f"empty field name in {text!r}")
            continue
        if "{" not in part and "}" not in part:
            items.append(FieldSelector(part, None))
            continue
        match = re.fullmatch(r"([^{},]+)\{([^{}]*)\}", part)
        if match is None:
            problems.append(f"{part!r} is malformed or nests deeper than one level (Clio answers 400)")
            continue
        inner = tuple(name.strip() for name in match.group(2).split(","))
        if any(not name for name in inner):
            problems.append(f"empty nested field name in {part!r}")
        items.append(FieldSelector(match.group(1), tuple(name for name in inner if name)))
    return items, problems


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return parts


# -- operations --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Operation:
    """One spec operation: ``GET /notes.json`` and its OpenAPI object."""

    method: str
    template: str
    pattern: re.Pattern[str]
    spec: Mapping[str, Any]

    @property
    def label(self) -> str:
        """``Note#index`` (or ``GET /notes.json`` when the spec gives no operationId)."""
        return str(self.spec.get("operationId") or f"{self.method} {self.template}")

    def parameters(self, where: str) -> dict[str, Mapping[str, Any]]:
        """The declared parameters of one kind (query, header, path) by name."""
        return {p["name"]: p for p in self.spec.get("parameters", ()) if p.get("in") == where}


def _template_pattern(template: str) -> re.Pattern[str]:
    pieces = re.split(r"(\{[^}/]+\})", template)
    regex = "".join(
        f"(?P<{piece[1:-1]}>[^/]+)" if piece.startswith("{") and piece.endswith("}") else re.escape(piece)
        for piece in pieces
    )
    return re.compile(f"^{regex}$")


class ClioSpec:
    """The loaded spec: finds the operation of a request and lists what the spec rejects in it."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.schemas: Mapping[str, Any] = document.get("components", {}).get("schemas", {})
        operations = [
            Operation(method.upper(), template, _template_pattern(template), item[method])
            for template, item in document["paths"].items()
            for method in _METHODS
            if method in item
        ]
        # Literal paths win over templated ones: /users/who_am_i.json is not /users/{id}.json.
        self.operations = sorted(operations, key=lambda op: (op.template.count("{"), op.template))
        self._fields_cache: dict[tuple[str, str], dict[str, Any]] = {}

    @classmethod
    def load(cls, path: Path = SPEC_PATH) -> ClioSpec:
        """Read and patch the spec file."""
        return cls(load_document(path))

    @cached_property
    def version_pattern(self) -> str:
        """The ``X-API-VERSION`` pattern: the parameter's own, else the form the info text gives."""
        for op in self.operations:
            declared = op.parameters("header").get(VERSION_HEADER)
            if declared is not None and declared.get("schema", {}).get("pattern"):
                return str(declared["schema"]["pattern"])
        return DEFAULT_VERSION_PATTERN

    @cached_property
    def listed_versions(self) -> list[str]:
        """The minor versions the spec's changelog lists (for the report; Clio adds newer ones)."""
        text = str(self.document.get("info", {}).get("description", ""))
        return sorted(set(re.findall(r"^- (4\.\d+\.\d+)\s*$", text, re.MULTILINE)), key=_version_key)

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation for a request line and its path parameters, or None."""
        for op in self.operations:
            if op.method != method.upper():
                continue
            found = op.pattern.match(path)
            if found is not None:
                return op, found.groupdict()
        return None

    def operation(self, method: str, template: str) -> Operation:
        """The operation at an exact spec path (``/webhooks/{id}.json``)."""
        for op in self.operations:
            if op.method == method.upper() and op.template == template:
                return op
        raise KeyError(f"{method} {template} is not in the spec")

    # -- schemas -------------------------------------------------------------------------------

    def resolve(self, schema: Any) -> Any:
        """Follow ``$ref`` (local ``#/components/schemas/...``) until a real schema is reached."""
        seen: set[str] = set()
        while isinstance(schema, Mapping) and "$ref" in schema:
            ref = str(schema["$ref"])
            if ref in seen or not ref.startswith("#/components/schemas/"):
                raise ValueError(f"cannot follow $ref {ref!r}")
            seen.add(ref)
            schema = self.schemas[ref.rsplit("/", 1)[1]]
        return schema

    def properties(self, schema: Any) -> dict[str, Any]:
        """All properties of a schema, merging ``allOf`` parts and looking through arrays to items."""
        schema = self.resolve(schema)
        if not isinstance(schema, Mapping):
            return {}
        if schema.get("type") == "array" and "items" in schema:
            return self.properties(schema["items"])
        merged: dict[str, Any] = {}
        for part in schema.get("allOf", ()):
            merged.update(self.properties(part))
        merged.update(schema.get("properties", {}))
        return merged

    def is_object(self, schema: Any) -> bool:
        """True when a property is a nested resource (or list of them) that has fields of its own."""
        return bool(self.properties(schema))

    def record_fields(self, op: Operation) -> dict[str, Any]:
        """The properties of the record a 200/201 answer carries in ``data`` (list item or object)."""
        key = (op.method, op.template)
        if key not in self._fields_cache:
            fields: dict[str, Any] = {}
            for status in ("200", "201"):
                for media in op.spec.get("responses", {}).get(status, {}).get("content", {}).values():
                    data = self.properties(media.get("schema", {})).get("data")
                    if data is not None:
                        fields.update(self.properties(data))
            self._fields_cache[key] = fields
        return self._fields_cache[key]

    def model_fields(self, model: str) -> dict[str, Any]:
        """The record properties of a webhook model (``contact`` -> ``GET /contacts.json``, ``calendar_entry`` ->
        ``GET /calendar_entries.json``)."""
        plural = f"{model[:-1]}ies" if model.endswith("y") else f"{model}s"
        return self.record_fields(self.operation("GET", f"/{plural}.json"))

    def request_schema(self, op: Operation) -> dict[str, Any] | None:
        """The operation's JSON request-body schema as plain JSON Schema, or None without a body."""
        content = op.spec.get("requestBody", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema")
        return None if schema is None else openapi_to_jsonschema(self._inline(schema))

    def _inline(self, schema: Any, depth: int = 0) -> Any:
        if depth > 20:
            raise ValueError("$ref nesting too deep to inline")
        if isinstance(schema, Mapping):
            if "$ref" in schema:
                return self._inline(self.resolve(schema), depth + 1)
            return {key: self._inline(value, depth) for key, value in schema.items()}
        if isinstance(schema, list):
            return [self._inline(item, depth) for item in schema]
        return schema

    # -- the check -----------------------------------------------------------------------------

    def problems(self, request: RequestLike) -> list[str]:
        """Everything the spec rejects in one request, each line naming method, path and the culprit."""
        where = f"{request.method} {request.path}"
        matched = self.match(request.method, request.path)
        if matched is None:
            return [f"{where}: no operation {request.method} {request.path} in the spec"]
        op, path_values = matched
        return [f"{where} ({op.label}): {problem}" for problem in self._problems(op, path_values, request)]

    def _problems(self, op: Operation, path_values: Mapping[str, str], request: RequestLike) -> Iterator[str]:
        for name, value in path_values.items():
            declared = op.parameters("path").get(name)
            if declared is None:
                yield f"path parameter {{{name}}} is not declared"
            else:
                yield from (f"path parameter {{{name}}}={value!r}: {why}" for why in _value_problems(value, declared))
        yield from self._query_problems(op, request.query)
        yield from self._header_problems(op, request.headers)
        yield from self._body_problems(op, request)

    def _query_problems(self, op: Operation, query: Sequence[tuple[str, str]]) -> Iterator[str]:
        declared = op.parameters("query")
        values: dict[str, list[str]] = {}
        for name, value in query:
            values.setdefault(name, []).append(value)
        for name, given in values.items():
            param = declared.get(name)
            if param is None:
                known = ", ".join(sorted(declared)) or "none"
                yield f"query parameter {name!r} is not declared for this operation (declared: {known})"
                continue
            if len(given) > 1 and not name.endswith("[]") and param.get("schema", {}).get("type") != "array":
                yield f"query parameter {name!r} is sent {len(given)} times but is not an array parameter"
            for value in given:
                yield from (f"query parameter {name}={value!r}: {why}" for why in _value_problems(value, param))
            if name == "limit":
                yield from _limit_problems(given, param)
            if name == "fields":
                for value in given:
                    yield from self._fields_problems(self.record_fields(op), value, "fields=")
        for name, param in declared.items():
            if param.get("required") and name not in values:
                yield f"required query parameter {name!r} is missing"

    def _fields_problems(self, record: Mapping[str, Any], text: str, label: str) -> Iterator[str]:
        if not record:
            yield f"{label} {text!r}: the spec gives no response record to select fields from"
            return
        items, syntax = parse_fields(text)
        yield from (f"{label} {text!r}: {problem}" for problem in syntax)
        for item in items:
            if item.name not in record:
                yield f"{label} names {item.name!r}, which is not a field of the response record"
                continue
            if item.nested is None:
                continue
            inner = self.properties(record[item.name])
            if not inner:
                yield f"{label} nests into {item.name!r}, which has no fields of its own"
                continue
            for name in item.nested:
                if name not in inner:
                    yield f"{label} names {item.name}{{{name}}}: {name!r} is not a field of {item.name!r}"

    def _header_problems(self, op: Operation, headers: Mapping[str, str]) -> Iterator[str]:
        lowered = {key.lower(): value for key, value in headers.items()}
        declared = op.parameters("header")
        for name, param in declared.items():
            if param.get("required") and name.lower() not in lowered:
                yield f"required header {name!r} is missing"
        version = lowered.get(VERSION_HEADER.lower())
        if VERSION_HEADER not in declared:
            return
        if version is None:
            yield f"header {VERSION_HEADER} is not sent (Clio then uses its default version, not the pinned one)"
        elif not re.search(self.version_pattern, version):
            yield f"header {VERSION_HEADER}={version!r} does not match {self.version_pattern!r} (Clio answers 410)"

    def _body_problems(self, op: Operation, request: RequestLike) -> Iterator[str]:
        body = request.json_body
        schema = self.request_schema(op)
        if schema is None:
            if body is not None:
                yield "sends a JSON body, but the operation takes none"
            return
        if body is None:
            if op.spec.get("requestBody", {}).get("required", True):
                yield "sends no JSON body (or not as application/json)"
            return
        validator = Draft4Validator(schema, format_checker=FORMATS)
        for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
            # anyOf (the patched Note#create) says only "not valid under any": name each branch's reason.
            why = "; or ".join(sub.message for sub in error.context or ())
            yield f"body {_json_path(error.absolute_path)}: {error.message}" + (f" ({why})" if why else "")
        yield from self._webhook_fields_problems(op, body)

    def _webhook_fields_problems(self, op: Operation, body: Any) -> Iterator[str]:
        """A webhook's ``fields`` are fields of its model: an unknown one is refused like in ``fields=``."""
        if not op.label.startswith("Webhook#") or not isinstance(body, Mapping):
            return
        data = body.get("data")
        if not isinstance(data, Mapping) or not isinstance(data.get("fields"), str):
            return
        model = data.get("model")
        if not isinstance(model, str):
            return
        try:
            record = self.model_fields(model)
        except KeyError:
            return
        yield from self._fields_problems(record, data["fields"], f"body $.data.fields ({model})")


def _json_path(parts: Iterable[Any]) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _coerce(value: str, schema: Mapping[str, Any]) -> Any:
    """A query-string value as the JSON type its schema names (raises ValueError when it is not one)."""
    kind = schema.get("type")
    if kind == "array":
        return [_coerce(item, schema.get("items", {})) for item in value.split(",")]
    if kind == "integer":
        if not re.fullmatch(r"-?\d+", value):
            raise ValueError(f"{value!r} is not an integer")
        return int(value)
    if kind == "number":
        return float(value)
    if kind == "boolean":
        if value not in ("true", "false"):
            raise ValueError(f"{value!r} is not true or false")
        return value == "true"
    return value


def _value_problems(value: str, param: Mapping[str, Any]) -> Iterator[str]:
    schema = openapi_to_jsonschema(param.get("schema", {}))
    # Matter#index `status` has `enum: [open, closed, pending]` but "accepts comma-separated statuses,
    # e.g. `open,pending`" (its description): where a description says so, check each item.
    comma_list = "comma-separated" in str(param.get("description", "")).lower() and schema.get("type") == "string"
    validator = Draft4Validator(schema, format_checker=FORMATS)
    for item in value.split(",") if comma_list else [value]:
        try:
            typed = _coerce(item, schema)
        except ValueError as exc:
            yield str(exc)
            continue
        for error in validator.iter_errors(typed):
            yield error.message


def _limit_problems(given: Sequence[str], param: Mapping[str, Any]) -> Iterator[str]:
    schema = param.get("schema", {})
    stated = _LIMIT_TEXT.search(str(param.get("description", "")))
    low, high = (int(stated.group(1)), int(stated.group(2))) if stated else DEFAULT_LIMIT_RANGE
    low, high = int(schema.get("minimum", low)), int(schema.get("maximum", high))
    for value in given:
        if re.fullmatch(r"-?\d+", value) and not low <= int(value) <= high:
            yield f"limit={value} is outside {low}..{high}"
