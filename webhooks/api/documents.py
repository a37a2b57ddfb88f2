"""`/api/documents`: an admin's new version of the field mapping override, the content rules, the reply
templates or the reminder rules, and trying an edit first (a draft against edited rules, an edited mapping on
live CMS records)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from flask import Response

from connector import services
from connector.guardrails.content import FindingView
from connector.queries.documents import CONTENT_RULES, MAPPING, REMINDER_RULES, REPLY_TEMPLATES, Problem
from connector.staff.users import ADMIN_ROLES
from connector.store.documents import Stored
from connector.sync.preview import ResourcePreview
from webhooks.api.bodies import DocumentBody, MappingPreviewBody, TryRulesBody
from webhooks.api.routing import Call, Route, json_response
from webhooks.state import app_state

__all__ = ["ROUTES"]


def _saver(kind: str) -> Callable[[Call], Response]:
    def save(call: Call) -> Response:
        """Put a new version in force (checked first; nothing saved when it has an error); audited."""
        state = app_state()
        saved = services.documents.save(
            state.engine, state.settings, kind, call.body["text"], actor=call.actor, reason=call.body["reason"]
        )
        return json_response({"document": saved})

    return save


def _try(call: Call) -> Response:
    """What an unsaved edit of the content rules finds in a draft; stores nothing."""
    tried = services.documents.try_rules(app_state().settings, call.body["rules"], call.body["draft"])
    return json_response({"findings": tried.findings, "problems": tried.problems, "sendable": tried.sendable})


def _preview(call: Call) -> Response:
    """The first page of each CMS resource read through an unsaved override; stores nothing."""
    state = app_state()
    shown = services.documents.preview_mapping(state.engine, state.settings, call.body["text"], actor=call.actor)
    return json_response({"resources": shown})


ROUTES: Final[tuple[Route, ...]] = (
    *(
        Route(
            "PUT",
            f"/documents/{kind}",
            _saver(kind),
            f"save{''.join(part.title() for part in kind.split('_'))}",
            f"Save the firm's {name}",
            (200, "The version now in force.", {"document": Stored}),
            description=(
                "Admins only. The text is checked exactly as its file would be: with any error, 422 "
                "`invalid_document` lists every error with its JSON path in `details.errors` and nothing is saved; "
                "422 `unchanged` when it is the version in force. `text` null hands the document back to its "
                f"file (or what ships). In force in the app and every worker at their next use; audited as `{action}`."
            ),
            body=DocumentBody,
            errors=(422,),
            roles=ADMIN_ROLES,
            tags=("documents",),
        )
        for kind, name, action in (
            (MAPPING, "field mapping override", "mapping_change"),
            (CONTENT_RULES, "content rules", "rules_change"),
            (REPLY_TEMPLATES, "reply templates", "templates_change"),
            (REMINDER_RULES, "reminder rules", "reminders_change"),
        )
    ),
    Route(
        "POST",
        "/documents/content_rules/try",
        _try,
        "tryContentRules",
        "Try a draft against an edit of the content rules",
        (
            200,
            "What the edited rules find in the draft, or the edit's errors (each at its JSON path).",
            {"findings": list[FindingView], "problems": list[Problem], "sendable": bool},
        ),
        description="Admins only. Stores and audits nothing.",
        body=TryRulesBody,
        roles=ADMIN_ROLES,
        tags=("documents",),
    ),
    Route(
        "POST",
        "/documents/mapping/preview",
        _preview,
        "previewMapping",
        "Read live CMS records through an edit of the field mapping",
        (
            200,
            "Each resource's first records as the edit reads them, or why they could not be read.",
            {"resources": list[ResourcePreview]},
        ),
        description=(
            "Admins only. One request per resource to the CMS, as a sync's first page; stores nothing. 422 "
            "`invalid_document` with every error at its JSON path when the edit cannot be used."
        ),
        body=MappingPreviewBody,
        errors=(422,),
        roles=ADMIN_ROLES,
        tags=("documents",),
    ),
)
