"""The composer: a text to a thread, a matter's client or a number, checked as it is typed and sent once.

A reusable partial (`compose/composer.html`) that the thread page and the matter panel include with a
`Composer` built by `composer_for`. The recipient travels in hidden POST fields, never in a URL. Each
drawn composer carries a one-time key, so a double click or a resent form stores one text
(`services.messages.send`'s idempotency key); the send button is also disabled while a send is in flight.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from flask import Blueprint, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from connector import queries, services
from connector.errors import MatterlineError, invalid
from connector.guardrails.consent import METHODS
from connector.messaging import reply_templates
from connector.messaging.purpose import CONVERSATION, NOTICE
from connector.messaging.segments import measure
from connector.queries.conversation import Gate
from connector.services.messages import Draft
from connector.staff.users import Actor, User
from webhooks.errors import STATUS
from webhooks.pages.render import fragment, page, person_page
from webhooks.state import app_state

__all__ = ["ComposeTarget", "Composer", "blueprint", "composer_for"]

blueprint = Blueprint("compose", __name__)


@dataclass(frozen=True, slots=True)
class ComposeTarget:
    """Whom a composer texts: a thread, or a number (optionally about a matter), or a matter's client."""

    thread_id: int | None
    to: str | None
    matter_cms_id: str | None


@dataclass(frozen=True, slots=True)
class Composer:
    """Everything the composer partial draws."""

    target: ComposeTarget
    key: str
    counsel: bool
    zone: ZoneInfo
    templates: tuple[reply_templates.ReplyTemplate, ...]
    gate: Gate | None = None
    body: str = ""
    template_id: str = ""
    call_back: bool = False
    # Send the chosen template as a notice (a one-way text as the template wrote it), not a conversation.
    notice: bool = False
    draft: Draft | None = None
    counter: str = ""
    override_reason: str = ""
    send_now: bool = False
    quiet_hours_reason: str = ""
    error: str | None = None
    error_code: str | None = None
    sent: str | None = None


def _counter(body: str) -> str:
    if not body:
        return ""
    cost = measure(body)
    return f"{cost.segments} segment{'s' if cost.segments != 1 else ''} · {cost.encoding}"


def _templates() -> tuple[tuple[reply_templates.ReplyTemplate, ...], str | None]:
    try:
        return reply_templates.in_force(app_state().settings, app_state().engine), None
    except reply_templates.TemplatesError as exc:
        return (), str(exc)


def composer_for(user: User, target: ComposeTarget, **state: object) -> Composer:
    """A fresh composer for `target` (a new one-time key), with whatever `state` to show.

    Whether a text could go (`gate`) is read here for a thread, unless the page already has it in `state`
    (the thread page does, from the conversation).
    """
    settings = app_state().settings
    gate = (
        queries.conversation.gate(app_state().engine, settings, target.thread_id)
        if target.thread_id is not None and "gate" not in state
        else None
    )
    templates, broken = _templates()
    made = Composer(
        target=target, key=uuid.uuid4().hex, counsel=user.counsel, zone=settings.zone, templates=templates, gate=gate
    )
    if broken and "error" not in state:
        made = replace(made, error=broken, error_code="templates_unavailable")
    return replace(made, **state)  # type: ignore[arg-type]


def _target() -> ComposeTarget:
    form = request.form
    raw_thread = form.get("thread_id", "").strip()
    return ComposeTarget(
        thread_id=int(raw_thread) if raw_thread.isdigit() else None,
        # A page offering several numbers (the matter panel) binds radios named to_choice to this form.
        to=(form.get("to_choice") or form.get("to") or "").strip() or None,
        matter_cms_id=form.get("matter_cms_id", "").strip() or None,
    )


def _answer(user: User, composer: Composer, *, status: int = 200) -> BaseResponse:
    """The composer swapped in place (htmx); without script, back to the thread (PRG) or the composer's page."""
    if request.headers.get("HX-Request") == "true":
        return fragment(user, "compose/composer.html", composer=composer, status=status)
    if status < 400 and composer.target.thread_id is not None:
        return redirect(url_for("threads.show", thread_id=composer.target.thread_id), 303)
    return page(user, "compose/page.html", composer=composer, status=status)


def _draft_state(body: str) -> dict[str, object]:
    try:
        draft = services.messages.check_draft(app_state().engine, app_state().settings, body) if body.strip() else None
    except MatterlineError as exc:
        return {"error": exc.message, "error_code": exc.code}
    return {"draft": draft, "counter": _counter(body)}


def _form_state() -> dict[str, object]:
    form = request.form
    return {
        "body": form.get("body", ""),
        "template_id": form.get("template_id", ""),
        "call_back": form.get("call_back") == "1",
        "notice": form.get("purpose") == NOTICE,
        "override_reason": form.get("override_reason", ""),
        "send_now": form.get("send_now") == "1",
        "quiet_hours_reason": form.get("quiet_hours_reason", ""),
        "key": form.get("key", "") or uuid.uuid4().hex,
    }


@blueprint.post("/compose/check")
@person_page
def check(user: User) -> BaseResponse:
    """The draft's counter and content-rule findings (the same check as POST /api/guardrails/check)."""
    state = _form_state()
    composer = composer_for(user, _target(), **state, **_draft_state(str(state["body"])))
    return fragment(user, "compose/check.html", composer=composer)


@blueprint.post("/compose/template")
@person_page
def template(user: User) -> BaseResponse:
    """The composer with the chosen canned reply merged for this thread and this sender."""
    target = _target()
    templates, broken = _templates()
    chosen = reply_templates.find(templates, request.form.get("template_choice", ""))
    if chosen is None:
        message = broken or "Choose a template first."
        return _answer(user, composer_for(user, target, error=message, error_code="unknown_template"), status=422)
    client_name = matter_number = None
    if target.thread_id is not None:
        thread = queries.threads.require(app_state().engine, target.thread_id, user.id)
        client_name, matter_number = thread.client_name, thread.matter_display_number
    fields = reply_templates.MergeFields(client_name, matter_number, app_state().settings.firm_name, user.name)
    body = reply_templates.merge(chosen, fields)
    composer = composer_for(
        user, target, body=body, template_id=chosen.id, call_back=chosen.call_back, **_draft_state(body)
    )
    return _answer(user, composer)


def _send_args(target: ComposeTarget) -> dict[str, object]:
    """The recipient for the service: the thread; else the matter (its client, or the chosen number of its people)."""
    if target.thread_id is not None:
        return {"thread_id": target.thread_id}
    if target.matter_cms_id is None and target.to is None:
        raise invalid("bad_request", "the composer has no recipient")
    return {"matter_cms_id": target.matter_cms_id, "to": target.to}


@blueprint.post("/compose/send")
@person_page
def send(user: User) -> BaseResponse:
    """Store and queue the text once (the service checks everything), or show why not."""
    state = app_state()
    target = _target()
    form = _form_state()
    body = str(form["body"])
    try:
        queued = services.messages.send(
            state.engine,
            state.settings,
            body=body,
            actor=Actor.of(user, request.headers.get("X-Request-ID")),
            override_reason=str(form["override_reason"]) or None,
            quiet_hours_reason=str(form["quiet_hours_reason"]) if form["send_now"] else None,
            idempotency_key=str(form["key"]),
            call_back=bool(form["call_back"]),
            purpose=NOTICE if form["notice"] else CONVERSATION,
            template=str(form["template_id"]) or None,
            **_send_args(target),  # type: ignore[arg-type]
        )
    except MatterlineError as exc:
        composer = composer_for(user, target, **form, **_draft_state(body), error=exc.message, error_code=exc.code)
        return _answer(user, composer, status=STATUS[exc.kind])
    if queued.scheduled_for is not None:
        when = queued.scheduled_for.astimezone(state.settings.zone).strftime("%a %d %b %H:%M")
        note = f"Held for the client's quiet hours: it will go {when} (firm time)."
    else:
        note = "Sent to the outbox: it goes out in a moment."
    if target.thread_id is None and target.matter_cms_id is None:
        target = ComposeTarget(queued.thread_id, None, None)  # a bare number now has its thread
    response = _answer(user, composer_for(user, target, sent=note))
    response.headers["HX-Trigger"] = "ml:poll"  # the page's poller brings the new text into view now
    return response


@blueprint.post("/compose/consent")
@person_page
def consent(user: User) -> BaseResponse:
    """Record the client's consent to texts (the same service as POST /api/consents), then the composer again."""
    state = app_state()
    target = _target()
    method = request.form.get("method", "")
    try:
        phone = target.to
        if target.thread_id is not None:
            phone = queries.threads.require(state.engine, target.thread_id, user.id).client_phone
        if phone is None:
            raise invalid("bad_request", "the composer has no number to record consent for")
        if method not in METHODS:
            raise invalid("invalid_consent", "choose how the client gave consent", {"field": "method"})
        services.consents.record(
            state.engine, state.settings, phone, method=method, actor=Actor.of(user), source="thread page"
        )
    except MatterlineError as exc:
        return _answer(
            user, composer_for(user, target, error=exc.message, error_code=exc.code), status=STATUS[exc.kind]
        )
    return _answer(user, composer_for(user, target, sent="Consent recorded: texts to this client may go."))
