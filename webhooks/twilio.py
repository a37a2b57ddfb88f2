"""Twilio's webhooks: inbound texts (`/webhooks/twilio/sms`) and delivery status (`/webhooks/twilio/status`).

Verification comes first and fails closed: no auth token configured, no signature, or a signature that
does not match the public URL and the full form → 403 and nothing stored. The signed URL is the public
one Twilio called (MATTERLINE_PUBLIC_URL + path), so a TLS-terminating proxy in front does not break it.
"""

from __future__ import annotations

import logging
import threading
from typing import Final
from urllib.parse import parse_qsl

from flask import Blueprint, Response, current_app, g, request
from sqlalchemy import Connection
from twilio.request_validator import RequestValidator, compare
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.datastructures import MultiDict

from connector import inbound, status
from connector.groupcommit import GroupCommit
from connector.store.engine import utcnow
from webhooks.app import ApiError, AppState, app_state

LOGGER: Final = logging.getLogger("matterline.webhooks.twilio")
SMS_PATH: Final = "/webhooks/twilio/sms"
STATUS_PATH: Final = "/webhooks/twilio/status"

blueprint = Blueprint("twilio_webhooks", __name__)
_WRITER_KEY: Final = "matterline.inbound_writer"
_WRITERS_LOCK = threading.Lock()


def _writer(state: AppState) -> GroupCommit[inbound.Inbound, inbound.Received]:
    """The app's group-commit writer for inbound texts, shared by its request threads."""
    extensions = current_app.extensions
    with _WRITERS_LOCK:
        if _WRITER_KEY not in extensions:
            settings = state.settings

            def write(conn: Connection, batch: list[inbound.Inbound]) -> list[inbound.Received]:
                return inbound.receive_many(conn, batch, settings, utcnow())

            extensions[_WRITER_KEY] = GroupCommit(state.engine, write)
        writer: GroupCommit[inbound.Inbound, inbound.Received] = extensions[_WRITER_KEY]
        return writer


def _signed_url() -> str:
    """The URL Twilio signed: the configured public base plus the path and query it called."""
    public = app_state().settings.public_url
    path = request.full_path[:-1] if request.full_path.endswith("?") else request.full_path
    return f"{public.rstrip('/')}{path}" if public else request.url


def _form() -> MultiDict[str, str]:
    """The urlencoded body Twilio posts, parsed once per request.

    `urllib.parse.parse_qsl` on the raw body is several times cheaper than Werkzeug's general form
    parser, which matters on the hottest path Matterline has; bytes that are not UTF-8 become U+FFFD,
    as Werkzeug would make them (the signature then decides whether the request is Twilio's).
    """
    cached = g.get("twilio_form")
    if cached is None:
        if request.mimetype != "application/x-www-form-urlencoded":
            raise ApiError(415, "unsupported_media_type", "Twilio webhooks are application/x-www-form-urlencoded")
        body = request.get_data(cache=True).decode("utf-8", "replace")
        cached = g.twilio_form = MultiDict(parse_qsl(body, keep_blank_values=True))
    form: MultiDict[str, str] = cached
    return form


def _verify() -> None:
    """Raise 403 unless the request carries Twilio's valid signature."""
    token = app_state().settings.twilio_auth_token
    if not token:
        raise ApiError(
            403, "twilio_auth_token_missing", "TWILIO_AUTH_TOKEN is not configured; refusing unsigned traffic"
        )
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        raise ApiError(403, "signature_missing", "the X-Twilio-Signature header is missing")
    validator = RequestValidator(token)
    url, form = _signed_url(), _form()
    # The exact URL first (one HMAC, the usual case); Twilio's library then also tries it with and without
    # the default port, because Twilio has signed both ways.
    if not (compare(validator.compute_signature(url, form), signature) or validator.validate(url, form, signature)):
        LOGGER.warning("twilio.signature_invalid path=%s", request.path)
        raise ApiError(403, "signature_invalid", "the X-Twilio-Signature does not match this request")


_EMPTY_TWIML: Final = str(MessagingResponse())


def _twiml(reply: str | None) -> Response:
    if not reply:
        return Response(_EMPTY_TWIML, status=200, mimetype="text/xml")
    twiml = MessagingResponse()
    twiml.message(reply)
    return Response(str(twiml), status=200, mimetype="text/xml")


@blueprint.post(SMS_PATH)
def sms() -> Response:
    """An inbound text: verify, store once, file, classify, reply TwiML (empty unless a reply is due)."""
    _verify()
    state = app_state()
    try:
        parsed = inbound.parse(_form(), state.settings)
    except inbound.InboundError as exc:
        raise ApiError(400, "invalid_parameter", str(exc), {"field": exc.field}) from None
    received = _writer(state).submit(parsed)
    if received.duplicate:
        LOGGER.info("twilio.duplicate sid=%s", parsed.sid)
    return _twiml(received.reply)


@blueprint.post(STATUS_PATH)
def delivery_status() -> Response:
    """A status callback: verify, append to the history, move the message's status forward only."""
    _verify()
    state = app_state()
    try:
        with state.engine.begin() as conn:
            status.apply(conn, _form(), utcnow())
    except status.StatusError as exc:
        raise ApiError(400, "invalid_parameter", str(exc), {"field": exc.field}) from None
    return Response(status=204)
