"""`/admin/rules`: the firm's content rules, reply templates and reminder rules, edited as JSON, and tried.

Three tabs, one per document: what is in force and where from (saved here, the file a setting names, or the
shipped default), its JSON to edit, the last saved versions, and a readable table of its entries. Saving is
`services.documents.save` (checked exactly as the file would be, every error at its JSON path, nothing saved
otherwise, audited with the admin's name) and is in force at the next send in every process. "Go back" saves
None, handing the document back to its file or the default. The rules tab also tries a draft, against the
rules in force (the composer's own check) or against the unsaved edit in the editor (never saved). The reminder
rules tab tries the unsaved edit on a sample entry, so the admin reads the exact text a client would get.
"""

from __future__ import annotations

from typing import Any, Final

from flask import Blueprint, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from connector import services
from connector.errors import MatterlineError
from connector.queries import documents
from connector.staff.users import User
from connector.store.engine import utcnow
from webhooks.errors import STATUS
from webhooks.pages.admin.guard import actor, admin_page
from webhooks.pages.render import page
from webhooks.state import app_state

__all__ = ["blueprint"]

blueprint = Blueprint("admin_rules", __name__, url_prefix="/admin/rules")

# Each document's tab: its view, and what the page calls it.
_TABS: Final = {
    documents.CONTENT_RULES: ("admin_rules.index", "Content rules"),
    documents.REPLY_TEMPLATES: ("admin_rules.templates", "Reply templates"),
    documents.REMINDER_RULES: ("admin_rules.reminders", "Reminder rules"),
}
_MAX_DRAFT: Final = 1600


@blueprint.get("")
@admin_page
def index(user: User) -> BaseResponse:
    """The content rules tab: the rules in force, their editor, their versions, and the try-a-draft box."""
    return _page(user, documents.CONTENT_RULES, **_done())


@blueprint.get("/templates")
@admin_page
def templates(user: User) -> BaseResponse:
    """The reply templates tab: the templates in force, their editor and their versions."""
    return _page(user, documents.REPLY_TEMPLATES, **_done())


@blueprint.get("/reminders")
@admin_page
def reminders(user: User) -> BaseResponse:
    """The reminder rules tab: the rules in force, their editor, their versions, and the sample texts."""
    return _page(user, documents.REMINDER_RULES, **_done())


@blueprint.post("/reminders/try")
@admin_page
def try_reminders(user: User) -> BaseResponse:
    """Each rule's text for a sample entry, from the unsaved edit in the editor; saves nothing."""
    text = _text()
    tried = documents.try_reminders(app_state().engine, app_state().settings, text)
    state: dict[str, Any] = {"text": text, "reason": request.form.get("reason", "")}
    return _page(user, documents.REMINDER_RULES, status=422 if tried.problems else 200, samples=tried, **state)


@blueprint.post("/save")
@admin_page
def save(user: User) -> BaseResponse:
    """Put the edited text in force as a new version, or show every error at its path (422) with nothing saved."""
    kind = _kind()
    text = _text()
    reason = request.form.get("reason", "").strip() or None
    try:
        stored = services.documents.save(
            app_state().engine, app_state().settings, kind, text, actor=actor(user), reason=reason
        )
    except MatterlineError as exc:
        return _refused(user, kind, exc, text=text, reason=reason or "")
    return redirect(url_for(_TABS[kind][0], saved=stored.id), 303)


@blueprint.post("/back")
@admin_page
def back(user: User) -> BaseResponse:
    """Stop using the version saved here: the file the setting names, or the shipped default, is in force again."""
    kind = _kind()
    reason = request.form.get("back_reason", "").strip() or None
    if request.form.get("confirm") != "1":
        return _page(
            user,
            kind,
            status=422,
            back_error="Tick the box to confirm: the version saved here stops being in force.",
            back_reason=reason or "",
        )
    try:
        stored = services.documents.save(
            app_state().engine, app_state().settings, kind, None, actor=actor(user), reason=reason
        )
    except MatterlineError as exc:
        return _page(user, kind, status=STATUS[exc.kind], back_error=exc.message, back_reason=reason or "")
    return redirect(url_for(_TABS[kind][0], back=stored.id), 303)


@blueprint.post("/try")
@admin_page
def try_draft(user: User) -> BaseResponse:
    """What the rules find in a draft: those in force (as the composer checks) or the unsaved edit; saves nothing."""
    text = _text()
    draft = request.form.get("draft", "")[:_MAX_DRAFT]
    against = "edit" if request.form.get("against") == "edit" else "in_force"
    state: dict[str, Any] = {"text": text, "draft": draft, "against": against, "reason": request.form.get("reason", "")}
    if not draft.strip():
        return _page(user, documents.CONTENT_RULES, status=422, try_error="Type a text message to try.", **state)
    if against == "edit":
        tried = services.documents.try_rules(app_state().settings, text, draft)
        return _page(user, documents.CONTENT_RULES, status=422 if tried.problems else 200, tried=tried, **state)
    try:
        checked = services.messages.check_draft(app_state().engine, app_state().settings, draft)
    except MatterlineError as exc:
        return _page(user, documents.CONTENT_RULES, status=STATUS[exc.kind], try_error=exc.message, **state)
    tried = services.documents.Tried(checked.findings, ())
    return _page(user, documents.CONTENT_RULES, tried=tried, **state)


def _kind() -> str:
    kind = request.form.get("kind", "")
    return kind if kind in _TABS else documents.CONTENT_RULES


def _text() -> str:
    """The editor's text as typed: a browser sends a textarea's line breaks as CRLF; the file format has LF."""
    return request.form.get("text", "").replace("\r\n", "\n")


def _done() -> dict[str, Any]:
    """What the last change did, from the redirect after it (Post/Redirect/Get)."""
    saved, back_id = request.args.get("saved", ""), request.args.get("back", "")
    if saved.isdigit():
        return {"done": f"Saved: version {saved} is in force."}
    if back_id.isdigit():
        return {"done": f"Gone back (version {back_id}): the version saved on this page is no longer in force."}
    return {}


def _refused(user: User, kind: str, exc: MatterlineError, **state: Any) -> BaseResponse:
    """A refused save shown on the page: every error at its JSON path, the admin's text kept."""
    errors = exc.details.get("errors", []) if exc.code == "invalid_document" and isinstance(exc.details, dict) else []
    problems = tuple(documents.Problem(e["path"], e["message"]) for e in errors)
    return _page(user, kind, status=STATUS[exc.kind], error=exc.message, problems=problems, **state)


def _page(user: User, kind: str, *, status: int = 200, **state: Any) -> BaseResponse:
    state_ = app_state()
    shown = documents.text_in_force(state_.engine, state_.settings, kind)
    context: dict[str, Any] = {
        "kind": kind,
        "doc": shown,
        "tabs": _TABS,
        "rules_kind": documents.CONTENT_RULES,
        "reminders_kind": documents.REMINDER_RULES,
        "text": shown.text,
        "reason": "",
        "draft": "",
        "against": "in_force",
        "zone": state_.settings.zone,
        "now": utcnow(),
        "who": _who,
        **state,
    }
    return page(user, "admin/rules/index.html", status=status, **context)


def _who(label: str) -> str:
    """An audit label as a person reads it: `user:7:ada@firm.example` is ada@firm.example; an operator as named."""
    kind, _, rest = label.partition(":")
    if kind == "user" and rest.count(":") >= 1:
        return rest.split(":", 1)[1]
    return label
