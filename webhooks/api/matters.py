"""`/api/matters`: the synced matters, texting a matter's client, legal holds, and a matter's export."""

from __future__ import annotations

from typing import Final

from flask import Response

from connector import queries, services
from connector.queries.holds import HoldView
from connector.queries.matters import MatterView
from connector.services.exports import ExportFile
from connector.services.holds import HoldChange
from connector.staff.users import ADMIN_ROLES, COUNSEL_ROLES
from webhooks.api.bodies import ReasonBody, SendBody
from webhooks.api.messages import SEND_DESCRIPTION, send
from webhooks.api.routing import Call, IntParam, Param, Route, TextParam, json_response
from webhooks.state import app_state

__all__ = ["ROUTES"]

_PAGE: Final = (
    Param("after", IntParam(0), "Only matters after this store id (the last `id` of the previous page)."),
    Param("limit", IntParam(1, 500, 100), "Page size."),
)


def _list(call: Call) -> Response:
    """The synced matters, by store id; filtered and paged in SQL."""
    rows = queries.matters.listing(
        app_state().engine,
        cms_id=call.query["cms_id"],
        status=call.query["status"],
        client_cms_id=call.query["client"],
        after=call.query["after"],
        limit=call.query["limit"],
    )
    return json_response({"matters": rows})


def _send_for_matter(call: Call, cms_id: str) -> Response:
    """Text a matter's client from the firm number; the text and its thread are filed to the matter."""
    return send(call, matter_cms_id=cms_id)


def _export(call: Call, cms_id: str) -> Response:
    """The matter's export, as `matterline export` writes it, with each file's text inline; audited."""
    state = app_state()
    result = services.exports.export_matter(state.engine, state.settings, cms_id, actor=call.actor)
    return json_response(
        {"matter_cms_id": cms_id, "messages": result.messages, "audit_id": result.audit_id, "files": result.files}
    )


def _hold(call: Call, cms_id: str) -> Response:
    """Put the matter on legal hold: no purge touches its texts until it is released."""
    change = services.holds.set_hold(app_state().engine, cms_id, reason=call.body["reason"], actor=call.actor)
    return json_response({"hold": change}, 201)


def _release(call: Call, cms_id: str) -> Response:
    """Release the matter's legal hold."""
    change = services.holds.release(app_state().engine, cms_id, reason=call.body["reason"], actor=call.actor)
    return json_response({"hold": change})


def _holds(call: Call) -> Response:
    """The matters on legal hold now."""
    return json_response({"holds": queries.holds.listing(app_state().engine)})


ROUTES: Final[tuple[Route, ...]] = (
    Route(
        "GET",
        "/matters",
        _list,
        "listMatters",
        "The synced matters",
        (200, "Matters by store id.", {"matters": list[MatterView]}),
        params=(
            Param("cms_id", TextParam(64), "Only the matter with this CMS id."),
            Param("status", TextParam(16, queries.matters.STATUSES), "Only matters in this status."),
            Param("client", TextParam(64), "Only this client's matters (CMS id)."),
            *_PAGE,
        ),
        tags=("directory",),
    ),
    Route(
        "POST",
        "/matters/<cms_id>/messages",
        _send_for_matter,
        "sendForMatter",
        "Text a matter's client",
        (201, "Stored and queued; the worker sends it.", {"message": services.messages.Queued}),
        description=(
            "Sends from the firm number to the matter client's primary readable phone, on that number's thread, "
            "filed to the matter. When that thread is on another matter (or waits in needs filing) the text "
            "re-files it: attorneys and admins only (audited as `refile`), staff get 403 `forbidden_role`. "
            "Refusals as for sending in a thread, plus 422 `no_textable_number` and "
            "`no_firm_number`. " + SEND_DESCRIPTION
        ),
        body=SendBody,
        errors=(403, 404, 409, 422, 503),
        tags=("messages",),
    ),
    Route(
        "POST",
        "/matters/<cms_id>/export",
        _export,
        "exportMatter",
        "Export a matter's texts",
        (
            200,
            "export.json (messages with SIDs, status history, media references, filing decisions, consents, "
            "opt-outs, the matter's audit entries), messages.csv, transcript.html and manifest.json (SHA-256 "
            "of every file), each with its text.",
            {"matter_cms_id": str, "messages": int, "audit_id": int, "files": list[ExportFile]},
        ),
        description=(
            "Attorneys and admins only (staff get 403 `forbidden_role`). The export is audited as `export`. "
            "404 for a matter the store does not hold."
        ),
        errors=(404,),
        roles=COUNSEL_ROLES,
        tags=("compliance",),
    ),
    Route(
        "POST",
        "/matters/<cms_id>/hold",
        _hold,
        "setLegalHold",
        "Put a matter on legal hold",
        (201, "The hold as recorded.", {"hold": HoldChange}),
        description=(
            "Admins only. While on hold, retention never purges the matter's texts. Audited as `hold_set`. "
            "409 `already_on_hold`; 404 for a matter the store does not hold."
        ),
        body=ReasonBody,
        errors=(404, 409, 422),
        roles=ADMIN_ROLES,
        tags=("compliance",),
    ),
    Route(
        "POST",
        "/matters/<cms_id>/hold/release",
        _release,
        "releaseLegalHold",
        "Release a matter's legal hold",
        (200, "The release as recorded.", {"hold": HoldChange}),
        description="Admins only. Audited as `hold_release`. 409 `not_on_hold`.",
        body=ReasonBody,
        errors=(404, 409, 422),
        roles=ADMIN_ROLES,
        tags=("compliance",),
    ),
    Route(
        "GET",
        "/holds",
        _holds,
        "listLegalHolds",
        "Matters on legal hold",
        (200, "Matters on hold now, by CMS id.", {"holds": list[HoldView]}),
        tags=("compliance",),
    ),
)
