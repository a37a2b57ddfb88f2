"""`/admin/settings`: every setting in force and where it came from; secrets only as set or not set."""

from __future__ import annotations

from flask import Blueprint
from werkzeug.wrappers import Response as BaseResponse

from connector.settings import in_force
from connector.staff.users import User
from webhooks.pages.admin.guard import admin_page
from webhooks.pages.render import page
from webhooks.state import app_state

__all__ = ["blueprint"]

blueprint = Blueprint("admin_settings", __name__, url_prefix="/admin/settings")


@blueprint.get("")
@admin_page
def index(user: User) -> BaseResponse:
    """The settings table: variable, value as written (a database URL without its password), source."""
    return page(user, "admin/settings/index.html", rows=in_force(app_state().settings))
