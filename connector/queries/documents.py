"""The firm's documents as an admin sees and edits them: the mapping override, content rules, reply templates and
reminder rules.

What is in force and where it comes from (saved on an admin page, the file a setting names, or what ships),
its text to edit, the last saved versions, and `check`: every error of an edited text at its JSON path,
exactly as its file would be checked. Saving and trying an edit are services (services.documents).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine

from connector.cms.in_force import MAPPING_KIND, mapping_in_force
from connector.errors import MatterlineError, invalid
from connector.guardrails import content, pipeline, rules_in_force
from connector.guardrails.rules_in_force import CONTENT_RULES
from connector.messaging import reply_templates
from connector.reminders import rules as reminder_rules
from connector.settings import Settings
from connector.store.documents import Stored, history
from connector.store.engine import utcnow
from mappings import MappingError, bundled_path, load_mapping

__all__ = [
    "CONTENT_RULES",
    "KINDS",
    "MAPPING",
    "REMINDER_RULES",
    "REPLY_TEMPLATES",
    "CommonField",
    "InForceText",
    "MappingOverride",
    "Problem",
    "ReminderSample",
    "TriedReminders",
    "check",
    "common_fields",
    "known",
    "mapping_override",
    "override_with_fields",
    "shipped_mapping",
    "text_in_force",
    "try_reminders",
]

MAPPING: Final = MAPPING_KIND
REPLY_TEMPLATES: Final = reply_templates.TEMPLATES_KIND
REMINDER_RULES: Final = reminder_rules.KIND
KINDS: Final = (MAPPING, CONTENT_RULES, REPLY_TEMPLATES, REMINDER_RULES)
MAX_BYTES: Final = 256 * 1024
# "rules[2].patterns[0]: message" -> the path and the message; a line without a path is about the whole text.
_PATH_LINE: Final = re.compile(r"^(?P<path>\$|\(file\)|[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*|\[[^\]]+\])*): (?P<message>.+)$")


@dataclass(frozen=True, slots=True)
class Problem:
    """One error in an edited document, at its JSON path ($ for the whole text)."""

    path: str
    message: str


def check(settings: Settings, kind: str, text: str, *, store: Engine | Connection | None = None) -> list[Problem]:
    """Every error in `text` as a document of `kind` (none: it may be saved).

    With `store`, reminder rules are also checked against the content rules in force there: a reminder is sent
    by the worker with nobody to override a block, so a template the rules would block is an error now.
    """
    known(kind)
    if len(text.encode()) > MAX_BYTES:
        return [Problem("$", f"is {len(text.encode())} bytes; at most {MAX_BYTES} are accepted")]
    kept = _operator_keys(text) if kind == MAPPING else []
    try:
        if kind == MAPPING:
            load_mapping(settings.cms, override_text=text, text_source="edit")
        elif kind == CONTENT_RULES:
            content.parse_rules(text, "edit")
        elif kind == REMINDER_RULES:
            parsed = reminder_rules.parse(text)
            return [] if store is None else _blocked_reminders(store, settings, parsed)
        else:
            reply_templates.parse_templates(text, "edit")
    except MappingError as exc:
        return [*kept, *(Problem(path, message) for path, message in exc.errors)]
    except (content.RulesError, reply_templates.TemplatesError, reminder_rules.ReminderRulesError) as exc:
        return [_problem(line) for line in exc.errors]
    return kept


def _blocked_reminders(
    store: Engine | Connection, settings: Settings, parsed: reminder_rules.ReminderRules
) -> list[Problem]:
    """Each rule whose sample text the content rules in force would block, at its template's path."""
    found = []
    now = utcnow()
    for index, rule in enumerate(parsed.rules):
        sample = reminder_rules.sample_render(rule, firm=settings.firm_name, now=now, zone=settings.zone)
        try:
            blocks = [f for f in pipeline.findings(store, settings, sample) if f.action == "block"]
        except MatterlineError as exc:
            return [Problem("$", f"cannot be checked against the content rules: {exc.message}")]
        if blocks:
            why = "; ".join(f"{f.rule_id} ({f.match!r}): {f.message}" for f in blocks)
            found.append(Problem(f"$.rules[{index}].template", f"the content rules in force block its text: {why}"))
    return found


# Where the firm's CMS credentials are sent: the API's base URL (by region) and the token endpoint. A saved
# override must not move them, or an admin's session (or whoever stole it) could send the bearer token, the
# refresh token and the client secret to another host; they stay with whoever runs the server (the settings
# and the override file).
_OPERATOR_KEYS: Final = (("api", "regions"), ("api", "default_region"), ("auth",))


def _operator_keys(text: str) -> list[Problem]:
    try:
        document = json.loads(text)
    except ValueError:
        return []  # the mapping's own check says what is wrong with the JSON
    found = []
    for keys in _OPERATOR_KEYS:
        node: Any = document
        for key in keys:
            node = node.get(key, _ABSENT) if isinstance(node, dict) else _ABSENT
        if node is not _ABSENT:
            found.append(
                Problem(
                    "$." + ".".join(keys),
                    "decides where the firm's CMS credentials are sent, so it is set by whoever runs the server "
                    "(MATTERLINE_CMS_BASE_URL, MATTERLINE_CMS_REGION or the override file), not here",
                )
            )
    return found


_ABSENT: Final = object()


def known(kind: str) -> None:
    if kind not in KINDS:
        raise invalid("unknown_document", f"no document kind {kind!r}; known: {', '.join(KINDS)}")


def _problem(line: str) -> Problem:
    found = _PATH_LINE.match(line)
    if found is None:
        return Problem("$", line)
    path = found["path"]
    path = "$" if path in ("$", "(file)") else path if path.startswith("$") else "$." + path
    return Problem(path, found["message"])


# -- the rules page: the content rules, reply templates and reminder rules in force as an admin edits them, a
# draft tried against an unsaved edit of the rules, and the texts an unsaved edit of the reminder rules would send.

SAVED: Final = "saved"
FILE: Final = "file"
DEFAULT: Final = "default"
# The setting that names each editable kind's file ("": the kind has no file; saved here, or what ships).
FILE_SETTINGS: Final = {
    CONTENT_RULES: "MATTERLINE_CONTENT_RULES_FILE",
    REPLY_TEMPLATES: "MATTERLINE_REPLY_TEMPLATES_FILE",
    REMINDER_RULES: "",
}


@dataclass(frozen=True, slots=True)
class InForceText:
    """The content rules, reply templates or reminder rules in force, as the admin page shows them for editing.

    `origin` says where they come from: `saved` (version `stored`, saved on the admin page), `file` (`file`,
    named by the setting `setting`) or `default` (shipped with Matterline; reminder rules have no file, so
    `setting` is ""). `text` is their JSON, pretty-printed (a file that does not parse is shown as it is, with
    its `problems`). `rules` / `templates` / `reminders` are the entries actually in force, for the page's
    readable table; `versions` the newest saved versions, newest first.
    """

    kind: str
    origin: str
    text: str
    setting: str
    file: str | None
    stored: Stored | None
    problems: tuple[Problem, ...]
    versions: tuple[Stored, ...]
    rules: tuple[content.Rule, ...] = ()
    templates: tuple[reply_templates.ReplyTemplate, ...] = ()
    reminders: tuple[reminder_rules.ReminderRule, ...] = ()


def text_in_force(engine: Engine, settings: Settings, kind: str, *, versions: int = 10) -> InForceText:
    """The content rules, reply templates or reminder rules in force, where from, and their last saved versions.

    The admin edits the text in force (not a blank form), so a first save starts from the file or the
    shipped default, and the table of entries is read from what every send uses.

    Raises:
        MatterlineError: invalid `unknown_document` for a kind other than those three.
    """
    if kind not in FILE_SETTINGS:
        raise invalid("unknown_document", f"no rules page document {kind!r}; known: {', '.join(FILE_SETTINGS)}")
    recent = tuple(history(engine, kind, limit=versions))
    stored = recent[0] if recent else None
    file = {CONTENT_RULES: settings.content_rules_file, REPLY_TEMPLATES: settings.reply_templates_file}.get(kind)
    problems: list[Problem] = []
    if stored is not None and stored.body is not None:
        origin, raw = SAVED, stored.body
    elif file is not None:
        origin = FILE
        try:
            raw = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raw, problems = "", [Problem("$", f"cannot read the file: {exc}")]
    elif kind == CONTENT_RULES:
        origin, raw = DEFAULT, content.DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    elif kind == REMINDER_RULES:
        origin, raw = DEFAULT, reminder_rules.SHIPPED_PATH.read_text(encoding="utf-8")
    else:
        origin, raw = DEFAULT, _templates_json(reply_templates.DEFAULT_TEMPLATES)
    problems = problems or check(settings, kind, raw)
    text = raw if problems else json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
    shown = InForceText(kind, origin, text, FILE_SETTINGS[kind], file, stored, tuple(problems), recent)
    try:
        if kind == CONTENT_RULES:
            return replace(shown, rules=rules_in_force.content_rules(settings, engine).rules)
        if kind == REMINDER_RULES:
            return replace(shown, reminders=reminder_rules.in_force(settings, engine).rules)
        return replace(shown, templates=reply_templates.in_force(settings, engine))
    except (content.RulesError, reply_templates.TemplatesError, reminder_rules.ReminderRulesError):
        return shown  # a broken file with nothing in force before it: `problems` says what is wrong


@dataclass(frozen=True, slots=True)
class ReminderSample:
    """The text one rule sends for the sample entry, and what the content rules in force find in it."""

    rule: str
    moments: tuple[str, ...]
    text: str
    characters: int
    findings: tuple[content.FindingView, ...]


@dataclass(frozen=True, slots=True)
class TriedReminders:
    """An edit of the reminder rules tried on a sample entry: each rule's text, or why the edit cannot be used."""

    samples: tuple[ReminderSample, ...]
    problems: tuple[Problem, ...]
    place: str = reminder_rules.SAMPLE_PLACE


def try_reminders(engine: Engine, settings: Settings, text: str, *, now: datetime | None = None) -> TriedReminders:
    """What each rule of `text` (an unsaved edit) would text a client for an entry tomorrow at 9:30 AM in the
    firm's zone at "Courtroom 4B, 100 Main St": the exact words, checked as `save` checks them. Stores nothing.
    """
    problems = check(settings, REMINDER_RULES, text, store=engine)
    if problems:
        return TriedReminders((), tuple(problems))
    at = now or utcnow()
    samples = []
    for rule in reminder_rules.parse(text).rules:
        body = reminder_rules.sample_render(rule, firm=settings.firm_name, now=at, zone=settings.zone)
        found = tuple(f.view() for f in pipeline.findings(engine, settings, body))
        samples.append(ReminderSample(rule.name, tuple(m.label for m in rule.moments), body, len(body), found))
    return TriedReminders(tuple(samples), ())


def _templates_json(templates: tuple[reply_templates.ReplyTemplate, ...]) -> str:
    """Templates as the file format, so the built-in set can be edited like a firm's file."""
    entries = [
        {"id": t.id, "title": t.title, "body": t.body, **({"call_back": True} if t.call_back else {})}
        for t in templates
    ]
    return json.dumps({"version": reply_templates.FORMAT_VERSION, "templates": entries}, indent=2, ensure_ascii=False)


# -- the field mapping's override

NONE: Final = "none"
# The fields the form offers first, in this order: the ones a firm most often points at its own custom fields.
_FIRST: Final = (("clients", "sms_consent"), ("clients", "state"), ("matters", "status"))


@dataclass(frozen=True, slots=True)
class MappingOverride:
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


def shipped_mapping(settings: Settings) -> str:
    """The bundled mapping's text, as shipped with this version of Matterline."""
    return bundled_path(settings.cms).read_text(encoding="utf-8")


def mapping_override(engine: Engine, settings: Settings) -> MappingOverride:
    """The override in force now, and the last saved versions (newest first)."""
    versions = tuple(history(engine, MAPPING_KIND))
    stored = versions[0] if versions else None
    if stored is not None and stored.body is not None:
        return MappingOverride(SAVED, stored.body, settings.mapping_file, stored, versions)
    if settings.mapping_file:
        text = Path(settings.mapping_file).read_text(encoding="utf-8")
        return MappingOverride(FILE, text, settings.mapping_file, stored, versions)
    return MappingOverride(NONE, json.dumps({"id": settings.cms}, indent=2) + "\n", None, stored, versions)


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


def override_with_fields(settings: Settings, override_text: str, values: dict[str, str]) -> str:
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
