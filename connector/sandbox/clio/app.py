"""The sandbox CMS over HTTP: Clio's `/api/v4` routes, `/oauth/authorize`, `/oauth/token`, and `/_sandbox/` controls."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connector.sandbox.clio.constants import (
    ANONYMOUS,
    API_PREFIX,
    API_VERSION,
    AUTHORIZE_PATH,
    INVALID_TOKEN_BODY,
    MUTATIONS,
    OAUTH_PATH,
)
from connector.sandbox.clio.errors import RecordNotFound, SandboxError
from connector.sandbox.clio.fields import parse_fields
from connector.sandbox.clio.oauth import OAuthError
from connector.sandbox.clio.queries import (
    _INDEXES,
    START,
    Args,
    ListQuery,
    _limit,
    _page_url,
    decode_page_token,
    encode_page_token,
)
from connector.sandbox.clio.responses import error_response, fault_response, json_response
from connector.sandbox.clio.signin import authorize
from connector.sandbox.clio.state import ClioState
from connector.sandbox.clio.store import RecordedRequest
from connector.sandbox.control import CONTROL_PREFIX, control_payload
from connector.sandbox.faults import Fault, serve_with_faults
from connector.sandbox.firm import Record

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

_API_ROUTES: Final = (
    ("GET", "/contacts.json", "contacts_index"),
    ("GET", "/contacts/<int:record_id>.json", "contacts_show"),
    ("GET", "/matters.json", "matters_index"),
    ("GET", "/matters/<int:record_id>.json", "matters_show"),
    ("GET", "/relationships.json", "relationships_index"),
    ("GET", "/relationships/<int:record_id>.json", "relationships_show"),
    ("GET", "/calendar_entries.json", "calendar_entries_index"),
    ("GET", "/calendar_entries/<int:record_id>.json", "calendar_entries_show"),
    ("GET", "/users.json", "users_index"),
    ("GET", "/users/who_am_i.json", "users_me"),
    ("GET", "/users/<int:record_id>.json", "users_show"),
    ("GET", "/notes.json", "notes_index"),
    ("POST", "/notes.json", "notes_create"),
    ("GET", "/notes/<int:record_id>.json", "notes_show"),
    ("GET", "/communications.json", "communications_index"),
    ("POST", "/communications.json", "communications_create"),
    ("GET", "/communications/<int:record_id>.json", "communications_show"),
    ("GET", "/tasks.json", "tasks_index"),
    ("POST", "/tasks.json", "tasks_create"),
    ("GET", "/tasks/<int:record_id>.json", "tasks_show"),
    ("GET", "/webhooks.json", "webhooks_index"),
    ("POST", "/webhooks.json", "webhooks_create"),
    ("GET", "/webhooks/<int:record_id>.json", "webhooks_show"),
    ("PATCH", "/webhooks/<int:record_id>.json", "webhooks_update"),
    ("DELETE", "/webhooks/<int:record_id>.json", "webhooks_delete"),
    ("GET", "/custom_actions.json", "custom_actions_index"),
    ("POST", "/custom_actions.json", "custom_actions_create"),
    ("GET", "/custom_actions/<int:record_id>.json", "custom_actions_show"),
    ("PATCH", "/custom_actions/<int:record_id>.json", "custom_actions_update"),
    ("DELETE", "/custom_actions/<int:record_id>.json", "custom_actions_delete"),
)
_SHOW_RESOURCES: Final = {
    "contacts_show": "contact",
    "matters_show": "matter",
    "relationships_show": "relationship",
    "calendar_entries_show": "calendar_entry",
    "users_show": "user",
    "notes_show": "note",
    "communications_show": "communication",
    "tasks_show": "task",
    "webhooks_show": "webhook",
}
# The records a custom action's click can vouch for: a GET of one with `custom_action_nonce` spends it.
_NONCE_SUBJECTS: Final = {"contacts_show": "contacts", "matters_show": "matters"}
_VERSION_PREFIX: Final = "4.0."
_SETTINGS: Final = ("allow_http_webhooks", "refresh_disabled", "record_requests", "retry_after_header")


@dataclass(frozen=True, slots=True)
class _Call:
    """What a handler needs: the request, the id in the path, and whether to repeat the page token."""

    request: Request
    record_id: int
    repeat_token: bool = False

    @property
    def args(self) -> Args:
        return self.request.args


def _body_data(request: Request) -> Mapping[str, Any]:
    try:
        body = json.loads(request.get_data(as_text=True) or "null")
    except ValueError as exc:
        raise SandboxError(400, "Request body is not valid JSON") from exc
    if not isinstance(body, Mapping) or not isinstance(body.get("data"), Mapping):
        raise SandboxError(400, 'Request body must be a JSON object of the form {"data": {...}}')
    data: Mapping[str, Any] = body["data"]
    return data


class ClioApp:
    """The WSGI app: `/api/v4` (Clio), `/oauth/token`, and unauthenticated `/_sandbox/` controls."""

    def __init__(self, state: ClioState) -> None:
        self.state = state
        self._map = Map([Rule(path, endpoint=name, methods=[method]) for method, path, name in _API_ROUTES])
        self._writes: dict[str, tuple[str, Callable[[Mapping[str, Any]], Record], int]] = {
            "notes_create": ("note", state.create_note, 201),
            "communications_create": ("communication", state.create_communication, 201),
            "tasks_create": ("task", state.create_task, 201),
            "webhooks_create": ("webhook", state.create_webhook, 201),
        }
        self._controls: dict[tuple[str, str], Callable[[Request], Any]] = {
            ("POST", "faults"): self._control_add_fault,
            ("GET", "faults"): lambda _: [{**f.to_json(), "remaining": n} for f, n in state.faults.pending()],
            ("DELETE", "faults"): lambda _: state.faults.clear(),
            ("POST", "rate_limit"): self._control_rate_limit,
            ("GET", "stats"): lambda _: state.stats.snapshot(),
            ("DELETE", "stats"): lambda _: state.stats.reset(),
            ("POST", "mutate"): self._control_mutate,
            ("POST", "touch"): self._control_touch,
            ("POST", "deliver_webhooks"): lambda _: [list(row) for row in state.deliver_webhooks()],
            ("POST", "settings"): self._control_settings,
            ("GET", "requests"): self._control_requests,
            ("POST", "browser_user"): self._control_browser_user,
            ("POST", "oauth_app"): self._control_oauth_app,
            ("POST", "custom_action_click"): self._control_click,
        }

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        path = request.path
        if path.startswith(CONTROL_PREFIX):
            response = self._control(request)
        elif path == OAUTH_PATH:
            response = self._token(request)
        elif path == AUTHORIZE_PATH:
            response = authorize(self.state, request)
        elif path == API_PREFIX or path.startswith(f"{API_PREFIX}/"):
            response = self._api(request, environ)
        else:
            response = error_response(404, f"No route matches {path}")
        return response(environ, start_response)

    # -- /api/v4 -------------------------------------------------------------------------------------

    def _match(self, method: str, path: str) -> tuple[str | None, str, int]:
        """(endpoint or None, path template for stats, record id)."""
        try:
            rule, values = self._map.bind("sandbox").match(path, method=method, return_rule=True)
        except (NotFound, MethodNotAllowed):
            return None, "*", 0
        return str(rule.endpoint), rule.rule.replace("<int:record_id>", "{id}"), int(values.get("record_id", 0))

    def _api(self, request: Request, environ: WSGIEnvironment) -> Response:
        path = request.path[len(API_PREFIX) :] or "/"
        endpoint, template, record_id = self._match(request.method, path)
        self.state.stats.request(request.method, template)
        self._record(request, path)
        return serve_with_faults(
            self.state.faults,
            self.state.stats,
            request.method,
            path,
            environ,
            answer=lambda fault: fault_response(fault, self.state.retry_after_header, request.get_data(as_text=True)),
            serve=lambda fault: self._limited(
                _Call(request, record_id, fault is not None and fault.kind == "repeat_token"), endpoint
            ),
        )

    def _record(self, request: Request, path: str) -> None:
        if not self.state.record_requests:
            return
        body = request.get_json(silent=True) if request.mimetype == "application/json" else None
        query = parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True)
        self.state.record(RecordedRequest(request.method, path, query, dict(request.headers), body))

    def _limited(self, call: _Call, endpoint: str | None) -> Response:
        token = _bearer_token(call.request)
        decision = self.state.rate_limiter.hit(token or ANONYMOUS)
        if decision is not None and not decision.allowed:
            self.state.stats.bump("rate_limited")
            message = f"Rate limit exceeded. Retry in {decision.retry_after} seconds."
            response = error_response(429, message, {self.state.retry_after_header: str(decision.retry_after)})
        else:
            response = self._authorized(call, endpoint, token)
        if decision is not None:
            response.headers["X-RateLimit-Limit"] = str(decision.limit)
            response.headers["X-RateLimit-Remaining"] = str(decision.remaining)
            response.headers["X-RateLimit-Reset"] = str(decision.reset)
        return response

    def _authorized(self, call: _Call, endpoint: str | None, token: str | None) -> Response:
        header = call.request.headers.get("Authorization")
        if header is None:
            return error_response(401, "Missing Authorization header; send 'Bearer <access token>'")
        if token is None:
            return error_response(401, "Malformed Authorization header; expected 'Bearer <access token>'")
        if not self.state.is_valid_token(token):
            return json_response(INVALID_TOKEN_BODY, 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        version = call.request.headers.get("X-API-VERSION")
        if version is not None and not (version.startswith(_VERSION_PREFIX) and version[4:].isdigit()):
            return error_response(410, f"API version {version} is not supported")
        if endpoint is None:
            return error_response(404, f"No route matches {call.request.method} {call.request.path}")
        try:
            response = self._dispatch(call, endpoint)
        except SandboxError as exc:
            response = error_response(exc.status, exc.message)
        response.headers["X-API-VERSION"] = version or API_VERSION
        return response

    def _dispatch(self, call: _Call, endpoint: str) -> Response:
        if endpoint.startswith("custom_actions_"):
            return self._custom_actions(call, endpoint)
        nonce = call.args.get("custom_action_nonce")
        if nonce is not None:
            if endpoint not in _NONCE_SUBJECTS:
                raise SandboxError(400, "custom_action_nonce is only accepted when reading a contact or matter")
            self.state.redeem_nonce(nonce, _bearer_token(call.request), _NONCE_SUBJECTS[endpoint], call.record_id)
        if endpoint in _INDEXES:
            resource, build = _INDEXES[endpoint]
            return self._index(call, resource, build)
        if endpoint in _SHOW_RESOURCES:
            return self._show(call, _SHOW_RESOURCES[endpoint], call.record_id)
        if endpoint == "users_me":
            return self._show(call, "user", self.state.token_user(_bearer_token(call.request)))
        if endpoint in self._writes:
            resource, create, status = self._writes[endpoint]
            selection = parse_fields(resource, call.args.get("fields"))
            record = create(_body_data(call.request))
            return json_response({"data": self.state.render_locked(selection, record)}, status)
        if endpoint == "webhooks_update":
            selection = parse_fields("webhook", call.args.get("fields"))
            record = self.state.update_webhook(call.record_id, _body_data(call.request))
            return json_response({"data": self.state.render_locked(selection, record)})
        self.state.delete_webhook(call.record_id)
        return Response(status=204)

    def _custom_actions(self, call: _Call, endpoint: str) -> Response:
        """The token's user's custom actions (Clio scopes them per user)."""
        user_id = self.state.token_user(_bearer_token(call.request))
        selection = parse_fields("custom_action", call.args.get("fields"))
        if endpoint == "custom_actions_index":
            data = [self.state.render_locked(selection, r) for r in self.state.custom_actions_of(user_id)]
            return json_response({"data": data, "meta": {"paging": {}, "records": len(data)}})
        if endpoint == "custom_actions_create":
            record = self.state.create_custom_action(user_id, _body_data(call.request))
            return json_response({"data": self.state.render_locked(selection, record)}, 201)
        if endpoint == "custom_actions_show":
            record = self.state.custom_action(user_id, call.record_id)
        elif endpoint == "custom_actions_update":
            record = self.state.update_custom_action(user_id, call.record_id, _body_data(call.request))
        else:
            self.state.delete_custom_action(user_id, call.record_id)
            return Response(status=204)
        return json_response({"data": self.state.render_locked(selection, record)}, headers={"ETag": record["etag"]})

    def _index(self, call: _Call, resource: str, build: Callable[[Args], ListQuery]) -> Response:
        selection = parse_fields(resource, call.args.get("fields"))
        limit = _limit(call.args)
        query = build(call.args)
        token = call.args.get("page_token")
        after = decode_page_token(query.order, token) if token else START
        page = self.state.page(query, after, limit, selection)
        paging: dict[str, str] = {}
        if call.repeat_token:
            paging["next"] = _page_url(call.request, encode_page_token(query.order, after))
        elif page.has_more and page.last is not None:
            paging["next"] = _page_url(call.request, encode_page_token(query.order, page.last))
        return json_response({"data": page.data, "meta": {"paging": paging, "records": page.total}})

    def _show(self, call: _Call, resource: str, record_id: int) -> Response:
        selection = parse_fields(resource, call.args.get("fields"))
        data, etag = self.state.show(resource, record_id, selection)
        if call.request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return json_response({"data": data}, headers={"ETag": etag})

    # -- /oauth/token --------------------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        self.state.stats.request(request.method, OAUTH_PATH)
        self._record(request, OAUTH_PATH)
        if request.method != "POST":
            return json_response({"error": "invalid_request"}, 405)
        try:
            body = self.state.grant(request.form)
        except OAuthError as exc:
            return json_response({"error": exc.code}, exc.status)
        return json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    # -- /_sandbox -----------------------------------------------------------------------------------

    def _control(self, request: Request) -> Response:
        name = request.path[len(CONTROL_PREFIX) :].strip("/")
        handler = self._controls.get((request.method, name))
        if handler is None:
            return error_response(404, f"No sandbox control {request.method} {request.path}")
        try:
            result = handler(request)
        except RecordNotFound as exc:
            return error_response(404, str(exc.args[0] if exc.args else exc))
        except (ValueError, TypeError, KeyError) as exc:
            return error_response(400, str(exc))
        return json_response({"ok": True, "result": result})

    def _control_add_fault(self, request: Request) -> dict[str, Any]:
        fault = Fault.from_json(control_payload(request))
        self.state.faults.add(fault)
        return fault.to_json()

    def _control_rate_limit(self, request: Request) -> dict[str, Any]:
        payload = control_payload(request)
        limit = payload.get("limit")
        window = float(payload.get("window_seconds", 60))
        self.state.set_rate_limit(None if limit is None else int(limit), window)
        return {"limit": limit, "window_seconds": window}

    def _control_mutate(self, request: Request) -> Any:
        payload = control_payload(request)
        op, args = payload.get("op"), payload.get("args") or {}
        if op not in MUTATIONS:
            raise ValueError(f"op must be one of {', '.join(sorted(MUTATIONS))}")
        if not isinstance(args, dict):
            raise TypeError("args must be an object")
        return getattr(self.state, str(op))(**args)

    def _control_touch(self, request: Request) -> dict[str, Any]:
        payload = control_payload(request)
        touched = self.state.touch(str(payload.get("resource")), int(payload.get("count", 0)))
        return {"touched": len(touched), "first_ids": touched[:10]}

    def _control_settings(self, request: Request) -> dict[str, Any]:
        payload = control_payload(request)
        unknown = sorted(set(payload) - set(_SETTINGS))
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        for key, value in payload.items():
            setattr(self.state, key, str(value) if key == "retry_after_header" else bool(value))
        return {key: getattr(self.state, key) for key in _SETTINGS}

    def _control_browser_user(self, request: Request) -> dict[str, Any]:
        """Who is signed in to the sandbox CMS in the browser (null: /oauth/authorize asks)."""
        user_id = control_payload(request).get("user_id")
        if user_id is not None:
            self.state.get("users", int(user_id))
        self.state.browser_user = None if user_id is None else int(user_id)
        return {"user_id": self.state.browser_user}

    def _control_oauth_app(self, request: Request) -> dict[str, Any]:
        """The app's registered redirect URIs (an empty list accepts any http(s) URL)."""
        uris = control_payload(request).get("redirect_uris") or []
        if not isinstance(uris, list) or not all(isinstance(uri, str) for uri in uris):
            raise TypeError("redirect_uris must be a list of URLs")
        self.state.redirect_uris = set(uris)
        return {"redirect_uris": sorted(uris)}

    def _control_click(self, request: Request) -> dict[str, Any]:
        """The action's owner clicks it on a record's page: the URL Clio opens, with its fresh nonce."""
        payload = control_payload(request)
        return self.state.click_custom_action(int(payload["custom_action_id"]), int(payload["subject_id"]))

    def _control_requests(self, _: Request) -> list[dict[str, Any]]:
        return [
            {"method": r.method, "path": r.path, "query": r.query, "json_body": r.json_body}
            for r in list(self.state.requests)
        ]


def _bearer_token(request: Request) -> str | None:
    """The token of a well-formed `Authorization: Bearer <token>` header, else None."""
    scheme, _, token = (request.headers.get("Authorization") or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def create_sandbox_app(state: ClioState | None = None) -> ClioApp:
    """The sandbox WSGI app over a state (a fresh small firm when none is given)."""
    return ClioApp(state if state is not None else ClioState())
