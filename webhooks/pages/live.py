"""The header's live poll on pages with nothing else to refresh: the unread badge and the tab title."""

from __future__ import annotations

from flask import Blueprint, Response

from connector.staff.users import User
from webhooks.pages.render import person_page, poll_answer

__all__ = ["blueprint"]

blueprint = Blueprint("live", __name__)


@blueprint.get("/poll")
@person_page
def poll(user: User) -> Response:
    """Nothing (204) while nothing changed; else the new badge and the poller's new stamp."""
    return poll_answer(user)
