"""The Flask app: Twilio webhooks, CMS webhooks, the JSON API and the staff pages."""

from __future__ import annotations

from webhooks.app import create_app

__all__ = ["create_app"]
