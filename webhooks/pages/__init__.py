"""The staff's pages: server-rendered views, one blueprint per area, calling services and queries only."""

from __future__ import annotations

from flask import Flask

from webhooks.pages import auth, clio, cms_actions, inbox, live

__all__ = ["register"]


def register(app: Flask) -> None:
    """Add every page area to `app`."""
    for area in (auth, live, inbox, clio, cms_actions):
        app.register_blueprint(area.blueprint)
