"""`/admin/consent`: where a client's number stands on consent to texts and on opt-outs, and recording consent
or its withdrawal.

Search by a number (typed any way the firm's region reads one) or by a client's name. A number's page shows
both ledgers as written, newest first: they are append-only, so nothing here edits or removes a row. Recording
or withdrawing consent appends one row through the same service the CLI (`matterline consent record|revoke`)
and the API (`POST /api/consents`) call, audited there with this admin as who captured it.

Consent and opt-outs are separate records: a number that said STOP stays opted out whatever consent is
recorded, until the client texts START; the page says so next to the form.
"""

from __future__ import annotations

from typing import Any, Final

from flask import Blueprint, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from connector import queries, services
from connector.errors import MatterlineError
from connector.guardrails.consent import METHODS
from connector.staff.users import User
from connector.store.engine import utcnow
from webhooks.errors import STATUS
from webhooks.pages.admin.guard import actor, admin_page
from webhooks.pages.render import page
from webhooks.state import app_state

__all__ = ["METHOD_WORDS", "SOURCE_WORDS", "blueprint"]

blueprint = Blueprint("admin_consent", __name__, url_prefix="/admin/consent")

# The ledger's consent methods as the page says them.
METHOD_WORDS: Final = {
    "engagement_letter": "Engagement letter",
    "verbal": "Verbal (in person or by phone)",
    "web_form": "Web form",
    "inbound_text": "The client's own text",
    "cms_field": "The CMS consent field",
}
# What carried an opt-out ledger entry, as the page says it.
SOURCE_WORDS: Final = {
    "keyword": "Keyword text",
    "plain_language": "Plain words in a text",
    "twilio_opt_out_type": "Twilio's opt-out report",
    "error_21610": "Twilio error 21610 (the number had unsubscribed)",
}
_DONE: Final = {
    "recorded": "Consent recorded: a new row is on the ledger.",
    "withdrawn": "Withdrawal recorded: a new row is on the ledger, and texts to this number stop.",
}
_BLANK: Final = {"method": "", "scope": "all matters", "source": "", "matter_cms_id": ""}


def _render(user: User, *, status: int = 200, **context: Any) -> BaseResponse:
    """The page: the search form, then the results or one number's ledgers (whichever the context has)."""
    settings = app_state().settings
    context.setdefault("typed", dict(_BLANK))
    context.setdefault("form", None)
    return page(
        user,
        "admin/consent/index.html",
        status=status,
        blank=_BLANK,
        methods=METHODS,
        method_words=METHOD_WORDS,
        source_words=SOURCE_WORDS,
        zone=settings.zone,
        region=settings.default_region,
        now=utcnow(),
        **context,
    )


def _number(phone: str) -> dict[str, Any]:
    """One number's standing and both ledgers, newest first (raises for a number that cannot be read)."""
    engine, region = app_state().engine, app_state().settings.default_region
    [standing] = queries.consents.lookup(engine, phone, region=region)
    return {
        "standing": standing,
        "consents": list(reversed(queries.consents.listing(engine, standing.phone, region=region))),
        "optouts": queries.optouts.history(engine, standing.phone, region=region),
    }


@blueprint.get("")
@admin_page
def index(user: User) -> BaseResponse:
    """The search, its results (`q`), or one number's ledgers and forms (`phone`)."""
    q, phone = request.args.get("q", "").strip(), request.args.get("phone", "").strip()
    engine, region = app_state().engine, app_state().settings.default_region
    try:
        if phone:
            return _render(user, q=q, done=_DONE.get(request.args.get("done", "")), **_number(phone))
        if q:
            return _render(user, q=q, results=queries.consents.lookup(engine, q, region=region))
    except MatterlineError as refusal:
        return _render(user, status=STATUS.get(refusal.kind, 400), q=q or phone, error=refusal.message)
    return _render(user, q="")


def _append(user: User, grant: bool) -> BaseResponse:
    """Record a grant or a withdrawal for the posted number; back to its page, or the refusal in words."""
    form = request.form
    phone = form.get("phone", "").strip()
    typed = {key: form.get(key, "").strip() for key in _BLANK}
    state = app_state()
    action = services.consents.record if grant else services.consents.withdraw
    try:
        row = action(
            state.engine,
            state.settings,
            phone,
            method=typed["method"],
            actor=actor(user),
            scope=typed["scope"],
            source=typed["source"] or None,
            matter_cms_id=typed["matter_cms_id"] or None,
        )
    except MatterlineError as refusal:
        status = STATUS.get(refusal.kind, 400)
        try:
            shown = _number(phone)
        except MatterlineError:  # the number itself cannot be read: the search form says so
            return _render(user, status=status, q=phone, error=refusal.message)
        return _render(
            user, status=status, error=refusal.message, typed=typed, form="grant" if grant else "revoke", **shown
        )
    return redirect(url_for("admin_consent.index", phone=row.phone, done="recorded" if grant else "withdrawn"), 303)


@blueprint.post("/record")
@admin_page
def record(user: User) -> BaseResponse:
    """Append the client's consent to texts: method, scope, where it is written down; this admin captured it."""
    return _append(user, grant=True)


@blueprint.post("/withdraw")
@admin_page
def withdraw(user: User) -> BaseResponse:
    """Append the client's withdrawal of consent: texts to the number stop until consent is given again."""
    return _append(user, grant=False)
