"""How a row of the route table becomes a Flask view: authenticate, check the role, parse query and body, run.

Every check a call goes through lives here once: the bearer token, the role the route allows, the
query parameters it declares (and no others), the JSON body its schema accepts (and no other field).
The same `Route` and `Param` objects are what the OpenAPI document is generated from, so a parameter
cannot be checked without being documented or documented without being checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from flask import Blueprint, Response, g, jsonify, request
from flask.blueprints import BlueprintSetupState
from marshmallow import Schema, ValidationError
from werkzeug.routing import BaseConverter
from werkzeug.routing import ValidationError as NoMatch

from connector import jsonable
from connector.const import JSON_INT_MAX, JSON_INT_MIN, JSON_MAX_DEPTH, STORE_ID_MAX
from connector.errors import Kind, MatterlineError, bad_parameter, forbidden, malformed
from connector.staff.users import Actor, User, authenticate
from webhooks.observe import current_request_id
from webhooks.state import app_state

__all__ = [
    "BoolParam",
    "Call",
    "FlagsParam",
    "IntParam",
    "Param",
    "Route",
    "StoreId",
    "TextParam",
    "install",
    "json_response",
]

_REALM: Final = 'Bearer realm="matterline"'


def _digits_up_to(limit: int) -> str:
    """A regex for the ASCII whole numbers from 0 to `limit`.

    The bound is in the pattern, not only checked after it: Werkzeug matches a path's rules before it
    converts, so an id that matched and failed conversion would answer 405 where another method's rule
    has the same path, instead of 404.
    """
    text = str(limit)
    options = [f"[0-9]{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    options += [f"{text[:i]}[0-{int(d) - 1}][0-9]{{{len(text) - i - 1}}}" for i, d in enumerate(text) if d != "0"]
    return "(?:" + "|".join([*options, text]) + ")"


# ASCII digits only (str.isdigit and `\d` also take "²" and "٣"), and no more than the store's range can hold.
_DIGITS: Final = re.compile(_digits_up_to(STORE_ID_MAX))


def store_int(text: str, minimum: int = 0) -> int | None:
    """`text` as a whole number from `minimum` that the store can hold, or None: how every id and cursor is read."""
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if minimum <= value <= STORE_ID_MAX else None


class StoreId(BaseConverter):
    """The app's `<int:...>` in a path: an id the store can hold, else the path names nothing (404).

    Werkzeug's own `int` takes any length of digits, and an id beyond the store's INTEGER columns
    reached the database, which answered with an exception (500) instead of "no such record".
    """

    regex = _DIGITS.pattern
    weight = 50

    def to_python(self, value: str) -> int:
        number = store_int(value)
        if number is None:
            raise NoMatch()
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))

    @staticmethod
    def schema() -> dict[str, Any]:
        return {"type": "integer", "minimum": 0, "maximum": STORE_ID_MAX}


# -- query parameters -----------------------------------------------------------------------------------


def _single(name: str, values: Sequence[str]) -> str:
    if len(values) > 1:
        raise bad_parameter(name, "give it once")
    return values[0]


@dataclass(frozen=True, slots=True)
class IntParam:
    """A whole number within bounds; a cursor's upper bound is the store's range, so it never reaches SQL beyond it."""

    minimum: int
    maximum: int = STORE_ID_MAX
    default: int | None = None

    def parse(self, name: str, values: Sequence[str]) -> int | None:
        if not values:
            return self.default
        number = store_int(_single(name, values).strip(), self.minimum)
        if number is None or number > self.maximum:
            raise bad_parameter(name, f"must be a whole number from {self.minimum} to {self.maximum}")
        return number

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}
        if self.default is not None:
            out["default"] = self.default
        return out


@dataclass(frozen=True, slots=True)
class TextParam:
    """A non-empty string (an opaque cursor, a CMS id), or one of `choices`."""

    max_length: int
    choices: tuple[str, ...] = ()

    def parse(self, name: str, values: Sequence[str]) -> str | None:
        if not values:
            return None
        text = _single(name, values).strip()
        if not text or len(text) > self.max_length:
            raise bad_parameter(name, f"must be 1 to {self.max_length} characters")
        if self.choices and text not in self.choices:
            raise bad_parameter(name, f"unknown value {text!r}", allowed=list(self.choices))
        return text

    def schema(self) -> dict[str, Any]:
        if self.choices:
            return {"type": "string", "enum": list(self.choices)}
        return {"type": "string", "minLength": 1, "maxLength": self.max_length}


@dataclass(frozen=True, slots=True)
class FlagsParam:
    """A set of named switches, repeated (`?filter=a&filter=b`) or comma-separated (`?filter=a,b`)."""

    choices: tuple[str, ...]

    def parse(self, name: str, values: Sequence[str]) -> frozenset[str]:
        chosen = {part.strip() for value in values for part in value.split(",") if part.strip()}
        unknown = sorted(chosen - set(self.choices))
        if unknown:
            raise bad_parameter(name, f"unknown value {unknown[0]!r}", allowed=list(self.choices))
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
            raise bad_parameter(name, "must be true or false")
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


# -- the route table's rows --------------------------------------------------------------------------------


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
            raise MatterlineError(Kind.UNAUTHENTICATED, "unauthorized", "this call needs a bearer token")
        return self.user

    @property
    def actor(self) -> Actor:
        """The caller as the services and the audit log name them, with this request's id."""
        return Actor.of(self.who, self.request_id)


# An answer's shape: field name -> Python type (a view dataclass, list[...], X | None, int, str, ...).
Answer = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Route:
    """One API operation: URL rule, checks, answer and documentation, in one place."""

    method: str
    rule: str
    view: Callable[..., Response]
    operation_id: str
    summary: str
    ok: tuple[int, str, Answer]
    description: str = ""
    params: tuple[Param, ...] = ()
    body: type[Schema] | None = None
    errors: tuple[int, ...] = ()
    roles: tuple[str, ...] | None = None
    authenticated: bool = True
    tags: tuple[str, ...] = ()


def json_response(payload: Any, status: int = 200) -> Response:
    """`payload` (a mapping or a view, views and all inside) as JSON, datetimes as ISO 8601."""
    response = jsonify(jsonable.plain(payload))
    response.status_code = status
    return response


# -- the checks every call goes through -----------------------------------------------------------------


def _request_id() -> None:
    """The request's id (the caller's when sane, else a new one: `webhooks.observe`), for its audit entries."""
    g.request_id = current_request_id()


def _finish(response: Response) -> Response:
    """Keep firm data out of caches, and say how to authenticate on a 401 (`webhooks.observe` returns the id)."""
    response.headers["Cache-Control"] = "no-store"
    if response.status_code == 401:
        bad = g.get("token_rejected", False)
        response.headers["WWW-Authenticate"] = f'{_REALM}, error="invalid_token"' if bad else _REALM
    return response


def _unauthorized(code: str, message: str) -> MatterlineError:
    return MatterlineError(Kind.UNAUTHENTICATED, code, message)


def _authenticate() -> User:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise _unauthorized("unauthorized", "this call needs Authorization: Bearer <token>")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("unauthorized", "use Authorization: Bearer <token>")
    user = authenticate(app_state().engine, token.strip())
    if user is None:
        g.token_rejected = True
        raise _unauthorized("invalid_token", "the token is unknown, revoked, or its user is disabled")
    return user


def _query(route: Route) -> dict[str, Any]:
    declared = {param.name: param for param in route.params}
    unknown = sorted(set(request.args) - set(declared))
    if unknown:
        raise malformed(
            "unknown_parameter",
            f"unknown query parameter {unknown[0]!r}",
            {"parameter": unknown[0], "allowed": sorted(declared)},
        )
    return {name: param.kind.parse(name, request.args.getlist(name)) for name, param in declared.items()}


class _OutOfRange(Exception):
    """A JSON integer beyond 64 bits: nothing the API keeps can hold it."""


def _bounded_int(text: str) -> int:
    value = int(text)
    if not JSON_INT_MIN <= value <= JSON_INT_MAX:
        raise _OutOfRange
    return value


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def _too_deep(data: Any) -> bool:
    """Whether `data` nests deeper than JSON_MAX_DEPTH, found level by level rather than by recursion."""
    level: list[Any] = [data]
    for _ in range(JSON_MAX_DEPTH):
        level = [
            child
            for node in level
            if isinstance(node, dict | list)
            for child in (node.values() if isinstance(node, dict) else node)
        ]
    return any(isinstance(node, dict | list) for node in level)


def _deep() -> MatterlineError:
    return malformed("too_deep", f"the body nests deeper than {JSON_MAX_DEPTH} levels", {"max_depth": JSON_MAX_DEPTH})


def parse_json(raw: bytes) -> Any:
    """A request body as JSON, refused (400) when it is not JSON, nests too deep, or holds an integer beyond 64 bits.

    Python's parser reads integers of any size and recurses once per level: an over-large id reached the
    database as an exception, and a deeply nested body exhausted the stack; both were a 500.
    """
    try:
        data = json.loads(raw, parse_int=_bounded_int, parse_constant=_no_constant)
    except _OutOfRange:
        raise malformed(
            "number_out_of_range",
            "the body holds an integer beyond the 64-bit range",
            {"minimum": JSON_INT_MIN, "maximum": JSON_INT_MAX},
        ) from None
    except RecursionError:
        raise _deep() from None
    except (ValueError, UnicodeDecodeError):
        raise malformed("invalid_json", "the body is not valid JSON") from None
    if _too_deep(data):
        raise _deep()
    return data


def _body(schema: type[Schema]) -> dict[str, Any]:
    raw = request.get_data(cache=True)
    data: Any = {}
    if raw.strip():
        if not (request.mimetype == "application/json" or request.mimetype.endswith("+json")):
            raise MatterlineError(Kind.UNSUPPORTED, "unsupported_media_type", "send the body as application/json")
        data = parse_json(raw)
        if not isinstance(data, dict):
            raise malformed("invalid_json", "the body must be a JSON object")
    try:
        loaded: dict[str, Any] = schema().load(data)
    except ValidationError as exc:
        raise malformed("invalid_body", "the body does not match the request schema", exc.messages) from None
    return loaded


def _endpoint(route: Route) -> Callable[..., Response]:
    """The Flask view for a route: authenticate, check the role, parse query and body, then run it."""

    def view(**path: Any) -> Response:
        user = _authenticate() if route.authenticated else None
        if route.roles is not None and (user is None or user.role not in route.roles):
            raise forbidden(
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


def _store_ids(state: BlueprintSetupState) -> None:
    state.app.url_map.converters["int"] = StoreId


def install(blueprint: Blueprint, routes: Sequence[Route]) -> None:
    """Register every route on `blueprint`, behind the request-id and header hooks.

    The app's `int` path converter becomes `StoreId` before any rule is added, so every `<int:...>` in
    the route table (and any added later) is bounded to the store's range and documented so.
    """
    blueprint.record_once(_store_ids)
    blueprint.before_request(_request_id)
    blueprint.after_request(_finish)
    for route in routes:
        blueprint.add_url_rule(route.rule, route.operation_id, _endpoint(route), methods=[route.method])
