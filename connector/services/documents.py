"""The firm's documents an admin edits on the admin pages: the mapping override, content rules, reply templates.

Saving one is a single service call: the text is checked exactly as its file would be (every error at its
JSON path), and only a document with no error is stored, as a new version, with its audit entry in the same
transaction. Nothing broken is ever put in force. The newest version is in force in the app and in every
worker at their next use (connector/store/documents.py); saving "none" hands the kind back to its file.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Final

from sqlalchemy import Engine, insert

from connector.cms.in_force import MAPPING_KIND
from connector.compliance import audit
from connector.errors import invalid
from connector.guardrails import content, rules_in_force
from connector.guardrails.rules_in_force import CONTENT_RULES
from connector.messaging import reply_templates
from connector.settings import Settings
from connector.staff.users import Actor
from connector.store.documents import Stored, history, newest
from connector.store.engine import utcnow
from connector.store.tables import firm_documents
from mappings import MappingError, load_mapping

__all__ = [
    "CONTENT_RULES",
    "KINDS",
    "MAPPING",
    "REPLY_TEMPLATES",
    "InForceText",
    "Problem",
    "Tried",
    "check",
    "save",
    "text_in_force",
    "try_rules",
]

MAPPING: Final = MAPPING_KIND
REPLY_TEMPLATES: Final = reply_templates.TEMPLATES_KIND
KINDS: Final = (MAPPING, CONTENT_RULES, REPLY_TEMPLATES)
# What each kind is called in a refusal, and the audit action its change is recorded as.
_NAMES: Final = {MAPPING: "field mapping", CONTENT_RULES: "content rules", REPLY_TEMPLATES: "reply templates"}
_ACTIONS: Final = {
    MAPPING: audit.Action.MAPPING_CHANGE,
    CONTENT_RULES: audit.Action.RULES_CHANGE,
    REPLY_TEMPLATES: audit.Action.TEMPLATES_CHANGE,
}
MAX_BYTES: Final = 256 * 1024
# "rules[2].patterns[0]: message" -> the path and the message; a line without a path is about the whole text.
_PATH_LINE: Final = re.compile(r"^(?P<path>\$|\(file\)|[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*|\[[^\]]+\])*): (?P<message>.+)$")


@dataclass(frozen=True, slots=True)
class Problem:
    """One error in an edited document, at its JSON path ($ for the whole text)."""

    path: str
    message: str


def check(settings: Settings, kind: str, text: str) -> list[Problem]:
    """Every error in `text` as a document of `kind` (none: it may be saved)."""
    _known(kind)
    if len(text.encode()) > MAX_BYTES:
        return [Problem("$", f"is {len(text.encode())} bytes; at most {MAX_BYTES} are accepted")]
    try:
        if kind == MAPPING:
            load_mapping(settings.cms, override_text=text, text_source="edit")
        elif kind == CONTENT_RULES:
            content.parse_rules(text, "edit")
        else:
            reply_templates.parse_templates(text, "edit")
    except MappingError as exc:
        return [Problem(path, message) for path, message in exc.errors]
    except (content.RulesError, reply_templates.TemplatesError) as exc:
        return [_problem(line) for line in exc.errors]
    return []


def save(
    engine: Engine,
    settings: Settings,
    kind: str,
    text: str | None,
    *,
    actor: Actor,
    reason: str | None = None,
    now: datetime | None = None,
) -> Stored:
    """Put `text` in force as the firm's `kind` (None: back to the file or the shipped default).

    Raises:
        MatterlineError: forbidden `forbidden_role` (admins only); invalid `invalid_document` with every
            error at its path (`details.errors`), and nothing saved; invalid `unchanged` when `text` is
            what is already in force.
    """
    _known(kind)
    actor.require_admin(f"change the {_NAMES[kind]}")
    if text is not None:
        problems = check(settings, kind, text)
        if problems:
            raise invalid(
                "invalid_document",
                f"the {_NAMES[kind]} has {len(problems)} error{'s' if len(problems) != 1 else ''}; nothing was saved",
                {"errors": [{"path": p.path, "message": p.message} for p in problems]},
            )
    digest = hashlib.sha256((text or "").encode()).hexdigest()
    at = now or utcnow()
    with engine.begin() as conn:
        before = newest(conn, kind)
        if (before.body if before else None) == text:
            raise invalid("unchanged", f"this {_NAMES[kind]} is already in force; nothing was saved")
        row_id = conn.execute(
            insert(firm_documents)
            .values(kind=kind, body=text, digest=digest, actor=actor.label, reason=reason, changed_at=at)
            .returning(firm_documents.c.id)
        ).scalar_one()
        audit.append(
            conn,
            actor=actor.label,
            action=_ACTIONS[kind],
            subject_type="document",
            subject_id=settings.cms if kind == MAPPING else kind,
            request_id=actor.request_id,
            details={
                "kind": kind,
                "version": row_id,
                "digest": digest,
                "previous": before.id if before else None,
                "back_to_file": text is None,
                **({"reason": reason} if reason else {}),
            },
            at=at,
        )
    return Stored(int(row_id), kind, text, digest, actor.label, reason, at)


def _known(kind: str) -> None:
    if kind not in KINDS:
        raise invalid("unknown_document", f"no document kind {kind!r}; known: {', '.join(KINDS)}")


def _problem(line: str) -> Problem:
    found = _PATH_LINE.match(line)
    if found is None:
        return Problem("$", line)
    path = found["path"]
    path = "$" if path in ("$", "(file)") else path if path.startswith("$") else "$." + path
    return Problem(path, found["message"])


# -- the rules page: the content rules and reply templates in force as an admin edits them, and a draft tried
# against an unsaved edit of the rules.

SAVED: Final = "saved"
FILE: Final = "file"
DEFAULT: Final = "default"
# The setting that names each editable kind's file.
FILE_SETTINGS: Final = {
    CONTENT_RULES: "MATTERLINE_CONTENT_RULES_FILE",
    REPLY_TEMPLATES: "MATTERLINE_REPLY_TEMPLATES_FILE",
}


@dataclass(frozen=True, slots=True)
class InForceText:
    """The content rules or reply templates in force, as the admin page shows them for editing.

    `origin` says where they come from: `saved` (version `stored`, saved on the admin page), `file` (`file`,
    named by the setting `setting`) or `default` (shipped with Matterline). `text` is their JSON, pretty-printed
    (a file that does not parse is shown as it is, with its `problems`). `rules` / `templates` are the entries
    actually in force, for the page's readable table; `versions` the newest saved versions, newest first.
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


def text_in_force(engine: Engine, settings: Settings, kind: str, *, versions: int = 10) -> InForceText:
    """The content rules or reply templates in force, where from, and their last `versions` saved versions.

    The admin edits the text in force (not a blank form), so a first save starts from the file or the
    shipped default, and the table of entries is read from what every send uses.

    Raises:
        MatterlineError: invalid `unknown_document` for a kind other than content rules or reply templates.
    """
    if kind not in FILE_SETTINGS:
        raise invalid("unknown_document", f"no rules page document {kind!r}; known: {', '.join(FILE_SETTINGS)}")
    recent = tuple(history(engine, kind, limit=versions))
    stored = recent[0] if recent else None
    file = settings.content_rules_file if kind == CONTENT_RULES else settings.reply_templates_file
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
    else:
        origin, raw = DEFAULT, _templates_json(reply_templates.DEFAULT_TEMPLATES)
    problems = problems or check(settings, kind, raw)
    text = raw if problems else json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
    shown = InForceText(kind, origin, text, FILE_SETTINGS[kind], file, stored, tuple(problems), recent)
    try:
        if kind == CONTENT_RULES:
            return replace(shown, rules=rules_in_force.content_rules(settings, engine).rules)
        return replace(shown, templates=reply_templates.in_force(settings, engine))
    except (content.RulesError, reply_templates.TemplatesError):
        return shown  # a broken file with nothing in force before it: `problems` says what is wrong


def _templates_json(templates: tuple[reply_templates.ReplyTemplate, ...]) -> str:
    """Templates as the file format, so the built-in set can be edited like a firm's file."""
    entries = [
        {"id": t.id, "title": t.title, "body": t.body, **({"call_back": True} if t.call_back else {})}
        for t in templates
    ]
    return json.dumps({"version": reply_templates.FORMAT_VERSION, "templates": entries}, indent=2, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Tried:
    """What an edit of the rules finds in a draft (`findings`), or why the edit cannot be used (`problems`)."""

    findings: tuple[content.FindingView, ...]
    problems: tuple[Problem, ...]

    @property
    def sendable(self) -> bool:
        """Whether the draft could go under the edited rules (no blocking finding, and the edit is usable)."""
        return not self.problems and not any(f.action == "block" for f in self.findings)


def try_rules(settings: Settings, rules_text: str, draft: str) -> Tried:
    """Check `draft` against an unsaved edit of the content rules; stores nothing and audits nothing.

    The edit is checked exactly as `save` checks it, so an admin sees its errors (each at its path) before
    trying, and what it finds here is what it would find once saved.
    """
    problems = check(settings, CONTENT_RULES, rules_text)
    if problems:
        return Tried((), tuple(problems))
    rules = content.parse_rules(rules_text, "edit")
    return Tried(tuple(f.view() for f in rules.check(draft)), ())
