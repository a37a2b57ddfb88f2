"""`/admin/retention`: matters on legal hold (who set each and why), setting and releasing a hold with a
reason, and what the next purge would remove.

Set and release are `services.holds.set_hold` / `release`, the functions `matterline hold` and the API
call, so a change here is the same ledger row and the same audit entry. The purge figures are
`retention.purge(dry_run=True)`, what `matterline retention purge --dry-run` prints: viewing the page
changes nothing, not even the audit log; the worker does the purging.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from flask import Blueprint, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from connector import queries, services
from connector.compliance import retention
from connector.errors import MatterlineError
from connector.queries.matters import MatterView
from connector.staff.users import User
from webhooks.errors import STATUS
from webhooks.pages.admin import actors
from webhooks.pages.admin.guard import actor, admin_page
from webhooks.pages.render import page
from webhooks.state import app_state

__all__ = ["blueprint"]

blueprint = Blueprint("admin_retention", __name__, url_prefix="/admin/retention")

# Why an old enough text was left alone, as the page says it.
SKIP_WORDS: Final = {
    retention.NOT_WRITTEN: "never written to the CMS (its conversation has not closed)",
    retention.TRANSCRIPT_PENDING: "its transcript is still waiting to be written to the CMS",
    retention.TRANSCRIPT_DEAD: "its transcript could not be written to the CMS (dead in the outbox)",
}
_DONE: Final = {"set": "is now on legal hold", "release": "is no longer on legal hold"}


def _local(moment: datetime) -> str:
    return moment.astimezone(app_state().settings.zone).strftime("%Y-%m-%d %H:%M %Z")


def _label(matter_cms_id: str, known: Mapping[str, MatterView]) -> str:
    """A matter as people name it: its number and description, with the CMS id the ledger keeps."""
    found = known.get(matter_cms_id)
    if found is None:
        return f"matter {matter_cms_id}"
    described = f" · {found.description}" if found.description else ""
    return f"{found.display_number}{described} (CMS id {matter_cms_id})"


def _plan() -> dict[str, Any]:
    """The dry run, in the page's words."""
    state = app_state()
    report = retention.purge(state.engine, state.settings, dry_run=True, actor="admin page (dry run)")
    reasons = Counter(skipped.reason for skipped in report.skipped_pending_writeback)
    return {
        "report": report,
        "cutoff": _local(report.cutoff),
        "skipped": [
            (SKIP_WORDS.get(reason, reason.replace("_", " ")), count) for reason, count in sorted(reasons.items())
        ],
    }


def _page(user: User, *, status: int = 200, **extra: Any) -> BaseResponse:
    engine = app_state().engine
    matters = queries.matters.listing(engine)
    known = {m.cms_id: m for m in matters}
    names = actors.names()
    holds = [
        {
            "hold": hold,
            "label": _label(hold.matter_cms_id, known),
            "since": _local(hold.since),
            "who": names.get(hold.actor, ""),
        }
        for hold in queries.holds.listing(engine)
    ]
    plan = _plan()
    on_hold = [(_label(matter, known), count) for matter, count in plan["report"].skipped_on_hold.items()]
    done = request.args.get("done", "")
    done_matter = request.args.get("matter", "")
    message = f"{_label(done_matter, known)} {_DONE[done]}." if done in _DONE and done_matter else None
    context: dict[str, Any] = {
        "holds": holds,
        "matters": matters,
        "plan": plan,
        "on_hold": on_hold,
        "done": message,
        "setting": {"matter": "", "reason": ""},
        "releasing": {"matter": "", "reason": ""},
        "error": None,
    }
    return page(user, "admin/retention/index.html", status=status, **(context | extra))


@blueprint.get("")
@admin_page
def index(user: User) -> BaseResponse:
    """Holds, the set-a-hold form, and the dry run of the next purge."""
    return _page(user)


@blueprint.post("/hold")
@admin_page
def set_hold(user: User) -> BaseResponse:
    """Put a matter on legal hold with a reason (audited as `hold_set`), or show why not, nothing changed."""
    matter = request.form.get("matter", "").strip()
    reason = request.form.get("reason", "")
    try:
        services.holds.set_hold(app_state().engine, matter, reason=reason, actor=actor(user))
    except MatterlineError as exc:
        typed = {"matter": matter, "reason": reason}
        return _page(user, status=STATUS[exc.kind], error=_refusal("set", exc), setting=typed)
    return redirect(url_for("admin_retention.index", done="set", matter=matter), 303)


@blueprint.post("/release")
@admin_page
def release(user: User) -> BaseResponse:
    """Release a matter's legal hold with a reason (audited as `hold_release`), or show why not."""
    matter = request.form.get("matter", "").strip()
    reason = request.form.get("reason", "")
    try:
        services.holds.release(app_state().engine, matter, reason=reason, actor=actor(user))
    except MatterlineError as exc:
        typed = {"matter": matter, "reason": reason}
        return _page(user, status=STATUS[exc.kind], error=_refusal("release", exc), releasing=typed)
    return redirect(url_for("admin_retention.index", done="release", matter=matter), 303)


def _refusal(what: str, exc: MatterlineError) -> str:
    verb = "put on hold" if what == "set" else "released"
    if exc.code == "empty_reason":
        return f"Nothing was {verb}: give a reason (it is kept in the hold ledger and the audit log)."
    return f"Nothing was {verb}: {exc.message}."
