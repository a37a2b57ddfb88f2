"""`/welcome/<token>`: a person opens the one-time link an admin sent (an invite, or a reset), sets a password,
and is signed in.

The token is the only secret in the link, so the page keeps it from going further: no Referer at all
(the page's own policy, stricter than the site's same-origin), nothing cached, and after the password
is set the browser is sent on with a redirect, so the link is not the page left in the tab. The link
itself is spent by the service; a reload or the back button finds it refused.
"""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from connector import services
from connector.const import PASSWORD_MIN_CHARS
from connector.errors import MatterlineError
from webhooks.observe import current_request_id
from webhooks.pages.auth import HOME, keep_session
from webhooks.state import app_state

__all__ = ["blueprint"]

blueprint = Blueprint("welcome", __name__)

_RULE = "/welcome/<string(maxlength=128):token>"
MISMATCH = "The two passwords are not the same. Type the same password in both fields."


def _page(template: str, status: int, **context: object) -> Response:
    page = render_template(template, min_chars=PASSWORD_MIN_CHARS, **context)
    return Response(page, status=status, mimetype="text/html")


def _refused(message: str) -> Response:
    return _page("auth/link_refused.html", 410, message=message)


@blueprint.get(_RULE)
def form(token: str) -> BaseResponse:
    """The "Set your password" form, or the one plain refusal when the link cannot be used."""
    person = services.invites.pending(app_state().engine, token)
    if person is None:
        return _refused(services.invites.LINK_REFUSED)
    return _page("auth/welcome.html", 200, person=person, token=token)


@blueprint.post(_RULE)
def submit(token: str) -> BaseResponse:
    """Set the password the link was made for, sign the person in, and go to the inbox."""
    engine = app_state().engine
    password, again = request.form.get("password", ""), request.form.get("password_again", "")
    if password != again:
        person = services.invites.pending(engine, token)
        if person is None:
            return _refused(services.invites.LINK_REFUSED)
        return _page("auth/welcome.html", 422, person=person, token=token, message=MISMATCH)
    try:
        signed = services.invites.redeem(
            engine, token, password, address=request.remote_addr or "unknown", request_id=current_request_id()
        )
    except MatterlineError as refusal:
        person = None if refusal.code == "link_refused" else services.invites.pending(engine, token)
        if person is None:
            return _refused(refusal.message)
        return _page("auth/welcome.html", 422, person=person, token=token, message=refusal.message)
    return keep_session(redirect(HOME, 303), signed.token)


@blueprint.after_request
def _private(response: Response) -> Response:
    """Never cached, redirects included (the templates' meta tag keeps the Referer off their requests)."""
    response.headers["Cache-Control"] = "no-store"
    return response
