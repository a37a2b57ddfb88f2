"""Sign in with Clio, and linking a signed-in person's Clio account (see services.cms_signin for who may be whom).

Both start with a POST (CSRF-checked), set a short-lived cookie holding the OAuth `state`, and send the
browser to Clio's authorize page; Clio sends it back to the callback, which hands everything to the
service once and forgets the cookie whatever the outcome.
"""

from __future__ import annotations

from typing import Any, Final

from flask import Blueprint, Response, abort, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from connector import queries, services
from connector.cms.auth import origin_of
from connector.errors import Kind, MatterlineError
from connector.services.cms_signin import OAuthApp
from connector.staff.users import User
from webhooks.headers import allow_form_target
from webhooks.observe import current_request_id
from webhooks.pages.auth import COOKIE, safe_next, signed_in
from webhooks.pages.render import page, person_page
from webhooks.state import app_state

__all__ = ["STATE_COOKIE", "blueprint", "oauth_app"]

blueprint = Blueprint("clio", __name__)

STATE_COOKIE: Final = "matterline_clio_state"
_STATE_PATH: Final = "/signin/clio"
_STATE_SECONDS: Final = 600
_STATUS: Final = {Kind.UNAUTHENTICATED: 401, Kind.FORBIDDEN: 403, Kind.CONFLICT: 409, Kind.UNAVAILABLE: 503}


def oauth_app() -> OAuthApp | None:
    """The CMS's OAuth client from the settings, or None when sign-in with Clio is not configured."""
    state = app_state()
    return services.cms_signin.oauth_app(state.settings, state.mapping)


def _secure() -> bool:
    return (app_state().settings.public_url or "").startswith("https://")


@blueprint.app_context_processor
def _signin_choices() -> dict[str, Any]:
    """Lets the sign-in form offer "Sign in with Clio" only when it is configured."""
    app = oauth_app() if request.endpoint in ("auth.signin_form", "auth.signin_submit", "clio.account") else None
    if app is not None:
        allow_form_target(origin_of(app.base_url))
    return {"clio_signin": app is not None and request.endpoint != "clio.account"}


def _to_clio(app: OAuthApp, begun: services.cms_signin.Begun) -> BaseResponse:
    response = redirect(begun.url)
    response.set_cookie(
        STATE_COOKIE,
        begun.state,
        max_age=_STATE_SECONDS,
        httponly=True,
        samesite="Lax",  # Clio's redirect back is a top-level GET: Lax cookies go with it
        secure=_secure(),
        path=_STATE_PATH,
    )
    return response


@blueprint.post("/signin/clio")
def start() -> BaseResponse:
    """Off to Clio to approve; back at the callback."""
    app = oauth_app()
    if app is None:
        abort(404)
    begun = services.cms_signin.begin(app_state().engine, app, next_path=safe_next(request.form.get("next")))
    return _to_clio(app, begun)


@blueprint.get("/signin/clio/callback")
def callback() -> BaseResponse:
    """Finish with Clio's answer: sign in (or link), set the session cookie, go on; else say why."""
    app = oauth_app()
    if app is None:
        abort(404)
    settings = app_state().settings
    try:
        done = services.cms_signin.complete(
            app_state().engine,
            app,
            state=request.args.get("state", ""),
            cookie_state=request.cookies.get(STATE_COOKIE),
            code=request.args.get("code"),
            error=request.args.get("error"),
            signed_in=signed_in(),
            address=request.remote_addr or "unknown",
            secret_key=settings.secret_key,
            public_url=settings.public_url or "",
            request_id=current_request_id(),
        )
    except MatterlineError as refusal:
        body = render_template("clio/refused.html", message=refusal.message, code=refusal.code)
        response: BaseResponse = Response(body, status=_STATUS.get(refusal.kind, 400), mimetype="text/html")
    else:
        response = redirect(safe_next(done.next_path) if done.token else "/account/clio")
        if done.token:
            response.set_cookie(COOKIE, done.token, httponly=True, samesite="Lax", secure=_secure(), path="/")
    response.delete_cookie(STATE_COOKIE, path=_STATE_PATH)
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/account/clio")
@person_page
def account(user: User) -> BaseResponse:
    """Whether this person's Clio account is linked, and the button that links it."""
    linked = queries.users.cms_user_of(app_state().engine, user.id)
    return page(user, "clio/account.html", linked=linked, configured=oauth_app() is not None)


@blueprint.post("/account/clio/link")
@person_page
def link(user: User) -> BaseResponse:
    """Off to Clio, to link the Clio account that approves to this signed-in person."""
    app = oauth_app()
    if app is None:
        abort(404)
    return _to_clio(app, services.cms_signin.begin(app_state().engine, app, link_for=user, next_path="/account/clio"))


@blueprint.post("/account/clio/buttons")
@person_page
def buttons(user: User) -> BaseResponse:
    """Put this person's "Text with Matterline" buttons in Clio again (created, or re-pointed here)."""
    app = oauth_app()
    settings = app_state().settings
    if app is None or not settings.public_url:
        abort(404)
    linked = queries.users.cms_user_of(app_state().engine, user.id)
    try:
        report = services.custom_actions.install(
            app_state().engine, app, settings.secret_key, user, settings.public_url
        )
    except MatterlineError as refusal:
        return page(user, "clio/account.html", linked=linked, configured=True, message=refusal.message, status=503)
    message = f"Buttons in Clio: {report.created} created, {report.updated} updated, {report.unchanged} already right."
    return page(user, "clio/account.html", linked=linked, configured=True, message=message)
