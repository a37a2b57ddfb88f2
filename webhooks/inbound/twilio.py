"""Twilio's webhooks: inbound texts (`/webhooks/twilio/sms`) and delivery status (`/webhooks/twilio/status`).

Verification comes first and fails closed: no auth token configured, no signature, or a signature that
does not match the public URL and the full form → 403 and nothing stored. The signed URL is the public
one Twilio called (MATTERLINE_PUBLIC_URL + path), so a TLS-terminating proxy in front does not break it.

The inbound route is the hottest path Matterline has (every text, every Twilio retry), so `SmsEndpoint`
serves `POST /webhooks/twilio/sms` straight from WSGI, in front of Flask: measured under load, Flask's
per-request machinery cost as much as all of the route's own work. It shares every check with the
Flask view below (which stays registered so routing, 405s and the manifest see one route).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl

from flask import Blueprint, Flask, Response, current_app, g, request
from sqlalchemy import Connection
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.datastructures import MultiDict
from werkzeug.wsgi import get_current_url

from connector import metrics
from connector.errors import Kind, MatterlineError
from connector.messaging import delivery, reception
from connector.settings import Settings
from connector.store.engine import utcnow
from connector.store.groupcommit import GroupCommit
from webhooks import errors
from webhooks.inbound.signatures import verify_twilio
from webhooks.state import MAX_CONTENT_LENGTH, AppState, app_state

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

LOGGER: Final = logging.getLogger("matterline.webhooks.twilio")
SMS_PATH: Final = "/webhooks/twilio/sms"
STATUS_PATH: Final = "/webhooks/twilio/status"
FORM_TYPE: Final = "application/x-www-form-urlencoded"
_WRITER_KEY: Final = "matterline.inbound_writer"
_EMPTY_TWIML: Final = str(MessagingResponse())

blueprint = Blueprint("twilio_webhooks", __name__)
Writer = GroupCommit[reception.Inbound, reception.Received]


# -- shared by both entry points -----------------------------------------------------------------------


def parse_form(body: bytes) -> MultiDict[str, str]:
    """Twilio's urlencoded body. Bytes that are not UTF-8 become U+FFFD; the signature then decides."""
    return MultiDict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def verify(settings: Settings, url: str, form: MultiDict[str, str], signature: str) -> None:
    """Refuse (403) unless `signature` is Twilio's for `url` and the full `form`."""
    verify_twilio(settings.twilio_auth_token, url, form, signature, secondary=settings.twilio_auth_token_secondary)


def signed_url(settings: Settings, path_and_query: str, fallback: str) -> str:
    """The URL Twilio signed: the configured public base plus the path and query it called."""
    return f"{settings.public_url.rstrip('/')}{path_and_query}" if settings.public_url else fallback


def receive(settings: Settings, writer: Writer, form: MultiDict[str, str]) -> str:
    """Parse, store once (group-committed) and return the TwiML answer."""
    parsed = reception.parse(form, settings)
    received = writer.submit(parsed)
    metrics.text_received(received.result)
    if received.duplicate:
        LOGGER.info("twilio.duplicate sid=%s", parsed.sid)
    if not received.reply:
        return _EMPTY_TWIML
    twiml = MessagingResponse()
    twiml.message(received.reply)
    return str(twiml)


def make_writer(state: AppState) -> Writer:
    """The app's group-commit writer for inbound texts, shared by its request threads."""
    settings = state.settings

    def write(conn: Connection, batch: list[reception.Inbound]) -> list[reception.Received]:
        return reception.receive_many(conn, batch, settings, utcnow())

    return GroupCommit(state.engine, write, one_statement=reception.plain_texts)


# -- the WSGI entry for inbound texts ------------------------------------------------------------------------


class SmsEndpoint:
    """`POST /webhooks/twilio/sms` without Flask's per-request context; everything else goes to `inner`."""

    def __init__(self, state: AppState, writer: Writer, inner: WSGIApplication) -> None:
        self._state = state
        self._writer = writer
        self._inner = inner

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != SMS_PATH or environ.get("REQUEST_METHOD") != "POST":
            return self._inner(environ, start_response)
        try:
            body = self._answer(environ)
            status_line, content_type = "200 OK", "text/xml; charset=utf-8"
        except MatterlineError as exc:
            body = errors.error_json(exc.code, exc.message, exc.details)
            status_line, content_type = errors.status_line(errors.STATUS[exc.kind]), "application/json"
        except Exception as exc:  # the same fixed answer Flask gives: an exception's text may hold secrets
            # Where it failed, not what it said: a database error's text quotes the parameters (bodies, numbers),
            # which is why this is not LOGGER.exception.
            where = "".join(traceback.format_tb(exc.__traceback__))
            LOGGER.error("twilio.sms failed: %s\n%s", type(exc).__name__, where)  # noqa: TRY400
            body = errors.error_json("internal_error", errors.INTERNAL_MESSAGE)
            status_line, content_type = errors.status_line(500), "application/json"
        payload = body.encode()
        start_response(status_line, [("Content-Type", content_type), ("Content-Length", str(len(payload)))])
        return [payload]

    def _answer(self, environ: WSGIEnvironment) -> str:
        settings = self._state.settings
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_CONTENT_LENGTH:
            raise MatterlineError(
                Kind.TOO_LARGE,
                "payload_too_large",
                f"the request body is larger than {MAX_CONTENT_LENGTH} bytes",
                {"max_bytes": MAX_CONTENT_LENGTH},
            )
        if str(environ.get("CONTENT_TYPE", "")).split(";")[0].strip().lower() != FORM_TYPE:
            raise _unsupported()
        form = parse_form(environ["wsgi.input"].read(length) if length else b"")
        query = environ.get("QUERY_STRING")
        fallback = "" if settings.public_url else get_current_url(environ)  # rebuilt only when it is needed
        url = signed_url(settings, SMS_PATH + (f"?{query}" if query else ""), fallback)
        verify(settings, url, form, str(environ.get("HTTP_X_TWILIO_SIGNATURE", "")))
        return receive(settings, self._writer, form)


def _unsupported() -> MatterlineError:
    return MatterlineError(
        Kind.UNSUPPORTED, "unsupported_media_type", "Twilio webhooks are application/x-www-form-urlencoded"
    )


def install(app: Flask) -> None:
    """Put the inbound endpoint in front of the Flask app (called by `create_app`)."""
    state = app_state(app)
    writer = make_writer(state)
    app.extensions[_WRITER_KEY] = writer
    app.wsgi_app = SmsEndpoint(state, writer, app.wsgi_app)  # type: ignore[method-assign]


# -- the Flask views ----------------------------------------------------------------------------------------


def _form() -> MultiDict[str, str]:
    cached = g.get("twilio_form")
    if cached is None:
        if request.mimetype != FORM_TYPE:
            raise _unsupported()
        cached = g.twilio_form = parse_form(request.get_data(cache=True))
    form: MultiDict[str, str] = cached
    return form


def _verify() -> None:
    path = request.full_path[:-1] if request.full_path.endswith("?") else request.full_path
    settings = app_state().settings
    verify(settings, signed_url(settings, path, request.url), _form(), request.headers.get("X-Twilio-Signature", ""))


@blueprint.post(SMS_PATH)
def sms() -> Response:
    """An inbound text (served by `SmsEndpoint` in front of Flask; this view shares its every step)."""
    _verify()
    writer: Any = current_app.extensions[_WRITER_KEY]
    return Response(receive(app_state().settings, writer, _form()), status=200, mimetype="text/xml")


@blueprint.post(STATUS_PATH)
def delivery_status() -> Response:
    """A status callback: verify, append to the history, move the message's status forward only."""
    _verify()
    state = app_state()
    with state.engine.begin() as conn:
        delivery.apply(conn, _form(), utcnow())
    return Response(status=204)
