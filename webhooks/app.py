"""The Flask app factory: one place that wires settings, the store and the blueprints together."""

from __future__ import annotations

import logging
from typing import Final

from flask import Flask, Response, jsonify
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix

from connector import crypto
from connector.compliance import audit
from connector.errors import unavailable
from connector.settings import Settings, load_settings
from connector.store import current_revision, head_revision, make_engine
from mappings import load_mapping
from webhooks import errors, headers, metrics, observe, pages
from webhooks.api import blueprint as api_blueprint
from webhooks.inbound import cms, twilio
from webhooks.state import EXTENSION_KEY, MAX_CONTENT_LENGTH, AppState, app_state

__all__ = ["create_app"]

LOGGER: Final = logging.getLogger("matterline.webhooks")


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> Flask:
    """Build the web app.

    Args:
        settings: validated settings; read from the environment (and `.env`) when omitted.
        engine: the store; opened from `settings.database_url` when omitted. The app does not
            migrate it: `/readyz` answers 503 until `matterline init` has run.

    Returns:
        The Flask app, ready for a WSGI server (see `webhooks.server`).

    Raises:
        connector.settings.SettingsError: a setting is invalid (only when `settings` is omitted).
        mappings.MappingError: the configured CMS mapping or the firm override is invalid.
    """
    settings = settings if settings is not None else load_settings()
    engine = engine if engine is not None else make_engine(settings.database_url)
    audit.use_key(engine, settings.audit_secret)
    crypto.accept_previous(settings.previous_secret_key)
    load_mapping(settings.cms, settings.mapping_file)  # a broken override file stops the app here

    app = Flask("webhooks")
    app.config["MAX_CONTENT_LENGTH"] = MAX_CONTENT_LENGTH
    if settings.secret_key:
        app.config["SECRET_KEY"] = settings.secret_key
    if settings.secret_key and settings.previous_secret_key:
        # Forms opened before a rotation still post: the Flask session (which holds the CSRF secret) opens with
        # the old key, and the token's signature is checked against both (itsdangerous signs with the last).
        app.config["SECRET_KEY_FALLBACKS"] = [settings.previous_secret_key]
        app.config["WTF_CSRF_SECRET_KEY"] = [settings.previous_secret_key, settings.secret_key]
    # The CSRF token lives as long as the sign-in session, whose own timeouts bound it.
    app.config["WTF_CSRF_TIME_LIMIT"] = None
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = (settings.public_url or "").startswith("https://")
    app.extensions[EXTENSION_KEY] = AppState(settings=settings, engine=engine, head_revision=head_revision())
    errors.install(app)
    headers.install(app)
    app.add_url_rule("/healthz", "healthz", _healthz, methods=["GET"])
    app.add_url_rule("/readyz", "readyz", _readyz, methods=["GET"])
    app.register_blueprint(cms.blueprint)
    app.register_blueprint(twilio.blueprint)
    twilio.install(app)
    app.register_blueprint(api_blueprint)
    app.register_blueprint(metrics.blueprint)  # GET /metrics: off (404) unless a token or an address is set
    pages.register(app)
    # Every form POST carries a token signed with MATTERLINE_SECRET_KEY (none set: every POST is refused).
    # The API authenticates by bearer token and the webhooks by signature, so they are exempt.
    csrf = CSRFProtect(app)
    for exempt in (api_blueprint, cms.blueprint, twilio.blueprint, metrics.blueprint):
        csrf.exempt(exempt)
    # Outside every other wrapper (the text endpoint too) and inside ProxyFix, so it sees the client's address.
    observe.install(app)
    if settings.proxy_hops:
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    return app


def _healthz() -> Response:
    """Alive: the process answers. Says nothing about the store, so a load balancer never flaps on it."""
    response = jsonify({"status": "ok"})
    response.headers["Cache-Control"] = "no-store"
    return response


def _readyz() -> Response:
    """Ready: the store answers and is migrated to exactly the revision this code ships.

    Raises:
        MatterlineError: unavailable `not_ready`, naming whether the store is unreachable or its
            migrations differ.
    """
    state = app_state()
    try:
        revision = current_revision(state.engine)
    except SQLAlchemyError as exc:
        # The exception text can contain the database URL and its password: log the type only.
        LOGGER.warning("readyz.store_unreachable error=%s", type(exc).__name__)
        raise unavailable(
            "not_ready",
            "the store is unreachable; check MATTERLINE_DATABASE_URL and that the database is running",
            {"reason": "store_unreachable"},
        ) from None
    if revision != state.head_revision:
        raise unavailable(
            "not_ready",
            f"the store's migrations are not current (store at {revision or 'none'}, "
            f"this code needs {state.head_revision}): run `matterline init`",
            {"reason": "migrations_pending", "revision": revision, "head": state.head_revision},
        )
    response = jsonify({"status": "ready", "revision": revision})
    response.headers["Cache-Control"] = "no-store"
    return response
