"""Saving the firm's documents an admin edits: the mapping override, content rules, reply templates, reminder rules.

Saving one is a single service call: the text is checked exactly as its file would be (every error at its
JSON path, queries.documents.check), and only a document with no error is stored, as a new version, with its
audit entry in the same transaction. Nothing broken is ever put in force. The newest version is in force in
the app and in every worker at their next use (connector/store/documents.py); saving None hands the kind back
to its file. A new version of the reminder rules marks every entry still ahead for planning again, in the same
transaction, so the reminders already planned follow the new rules. An edit can be tried first: a draft
against edited rules, an edited mapping on live CMS records.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import Engine, insert

from connector.cms.connect import build_client
from connector.compliance import audit
from connector.errors import invalid
from connector.guardrails import content
from connector.queries.documents import CONTENT_RULES, MAPPING, REMINDER_RULES, REPLY_TEMPLATES, Problem, check, known
from connector.reminders import rules as reminder_rules
from connector.settings import Settings
from connector.staff.users import Actor
from connector.store.documents import Stored, newest
from connector.store.engine import utcnow
from connector.store.tables import firm_documents
from connector.sync.preview import ResourcePreview, preview
from mappings import load_mapping

__all__ = ["Tried", "preview_mapping", "save", "try_rules"]

# What each kind is called in a refusal, and the audit action its change is recorded as.
_NAMES: Final = {
    MAPPING: "field mapping",
    CONTENT_RULES: "content rules",
    REPLY_TEMPLATES: "reply templates",
    REMINDER_RULES: "reminder rules",
}
_ACTIONS: Final = {
    MAPPING: audit.Action.MAPPING_CHANGE,
    CONTENT_RULES: audit.Action.RULES_CHANGE,
    REPLY_TEMPLATES: audit.Action.TEMPLATES_CHANGE,
    REMINDER_RULES: audit.Action.REMINDERS_CHANGE,
}


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
    known(kind)
    actor.require_admin(f"change the {_NAMES[kind]}")
    if text is not None:
        problems = check(settings, kind, text, store=engine)
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
        replanned = reminder_rules.replan_all(conn, at) if kind == REMINDER_RULES else None
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
                **({"replanned": replanned} if replanned is not None else {}),
                **({"reason": reason} if reason else {}),
            },
            at=at,
        )
    return Stored(int(row_id), kind, text, digest, actor.label, reason, at)


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


def preview_mapping(engine: Engine, settings: Settings, text: str, *, actor: Actor) -> list[ResourcePreview]:
    """The first page of each resource read through the edited mapping, from the live CMS; nothing is stored.

    Raises:
        MatterlineError: forbidden (admins only); invalid `invalid_document` with every error at its path.
    """
    actor.require_admin("preview a field mapping")
    problems = check(settings, MAPPING, text)
    if problems:
        raise invalid(
            "invalid_document",
            f"the field mapping has {len(problems)} error{'s' if len(problems) != 1 else ''}; nothing was previewed",
            {"errors": [{"path": p.path, "message": p.message} for p in problems]},
        )
    mapping = load_mapping(settings.cms, override_text=text, text_source="edit")
    return preview(build_client(settings, mapping, engine), mapping, default_region=settings.default_region)
