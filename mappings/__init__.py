"""Vendor mappings: one JSON file per CMS, merged with an optional firm override and validated.

A firm's admin edits an override file, not code, so everything here is about telling that admin what
is wrong, precisely and all at once: every error carries the file it came from and a JSON path such as
``$.resources.clients.fields.nmae``.

Override rule ("changes only what it names"): objects merge key by key, recursively; a list or a
scalar replaces the bundled value whole; an explicit ``null`` removes the key. An override may name the
vendor it is for in ``id``; it must then be the configured vendor.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from marshmallow import ValidationError

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
from mappings.schema import MappingSchema

__all__ = [
    "ApiSpec",
    "AuthSpec",
    "DuplicateKeyError",
    "Mapping",
    "MappingError",
    "PaginationSpec",
    "PhonesSpec",
    "RateLimitSpec",
    "RequestSpec",
    "ResourceSpec",
    "SignatureSpec",
    "WebhookSpec",
    "WriteSpec",
    "available_vendors",
    "bundled_path",
    "flatten_errors",
    "load_mapping",
    "merge",
    "read_document",
    "reject_duplicate_keys",
    "validate_document",
]

MAPPINGS_DIR: Final = Path(__file__).resolve().parent
_PLAIN_KEY: Final = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


class MappingError(Exception):
    """A mapping (or override) that cannot be used, with every problem found.

    ``errors`` holds ``(json_path, message)`` pairs; ``str()`` prints one line per error, each
    prefixed by ``source`` so the admin knows which file to open.
    """

    def __init__(self, source: str, errors: Iterable[tuple[str, str]]) -> None:
        self.source = source
        self.errors: tuple[tuple[str, str], ...] = tuple(errors)
        super().__init__(source, self.errors)

    def __str__(self) -> str:
        if not self.errors:
            return f"{self.source}: invalid mapping"
        return "\n".join(f"{self.source}: {path}: {message}" for path, message in self.errors)


def available_vendors() -> tuple[str, ...]:
    """The vendor ids of the bundled mappings (``mappings/<id>.json``), sorted."""
    return tuple(sorted(path.stem for path in MAPPINGS_DIR.glob("*.json")))


def bundled_path(vendor: str) -> Path:
    """The file of a bundled mapping (it may not exist; see :func:`available_vendors`)."""
    return MAPPINGS_DIR / f"{vendor}.json"


def load_mapping(
    vendor: str,
    override_file: str | Path | None = None,
    *,
    override_text: str | None = None,
    text_source: str = "override",
) -> Mapping:
    """Load the bundled mapping for ``vendor``, merge a firm override over it, and validate the result.

    The override is a file, or ``override_text`` (an admin's edit, named ``text_source`` in errors).
    Raises MappingError for an unknown vendor, an unreadable or malformed file, an override meant for
    another vendor, or any validation error of the merged document.
    """
    vendors = available_vendors()
    if vendor not in vendors:
        raise MappingError(
            "mappings",
            [("$", f"no bundled mapping for vendor {vendor!r}; available: {', '.join(vendors)}")],
        )
    base_source = f"mappings/{vendor}.json"
    document = _read_json(bundled_path(vendor), base_source)
    source = base_source
    if override_file is not None or override_text is not None:
        if override_text is not None:
            override_source = text_source
            override = _parse_json(override_text, override_source)
        else:
            override_source = str(override_file)
            override = _read_json(Path(str(override_file)), override_source)
        _check_override_vendor(override, vendor, vendors, override_source)
        document = merge(document, override)
        source = f"{override_source} (override of {base_source})"

    problems: list[tuple[str, str]] = []
    doc_id = document.get("id")
    if isinstance(doc_id, str) and doc_id != vendor:
        problems.append(("$.id", f"must be {vendor!r}, the name of the mapping file"))
    try:
        mapping = validate_document(document, source)
    except MappingError as exc:
        raise MappingError(source, [*problems, *exc.errors]) from None
    if problems:
        raise MappingError(source, problems)
    return mapping


def read_document(path: str | Path) -> dict[str, Any]:
    """Read a mapping or override file as a JSON object, with the same checks and messages as loading.

    Refuses unreadable files, malformed JSON (with line and column), a key repeated in one object
    (JSON would silently keep the last) and a top level that is not an object.
    """
    return _read_json(Path(path), str(path))


def validate_document(doc: dict[str, Any], source: str) -> Mapping:
    """Validate a whole mapping document and build the :class:`Mapping`; raise MappingError otherwise."""
    try:
        loaded: Mapping = MappingSchema().load(doc)
    except ValidationError as exc:
        raise MappingError(source, flatten_errors(exc.messages)) from None
    return loaded


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` over ``base`` into a new dict; neither input is modified.

    Objects merge recursively, lists and scalars replace, ``null`` removes the key (also inside an
    object the override adds). Null inside a list is kept: a list is replaced as written.
    """
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        elif isinstance(value, dict):
            merged[key] = merge({}, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def flatten_errors(messages: Any, path: str = "$") -> list[tuple[str, str]]:
    """Turn marshmallow's nested error messages into ``(json_path, message)`` pairs, in order.

    Object keys become ``.key`` (or ``['odd key']``), list indices ``[0]``, and marshmallow's
    ``_schema`` key the path of the object itself.
    """
    found: list[tuple[str, str]] = []
    _flatten(messages, path, found)
    unique: dict[tuple[str, str], None] = dict.fromkeys(found)
    return list(unique)


def _flatten(messages: Any, path: str, found: list[tuple[str, str]]) -> None:
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                child = path
            elif isinstance(key, int):
                child = f"{path}[{key}]"
            elif _PLAIN_KEY.fullmatch(str(key)):
                child = f"{path}.{key}"
            else:
                quoted = str(key).replace("\\", "\\\\").replace("'", "\\'")
                child = f"{path}['{quoted}']"
            _flatten(value, child, found)
    elif isinstance(messages, list):
        for item in messages:
            if isinstance(item, dict | list):
                _flatten(item, path, found)
            else:
                found.append((path, str(item)))
    else:
        found.append((path, str(messages)))


def _check_override_vendor(override: dict[str, Any], vendor: str, vendors: tuple[str, ...], source: str) -> None:
    named = override.get("id")
    if named is None or named == vendor:
        return
    if named not in vendors:
        message = f"names vendor {named!r}, which has no bundled mapping (available: {', '.join(vendors)})"
    else:
        message = f"is an override for {named!r}, but the configured CMS is {vendor!r} (MATTERLINE_CMS)"
    raise MappingError(source, [("$.id", message)])


def _read_json(path: Path, source: str) -> dict[str, Any]:
    """Read a JSON object from ``path``; any failure is a MappingError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise MappingError(source, [("$", f"not UTF-8 text: {exc.reason} at byte {exc.start}")]) from None
    except OSError as exc:
        raise MappingError(source, [("$", f"cannot read the file: {exc.strerror or exc}")]) from None
    return _parse_json(text, source)


def _parse_json(text: str, source: str) -> dict[str, Any]:
    """A JSON object from ``text``; malformed JSON, a repeated key or another top level is a MappingError."""
    try:
        document = json.loads(text, object_pairs_hook=reject_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise MappingError(
            source, [("$", f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")]
        ) from None
    except DuplicateKeyError as exc:
        raise MappingError(source, [("$", str(exc))]) from None
    if not isinstance(document, dict):
        raise MappingError(source, [("$", f"must be a JSON object, not a {type(document).__name__}")])
    return document


class DuplicateKeyError(ValueError):
    """A key appears twice in one JSON object; JSON parsers silently keep the last, hiding an edit."""


def reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """For `json.loads(object_pairs_hook=...)`: a repeated key is an error, not a silent overwrite."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKeyError(f"the key {key!r} appears twice in one object (the first would be ignored)")
        result[key] = value
    return result
