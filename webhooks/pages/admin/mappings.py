"""`/admin/mappings`: the shipped mapping beside the firm's override, edited as a form or as JSON, previewed on
live CMS records, and saved only when it has no error (services.documents, queries.documents)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from connector import queries, services
from connector.errors import MatterlineError
from connector.queries.documents import MAPPING
from connector.staff.users import User
from webhooks.pages.admin.guard import actor, admin_page
from webhooks.pages.render import page
from webhooks.state import app_state

__all__ = ["blueprint"]

blueprint = Blueprint("admin_mappings", __name__, url_prefix="/admin/mappings")

_PREVIEW = "preview"


def _shown(user: User, *, status: int = 200, **context: Any) -> BaseResponse:
    """The page: what is in force, the editors (with the admin's text when an edit was refused), and results."""
    state = app_state()
    override = queries.documents.mapping_override(state.engine, state.settings)
    context.setdefault("editor_text", override.text)
    return page(
        user,
        "admin/mappings/index.html",
        status=status,
        override=override,
        shipped=queries.documents.shipped_mapping(state.settings),
        fields=queries.documents.common_fields(state.engine, state.settings),
        vendor=state.settings.cms,
        zone=state.settings.zone,
        saved=request.args.get("saved"),
        reverted=request.args.get("reverted") == "1",
        **context,
    )


def _refused(user: User, exc: MatterlineError, text: str, typed: dict[str, str] | None = None) -> BaseResponse:
    details = exc.details if isinstance(exc.details, dict) else {}
    return _shown(
        user,
        status=422 if exc.code in ("invalid_document", "unchanged") else 400,
        editor_text=text,
        typed=typed or {},
        refusal=exc.message,
        problems=details.get("errors", []),
    )


def _save_or_preview(user: User, text: str, typed: dict[str, str] | None = None) -> BaseResponse:
    state = app_state()
    try:
        if request.form.get("action") == _PREVIEW:
            previewed = services.documents.preview_mapping(state.engine, state.settings, text, actor=actor(user))
            return _shown(user, editor_text=text, typed=typed or {}, previewed=previewed)
        saved = services.documents.save(
            state.engine,
            state.settings,
            MAPPING,
            text,
            actor=actor(user),
            reason=request.form.get("reason", "").strip() or None,
        )
    except MatterlineError as exc:
        return _refused(user, exc, text, typed)
    return redirect(url_for("admin_mappings.index", saved=saved.id), 303)


@blueprint.get("")
@admin_page
def index(user: User) -> BaseResponse:
    """The mapping in force, its override, the last saved versions, and the two editors."""
    return _shown(user)


@blueprint.post("/fields")
@admin_page
def fields(user: User) -> BaseResponse:
    """The common fields form: its paths merged into the override in force, then previewed or saved."""
    state = app_state()
    typed = {key[len("field:") :]: value for key, value in request.form.items() if key.startswith("field:")}
    current = queries.documents.mapping_override(state.engine, state.settings).text
    try:
        text = queries.documents.override_with_fields(state.settings, current, typed)
    except MatterlineError as exc:
        return _refused(user, exc, current, typed)
    return _save_or_preview(user, text, typed)


@blueprint.post("/json")
@admin_page
def json_override(user: User) -> BaseResponse:
    """The override as JSON, previewed or saved as typed."""
    return _save_or_preview(user, request.form.get("override", ""))


@blueprint.post("/revert")
@admin_page
def revert(user: User) -> BaseResponse:
    """Stop using the saved override: the override file (or none) is in force again."""
    state = app_state()
    try:
        services.documents.save(
            state.engine,
            state.settings,
            MAPPING,
            None,
            actor=actor(user),
            reason=request.form.get("reason", "").strip() or None,
        )
    except MatterlineError as exc:
        return _refused(user, exc, queries.documents.mapping_override(state.engine, state.settings).text)
    return redirect(url_for("admin_mappings.index", reverted=1), 303)
