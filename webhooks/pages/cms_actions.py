"""One click from Clio: the custom actions' landing page, and the contact page that asks which number
and has the composer addressed to it.

The landing checks the click with Clio at once (services.custom_actions.land), before any redirect,
and only then sends the browser to a clean URL (no nonce in it). Someone not signed in has their
click checked all the same, then signs in with `next=` that clean URL: the nonce is single use and
lives 60 seconds, so it is never kept for after the sign-in. A click is never a sign-in.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from connector import queries, services
from connector.errors import Kind, MatterlineError
from connector.staff.users import User
from webhooks.pages.auth import signed_in
from webhooks.pages.clio import oauth_app
from webhooks.pages.compose import ComposeTarget, composer_for
from webhooks.pages.render import page, person_page
from webhooks.state import app_state

__all__ = ["blueprint"]

blueprint = Blueprint("cms_actions", __name__)


def _clean_url(kind: str, cms_id: str) -> str:
    """Where a verified click goes: the matter panel, or the contact's one thread, or the contact's numbers."""
    if kind == "matters":
        return f"/matters/{cms_id}"
    contact = queries.contacts.numbers(app_state().engine, cms_id)
    if contact is not None and len(contact.numbers) == 1 and contact.numbers[0].thread_id is not None:
        return f"/inbox/{contact.numbers[0].thread_id}"
    return url_for("cms_actions.contact", cms_id=cms_id)


@blueprint.get("/cms/clio/action")
def land() -> BaseResponse:
    """A click on a Matterline button in Clio: checked with Clio once, then a clean redirect."""
    app = oauth_app()
    if app is None:
        abort(404)
    person = signed_in()
    try:
        landing = services.custom_actions.land(
            app_state().engine,
            app,
            app_state().settings.secret_key,
            subject_url=request.args.get("subject_url", ""),
            nonce=request.args.get("custom_action_nonce", ""),
            cms_user_id=request.args.get("user_id", ""),
            signed_in=person,
        )
    except MatterlineError as refusal:
        status = 400 if refusal.kind is Kind.INVALID else 403
        body = render_template("clio/click_refused.html", code=refusal.code, message=refusal.message)
        return Response(body, status=status, mimetype="text/html", headers={"Cache-Control": "no-store"})
    target = _clean_url(landing.kind, landing.cms_id)
    if person is None:
        target = url_for("auth.signin_form", next=target)
    response = redirect(target)
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/contacts/<cms_id>/text")
@person_page
def contact(user: User, cms_id: str) -> BaseResponse:
    """The contact's numbers, each with its opt-out state and its thread, to pick which one to text."""
    if not cms_id.isdigit():
        abort(404)
    found = queries.contacts.numbers(app_state().engine, cms_id)
    if found is None:
        abort(404)
    textable = [number for number in found.numbers if not number.opted_out]
    # One number: the composer is addressed to it. Several: radios bound to the composer ask which.
    only = textable[0].e164 if len(textable) == 1 else None
    composer = composer_for(user, ComposeTarget(None, only, None)) if textable else None
    return page(user, "clio/contact.html", contact=found, composer=composer, several=len(textable) > 1)
