"""The firm's canned replies: a short list of texts staff send often, with merge fields filled per thread.

A firm replaces the built-in set with a JSON file (MATTERLINE_REPLY_TEMPLATES_FILE)::

    {"version": 1, "templates": [
        {"id": "got_it", "title": "Got it", "body": "Thanks {client_first_name}, we have it."},
        {"id": "call", "title": "We'll call you about this", "body": "...", "call_back": true}
    ]}

The file is edited by hand, so loading it checks everything and names each bad entry
(`templates[2].body: unknown merge field {client_nmae}`). A template with `call_back` also gives the
matter's attorney a CMS task to call the client when it is sent: the firm answers legal questions by
phone, never by text.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validates_schema
from marshmallow.validate import Equal, Length, Regexp
from sqlalchemy import Connection, Engine

from connector.settings import Settings
from connector.store.documents import InForce
from mappings import DuplicateKeyError, reject_duplicate_keys

__all__ = [
    "DEFAULT_TEMPLATES",
    "FIELDS",
    "TEMPLATES_KIND",
    "MergeFields",
    "ReplyTemplate",
    "TemplatesError",
    "find",
    "in_force",
    "load_templates",
    "merge",
    "parse_templates",
]

FORMAT_VERSION: Final = 1
# The merge fields a template may use, and what each says.
FIELDS: Final = {
    "client_first_name": "the client's first name ('there' when unknown)",
    "client_name": "the client's full name",
    "matter_number": "the matter's number ('your matter' when the thread is not filed)",
    "firm_name": "the firm's name (MATTERLINE_FIRM_NAME)",
    "staff_name": "the name of the person sending",
}


class TemplatesError(ValueError):
    """A templates file Matterline will not use; `errors` names each problem (`templates[1].body: ...`)."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.source = source
        self.errors = errors
        super().__init__(f"invalid reply templates ({source}): " + "; ".join(errors))


@dataclass(frozen=True, slots=True)
class ReplyTemplate:
    """One canned reply."""

    id: str
    title: str
    body: str
    call_back: bool = False


@dataclass(frozen=True, slots=True)
class MergeFields:
    """What a template's fields are filled with for one thread and one sender."""

    client_name: str | None
    matter_number: str | None
    firm_name: str
    staff_name: str

    def values(self) -> dict[str, str]:
        first = (self.client_name or "").split()
        return {
            "client_first_name": first[0] if first else "there",
            "client_name": self.client_name or "there",
            "matter_number": self.matter_number or "your matter",
            "firm_name": self.firm_name,
            "staff_name": self.staff_name,
        }


DEFAULT_TEMPLATES: Final = (
    ReplyTemplate(
        "received",
        "Got it, thanks",
        "Thanks {client_first_name}, we received your message about {matter_number} and will get back to you soon.",
    ),
    ReplyTemplate(
        "call_back",
        "We'll call you about this",
        "Thanks {client_first_name}. This is best discussed by phone: someone from {firm_name} will call you "
        "about it shortly.",
        call_back=True,
    ),
    ReplyTemplate(
        "documents",
        "Please send documents",
        "Hi {client_first_name}, could you send us the documents for {matter_number}? You can reply with photos.",
    ),
    ReplyTemplate(
        "appointment",
        "Confirm appointment",
        "Hi {client_first_name}, this is {staff_name} at {firm_name}. Please reply YES to confirm your appointment.",
    ),
)


def _fields_used(body: str) -> list[str]:
    """The merge fields `body` names; raises ValueError when its braces do not parse."""
    return [name for _, name, _, _ in string.Formatter().parse(body) if name is not None]


class _TemplateSchema(Schema):
    class Meta:
        unknown = RAISE

    id = fields.String(
        required=True, validate=Regexp(r"[a-z][a-z0-9_]{0,39}", error="must be 1-40 lowercase letters, digits or '_'")
    )
    title = fields.String(required=True, validate=Length(min=1, max=80))
    body = fields.String(required=True, validate=Length(min=1, max=1600))
    call_back = fields.Boolean(load_default=False)

    @validates_schema(skip_on_field_errors=True)
    def check_fields(self, data: dict[str, Any], **kwargs: Any) -> None:
        try:
            used = _fields_used(data["body"])
        except ValueError as exc:
            raise ValidationError({"body": [f"braces do not parse ({exc}); write {{{{ and }}}} for a brace"]}) from None
        unknown = [name for name in used if name not in FIELDS]
        if unknown:
            known = ", ".join("{" + f + "}" for f in FIELDS)
            raise ValidationError({"body": [f"unknown merge field {{{unknown[0]}}}; known: {known}"]})

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> ReplyTemplate:
        return ReplyTemplate(data["id"], data["title"], data["body"], data["call_back"])


class _FileSchema(Schema):
    class Meta:
        unknown = RAISE

    version = fields.Integer(required=True, strict=True, validate=Equal(FORMAT_VERSION, error="must be 1"))
    templates = fields.List(fields.Nested(_TemplateSchema), required=True, validate=Length(min=1, max=100))

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_unique(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        items = original.get("templates") if isinstance(original, dict) else None
        seen: dict[str, int] = {}
        errors: dict[int, dict[str, list[str]]] = {}
        for index, item in enumerate(items if isinstance(items, list) else []):
            name = item.get("id") if isinstance(item, dict) else None
            if isinstance(name, str) and name in seen:
                errors[index] = {"id": [f"duplicate id {name!r} (first used by templates[{seen[name]}])"]}
            elif isinstance(name, str):
                seen[name] = index
        if errors:
            raise ValidationError({"templates": errors})


def _lines(messages: Any, path: str = "") -> list[str]:
    """marshmallow's nested messages as `templates[2].body: ...` lines."""
    if isinstance(messages, dict):
        out: list[str] = []
        for key in sorted(messages, key=lambda k: (1, k) if isinstance(k, int) else (0, 0)):
            child = (
                path if key == "_schema" else f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}".lstrip(".")
            )
            out += _lines(messages[key], child)
        return out
    if isinstance(messages, list):
        return [line for item in messages for line in _lines(item, path)]
    return [f"{path or '(file)'}: {messages}"]


def load_templates(path: str | Path | None = None) -> tuple[ReplyTemplate, ...]:
    """The templates in `path`, or the built-in set when None.

    Raises:
        TemplatesError: the file cannot be read, is not JSON, or an entry is wrong (each one named).
    """
    if path is None:
        return DEFAULT_TEMPLATES
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplatesError(source, [f"cannot read the file: {exc}"]) from None
    return parse_templates(text, source)


def parse_templates(text: str, source: str) -> tuple[ReplyTemplate, ...]:
    """Templates from `text` (a file's, or an admin's edit), with every error named.

    Raises:
        TemplatesError: not JSON, or an entry is wrong.
    """
    try:
        document = json.loads(text, object_pairs_hook=reject_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise TemplatesError(source, [f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"]) from None
    except DuplicateKeyError as exc:
        raise TemplatesError(source, [f"not valid JSON: {exc}"]) from None
    if not isinstance(document, dict):
        raise TemplatesError(source, ['(file): must be a JSON object {"version": 1, "templates": [...]}'])
    try:
        loaded = _FileSchema().load(document)
    except ValidationError as exc:
        raise TemplatesError(source, _lines(exc.messages)) from None
    return tuple(loaded["templates"])


def find(templates: tuple[ReplyTemplate, ...], template_id: str) -> ReplyTemplate | None:
    """The template with `template_id`, or None."""
    return next((t for t in templates if t.id == template_id), None)


def merge(template: ReplyTemplate, values: MergeFields) -> str:
    """The template's body with its merge fields filled in."""
    return template.body.format_map(values.values())


# The firm_documents kind of the templates edited on the admin pages.
TEMPLATES_KIND: Final = "reply_templates"
_STORED: InForce[tuple[ReplyTemplate, ...]] = InForce(
    TEMPLATES_KIND, lambda text: parse_templates(text, "saved templates")
)


def in_force(settings: Settings, store: Engine | Connection) -> tuple[ReplyTemplate, ...]:
    """The composer's templates: an admin's saved version, else the templates file, else the built-in set.

    Raises:
        TemplatesError: the templates file is broken (and no version is saved).
    """
    saved = _STORED.get(store)
    return saved if saved is not None else load_templates(settings.reply_templates_file)
