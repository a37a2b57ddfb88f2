"""An admin's edit of the field mapping: what is in force and where it came from, the common fields as a form,
and a preview of an edit on live CMS records before it is saved.

Saving is `services.documents.save(kind=MAPPING)`: checked as a whole (every error at its JSON path), stored as
a version, audited as `mapping_change`, in force in the app and every worker at their next use. A saved
override replaces the override file (MATTERLINE_MAPPING_FILE) while it is in force; going back hands the
mapping to the file again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine

from connector.cms.connect import build_client
from connector.cms.in_force import MAPPING_KIND, mapping_in_force
from connector.errors import invalid
from connector.services.documents import check
from connector.settings import Settings
from connector.staff.users import Actor
from connector.store.documents import Stored, history
from connector.sync.preview import ResourcePreview, preview
from mappings import bundled_path, load_mapping

__all__ = ["CommonField", "Override", "common_fields", "in_force", "preview_edit", "shipped", "with_fields"]

SAVED: Final = "saved"
FILE: Final = "file"
NONE: Final = "none"
# The fields the form offers first, in this order: the ones a firm most often points at its own custom fields.
_FIRST: Final = (("clients", "sms_consent"), ("clients", "state"), ("matters", "status"))


@dataclass(frozen=True, slots=True)
class Override:
    """The firm's override in force: where it comes from (saved, file, none), its text, and its saved versions."""

    source: str
    text: str
    file: str | None
    stored: Stored | None
    versions: tuple[Stored, ...]


@dataclass(frozen=True, slots=True)
class CommonField:
    """One field path of one resource: as shipped and as in force."""

    resource: str
    name: str
    shipped: str
    in_force: str

    @property
    def key(self) -> str:
        """The form input's name."""
        return f"{self.resource}.{self.name}"


def shipped(settings: Settings) -> str:
    """The bundled mapping's text, as shipped with this version of Matterline."""
    return bundled_path(settings.cms).read_text(encoding="utf-8")


def in_force(engine: Engine, settings: Settings) -> Override:
    """The override in force now, and the last saved versions (newest first)."""
    versions = tuple(history(engine, MAPPING_KIND))
    stored = versions[0] if versions else None
    if stored is not None and stored.body is not None:
        return Override(SAVED, stored.body, settings.mapping_file, stored, versions)
    if settings.mapping_file:
        text = Path(settings.mapping_file).read_text(encoding="utf-8")
        return Override(FILE, text, settings.mapping_file, stored, versions)
    return Override(NONE, json.dumps({"id": settings.cms}, indent=2) + "\n", None, stored, versions)


def common_fields(engine: Engine, settings: Settings) -> list[CommonField]:
    """Every field path of every resource, the consent, state and status fields first."""
    base = load_mapping(settings.cms)
    current = mapping_in_force(settings, engine)
    found = []
    for name, spec in base.resources.items():
        now = current.resources.get(name)
        for field_name, path in spec.fields.items():
            in_force_path = now.fields.get(field_name, path) if now is not None else path
            found.append(CommonField(name, field_name, str(path), str(in_force_path)))
    order = {key: i for i, key in enumerate(_FIRST)}
    return sorted(found, key=lambda f: (order.get((f.resource, f.name), len(order)), f.resource))


def with_fields(settings: Settings, override_text: str, values: dict[str, str]) -> str:
    """`override_text` with the form's field paths set: a path as shipped is left out of the override.

    Raises:
        MatterlineError: invalid `invalid_document` when `override_text` is not a JSON object.
    """
    try:
        document = json.loads(override_text)
    except json.JSONDecodeError as exc:
        raise invalid(
            "invalid_document",
            "the override is not valid JSON; fix it in the JSON editor first",
            {"errors": [{"path": "$", "message": f"not valid JSON: {exc.msg} at line {exc.lineno}"}]},
        ) from None
    if not isinstance(document, dict):
        raise invalid(
            "invalid_document",
            "the override must be a JSON object",
            {"errors": [{"path": "$", "message": "must be a JSON object"}]},
        )
    base = load_mapping(settings.cms)
    for key, value in values.items():
        resource, _, name = key.partition(".")
        spec = base.resources.get(resource)
        if spec is None or name not in spec.fields:
            continue
        fields = document.setdefault("resources", {}).setdefault(resource, {}).setdefault("fields", {})
        if value.strip() == str(spec.fields[name]) or not value.strip():
            fields.pop(name, None)
        else:
            fields[name] = value.strip()
        _prune(document, ("resources", resource, "fields"))
    document.setdefault("id", settings.cms)
    return json.dumps(document, indent=2) + "\n"


def _prune(document: dict[str, Any], path: tuple[str, ...]) -> None:
    """Drop the empty objects along `path`, innermost first."""
    for depth in range(len(path), 0, -1):
        parent: Any = document
        for key in path[: depth - 1]:
            parent = parent.get(key, {})
        if isinstance(parent, dict) and parent.get(path[depth - 1]) == {}:
            del parent[path[depth - 1]]


def preview_edit(engine: Engine, settings: Settings, text: str, *, actor: Actor) -> list[ResourcePreview]:
    """The first page of each resource read through the edited mapping, from the live CMS; nothing is stored.

    Raises:
        MatterlineError: forbidden (admins only); invalid `invalid_document` with every error at its path.
    """
    actor.require_admin("preview a field mapping")
    problems = check(settings, MAPPING_KIND, text)
    if problems:
        raise invalid(
            "invalid_document",
            f"the field mapping has {len(problems)} error{'s' if len(problems) != 1 else ''}; nothing was previewed",
            {"errors": [{"path": p.path, "message": p.message} for p in problems]},
        )
    mapping = load_mapping(settings.cms, override_text=text, text_source="edit")
    return preview(build_client(settings, mapping, engine), mapping, default_region=settings.default_region)

