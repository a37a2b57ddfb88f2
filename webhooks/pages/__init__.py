"""The staff's pages: server-rendered views, one blueprint per area, calling services and queries only."""

from __future__ import annotations

from flask import Flask

from webhooks.pages import (
    admin,
    auth,
    away,
    clio,
    cms_actions,
    compose,
    inbox,
    live,
    matters,
    present,
    privacy,
    reports,
    threads,
    welcome,
)

__all__ = ["register"]


def register(app: Flask) -> None:
    """Add every page area to `app`."""
    # How any page shows a person, a number, a time or a status: one implementation, used as filters.
    for name in ("initials", "masked", "phone", "when", "status_words", "day"):
        app.add_template_filter(getattr(present, name), name)
    app.jinja_env.globals["admin_areas"] = admin.NAV
    for area in (
        auth,
        welcome,
        clio,
        cms_actions,
        live,
        privacy,
        inbox,
        threads,
        compose,
        matters,
        away,
        reports,
        *admin.AREAS,
    ):
        app.register_blueprint(area.blueprint)
