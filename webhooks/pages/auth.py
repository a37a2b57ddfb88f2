"""Sign-in and sign-out.

The session cookie carries only a random token (the store keeps its hash): HttpOnly, SameSite=Lax,
and Secure when the public URL is https. Every page that needs a person goes through
`render.person_page`, which sends anyone without a live session here with a `next=` back to where they were.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

from flask import Blueprint, Response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from connector import services
from connector.errors import MatterlineError
from connector.staff.sessions import Lifetimes
from connector.staff.users import User
from webhooks.observe import current_request_id
from webhooks.state import app_state

__all__ = ["COOKIE", "HOME", "blueprint", "keep_session", "safe_next", "signed_in"]

blueprint = Blueprint("auth", __name__)

COOKIE: Final = "matterline_session"
HOME: Final = "/inbox"
# A path of this app only: one leading slash, then no slash or backslash; no scheme, no control characters.
_OWN_PATH: Final = re.compile(r"/(?![/\\])[^\\\x00-\x20\x7f]*")


def safe_next(value: str | None) -> str:
    """Where to go after signing in: `value` if it is one of the app's own paths, else the inbox."""
    if value and _OWN_PATH.fullmatch(value) and ":" not in value.split("?", 1)[0]:
        return value
    return HOME


def _lifetimes() -> Lifetimes:
    settings = app_state().settings
    return Lifetimes(timedelta(minutes=settings.session_idle_minutes), timedelta(hours=settings.session_max_hours))


def signed_in(*, touch: bool = True) -> User | None:
    """The person this browser's session cookie signs in, or None; `touch=False` for a background poll."""
    token = request.cookies.get(COOKIE)
    return services.signin.resume(app_state().engine, token, _lifetimes(), touch=touch) if token else None


def _form(message: str | None = None, email: str = "", status: int = 200) -> Response:
    page = render_template("auth/signin.html", message=message, email=email, next=request.values.get("next", ""))
    return Response(page, status=status, mimetype="text/html")


@blueprint.get("/signin")
def signin_form() -> BaseResponse:
    """The sign-in form; someone already signed in goes straight on."""
    if signed_in() is not None:
        return redirect(safe_next(request.args.get("next")))
    return _form()


@blueprint.post("/signin")
def signin_submit() -> BaseResponse:
    """Check the password; on success set the session cookie and go on, else say why on the form."""
    email = request.form.get("email", "")
    address = request.remote_addr or "unknown"
    try:
        signed = services.signin.sign_in(
            app_state().engine,
            email=email,
            password=request.form.get("password", ""),
            address=address,
            request_id=current_request_id(),
        )
    except MatterlineError as refusal:
        status = 429 if refusal.code == "signin_throttled" else 401
        return _form(refusal.message, email=email, status=status)
    return keep_session(redirect(safe_next(request.form.get("next"))), signed.token)


def keep_session(response: BaseResponse, token: str) -> BaseResponse:
    """`response`, setting the cookie that carries a new session's token (and nothing else)."""
    settings = app_state().settings
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        secure=(settings.public_url or "").startswith("https://"),
        path="/",
    )
    return response


@blueprint.post("/signout")
def signout() -> BaseResponse:
    """End this browser's session and forget the cookie."""
    token = request.cookies.get(COOKIE)
    if token:
        services.signin.sign_out(app_state().engine, token, request_id=current_request_id())
    response = redirect(url_for("auth.signin_form"))
    response.delete_cookie(COOKIE)
    return response


@blueprint.after_request
def _no_store(response: Response) -> Response:
    """Signed-in pages and the sign-in form are never kept in a shared or back-button cache."""
    response.headers["Cache-Control"] = "no-store"
    return response
