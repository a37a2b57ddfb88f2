"""The JSON API under `/api`: the firm inbox, sending, assignment, read state, re-filing, opt-outs.

Every route is one row of `ROUTES`, and that one table does three jobs: it registers the Flask URL
rule, it drives the checks every call goes through (bearer token, role, query parameters, JSON body),
and it is what `/api/openapi.json` is generated from. A route cannot exist without being documented,
and the document cannot promise a parameter or body field the code does not check.

Every call but the OpenAPI document needs `Authorization: Bearer <token>` (the document is public so
tooling can fetch it; it holds no firm data). Each request carries a request id (`X-Request-Id`,
echoed when the caller sends a sane one, generated otherwise) that is returned on the response and
written into the audit entries the request causes, so "who did this" traces back to one HTTP call.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import tempfile
import types
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Union, get_args, get_origin, get_type_hints

from flask import Blueprint, Response, g, jsonify, request
from marshmallow import RAISE, Schema, ValidationError, fields
from marshmallow.validate import Length, OneOf

from connector.compliance import export
from connector.guardrails import consent, content, optouts, policy
from connector.guardrails.optouts import OptOutState
from connector.messaging import filing, outbound, urgent
from connector.staff import inbox
from connector.staff.users import COUNSEL_ROLES, User, authenticate, find_user
from connector.store.engine import utcnow
from connector.store.tables import messages as messages_table
from connector.store.tables import threads as threads_table
from connector.writeback import windows, writer
from webhooks.app import ApiError, app_state

__all__ = [
    "API_VERSION",
    "PREFIX",
    "ROUTES",
    "Call",
    "Route",
    "SentMessage",
    "blueprint",
    "openapi_document",
    "openapi_path",
]

PREFIX: Final = "/api"
API_VERSION: Final = "1.0.0"
REFILE_ROLES: Final = COUNSEL_ROLES
THREAD_FILTERS: Final = ("mine", "needs_filing", "urgent", "opted_out")
_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
_REALM: Final = 'Bearer realm="matterline"'

blueprint = Blueprint("api", __name__, url_prefix=PREFIX)


# -- request bodies --------------------------------------------------------------------------------------


class StrictBoolean(fields.Field[bool]):
    """JSON `true`/`false` only: marshmallow's Boolean also takes "yes", 1 and "off", which hides client bugs."""

    json_schema: Final = {"type": "boolean"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("Not a valid boolean: use true or false.")
        return value


class RecordId(fields.Field[int]):
    """A positive whole-number id; JSON `true` is not 1 and "5" is not 5."""

    json_schema: Final = {"type": "integer", "minimum": 1}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError("Not a valid id: use a positive whole number.")
        return value


class UserRef(fields.Field[str | int]):
    """A person named by email address or by user id."""

    json_schema: Final = {
        "oneOf": [{"type": "string", "minLength": 1, "maxLength": 320}, {"type": "integer", "minimum": 1}]
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | int:
        if isinstance(value, str) and 0 < len(value.strip()) <= 320:
            return value.strip()
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        raise ValidationError("Not a valid user: use an email address or a user id.")


class SendBody(Schema):
    """A text to send. Length, emptiness and media rules are checked by the sender (422), not here."""

    class Meta:
        unknown = RAISE

    body = fields.String(load_default="", metadata={"description": "The text; at most 1,600 characters."})
    media_urls = fields.List(
        fields.String(),
        load_default=list,
        metadata={"description": "https:// URLs of media to attach (MMS), at most 10."},
    )
    override_reason = fields.String(
        load_default=None,
        validate=Length(max=500),
        metadata={
            "description": "Why the text goes despite content-rule warnings (audited); blocks cannot be overridden."
        },
    )
    quiet_hours_reason = fields.String(
        load_default=None,
        validate=Length(max=500),
        metadata={
            "description": "Attorneys and admins: why the text goes now, during the recipient's quiet hours (audited)."
        },
    )


class CancelBody(Schema):
    """Why a text is taken back before it goes."""

    class Meta:
        unknown = RAISE

    reason = fields.String(
        required=True, validate=Length(min=1, max=500), metadata={"description": "Why (kept in the audit log)."}
    )


class CheckBody(Schema):
    """A draft to check against the content rules."""

    class Meta:
        unknown = RAISE

    body = fields.String(required=True, validate=Length(max=1600), metadata={"description": "The draft text."})


class ConsentBody(Schema):
    """A consent (or its withdrawal) as the client gave it."""

    class Meta:
        unknown = RAISE

    phone = fields.String(required=True, validate=Length(min=1, max=40), metadata={"description": "The number."})
    action = fields.String(
        load_default="grant", validate=OneOf(("grant", "revoke")), metadata={"description": "grant or revoke."}
    )
    method = fields.String(
        required=True, validate=OneOf(consent.METHODS), metadata={"description": "How the client gave it."}
    )
    scope = fields.String(
        load_default="all matters", validate=Length(min=1, max=256), metadata={"description": "What it covers."}
    )
    source = fields.String(
        load_default=None, validate=Length(max=500), metadata={"description": "Where it is written down."}
    )
    matter_cms_id = fields.String(
        load_default=None, validate=Length(max=64), metadata={"description": "The matter it was given in."}
    )


class SummaryEditBody(Schema):
    """A staff edit of a summary draft; the marker that makes it findable in the CMS is kept."""

    class Meta:
        unknown = RAISE

    subject = fields.String(validate=Length(min=1, max=250), metadata={"description": "The note's subject."})
    body = fields.String(validate=Length(min=1, max=60_000), metadata={"description": "The note's text."})


class AssignBody(Schema):
    """Who a thread goes to."""

    class Meta:
        unknown = RAISE

    assignee = UserRef(
        required=True, allow_none=True, metadata={"description": "Email or user id; null leaves it unassigned."}
    )


class ReadBody(Schema):
    """How far a thread has been read."""

    class Meta:
        unknown = RAISE

    message_id = RecordId(
        load_default=None,
        allow_none=True,
        metadata={"description": "Read up to and including this message; default: the newest."},
    )


class UrgentBody(Schema):
    """The urgent flag."""

    class Meta:
        unknown = RAISE

    urgent = StrictBoolean(required=True, metadata={"description": "true flags the thread urgent; false clears it."})


class RefileBody(Schema):
    """Where a thread or message is re-filed."""

    class Meta:
        unknown = RAISE

    matter_cms_id = fields.String(
        required=True, validate=Length(min=1, max=64), metadata={"description": "The CMS id of the matter."}
    )


# -- query parameters -----------------------------------------------------------------------------------


def _bad_parameter(name: str, message: str, **details: Any) -> ApiError:
    return ApiError(400, "invalid_parameter", f"{name}: {message}", {"parameter": name, **details})


def _single(name: str, values: Sequence[str]) -> str:
    if len(values) > 1:
        raise _bad_parameter(name, "give it once")
    return values[0]


@dataclass(frozen=True, slots=True)
class IntParam:
    """A whole number within bounds."""

    minimum: int
    maximum: int | None = None
    default: int | None = None

    def parse(self, name: str, values: Sequence[str]) -> int | None:
        if not values:
            return self.default
        text = _single(name, values).strip()
        if not text.isdigit() or int(text) < self.minimum or (self.maximum is not None and int(text) > self.maximum):
            upper = f" to {self.maximum}" if self.maximum is not None else " or more"
            raise _bad_parameter(name, f"must be a whole number from {self.minimum}{upper}")
        return int(text)

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "integer", "minimum": self.minimum}
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.default is not None:
            out["default"] = self.default
        return out


@dataclass(frozen=True, slots=True)
class TextParam:
    """A non-empty string (an opaque cursor, a CMS id)."""

    max_length: int

    def parse(self, name: str, values: Sequence[str]) -> str | None:
        if not values:
            return None
        text = _single(name, values).strip()
        if not text or len(text) > self.max_length:
            raise _bad_parameter(name, f"must be 1 to {self.max_length} characters")
        return text

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "minLength": 1, "maxLength": self.max_length}


@dataclass(frozen=True, slots=True)
class FlagsParam:
    """A set of named switches, repeated (`?filter=a&filter=b`) or comma-separated (`?filter=a,b`)."""

    choices: tuple[str, ...]

    def parse(self, name: str, values: Sequence[str]) -> frozenset[str]:
        chosen = {part.strip() for value in values for part in value.split(",") if part.strip()}
        unknown = sorted(chosen - set(self.choices))
        if unknown:
            raise _bad_parameter(name, f"unknown value {unknown[0]!r}", allowed=list(self.choices))
        return frozenset(chosen)

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "items": {"type": "string", "enum": list(self.choices)}}


@dataclass(frozen=True, slots=True)
class BoolParam:
    """`true` or `false`."""

    default: bool = False

    def parse(self, name: str, values: Sequence[str]) -> bool:
        if not values:
            return self.default
        text = _single(name, values).strip().lower()
        if text not in ("true", "false"):
            raise _bad_parameter(name, "must be true or false")
        return text == "true"

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean", "default": self.default}


ParamKind = IntParam | TextParam | FlagsParam | BoolParam


@dataclass(frozen=True, slots=True)
class Param:
    """One query parameter: how it is parsed, and (from the same object) how it is documented."""

    name: str
    kind: ParamKind
    description: str


# -- responses ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SentMessage:
    """What a send answers: the stored, queued text and what it will cost."""

    id: int
    thread_id: int
    to: str
    status: str
    encoding: str
    segments: int
    matter_cms_id: str | None
    scheduled_for: datetime | None
    warnings: list[Finding]


@dataclass(frozen=True, slots=True)
class ExportFile:
    """One file of a matter's export; `sha256` is of its UTF-8 bytes, as the manifest records it."""

    name: str
    sha256: str
    bytes: int
    content: str


@dataclass(frozen=True, slots=True)
class Finding:
    """What a content rule found in a text."""

    rule: str
    action: str
    span: list[int]
    match: str
    message: str
    suggestion: str


def _findings(raw: Sequence[Mapping[str, Any]]) -> list[Finding]:
    return [Finding(**item) for item in raw]


def _plain(value: Any) -> Any:
    """A view as JSON values; datetimes as ISO 8601 (Flask's default would be an HTTP date)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def _json(payload: Mapping[str, Any], status: int = 200) -> Response:
    response = jsonify(_plain(dict(payload)))
    response.status_code = status
    return response


# -- calls ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """One checked request: who made it, its request id, and its parsed query and body."""

    user: User | None
    request_id: str
    query: Mapping[str, Any] = field(default_factory=dict)
    body: Mapping[str, Any] = field(default_factory=dict)

    @property
    def who(self) -> User:
        """The authenticated caller (every route but the OpenAPI document has one)."""
        if self.user is None:  # pragma: no cover - the route table marks which routes authenticate
            raise ApiError(401, "unauthorized", "this call needs a bearer token")
        return self.user


def _thread_or_404(thread_id: int, user: User) -> inbox.ThreadView:
    view = inbox.get_thread(app_state().engine, thread_id, user.id)
    if view is None:
        raise ApiError(404, "not_found", f"no thread {thread_id}")
    return view


def _me(call: Call) -> Response:
    """Who the token belongs to, so a client can show the person and hide what their role cannot do."""
    user = call.who
    return _json({"user": user})


def _list_threads(call: Call) -> Response:
    """A page of the firm inbox, newest activity first."""
    filters: frozenset[str] = call.query["filter"]
    try:
        views, cursor = inbox.list_threads(
            app_state().engine,
            user_id=call.who.id,
            mine="mine" in filters,
            needs_filing="needs_filing" in filters,
            urgent="urgent" in filters,
            opted_out="opted_out" in filters,
            matter_cms_id=call.query["matter"],
            client_cms_id=call.query["client"],
            before=call.query["cursor"],
            limit=call.query["limit"],
        )
    except inbox.InboxError as exc:
        raise _bad_parameter(exc.parameter, str(exc)) from None
    return _json({"threads": views, "next_cursor": cursor})


def _get_thread(call: Call, thread_id: int) -> Response:
    """One thread with the caller's unread count."""
    return _json({"thread": _thread_or_404(thread_id, call.who)})


def _list_messages(call: Call, thread_id: int) -> Response:
    """A page of a thread's messages, newest first."""
    try:
        views, before = inbox.list_messages(
            app_state().engine, thread_id, before_id=call.query["before"], limit=call.query["limit"]
        )
    except inbox.NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    return _json({"messages": views, "next_before": before})


def _send(call: Call, *, thread_id: int | None = None, matter_cms_id: str | None = None) -> Response:
    """Store the text and its outbox job in one transaction (`outbound.queue_send`), or say why not."""
    state = app_state()
    user = call.who
    try:
        queued = outbound.queue_send(
            state.engine,
            state.settings,
            body=call.body["body"],
            media_urls=call.body["media_urls"],
            thread_id=thread_id,
            matter_cms_id=matter_cms_id,
            author_id=user.id,
            actor=user.actor,
            request_id=call.request_id,
            override_reason=call.body["override_reason"],
            quiet_hours_reason=call.body["quiet_hours_reason"],
        )
    except outbound.SendRefused as exc:
        raise ApiError(exc.status, exc.code, str(exc), exc.details) from None
    sent = SentMessage(
        id=queued.message_id,
        thread_id=queued.thread_id,
        to=queued.to,
        status=queued.status,
        encoding=queued.encoding,
        segments=queued.segments,
        matter_cms_id=queued.matter_cms_id,
        scheduled_for=queued.scheduled_for,
        warnings=_findings(queued.warnings),
    )
    return _json({"message": sent}, 201)


def _send_in_thread(call: Call, thread_id: int) -> Response:
    """Reply in a thread, to its client phone, filed to the thread's matter."""
    return _send(call, thread_id=thread_id)


def _send_for_matter(call: Call, cms_id: str) -> Response:
    """Text a matter's client from the firm number; the text and its thread are filed to the matter."""
    return _send(call, matter_cms_id=cms_id)


def _assign(call: Call, thread_id: int) -> Response:
    """Give the thread to a person, or to nobody."""
    state = app_state()
    key = call.body["assignee"]
    assignee: User | None = None
    if key is not None:
        with state.engine.connect() as conn:
            assignee = find_user(conn, key)
        if assignee is None:
            raise ApiError(422, "unknown_user", f"no user {key!r}", {"field": "assignee"})
    try:
        view = inbox.assign(state.engine, thread_id, assignee, actor=call.who, request_id=call.request_id)
    except inbox.NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except inbox.InboxError as exc:
        raise ApiError(422, "unknown_user", str(exc), {"field": exc.parameter}) from None
    return _json({"thread": view})


def _mark_read(call: Call, thread_id: int) -> Response:
    """Mark the thread read for the caller (their unread count only; colleagues keep theirs)."""
    state = app_state()
    user = call.who
    try:
        mark = inbox.mark_read(
            state.engine, thread_id, user, up_to_message_id=call.body["message_id"], request_id=call.request_id
        )
    except inbox.NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except inbox.InboxError as exc:
        raise ApiError(422, "invalid_message", str(exc), {"field": "message_id"}) from None
    return _json({"thread": _thread_or_404(thread_id, user), "last_read_message_id": mark})


def _set_urgent(call: Call, thread_id: int) -> Response:
    """Flag the thread urgent or clear the flag."""
    try:
        view = inbox.set_urgent(
            app_state().engine, thread_id, call.body["urgent"], actor=call.who, request_id=call.request_id
        )
    except inbox.NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    return _json({"thread": view})


def _refile_thread(call: Call, thread_id: int) -> Response:
    """File the thread to a matter: it becomes the thread's matter and its unfiled texts move there."""
    state = app_state()
    user = call.who
    with state.engine.begin() as conn:
        if conn.execute(threads_table.select().where(threads_table.c.id == thread_id)).first() is None:
            raise ApiError(404, "not_found", f"no thread {thread_id}")
        try:
            moved = filing.refile_thread(
                conn,
                thread_id,
                call.body["matter_cms_id"],
                actor=user.actor,
                actor_id=user.id,
                now=utcnow(),
                request_id=call.request_id,
            )
        except filing.FilingError as exc:
            raise ApiError(422, "unknown_matter", str(exc), {"field": "matter_cms_id"}) from None
        urgent.on_filed(conn, state.settings, thread_id, call.body["matter_cms_id"])
    return _json({"thread": _thread_or_404(thread_id, user), "messages_filed": moved})


def _file_thread(call: Call, thread_id: int) -> Response:
    """Close the thread's conversation windows now; their transcripts and summaries are queued."""
    state = app_state()
    if inbox.get_thread(state.engine, thread_id, call.who.id) is None:
        raise ApiError(404, "not_found", f"no thread {thread_id}")
    closed = windows.close_due(state.engine, state.settings, thread_id=thread_id, force=True, actor=call.who.actor)
    return _json(
        {
            "windows": [
                {
                    "window_id": c.window_id,
                    "matter_cms_id": c.matter_cms_id,
                    "messages": c.messages,
                    "writebacks": c.writebacks,
                }
                for c in closed
            ]
        }
    )


def _writeback_or_error(action: Callable[[], dict[str, Any]]) -> Response:
    try:
        return _json({"writeback": action()})
    except writer.DraftError as exc:
        raise ApiError(exc.status, exc.code, str(exc)) from None


def _list_writebacks(call: Call) -> Response:
    """Records for the CMS, optionally only one state or one matter."""
    rows = writer.listing(app_state().engine)
    if call.query["state"] is not None:
        rows = [r for r in rows if r["state"] == call.query["state"]]
    if call.query["matter"] is not None:
        rows = [r for r in rows if r["matter_cms_id"] == call.query["matter"]]
    return _json({"writebacks": rows})


def _get_writeback(call: Call, writeback_id: int) -> Response:
    """One record with its text."""
    return _writeback_or_error(lambda: writer.get(app_state().engine, writeback_id))


def _edit_writeback(call: Call, writeback_id: int) -> Response:
    """Edit a summary before it is written."""
    return _writeback_or_error(
        lambda: writer.edit(
            app_state().engine,
            writeback_id,
            subject=call.body.get("subject"),
            body=call.body.get("body"),
            actor=call.who.actor,
            request_id=call.request_id,
        )
    )


def _file_writeback(call: Call, writeback_id: int) -> Response:
    """Queue a reviewed summary draft for the CMS."""
    return _writeback_or_error(
        lambda: writer.file_draft(app_state().engine, writeback_id, actor=call.who.actor, request_id=call.request_id)
    )


def _refile_message(call: Call, message_id: int) -> Response:
    """Move one message to another matter."""
    state = app_state()
    user = call.who
    with state.engine.begin() as conn:
        found = conn.execute(messages_table.select().where(messages_table.c.id == message_id)).first()
        if found is None:
            raise ApiError(404, "not_found", f"no message {message_id}")
        try:
            filing.refile_message(
                conn,
                message_id,
                call.body["matter_cms_id"],
                actor=user.actor,
                actor_id=user.id,
                now=utcnow(),
                request_id=call.request_id,
            )
        except filing.FilingError as exc:
            raise ApiError(422, "unknown_matter", str(exc), {"field": "matter_cms_id"}) from None
    view = inbox.get_message(state.engine, message_id)
    if view is None:  # pragma: no cover - deleted between the commit and this read
        raise ApiError(404, "not_found", f"no message {message_id}")
    return _json({"message": view})


def _check_draft(call: Call) -> Response:
    """What the content rules find in a draft, so a composer can warn while the user types; sends nothing."""
    try:
        rules = policy.content_rules(app_state().settings)
    except content.RulesError as exc:  # a file broken before this process first read it
        raise ApiError(503, "rules_unavailable", "the content rules file is broken", exc.errors) from None
    found = rules.check(call.body["body"])
    return _json(
        {
            "findings": _findings([f.to_json() for f in found]),
            "sendable": not any(f.action == "block" for f in found),
            "needs_override_reason": any(f.action == "warn" for f in found),
        }
    )


def _cancel_message(call: Call, message_id: int) -> Response:
    """Take back a text that has not gone; its author, an attorney or an admin."""
    state = app_state()
    user = call.who
    try:
        outbound.cancel(
            state.engine,
            message_id,
            actor=user.actor,
            reason=call.body["reason"],
            allowed=lambda row: row.author_id == user.id or user.role in REFILE_ROLES,
            request_id=call.request_id,
        )
    except outbound.SendRefused as exc:
        raise ApiError(exc.status, exc.code, str(exc)) from None
    return _json({"message": inbox.get_message(state.engine, message_id)})


def _export_matter(call: Call, cms_id: str) -> Response:
    """The matter's export, as `matterline export` writes it, with each file's text inline; audited."""
    state = app_state()
    with tempfile.TemporaryDirectory(prefix="matterline-export-") as scratch:
        target = Path(scratch) / "export"
        try:
            result = export.export_matter(state.engine, state.settings, cms_id, target, actor=call.who.actor)
        except export.ExportError as exc:
            raise ApiError(404, "not_found", str(exc)) from None
        files = [
            ExportFile(f.name, f.sha256, f.bytes, (target / f.name).read_bytes().decode("utf-8")) for f in result.files
        ]
    return _json({"matter_cms_id": cms_id, "messages": result.messages, "audit_id": result.audit_id, "files": files})


def _list_consents(call: Call) -> Response:
    """The consent ledger, oldest first; one number's with `phone`."""
    state = app_state()
    try:
        rows = consent.listing(state.engine, call.query["phone"], region=state.settings.default_region)
    except consent.ConsentError as exc:
        raise ApiError(422, "invalid_phone", str(exc)) from None
    return _json({"consents": rows})


def _record_consent(call: Call) -> Response:
    """Append a grant or a withdrawal to the ledger, captured by the caller; audited."""
    state = app_state()
    body = call.body
    try:
        with state.engine.begin() as conn:
            row = consent.record(
                conn,
                body["phone"],
                action=body["action"],
                method=body["method"],
                scope=body["scope"],
                source=body["source"],
                matter_cms_id=body["matter_cms_id"],
                captured_by=call.who.actor,
                region=state.settings.default_region,
                request_id=call.request_id,
            )
    except consent.ConsentError as exc:
        raise ApiError(422, "invalid_consent", str(exc)) from None
    return _json({"consent": row}, 201)


def _optouts(call: Call) -> Response:
    """The opt-out ledger's current state per number (the firm's record of who said stop)."""
    states = optouts.listing(app_state().engine, only_opted_out=call.query["opted_out"])
    return _json({"optouts": states})


def _openapi(call: Call) -> Response:
    """This API described as OpenAPI 3.0, generated from the route table."""
    return _json(openapi_document())


# -- the route table ------------------------------------------------------------------------------------

_THREAD_PAGE: Final = Param("limit", IntParam(1, inbox.MAX_LIMIT, inbox.DEFAULT_LIMIT), "Page size.")


@dataclass(frozen=True, slots=True)
class Route:
    """One API operation: URL rule, checks, and documentation, in one place."""

    method: str
    rule: str
    view: Callable[..., Response]
    operation_id: str
    summary: str
    ok: tuple[int, str, dict[str, Any]]
    description: str = ""
    params: tuple[Param, ...] = ()
    body: type[Schema] | None = None
    errors: tuple[int, ...] = ()
    roles: tuple[str, ...] | None = None
    authenticated: bool = True
    tags: tuple[str, ...] = ()


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(**properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(properties),
        "properties": properties,
        "additionalProperties": False,
    }


_THREAD_ONE: Final = _object(thread=_ref("Thread"))

ROUTES: Final[tuple[Route, ...]] = (
    Route(
        "POST",
        "/messages/<int:message_id>/cancel",
        _cancel_message,
        "cancelMessage",
        "Cancel a text that has not gone",
        (200, "The text, now `canceled`; its outbox job is done.", _object(message=_ref("Message"))),
        description=(
            "A text still queued or held for quiet hours (`scheduled`). Its author, attorneys and admins only "
            "(403 `forbidden_role`). 409 `not_cancelable` once a send attempt has started or it went. Audited as "
            "`send_canceled`; the conversation's record shows it as not sent, without its text."
        ),
        body=CancelBody,
        errors=(403, 404, 409, 422),
        tags=("messages",),
    ),
    Route(
        "POST",
        "/matters/<cms_id>/export",
        _export_matter,
        "exportMatter",
        "Export a matter's texts",
        (
            200,
            "export.json (messages with SIDs, status history, media references, filing decisions, consents, "
            "opt-outs, the matter's audit entries), messages.csv, transcript.html and manifest.json (SHA-256 "
            "of every file), each with its text.",
            _object(
                matter_cms_id={"type": "string"},
                messages={"type": "integer"},
                audit_id={"type": "integer"},
                files={"type": "array", "items": _ref("ExportFile")},
            ),
        ),
        description="Admins only. The export is audited as `export`. 404 for a matter the store does not hold.",
        errors=(404,),
        roles=("admin",),
        tags=("guardrails",),
    ),
    Route(
        "POST",
        "/guardrails/check",
        _check_draft,
        "checkDraft",
        "Check a draft against the content rules",
        (
            200,
            "Every finding; `sendable` is false when a rule blocks, `needs_override_reason` when one warns.",
            _object(
                findings={"type": "array", "items": _ref("Finding")},
                sendable={"type": "boolean"},
                needs_override_reason={"type": "boolean"},
            ),
        ),
        description="Sends and stores nothing, so a composer can call it as the user types.",
        body=CheckBody,
        errors=(503,),
        tags=("guardrails",),
    ),
    Route(
        "GET",
        "/consents",
        _list_consents,
        "listConsents",
        "The consent ledger",
        (200, "Ledger rows, oldest first.", _object(consents={"type": "array", "items": {"type": "object"}})),
        params=(Param("phone", TextParam(40), "Only this number's rows (any readable format)."),),
        errors=(422,),
        tags=("guardrails",),
    ),
    Route(
        "POST",
        "/consents",
        _record_consent,
        "recordConsent",
        "Record consent or its withdrawal",
        (201, "The ledger row (append-only).", _object(consent={"type": "object"})),
        description="The caller is recorded as who captured it; audited as `consent` or `consent_revoked`.",
        body=ConsentBody,
        errors=(422,),
        tags=("guardrails",),
    ),
    Route(
        "GET",
        "/openapi.json",
        _openapi,
        "getOpenApi",
        "This document",
        (200, "The OpenAPI 3.0 description of /api.", {"type": "object"}),
        description="Public: it describes the API and holds no firm data, so tooling can fetch it without a token.",
        authenticated=False,
        tags=("meta",),
    ),
    Route(
        "GET",
        "/me",
        _me,
        "getMe",
        "The caller",
        (200, "The person the token belongs to.", _object(user=_ref("User"))),
        tags=("meta",),
    ),
    Route(
        "GET",
        "/threads",
        _list_threads,
        "listThreads",
        "List threads",
        (
            200,
            "A page of threads, newest activity first; `next_cursor` is null on the last page.",
            _object(
                threads={"type": "array", "items": _ref("Thread")}, next_cursor={"type": "string", "nullable": True}
            ),
        ),
        description=(
            "Keyset-paged: pass `next_cursor` back as `cursor` for the next page; pages never repeat or skip "
            "a thread whose activity did not change. Filters combine with AND. `unread` counts the caller's "
            "unread inbound texts. Threads with no message yet are not listed."
        ),
        params=(
            Param(
                "filter",
                FlagsParam(THREAD_FILTERS),
                "mine: assigned to the caller; needs_filing: no matter yet; urgent: flagged urgent; "
                "opted_out: the client's number is opted out now. Repeat it or give a comma-separated list.",
            ),
            Param("matter", TextParam(64), "Threads about this matter (CMS id), now or in any filed text."),
            Param("client", TextParam(64), "Threads with this client (CMS id)."),
            Param("cursor", TextParam(512), "The `next_cursor` of the previous page."),
            _THREAD_PAGE,
        ),
        tags=("threads",),
    ),
    Route(
        "GET",
        "/threads/<int:thread_id>",
        _get_thread,
        "getThread",
        "One thread",
        (200, "The thread.", _THREAD_ONE),
        errors=(404,),
        tags=("threads",),
    ),
    Route(
        "GET",
        "/threads/<int:thread_id>/messages",
        _list_messages,
        "listMessages",
        "A thread's messages",
        (
            200,
            "A page of messages, newest first; pass `next_before` back as `before` for older ones (null: no more).",
            _object(
                messages={"type": "array", "items": _ref("Message")}, next_before={"type": "integer", "nullable": True}
            ),
        ),
        params=(Param("before", IntParam(1), "Only messages older than this message id."), _THREAD_PAGE),
        errors=(404,),
        tags=("messages",),
    ),
    Route(
        "POST",
        "/threads/<int:thread_id>/messages",
        _send_in_thread,
        "sendInThread",
        "Send a text in a thread",
        (201, "Stored and queued; the worker sends it.", _object(message=_ref("SentMessage"))),
        description=(
            "The message and its outbox job are stored in one transaction. The answer gives the encoding "
            "(GSM-7 or UCS-2) and the number of SMS segments. Guardrails, in order: 409 `recipient_opted_out`; "
            "409 `consent_required` (no consent on record and the client has not texted this number lately); "
            "422 `content_rule` with every finding in `details.findings` (a block cannot be sent; a warning "
            "goes with `override_reason`, audited as `override`); quiet hours: outside the recipient's "
            "08:00-20:00 the text is stored as `scheduled` and `scheduled_for` says when it goes, unless an "
            "attorney or admin gives `quiet_hours_reason` (audited). Refusals are audited as `send_blocked`. "
            "Also 422 `body_too_long` (over 1,600 characters), `empty_message`, `bad_media`, `empty_reason`."
        ),
        body=SendBody,
        errors=(403, 404, 409, 422, 503),
        tags=("messages",),
    ),
    Route(
        "POST",
        "/matters/<cms_id>/messages",
        _send_for_matter,
        "sendForMatter",
        "Text a matter's client",
        (201, "Stored and queued; the worker sends it.", _object(message=_ref("SentMessage"))),
        description=(
            "Sends from the firm number to the matter client's primary readable phone, on that number's thread, "
            "filed to the matter. Refusals as for sending in a thread, plus 422 `no_textable_number` and "
            "`no_firm_number`."
        ),
        body=SendBody,
        errors=(403, 404, 409, 422, 503),
        tags=("messages",),
    ),
    Route(
        "POST",
        "/threads/<int:thread_id>/assign",
        _assign,
        "assignThread",
        "Assign a thread",
        (200, "The thread as it is now.", _THREAD_ONE),
        description="Audited as `assign`. 422 `unknown_user` when the assignee is unknown or disabled.",
        body=AssignBody,
        errors=(404, 422),
        tags=("threads",),
    ),
    Route(
        "POST",
        "/threads/<int:thread_id>/read",
        _mark_read,
        "markThreadRead",
        "Mark a thread read",
        (
            200,
            "The thread with the caller's new unread count, and the caller's read mark.",
            _object(thread=_ref("Thread"), last_read_message_id={"type": "integer"}),
        ),
        description=(
            "Read state is per person. The mark only moves forward. Audited as `read`. "
            "422 `invalid_message` when `message_id` is not in the thread."
        ),
        body=ReadBody,
        errors=(404, 422),
        tags=("threads",),
    ),
    Route(
        "POST",
        "/threads/<int:thread_id>/urgent",
        _set_urgent,
        "setThreadUrgent",
        "Flag or clear urgent",
        (200, "The thread as it is now.", _THREAD_ONE),
        description="Audited as `urgent`.",
        body=UrgentBody,
        errors=(404,),
        tags=("threads",),
    ),
    Route(
        "POST",
        "/threads/<int:thread_id>/file",
        _file_thread,
        "fileThread",
        "Close a thread's conversation windows now",
        (
            200,
            "The windows closed; each queued a transcript (in parts when long) and a summary for the CMS.",
            _object(
                windows={
                    "type": "array",
                    "items": _object(
                        window_id={"type": "integer"},
                        matter_cms_id={"type": "string"},
                        messages={"type": "integer"},
                        writebacks={"type": "integer"},
                    ),
                }
            ),
        ),
        description=(
            "Filed texts not yet in a window are closed into one window per matter. Texts waiting in needs "
            "filing stay until they are filed. Audited as `window_closed`."
        ),
        errors=(404,),
        tags=("write-back",),
    ),
    Route(
        "GET",
        "/writebacks",
        _list_writebacks,
        "listWritebacks",
        "Records for the CMS",
        (
            200,
            "Transcripts, summaries, corrections and tasks with their state.",
            _object(writebacks={"type": "array", "items": {"type": "object"}}),
        ),
        params=(
            Param("state", TextParam(16), "Only this state: draft, pending, written or dead."),
            Param("matter", TextParam(64), "Only this matter (CMS id)."),
        ),
        tags=("write-back",),
    ),
    Route(
        "GET",
        "/writebacks/<int:writeback_id>",
        _get_writeback,
        "getWriteback",
        "One record for the CMS, with its text",
        (200, "The record.", _object(writeback={"type": "object"})),
        errors=(404,),
        tags=("write-back",),
    ),
    Route(
        "PATCH",
        "/writebacks/<int:writeback_id>",
        _edit_writeback,
        "editWriteback",
        "Edit a summary before it is written",
        (200, "The summary as it is now.", _object(writeback={"type": "object"})),
        description=(
            "Summaries only (transcripts are the record as sent). Allowed while a draft, or queued but not yet "
            "being written; 409 `in_flight` once the write may be under way, `already_written` after. Audited as "
            "`summary_edit`."
        ),
        body=SummaryEditBody,
        errors=(404, 409),
        tags=("write-back",),
    ),
    Route(
        "POST",
        "/writebacks/<int:writeback_id>/file",
        _file_writeback,
        "fileWriteback",
        "Queue a reviewed summary draft",
        (200, "The summary, now queued for the CMS.", _object(writeback={"type": "object"})),
        description="With MATTERLINE_SUMMARY_REVIEW=true summaries wait as drafts until filed. Audited.",
        errors=(404, 409),
        tags=("write-back",),
    ),
    Route(
        "POST",
        "/threads/<int:thread_id>/refile",
        _refile_thread,
        "refileThread",
        "File a thread to a matter",
        (
            200,
            "The thread as it is now, and how many unfiled messages moved with it.",
            _object(thread=_ref("Thread"), messages_filed={"type": "integer"}),
        ),
        description=(
            "Roles: admin and attorney only (staff get 403 `forbidden_role`). The matter becomes the thread's "
            "matter and its unfiled texts are filed there with rule `manual`. Audited as `refile`. "
            "422 `unknown_matter` when the matter is not in the store."
        ),
        body=RefileBody,
        errors=(404, 422),
        roles=REFILE_ROLES,
        tags=("filing",),
    ),
    Route(
        "POST",
        "/messages/<int:message_id>/refile",
        _refile_message,
        "refileMessage",
        "Move a message to another matter",
        (200, "The message as it is now.", _object(message=_ref("Message"))),
        description=(
            "Roles: admin and attorney only (staff get 403 `forbidden_role`). Records a filing decision with "
            "rule `manual`. Audited as `refile`. 422 `unknown_matter` when the matter is not in the store."
        ),
        body=RefileBody,
        errors=(404, 422),
        roles=REFILE_ROLES,
        tags=("filing",),
    ),
    Route(
        "GET",
        "/optouts",
        _optouts,
        "listOptOuts",
        "The opt-out ledger",
        (
            200,
            "Every number in the ledger with its current state.",
            _object(optouts={"type": "array", "items": _ref("OptOut")}),
        ),
        params=(Param("opted_out", BoolParam(False), "Only numbers that are opted out now."),),
        tags=("opt-outs",),
    ),
)


# -- the checks every call goes through -----------------------------------------------------------------


@blueprint.before_request
def _request_id() -> None:
    """Adopt the caller's request id when it is sane (it lands in the audit log), else make one."""
    given = request.headers.get("X-Request-Id", "")
    g.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


@blueprint.after_request
def _finish(response: Response) -> Response:
    """Echo the request id, keep firm data out of caches, and say how to authenticate on a 401."""
    request_id = g.get("request_id")
    if request_id:
        response.headers["X-Request-Id"] = request_id
    response.headers["Cache-Control"] = "no-store"
    if response.status_code == 401:
        bad = g.get("token_rejected", False)
        response.headers["WWW-Authenticate"] = f'{_REALM}, error="invalid_token"' if bad else _REALM
    return response


def _authenticate() -> User:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise ApiError(401, "unauthorized", "this call needs Authorization: Bearer <token>")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "use Authorization: Bearer <token>")
    user = authenticate(app_state().engine, token.strip())
    if user is None:
        g.token_rejected = True
        raise ApiError(401, "invalid_token", "the token is unknown, revoked, or its user is disabled")
    return user


def _query(route: Route) -> dict[str, Any]:
    declared = {param.name: param for param in route.params}
    unknown = sorted(set(request.args) - set(declared))
    if unknown:
        raise ApiError(
            400,
            "unknown_parameter",
            f"unknown query parameter {unknown[0]!r}",
            {"parameter": unknown[0], "allowed": sorted(declared)},
        )
    return {name: param.kind.parse(name, request.args.getlist(name)) for name, param in declared.items()}


def _body(schema: type[Schema]) -> dict[str, Any]:
    raw = request.get_data(cache=True)
    data: Any = {}
    if raw.strip():
        if not (request.mimetype == "application/json" or request.mimetype.endswith("+json")):
            raise ApiError(415, "unsupported_media_type", "send the body as application/json")
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "invalid_json", "the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise ApiError(400, "invalid_json", "the body must be a JSON object")
    try:
        loaded: dict[str, Any] = schema().load(data)
    except ValidationError as exc:
        raise ApiError(400, "invalid_body", "the body does not match the request schema", exc.messages) from None
    return loaded


def _endpoint(route: Route) -> Callable[..., Response]:
    """The Flask view for a route: authenticate, check the role, parse query and body, then run it."""

    def view(**path: Any) -> Response:
        user = _authenticate() if route.authenticated else None
        if route.roles is not None and (user is None or user.role not in route.roles):
            raise ApiError(
                403,
                "forbidden_role",
                f"only {' and '.join(route.roles)} users may do this",
                {"role": None if user is None else user.role, "allowed": list(route.roles)},
            )
        call = Call(
            user=user,
            request_id=str(g.request_id),
            query=_query(route),
            body=_body(route.body) if route.body is not None else {},
        )
        return route.view(call, **path)

    view.__name__ = route.operation_id
    view.__doc__ = route.view.__doc__
    return view


for _route in ROUTES:
    blueprint.add_url_rule(_route.rule, _route.operation_id, _endpoint(_route), methods=[_route.method])


# -- the OpenAPI document -------------------------------------------------------------------------------

_RULE_ARG: Final = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
_STATUS_TEXT: Final = {
    400: "Malformed: bad JSON, a body or query parameter that does not fit the schema, or an unknown one.",
    401: "No bearer token, or an unknown, revoked or disabled one.",
    403: "The caller's role may not do this.",
    404: "No such thread, message or matter.",
    409: "Conflict: the recipient opted out (`recipient_opted_out`) or gave no consent (`consent_required`).",
    415: "The body is not application/json.",
    422: "Well-formed but refused; `error.code` says why.",
    503: "The guardrails cannot run (`rules_unavailable`: the content rules file is broken); nothing was sent.",
}


def openapi_path(rule: str) -> str:
    """A Flask rule under /api as an OpenAPI path template (`<int:thread_id>` → `{thread_id}`)."""
    return PREFIX + _RULE_ARG.sub(lambda m: "{" + m.group("name") + "}", rule)


def _type_schema(annotation: Any) -> dict[str, Any]:
    """JSON schema (OpenAPI 3.0 dialect) of a dataclass field's type, so response schemas follow the views."""
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return _ref(annotation.__name__)
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        present = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(present) != 1:
            raise TypeError(f"cannot describe {annotation!r}")
        return {**_type_schema(present[0]), "nullable": True}
    if origin in (list, tuple):
        return {"type": "array", "items": _type_schema(get_args(annotation)[0])}
    if origin is dict:
        return {"type": "object", "additionalProperties": _type_schema(get_args(annotation)[1])}
    simple: dict[Any, dict[str, Any]] = {
        bool: {"type": "boolean"},
        int: {"type": "integer"},
        str: {"type": "string"},
        datetime: {"type": "string", "format": "date-time"},
    }
    if annotation in simple:
        return dict(simple[annotation])
    raise TypeError(f"cannot describe {annotation!r}")


def _dataclass_schema(cls: type[Any], description: str) -> dict[str, Any]:
    hints = get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    return {
        "type": "object",
        "description": description,
        "required": names,
        "properties": {name: _type_schema(hints[name]) for name in names},
        "additionalProperties": False,
    }


def _field_schema(item: fields.Field[Any]) -> dict[str, Any]:
    custom = getattr(item, "json_schema", None)
    if isinstance(custom, dict):
        out = dict(custom)
    elif isinstance(item, fields.String):
        out = {"type": "string"}
        for validator in item.validators:
            if isinstance(validator, Length):
                if validator.min is not None:
                    out["minLength"] = validator.min
                if validator.max is not None:
                    out["maxLength"] = validator.max
    elif isinstance(item, fields.List):
        out = {"type": "array", "items": _field_schema(item.inner)}
    else:
        raise TypeError(f"cannot describe a {type(item).__name__} field")
    if item.allow_none:
        out["nullable"] = True
    if "description" in item.metadata:
        out["description"] = item.metadata["description"]
    return out


def _body_schema(schema: type[Schema]) -> dict[str, Any]:
    declared = schema().fields
    out: dict[str, Any] = {
        "type": "object",
        "description": (schema.__doc__ or "").strip(),
        "properties": {name: _field_schema(item) for name, item in declared.items()},
        "additionalProperties": False,
    }
    required = [name for name, item in declared.items() if item.required]
    if required:  # OpenAPI 3.0 forbids an empty `required` list
        out["required"] = required
    return out


def _operation(route: Route) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = []
    for match in _RULE_ARG.finditer(route.rule):
        integer = match.group("converter") == "int"
        parameters.append(
            {
                "name": match.group("name"),
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 0} if integer else {"type": "string"},
            }
        )
    for param in route.params:
        entry: dict[str, Any] = {
            "name": param.name,
            "in": "query",
            "required": False,
            "description": param.description,
            "schema": param.kind.schema(),
        }
        if isinstance(param.kind, FlagsParam):
            entry.update(style="form", explode=True)
        parameters.append(entry)
    status, description, schema = route.ok
    responses: dict[str, Any] = {
        str(status): {"description": description, "content": {"application/json": {"schema": schema}}}
    }
    errors = set(route.errors) | {400}  # every route refuses unknown query parameters
    if route.body is not None:
        errors.add(415)
    if route.authenticated:
        errors.add(401)
    if route.roles is not None:
        errors.add(403)
    for code in sorted(errors):
        responses[str(code)] = {"$ref": f"#/components/responses/E{code}"}
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": list(route.tags),
        "responses": responses,
    }
    text = " ".join(part for part in ((route.view.__doc__ or "").strip(), route.description) if part)
    if text:
        operation["description"] = text
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        body = _body_schema(route.body)
        operation["requestBody"] = {
            "required": "required" in body,
            "content": {"application/json": {"schema": body}},
        }
    if not route.authenticated:
        operation["security"] = []
    return operation


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.0 document for every route in `ROUTES` (built once; the table is fixed at import)."""
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(openapi_path(route.rule), {})[route.method.lower()] = _operation(route)
    error_schema = _object(
        error=_object(
            code={"type": "string", "description": "Stable, machine-readable; e.g. `recipient_opted_out`."},
            message={"type": "string", "description": "For people; never contains a secret."},
            details={"description": "Structured context (the parameter or field at fault), or null."},
        )
    )
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Matterline API",
            "version": API_VERSION,
            "description": (
                "The firm inbox, sending, assignment, read state and re-filing. Every operation but this "
                "document needs `Authorization: Bearer <token>` (`matterline users add` prints a token once). "
                "Roles: admin, attorney and staff may read, send, assign, mark read and flag urgent; only admin "
                "and attorney may re-file (staff get 403 `forbidden_role`). Every response carries "
                "`X-Request-Id` (the caller's, when sent, else a new one); audit entries record it. Errors are "
                '`{"error": {"code", "message", "details"}}`. Unknown query parameters and body fields are '
                "refused with 400."
            ),
        },
        "paths": paths,
        "security": [{"bearerAuth": []}],
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": error_schema,
                "Thread": _dataclass_schema(inbox.ThreadView, "A conversation: a firm number and a client phone."),
                "Message": _dataclass_schema(inbox.MessageView, "One text in a thread."),
                "SentMessage": _dataclass_schema(SentMessage, "A text stored and queued for sending."),
                "Finding": _dataclass_schema(Finding, "What a content rule found: the rule, the span, a suggestion."),
                "ExportFile": _dataclass_schema(ExportFile, "One file of a matter's export, with its text."),
                "OptOut": _dataclass_schema(OptOutState, "A number's current opt-out state."),
                "User": _dataclass_schema(User, "A person who uses Matterline."),
            },
            "responses": {
                f"E{code}": {
                    "description": text,
                    "content": {"application/json": {"schema": _ref("Error")}},
                }
                for code, text in _STATUS_TEXT.items()
            },
        },
    }
