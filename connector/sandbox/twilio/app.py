"""The Twilio stand-in over HTTP: `/2010-04-01/Accounts/{AccountSid}/Messages…` and the `/_sandbox/` controls."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl

import requests
from werkzeug.wrappers import Request, Response

from connector.sandbox.control import CONTROL_PREFIX, control_payload
from connector.sandbox.faults import Fault, serve_with_faults
from connector.sandbox.twilio.constants import MESSAGES_PATH
from connector.sandbox.twilio.faults import twilio_fault_response
from connector.sandbox.twilio.formats import make_sid
from connector.sandbox.twilio.responses import TwilioApiError, _json, twilio_error_response
from connector.sandbox.twilio.state import TwilioState
from connector.sandbox.twilio.store import TwilioRequest

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

_ACCOUNT_PATH: Final = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)(?P<rest>/.*)?$")
_ROUTES: Final = (
    ("messages", re.compile(r"^/Messages\.json$"), "/Messages.json"),
    ("message", re.compile(r"^/Messages/(?P<sid>[^/]+)\.json$"), "/Messages/{Sid}.json"),
    ("media_list", re.compile(r"^/Messages/(?P<sid>[^/]+)/Media\.json$"), "/Messages/{MessageSid}/Media.json"),
    (
        "media",
        re.compile(r"^/Messages/(?P<sid>[^/]+)/Media/(?P<media>[^/.]+)(?P<json>\.json)?$"),
        "/Messages/{MessageSid}/Media/{Sid}",
    ),
)
_METHODS: Final = {
    "messages": ("GET", "POST"),
    "message": ("GET", "DELETE"),
    "media_list": ("GET",),
    "media": ("GET", "DELETE"),
}
_CONTROL_SETTINGS: Final = ("strict_numbers", "builtin_opt_out", "record_requests", "send_rate")


def _route(rest: str) -> tuple[str | None, str, dict[str, str]]:
    """(route name or None, path template for stats, path values)."""
    for name, pattern, template in _ROUTES:
        match = pattern.match(rest)
        if match:
            return name, template, {k: v for k, v in match.groupdict().items() if v is not None}
    return None, "*", {}


class TwilioApp:
    """The WSGI app: `/2010-04-01/Accounts/{AccountSid}/Messages…` and unauthenticated `/_sandbox/` controls."""

    def __init__(self, state: TwilioState) -> None:
        self.state = state
        self._request_ids = itertools.count(1)
        self._controls: dict[tuple[str, str], Callable[[Request], Any]] = {
            ("POST", "faults"): self._control_add_fault,
            ("GET", "faults"): lambda _: [{**f.to_json(), "remaining": n} for f, n in state.faults.pending()],
            ("DELETE", "faults"): lambda _: state.faults.clear(),
            ("GET", "stats"): lambda _: state.stats.snapshot(),
            ("DELETE", "stats"): lambda _: state.stats.reset(),
            ("POST", "deliver_callbacks"): self._control_deliver,
            ("POST", "inbound"): self._control_inbound,
            ("POST", "numbers"): self._control_numbers,
            ("POST", "settings"): self._control_settings,
            ("GET", "messages"): lambda _: state.messages(),
            ("GET", "requests"): lambda _: [
                {"method": r.method, "path": r.path, "query": r.query, "form": r.form} for r in list(state.requests)
            ],
        }

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.startswith(CONTROL_PREFIX):
            response = self._control(request)
        else:
            response = self._api(request, environ)
            response.headers["Twilio-Request-Id"] = make_sid("RQ", next(self._request_ids), self.state.account_sid)
        return response(environ, start_response)

    # -- /2010-04-01 ---------------------------------------------------------------------------------

    def _api(self, request: Request, environ: WSGIEnvironment) -> Response:
        located = _ACCOUNT_PATH.match(request.path)
        if located is None:
            self.state.stats.request(request.method, "*")
            return twilio_error_response(404, 20404, f"The requested resource {request.path} was not found")
        account, rest = located.group("account"), located.group("rest") or "/"
        route, template, values = _route(rest)
        self.state.stats.request(request.method, template)
        self._record(request, rest)
        return serve_with_faults(
            self.state.faults,
            self.state.stats,
            request.method,
            rest,
            environ,
            answer=twilio_fault_response,
            serve=lambda _: self._authorized(request, account, route, rest, values),
        )

    def _record(self, request: Request, rest: str) -> None:
        if not self.state.record_requests:
            return
        query = parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True)
        form = list(request.form.items(multi=True)) if request.method == "POST" else []
        self.state.record(TwilioRequest(request.method, rest, query, form, dict(request.headers)))

    def _authorized(
        self, request: Request, account: str, route: str | None, rest: str, values: Mapping[str, str]
    ) -> Response:
        auth = request.authorization
        username = (auth.username or "") if auth is not None and auth.type == "basic" else ""
        password = (auth.password or "") if auth is not None and auth.type == "basic" else ""
        if not self.state.is_authorized(username, password) or account != self.state.account_sid:
            self.state.stats.bump("auth_failures")
            return twilio_error_response(401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'})
        if route is None:
            return twilio_error_response(404, 20404, f"The requested resource {request.path} was not found")
        if request.method not in _METHODS[route]:
            return twilio_error_response(405, 20004, "Method not allowed")
        try:
            return self._dispatch(request, route, values)
        except TwilioApiError as exc:
            if exc.status == 400:
                self.state.stats.bump("rejected")
            return _json(exc.body(), exc.status)

    def _dispatch(self, request: Request, route: str, values: Mapping[str, str]) -> Response:
        state, method = self.state, request.method
        if route == "messages" and method == "POST":
            answer = state.create_message(request.form.items(multi=True))
            state.stats.bump("creates")
            return _json(answer, 201)
        if route == "messages":
            state.stats.bump("lists")
            return _json(state.list_messages(dict(request.args.items())))
        if route == "message" and method == "GET":
            state.stats.bump("fetches")
            return _json(state.message(values["sid"]))
        if route == "message":
            state.delete_message(values["sid"])
            state.stats.bump("deletes")
            return Response(status=204)
        if route == "media_list":
            return _json(state.media_list(values["sid"]))
        if method == "DELETE":
            state.delete_media(values["sid"], values["media"])
            state.stats.bump("deletes")
            return Response(status=204)
        item = state.media(values["sid"], values["media"])
        state.stats.bump("media_fetches")
        if "json" in values:
            return _json(state.render_media(item))
        return Response(item.content, status=200, mimetype=item.content_type)

    # -- /_sandbox -----------------------------------------------------------------------------------

    def _control(self, request: Request) -> Response:
        name = request.path[len(CONTROL_PREFIX) :].strip("/")
        handler = self._controls.get((request.method, name))
        if handler is None:
            return _json({"ok": False, "error": f"No sandbox control {request.method} {request.path}"}, 404)
        try:
            result = handler(request)
        except (ValueError, TypeError, KeyError) as exc:
            return _json({"ok": False, "error": str(exc)}, 400)
        return _json({"ok": True, "result": result})

    def _control_add_fault(self, request: Request) -> dict[str, Any]:
        fault = Fault.from_json({"method": "POST", "path": MESSAGES_PATH, **control_payload(request)})
        self.state.faults.add(fault)
        return fault.to_json()

    def _control_deliver(self, request: Request) -> list[list[Any]]:
        payload = control_payload(request)
        seed = payload.get("seed")
        results = self.state.deliver_callbacks(bool(payload.get("shuffle", False)), None if seed is None else int(seed))
        return [list(row) for row in results]

    def _control_inbound(self, request: Request) -> dict[str, Any]:
        payload = control_payload(request)
        media = [(str(kind), str(content)) for kind, content in payload.get("media", [])]
        params, signature = self.state.build_inbound(
            str(payload["url"]),
            str(payload["from"]),
            str(payload["to"]),
            str(payload.get("body", "")),
            media,
            payload.get("messaging_service_sid"),
            payload.get("opt_out_type"),
            {str(k): str(v) for k, v in (payload.get("extra") or {}).items()},
        )
        try:
            status = self.state.post_inbound(str(payload["url"]), params, signature).status_code
        except requests.RequestException:
            status = 0
        return {"message_sid": params["MessageSid"], "status": status}

    def _control_numbers(self, request: Request) -> dict[str, Any]:
        payload = control_payload(request)
        unknown = sorted(set(payload) - {"opted_out", "landlines", "undeliverable"})
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(unknown)}")
        state = self.state
        if "opted_out" in payload:
            state.opted_out = {str(n) for n in payload["opted_out"]}
        if "landlines" in payload:
            state.landlines = {str(n) for n in payload["landlines"]}
        if "undeliverable" in payload:
            state.undeliverable = {str(n): int(c) for n, c in payload["undeliverable"].items()}
        return {
            "opted_out": sorted(state.opted_out),
            "landlines": sorted(state.landlines),
            "undeliverable": dict(sorted(state.undeliverable.items())),
        }

    def _control_settings(self, request: Request) -> dict[str, Any]:
        payload = control_payload(request)
        unknown = sorted(set(payload) - set(_CONTROL_SETTINGS))
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        for key, value in payload.items():
            if key == "send_rate":
                rate = None if value is None else float(value)
                if rate is not None and rate <= 0:
                    raise ValueError("send_rate must be positive, or null to send at once")
                self.state.send_rate = rate
            else:
                setattr(self.state, key, bool(value))
        return {key: getattr(self.state, key) for key in _CONTROL_SETTINGS}


def create_twilio_app(state: TwilioState | None = None) -> TwilioApp:
    """The Twilio stand-in WSGI app over a state (a fresh sandbox account when none is given)."""
    return TwilioApp(state if state is not None else TwilioState())
