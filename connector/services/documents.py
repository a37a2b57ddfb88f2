"""The firm's documents an admin edits on the admin pages: the mapping override, content rules, reply templates.

Saving one is a single service call: the text is checked exactly as its file would be (every error at its
JSON path), and only a document with no error is stored, as a new version, with its audit entry in the same
transaction. Nothing broken is ever put in force. The newest version is in force in the app and in every
worker at their next use (connector/store/documents.py); saving "none" hands the kind back to its file.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import Engine, insert

from connector.cms.in_force import MAPPING_KIND
from connector.compliance import audit
from connector.errors import invalid
from connector.guardrails import content
from connector.guardrails.rules_in_force import CONTENT_RULES
from connector.messaging import reply_templates
from connector.settings import Settings
from connector.staff.users import Actor
from connector.store.documents import Stored, newest
from connector.store.engine import utcnow
from connector.store.tables import firm_documents
from mappings import MappingError, load_mapping

__all__ = ["KINDS", "MAPPING", "REPLY_TEMPLATES", "Problem", "check", "save"]

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
