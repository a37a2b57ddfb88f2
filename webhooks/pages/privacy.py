"""The header's privacy-mode button: a person turns it on or off for themselves, and it stays so.

In an open office it is the person at the screen who knows who can see it, so the choice is theirs
and outlives the session; until they make one, the firm's default (MATTERLINE_PRIVACY_MODE) applies.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from connector import services
from connector.staff.users import Actor, User
from webhooks.pages.auth import safe_next
from webhooks.pages.render import person_page
from webhooks.state import app_state

__all__ = ["blueprint"]

blueprint = Blueprint("privacy", __name__)

_CHOICES = {"on": True, "off": False, "default": None}


@blueprint.post("/privacy")
@person_page
def toggle(user: User) -> BaseResponse:
    """Set the person's privacy mode (`privacy` = on, off or default), then show the page they were on."""
    choice = request.form.get("privacy", "")
    if choice not in _CHOICES:
        return BaseResponse("privacy must be on, off or default", status=400, mimetype="text/plain")
    services.users.set_privacy(app_state().engine, user.id, _CHOICES[choice], actor=Actor.of(user, uuid.uuid4().hex))
    return redirect(safe_next(request.form.get("next")), 303)
