"""The harness every API test uses: a client that checks each answer against the OpenAPI document.

Every answer an API test receives is checked against the schema `/api/openapi.json` documents for that
route and status, so the document cannot drift from what the code returns. The fixtures built on this
(`firm`, `jane`) are in this folder's conftest.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import jsonschema
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select, update
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.test import TestResponse

from connector.store.tables import audit_log, outbox, threads
from tests.support.firm import inbound_form, signed

try:  # texts are threaded by the worker's intake where it exists, else by the webhook itself
    from connector.messaging import intake
except ImportError:  # pragma: no cover - depends on which half of the pipeline threads texts
    intake = None  # type: ignore[assignment]
from webhooks.api import ROUTES, openapi_document, openapi_path
from webhooks.state import app_state

__all__ = [
    "DOC",
    "SMS",
    "Api",
    "Firm",
    "as_json_schema",
    "audit_rows",
    "concrete",
    "count",
    "documented_schema",
    "error",
    "kill_jobs",
    "text_in",
    "thread_id_of",
]

SMS = "/webhooks/twilio/sms"
DOC = openapi_document()


def text_in(client: FlaskClient, from_: str, body: str = "Hello") -> None:
    """A signed inbound text, as Twilio would post it, then threaded and filed."""
    params = inbound_form(from_, body)
    assert client.post(SMS, data=params, headers=signed(SMS, params)).status_code == 200
    if intake is not None:
        state = app_state(client.application)
        intake.drain(state.engine, state.settings)


def as_json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as plain JSON Schema: `$ref`s inlined, `nullable` as a null type."""
    if isinstance(node, list):
        return [as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return as_json_schema(DOC["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]])
    out = {key: as_json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True:
        if "type" in out:
            out["type"] = [out["type"], "null"]
        elif "oneOf" in out:
            out["oneOf"] = [*out["oneOf"], {"type": "null"}]
        elif "allOf" in out:  # a view that may be absent: {"allOf": [{"$ref": ...}], "nullable": true}
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def documented_schema(app: Flask, method: str, path: str, status: int) -> Any:
    """The schema the document promises for this answer; fails when the status is not documented."""
    adapter = app.url_map.bind("localhost")
    endpoint, _ = adapter.match(path.split("?")[0], method=method)
    route = next(r for r in ROUTES if f"api.{r.operation_id}" == endpoint)
    responses = DOC["paths"][openapi_path(route.rule)][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} answered {status}, which the document does not list"
    answer = responses[str(status)]
    if "$ref" in answer:
        answer = DOC["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    return answer["content"]["application/json"]["schema"]


@dataclass
class Api:
    """A test client that authenticates as someone and checks every answer against the document."""

    client: FlaskClient
    app: Flask
    token: str | None

    def call(
        self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None, **kw: Any
    ) -> TestResponse:
        sent = dict(headers or {})
        if self.token is not None:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        if body is not None:
            kw["json"] = body
        response = self.client.open(path, method=method, headers=sent, **kw)
        assert response.mimetype == "application/json"
        try:
            schema = documented_schema(self.app, method, path, response.status_code)
        except (NotFound, MethodNotAllowed):
            schema = as_json_schema({"$ref": "#/components/schemas/Error"})
        jsonschema.validate(response.get_json(), as_json_schema(schema))
        return response

    def get(self, path: str, **kw: Any) -> TestResponse:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> TestResponse:
        return self.call("POST", path, body, **kw)

    def as_(self, token: str | None) -> Api:
        return Api(self.client, self.app, token)


def error(response: TestResponse) -> dict[str, Any]:
    found: dict[str, Any] = response.get_json()["error"]
    return found


def count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def audit_rows(engine: Engine, action: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.id)))


def thread_id_of(engine: Engine, phone: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(threads.c.id).where(threads.c.client_phone == phone)).scalar_one())


@dataclass
class Firm:
    store: Engine
    app: Flask
    admin: Api
    attorney: Api
    staff: Api
    anonymous: Api
    ids: dict[str, int]


def concrete(rule: str) -> str:
    return "/api" + re.sub(r"<(?:int:)?(\w+)>", lambda m: "101" if m.group(1) == "cms_id" else "1", rule)


def kill_jobs(engine: Engine, *where: Any, attempts: int = 5, last_error: str = "21610: unsubscribed") -> list[int]:
    """Make outbox jobs dead letters, as the sender leaves them after its last failed attempt; their ids."""
    with engine.begin() as conn:
        return list(
            conn.execute(
                update(outbox)
                .where(*where)
                .values(state="dead", attempts=attempts, last_error=last_error, leased_until=None)
                .returning(outbox.c.id)
            ).scalars()
        )
