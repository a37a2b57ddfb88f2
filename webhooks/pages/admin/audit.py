"""`/admin/audit`: who did what, when, in which matter; the chain's verdict; the filtered entries to download.

The filters are a GET form, so a filtered view can be bookmarked or sent to a colleague; the listing,
the API (`GET /api/audit`) and the CLI (`matterline audit`) read the same query. "Verify the chain" runs
the check `matterline audit verify` runs, and like it is not itself audited (it changes nothing). The
downloads carry the page's filters and hold exactly what the API would list: the log never holds a
message body, and exporting it is not audited, as reading it through the API or the CLI is not.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from flask import Blueprint, Response, request
from werkzeug.wrappers import Response as BaseResponse

from connector import queries
from connector.compliance import audit
from connector.compliance.export import spreadsheet
from connector.errors import MatterlineError
from connector.jsonable import plain
from connector.queries.audit import AuditEntry
from connector.staff.users import User
from connector.store.engine import utcnow
from webhooks.errors import STATUS
from webhooks.pages.admin import actors
from webhooks.pages.admin.guard import admin_page
from webhooks.pages.render import page
from webhooks.state import app_state

__all__ = ["AuditRow", "Filters", "blueprint", "readable"]

blueprint = Blueprint("admin_audit", __name__, url_prefix="/admin/audit")

PAGE: Final = 50
"""Entries per page; older ones are a keyset link away (`before`), however long the log."""

ACTIONS: Final = tuple(a.value for a in audit.Action)
_DETAIL_CHARS: Final = 300
_CSV_COLUMNS: Final = (
    "id",
    "at",
    "actor",
    "action",
    "subject_type",
    "subject_id",
    "matter_cms_id",
    "request_id",
    "details",
    "hash",
    "prev_hash",
)


@dataclass(frozen=True, slots=True)
class Filters:
    """The filter form as typed (kept to refill it and to carry it into links and downloads)."""

    person: str = ""
    action: str = ""
    matter: str = ""
    date_from: str = ""
    date_to: str = ""

    @classmethod
    def read(cls, args: Mapping[str, str]) -> tuple[Filters, list[str]]:
        """The filters in `args`, and what is wrong with them in words (empty when nothing is)."""
        typed = cls(
            person=args.get("person", "").strip()[:128],
            action=args.get("action", "").strip(),
            matter=args.get("matter", "").strip()[:64],
            date_from=args.get("from", "").strip(),
            date_to=args.get("to", "").strip(),
        )
        errors = []
        if typed.action and typed.action not in ACTIONS:
            errors.append(f"Action: “{typed.action}” is not an action the log records.")
        start, end = _day(typed.date_from), _day(typed.date_to)
        if typed.date_from and start is None:
            errors.append("From: not a date (YYYY-MM-DD).")
        if typed.date_to and end is None:
            errors.append("To: not a date (YYYY-MM-DD).")
        if start is not None and end is not None and start > end:
            errors.append("From: after To, so no entry could match.")
        return typed, errors

    def link(self) -> dict[str, str]:
        """The filters as query parameters (only those set), for the older-entries link and the downloads."""
        pairs = {
            "person": self.person,
            "action": self.action,
            "matter": self.matter,
            "from": self.date_from,
            "to": self.date_to,
        }
        return {name: value for name, value in pairs.items() if value}

    def query(self) -> dict[str, Any]:
        """The arguments of `queries.audit.listing`: whole days in the firm's zone, `to` included."""
        zone = app_state().settings.zone
        start, end = _day(self.date_from), _day(self.date_to)
        return {
            "actor": actors.resolve(self.person) if self.person else None,
            "action": self.action or None,
            "matter_cms_id": self.matter or None,
            "since": None if start is None else datetime.combine(start, time(), tzinfo=zone),
            "until": None if end is None else datetime.combine(end + timedelta(days=1), time(), tzinfo=zone),
        }


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _local(moment: datetime | None) -> str:
    """A moment as the firm reads it, to the second: an audit trail needs the exact time, not "3:04 PM"."""
    if moment is None:
        return ""
    return moment.astimezone(app_state().settings.zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def _short(digest: str | None) -> str:
    return "" if not digest else digest[:12] + "…"


def _words(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    if isinstance(value, list | tuple):
        return ", ".join(_words(item) for item in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{key}={_words(item)}" for key, item in sorted(value.items())) or "none"
    return str(value)


def readable(details: Mapping[str, Any] | None) -> str:
    """An entry's details as `key: value; key: value`, a long value cut short (the download has it whole)."""
    parts = []
    for key, value in sorted((details or {}).items()):
        text = _words(value)
        if len(text) > _DETAIL_CHARS:
            text = text[: _DETAIL_CHARS - 1] + "…"
        parts.append(f"{key}: {text}")
    return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One entry as the table shows it."""

    entry: AuditEntry
    at: str
    who: str
    subject: str
    details: str


def _row(entry: AuditEntry, names: Mapping[str, str]) -> AuditRow:
    subject = f"{entry.subject_type} {entry.subject_id}" if entry.subject_id else entry.subject_type
    return AuditRow(entry, _local(entry.at), names.get(entry.actor, ""), subject, readable(entry.details))


def _check(verdict: audit.Verdict) -> dict[str, Any]:
    """The verdict in words, as `matterline audit verify` says it, with the first bad entry looked up."""
    if verdict.broken_id is not None:
        where = f"at entry {verdict.broken_id}"
    elif verdict.broken_checkpoint_id is not None:
        where = f"at checkpoint {verdict.broken_checkpoint_id}"
    else:
        where = "at its end"
    last = verdict.last_checkpoint
    if last is None:
        signature = ""
    elif verdict.intact:
        signature = "its signature holds and the log still fits it"
    elif verdict.broken_checkpoint_id is not None and verdict.broken_checkpoint_id == last.id:
        signature = "it does not fit (see why above)"
    else:
        signature = "not checked: the check stops at the first fault"
    bad = None if verdict.broken_id is None else queries.audit.entry(app_state().engine, verdict.broken_id)
    return {
        "verdict": verdict,
        "where": where,
        "bad": bad,
        "bad_at": _local(bad.at) if bad else "",
        "head": _short(verdict.head),
        "last": last,
        "last_at": _local(last.at) if last else "",
        "signature": signature,
    }


def _page(user: User, *, status: int = 200, **extra: Any) -> BaseResponse:
    filters, errors = Filters.read(request.args)
    rows: list[AuditRow] = []
    older: int | None = None
    before_text = request.args.get("before", "").strip()
    before = int(before_text) if before_text.isdigit() else None
    if before_text and before is None:
        errors.append("Older entries: not an entry id.")
    names = actors.names()
    if errors:
        status = max(status, 400)
    else:
        found = queries.audit.listing(app_state().engine, **filters.query(), newest=PAGE + 1, before=before)
        newest_first = list(reversed(found))
        rows = [_row(entry, names) for entry in newest_first[:PAGE]]
        older = rows[-1].entry.id if len(newest_first) > PAGE else None
    return page(
        user,
        "admin/audit/index.html",
        status=status,
        filters=filters,
        errors=errors,
        rows=rows,
        older=older,
        paged=before is not None,
        actions=ACTIONS,
        people=sorted(names.items(), key=lambda pair: pair[1]),
        **extra,
    )


@blueprint.get("")
@admin_page
def index(user: User) -> BaseResponse:
    """The filter form, the newest matching entries (a page at a time), the verify button, the downloads."""
    return _page(user)


@blueprint.post("/verify")
@admin_page
def verify(user: User) -> BaseResponse:
    """Recompute the chain and check every checkpoint, then show the verdict above the same listing."""
    try:
        verdict = audit.verify(app_state().engine)
    except MatterlineError as exc:
        return _page(user, status=STATUS[exc.kind], verify_error=exc.message)
    return _page(user, check=_check(verdict))


def _exported(user: User, kind: str) -> tuple[list[AuditEntry], str] | BaseResponse:
    filters, errors = Filters.read(request.args)
    if errors:
        return _page(user, status=400)
    rows = queries.audit.listing(app_state().engine, **filters.query())
    name = f"matterline-audit-{utcnow():%Y%m%dT%H%M%SZ}.{kind}"
    return rows, name


def _download(body: str | bytes, mimetype: str, name: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/export.csv")
@admin_page
def export_csv(user: User) -> BaseResponse:
    """The filtered entries, oldest first, one CSV row each (details as compact JSON), to download."""
    found = _exported(user, "csv")
    if not isinstance(found, tuple):
        return found
    rows, name = found
    # A request id is caller-chosen text: the firm's spreadsheet export quotes every cell and runs none.
    return _download(spreadsheet(_CSV_COLUMNS, (_csv_row(e) for e in rows)), "text/csv", name)


def _csv_row(e: AuditEntry) -> tuple[Any, ...]:
    details = json.dumps(plain(e.details), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    values = (e.id, e.at.isoformat(), e.actor, e.action, e.subject_type, e.subject_id, e.matter_cms_id)
    return (*values, e.request_id, details if e.details else "", e.hash, e.prev_hash)


@blueprint.get("/export.json")
@admin_page
def export_json(user: User) -> BaseResponse:
    """The filtered entries, oldest first, as `GET /api/audit` lists them, with the filters that chose them."""
    found = _exported(user, "json")
    if not isinstance(found, tuple):
        return found
    rows, name = found
    filters, _ = Filters.read(request.args)
    body = json.dumps({"filters": filters.link(), "entries": plain(rows)}, ensure_ascii=False, indent=1)
    return _download(body + "\n", "application/json", name)
