"""A matter's panel: its people and their numbers, its threads, its write-back history, and its export.

The page is addressed by the CMS's matter id (what a link from the CMS carries), never by a name or a
number. The export is the API's: the same service, so the same role check and the same audit entry;
the page hands its files over as one zip download.
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from typing import Final

from flask import Blueprint, Response, url_for

from connector import queries, services
from connector.cms.links import links_for
from connector.errors import not_found
from connector.staff.users import Actor, User
from webhooks.pages.compose import ComposeTarget, composer_for
from webhooks.pages.render import page, person_page, poll_answer
from webhooks.state import app_state

__all__ = ["blueprint"]

blueprint = Blueprint("matters", __name__)

# A CMS id goes into a download's file name only when it is plainly an id.
_SAFE_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


@blueprint.get("/matters/<cms_id>")
@person_page
def show(user: User, cms_id: str) -> Response:
    """The matter's panel; the HTML 404 page for a matter the store does not hold.

    Raises:
        MatterlineError: not found.
    """
    state = app_state()
    panel = queries.matter_panel.panel(
        state.engine, state.settings, links_for(state.settings, state.mapping), cms_id, user_id=user.id
    )
    if panel is None:
        raise not_found("no such matter here; it may not have been synced yet")
    # One number: it is the recipient. Several: the person picks one (radios bound to the composer's form).
    only = panel.recipients[0].number if len(panel.recipients) == 1 else None
    return page(
        user,
        "matters/show.html",
        panel=panel,
        composer=composer_for(user, ComposeTarget(None, only, cms_id)) if panel.recipients else None,
        zone=state.settings.zone,
        cms_name=state.mapping.name,
        poll_url=url_for("matters.poll", cms_id=cms_id),
    )


@blueprint.get("/matters/<cms_id>/poll")
@person_page
def poll(user: User, cms_id: str) -> Response:
    """The panel's live poll: nothing (204) while nothing changed, else the badge and the matter's threads.

    The threads are read only when the stamp says something changed (the template calls `load`), so a
    poll that finds nothing new costs the stamp alone.
    """
    engine = app_state().engine
    return poll_answer(
        user,
        "matters/changes.html",
        cms_id=cms_id,
        load=lambda: queries.matter_panel.threads_of(engine, cms_id, user_id=user.id),
        zone=app_state().settings.zone,
        poll_url=url_for("matters.poll", cms_id=cms_id),
    )


@blueprint.post("/matters/<cms_id>/export")
@person_page
def export(user: User, cms_id: str) -> Response:
    """The matter's export (export.json, messages.csv, transcript.html, manifest.json) as one zip; audited.

    Raises:
        MatterlineError: forbidden `forbidden_role` (staff); not found.
    """
    state = app_state()
    result = services.exports.export_matter(
        state.engine, state.settings, cms_id, actor=Actor.of(user, uuid.uuid4().hex)
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in result.files:
            archive.writestr(item.name, item.content or "")
    stem = f"matter-{cms_id}" if _SAFE_ID.fullmatch(cms_id) else "matter"
    response = Response(buffer.getvalue(), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}-export.zip"'
    return response
