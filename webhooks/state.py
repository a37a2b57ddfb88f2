"""What every request handler needs (settings, store, mapping), fixed when the app is built.

A leaf module: the blueprints read the state through `app_state()` from here, never from the app
factory's module, so the factory can import the blueprints at the top like any other module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from flask import Flask, current_app
from sqlalchemy import Engine

from connector import const
from connector.cms.in_force import mapping_in_force
from connector.settings import Settings
from mappings.model import Mapping

__all__ = ["EXTENSION_KEY", "MAX_CONTENT_LENGTH", "AppState", "app_state"]

EXTENSION_KEY: Final = "matterline"
# Webhook bodies are small (Clio sends one record; Twilio a form): anything bigger is refused unread.
MAX_CONTENT_LENGTH: Final = const.MAX_BODY_BYTES


@dataclass(frozen=True, slots=True)
class AppState:
    """The app's fixed dependencies.

    The mapping file is loaded once at start-up so a broken firm override stops `matterline serve` with the
    mapping's own error message instead of failing each webhook; `mapping` is the one in force at each
    request (an admin's saved override applies without a restart). `head_revision` is the newest migration
    this code ships, read once because `/readyz` is polled every few seconds.
    """

    settings: Settings
    engine: Engine
    head_revision: str | None

    @property
    def mapping(self) -> Mapping:
        """The field mapping in force now."""
        return mapping_in_force(self.settings, self.engine)


def app_state(app: Flask | None = None) -> AppState:
    """The settings, store and mapping of `app` (default: the app handling the current request)."""
    target = app if app is not None else current_app
    state = target.extensions[EXTENSION_KEY]
    if not isinstance(state, AppState):  # pragma: no cover - only create_app sets it
        raise TypeError("the app was not built by webhooks.create_app")
    return state
