"""The firm inbox: every conversation, filtered and searched, refreshed by the live poll."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, url_for
from werkzeug.wrappers import Response as BaseResponse

from connector.staff.users import User
from webhooks.pages.render import page, person_page

__all__ = ["blueprint"]

blueprint = Blueprint("inbox", __name__)


@blueprint.get("/inbox")
@person_page
def index(user: User) -> Response:
    """The inbox page."""
    return page(user, "inbox/index.html")


@blueprint.get("/")
def home() -> BaseResponse:
    """The site's front door is the inbox (which asks for sign-in first)."""
    return redirect(url_for("inbox.index"))
