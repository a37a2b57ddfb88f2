"""The web app: the Twilio and CMS webhooks (inbound/), the JSON API (api/), health and readiness."""

from __future__ import annotations

from webhooks.app import create_app

__all__ = ["create_app"]
