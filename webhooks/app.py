"""The Flask app factory: one place that wires settings, the store and the blueprints together.

Every answer the app gives, including the ones Flask and Werkzeug raise on their own (unknown path,
wrong method, oversized body, an unexpected exception), has the JSON error shape of DESIGN.md, so the
CMS, Twilio, the staff pages and an admin's monitoring all read one format.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final

from flask import Flask, Response, current_app, jsonify
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from connector.settings import Settings, load_settings
from connector.store import current_revision, head_revision, make_engine
from mappings import load_mapping
from mappings.model import Mapping

__all__ = ["EXTENSION_KEY", "MAX_CONTENT_LENGTH", "ApiError", "AppState", "app_state", "create_app", "error_response"]

LOGGER: Final = logging.getLogger("matterline.webhooks")

EXTENSION_KEY: Final = "matterline"
# Webhook bodies are small (Clio sends one record; Twilio a form): anything bigger is refused unread.
MAX_CONTENT_LENGTH: Final = 1024 * 1024

# Stable error codes for the statuses Werkzeug raises itself; views raise ApiError with their own.
_HTTP_CODES: Final[dict[int, str]] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "too_many_requests",
    500: "internal_error",
    503: "not_ready",
}


@dataclass(frozen=True, slots=True)
class AppState:
    """What every request handler needs, fixed when the app is built.

    The mapping is loaded once at start-up so a broken firm override stops `matterline serve` with the
    mapping's own error message instead of failing each webhook. `head_revision` is the newest
    migration this code ships, read once because `/readyz` is polled every few seconds.
    """

    settings: Settings
    engine: Engine
    mapping: Mapping
    head_revision: str | None


class ApiError(Exception):
    """An error answered as `{"error": {"code", "message", "details"}}` with `status`.

    Raise it from any view; the app's handler turns it into the response. `message` and `details`
    are shown to the caller, so they must never contain a secret.
    """

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    """The JSON error body of DESIGN.md, with `status`."""
    response = jsonify({"error": {"code": code, "message": message, "details": details}})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def app_state(app: Flask | None = None) -> AppState:
    """The settings, store and mapping of `app` (default: the app handling the current request)."""
    target = app if app is not None else current_app
    state = target.extensions[EXTENSION_KEY]
    if not isinstance(state, AppState):  # pragma: no cover - only create_app sets it
        raise TypeError("the app was not built by webhooks.create_app")
    return state


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
    mapping = load_mapping(settings.cms, settings.mapping_file)

    app = Flask("webhooks")
    app.config["MAX_CONTENT_LENGTH"] = MAX_CONTENT_LENGTH
    if settings.secret_key:
        app.config["SECRET_KEY"] = settings.secret_key
    app.extensions[EXTENSION_KEY] = AppState(
        settings=settings, engine=engine, mapping=mapping, head_revision=head_revision()
    )

    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)

    app.add_url_rule("/healthz", "healthz", _healthz, methods=["GET"])
    app.add_url_rule("/readyz", "readyz", _readyz, methods=["GET"])

    # Imported here: the blueprints import ApiError and app_state from this module.
    from webhooks.api import blueprint as api_blueprint
    from webhooks.cms import blueprint as cms_blueprint
    from webhooks.twilio import blueprint as twilio_blueprint
    from webhooks.twilio import install as install_sms_endpoint

    app.register_blueprint(cms_blueprint)
    app.register_blueprint(twilio_blueprint)
    install_sms_endpoint(app)
    app.register_blueprint(api_blueprint)
    if settings.proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops, x_host=settings.proxy_hops
        )
    return app


def _api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.code, exc.message, exc.details)


def _http_error(exc: HTTPException) -> Response:
    """Werkzeug's own errors (routing, body size, unhandled exceptions) in the JSON shape.

    For a 500, Flask has already logged the traceback; the caller gets a fixed message only, because
    an exception's text can carry a database URL or a token.
    """
    status = exc.code or 500
    code = _HTTP_CODES.get(status, "error")
    details: Any = None
    if status >= 500:
        message = "internal error; the server log has the details"
    elif status == 413:
        message = f"the request body is larger than {MAX_CONTENT_LENGTH} bytes"
        details = {"max_bytes": MAX_CONTENT_LENGTH}
    else:
        message = exc.description or exc.name
    allowed: list[str] = []
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        allowed = sorted(exc.valid_methods)
        details = {"allowed": allowed}
    response = error_response(status, code, message, details)
    if allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response


def _healthz() -> Response:
    """Alive: the process answers. Says nothing about the store, so a load balancer never flaps on it."""
    response = jsonify({"status": "ok"})
    response.headers["Cache-Control"] = "no-store"
    return response


def _readyz() -> Response:
    """Ready: the store answers and is migrated to exactly the revision this code ships.

    Raises:
        ApiError: 503 `not_ready`, naming whether the store is unreachable or its migrations differ.
    """
    state = app_state()
    try:
        revision = current_revision(state.engine)
    except SQLAlchemyError as exc:
        # The exception text can contain the database URL and its password: log the type only.
        LOGGER.warning("readyz.store_unreachable error=%s", type(exc).__name__)
        raise ApiError(
            503,
            "not_ready",
            "the store is unreachable; check MATTERLINE_DATABASE_URL and that the database is running",
            {"reason": "store_unreachable"},
        ) from None
    if revision != state.head_revision:
        raise ApiError(
            503,
            "not_ready",
            f"the store's migrations are not current (store at {revision or 'none'}, "
            f"this code needs {state.head_revision}): run `matterline init`",
            {"reason": "migrations_pending", "revision": revision, "head": state.head_revision},
        )
    response = jsonify({"status": "ready", "revision": revision})
    response.headers["Cache-Control"] = "no-store"
    return response
