"""`/admin`: the admin's starting point, a link to each admin page with what it is for."""

from __future__ import annotations

from flask import Blueprint
from werkzeug.wrappers import Response as BaseResponse

from connector.staff.users import User
from webhooks.pages.admin.guard import admin_page
from webhooks.pages.render import page

__all__ = ["blueprint"]

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


@blueprint.get("")
@admin_page
def index(user: User) -> BaseResponse:
    """Every admin page, in the order an admin setting up a firm would visit them."""
    return page(user, "admin/home/index.html")
