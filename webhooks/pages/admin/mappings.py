"""`/admin/mappings`: Field mappings (being built)."""

from __future__ import annotations

from flask import Blueprint
from werkzeug.wrappers import Response as BaseResponse

from connector.staff.users import User
from webhooks.pages.admin.guard import admin_page
from webhooks.pages.render import page

__all__ = ["blueprint"]

blueprint = Blueprint("admin_mappings", __name__, url_prefix="/admin/mappings")


@blueprint.get("")
@admin_page
def index(user: User) -> BaseResponse:
    """The page."""
    return page(user, "admin/mappings/index.html")
