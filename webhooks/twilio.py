"""Twilio's webhooks: inbound texts (`/webhooks/twilio/sms`) and delivery status (`/webhooks/twilio/status`).

Verification comes first and fails closed: no auth token configured, no signature, or a signature that
does not match the public URL and the full form → 403 and nothing stored. The signed URL is the public
one Twilio called (MATTERLINE_PUBLIC_URL + path), so a TLS-terminating proxy in front does not break it.
"""

from __future__ import annotations

import logging
from typing import Final

from flask import Blueprint, Response, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from connector import inbound, status
from connector.store.engine import utcnow
from webhooks.app import ApiError, app_state

LOGGER: Final = logging.getLogger("matterline.webhooks.twilio")
SMS_PATH: Final = "/webhooks/twilio/sms"
STATUS_PATH: Final = "/webhooks/twilio/status"

blueprint = Blueprint("twilio_webhooks", __name__)


def _signed_url() -> str:
    """The URL Twilio signed: the configured public base plus the path and query it called."""
    public = app_state().settings.public_url
    path = request.full_path[:-1] if request.full_path.endswith("?") else request.full_path
    return f"{public.rstrip('/')}{path}" if public else request.url


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
    if not RequestValidator(token).validate(_signed_url(), request.form, signature):
        LOGGER.warning("twilio.signature_invalid path=%s", request.path)
        raise ApiError(403, "signature_invalid", "the X-Twilio-Signature does not match this request")


def _twiml(reply: str | None) -> Response:
    twiml = MessagingResponse()
    if reply:
        twiml.message(reply)
    return Response(str(twiml), status=200, mimetype="text/xml")


@blueprint.post(SMS_PATH)
def sms() -> Response:
    """An inbound text: verify, store once, file, classify, reply TwiML (empty unless a reply is due)."""
    _verify()
    state = app_state()
    try:
        parsed = inbound.parse(request.form, state.settings)
    except inbound.InboundError as exc:
        raise ApiError(400, "invalid_parameter", str(exc), {"field": exc.field}) from None
    with state.engine.begin() as conn:
        received = inbound.receive(conn, parsed, state.settings, utcnow())
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
            status.apply(conn, request.form, utcnow())
    except status.StatusError as exc:
        raise ApiError(400, "invalid_parameter", str(exc), {"field": exc.field}) from None
    return Response(status=204)
