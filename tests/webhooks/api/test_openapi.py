"""The OpenAPI document (`webhooks/api/openapi.py`): public, valid OpenAPI 3.0, and the same as the app's routes."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest

from tests.webhooks.api.harness import DOC, Firm, as_json_schema


def test_the_document_is_public_and_matches_the_app(firm: Firm) -> None:
    response = firm.anonymous.get("/api/openapi.json")
    assert response.status_code == 200
    served = response.get_json()
    assert served == json.loads(json.dumps(DOC))

    in_app = {
        (method.lower(), re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule))
        for rule in firm.app.url_map.iter_rules()
        if rule.rule.startswith("/api")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    documented = {(method, path) for path, item in served["paths"].items() for method in item}
    assert in_app == documented
    assert served["paths"]["/api/openapi.json"]["get"]["security"] == []
    assert served["security"] == [{"bearerAuth": []}]
    assert "forbidden_role" in served["paths"]["/api/threads/{thread_id}/refile"]["post"]["description"]
    assert "403" in served["paths"]["/api/messages/{message_id}/refile"]["post"]["responses"]
    assert "403" not in served["paths"]["/api/threads/{thread_id}/assign"]["post"]["responses"]


def test_request_bodies_are_documented_from_the_schemas(firm: Firm) -> None:
    send = DOC["paths"]["/api/threads/{thread_id}/messages"]["post"]["requestBody"]["content"]["application/json"]
    assert set(send["schema"]["properties"]) == {
        "body",
        "media_urls",
        "override_reason",
        "quiet_hours_reason",
        "to",
        "purpose",
        "template",
    }
    assert send["schema"]["additionalProperties"] is False
    assign = DOC["paths"]["/api/threads/{thread_id}/assign"]["post"]["requestBody"]["content"]["application/json"]
    assert assign["schema"]["required"] == ["assignee"]
    assert assign["schema"]["properties"]["assignee"]["nullable"] is True
    params = {p["name"] for p in DOC["paths"]["/api/threads"]["get"]["parameters"]}
    assert params == {"filter", "q", "matter", "client", "cursor", "limit"}


# A structural check of OpenAPI 3.0, for when openapi-spec-validator is not installed.
_OPENAPI_30 = {
    "type": "object",
    "required": ["openapi", "info", "paths"],
    "properties": {
        "openapi": {"type": "string", "pattern": r"^3\.0\.\d+$"},
        "info": {
            "type": "object",
            "required": ["title", "version"],
            "properties": {"title": {"type": "string"}, "version": {"type": "string"}},
        },
        "security": {"type": "array", "items": {"type": "object"}},
        "paths": {
            "type": "object",
            "propertyNames": {"pattern": r"^/"},
            "additionalProperties": {
                "type": "object",
                "propertyNames": {"enum": ["get", "put", "post", "delete", "patch", "head", "options", "trace"]},
                "additionalProperties": {"$ref": "#/$defs/operation"},
            },
        },
        "components": {
            "type": "object",
            "properties": {
                "schemas": {"type": "object", "additionalProperties": {"$ref": "#/$defs/schema"}},
                "responses": {"type": "object", "additionalProperties": {"$ref": "#/$defs/response"}},
                "securitySchemes": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "required": ["type"],
                        "properties": {"type": {"enum": ["apiKey", "http", "oauth2", "openIdConnect"]}},
                    },
                },
            },
        },
    },
    "$defs": {
        "ref": {"type": "object", "required": ["$ref"], "properties": {"$ref": {"type": "string", "pattern": "^#/"}}},
        "operation": {
            "type": "object",
            "required": ["responses", "operationId"],
            "properties": {
                "operationId": {"type": "string"},
                "parameters": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "in", "schema"],
                        "properties": {"in": {"enum": ["query", "header", "path", "cookie"]}},
                        "if": {"properties": {"in": {"const": "path"}}},
                        "then": {"required": ["required"], "properties": {"required": {"const": True}}},
                    },
                },
                "requestBody": {
                    "type": "object",
                    "required": ["content"],
                    "properties": {
                        "content": {
                            "type": "object",
                            "minProperties": 1,
                            "additionalProperties": {
                                "type": "object",
                                "properties": {"schema": {"$ref": "#/$defs/schema"}},
                            },
                        }
                    },
                },
                "responses": {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": {"pattern": r"^[1-5]\d\d$"},
                    "additionalProperties": {"anyOf": [{"$ref": "#/$defs/ref"}, {"$ref": "#/$defs/response"}]},
                },
                "security": {"type": "array"},
            },
        },
        "response": {
            "type": "object",
            "required": ["description"],
            "properties": {
                "description": {"type": "string"},
                "content": {
                    "type": "object",
                    "additionalProperties": {"type": "object", "properties": {"schema": {"$ref": "#/$defs/schema"}}},
                },
            },
        },
        # The rules of OpenAPI 3.0's schema object that JSON Schema tooling would not enforce.
        "schema": {
            "type": "object",
            "properties": {
                "required": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "string"}},
                "type": {"enum": ["object", "array", "string", "integer", "number", "boolean"]},
                "nullable": {"type": "boolean"},
                "properties": {"type": "object", "additionalProperties": {"$ref": "#/$defs/schema"}},
                "items": {"$ref": "#/$defs/schema"},
                "oneOf": {"type": "array", "items": {"$ref": "#/$defs/schema"}},
            },
        },
    },
}


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def test_the_document_is_valid_openapi_3_0() -> None:
    jsonschema.validate(DOC, _OPENAPI_30)
    for ref in _refs(DOC):
        section, name = ref.removeprefix("#/components/").split("/")
        assert name in DOC["components"][section], ref
    operation_ids = [op["operationId"] for item in DOC["paths"].values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))
    for path, item in DOC["paths"].items():
        for operation in item.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), path
    for schema in DOC["components"]["schemas"].values():
        jsonschema.Draft7Validator.check_schema(as_json_schema(schema))


def test_the_document_passes_openapi_spec_validator() -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(DOC)


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, item in DOC["paths"].items() for method, op in item.items()]


def test_every_id_in_a_path_states_the_stores_range_and_its_operation_answers_404() -> None:
    with_ids = [(m, p, op) for m, p, op in _operations() if any(x["in"] == "path" for x in op.get("parameters", []))]
    assert len(with_ids) > 15
    for method, path, op in with_ids:
        for parameter in (x for x in op["parameters"] if x["in"] == "path"):
            integer = {"type": "integer", "maximum": 2**31 - 1}
            expected = {"type": "string"} if parameter["name"] == "cms_id" else integer
            assert expected.items() <= parameter["schema"].items(), (method, path)
        assert "404" in op["responses"], f"{method} {path}: an id that matches nothing is 404"


def test_every_whole_number_query_parameter_states_the_stores_range() -> None:
    numbers = [
        (method, path, x["name"], x["schema"])
        for method, path, op in _operations()
        for x in op.get("parameters", [])
        if x["in"] == "query" and x["schema"]["type"] == "integer"
    ]
    assert {name for _, _, name, _ in numbers} >= {"before", "after", "limit"}
    for method, path, name, schema in numbers:
        assert 0 <= schema["minimum"] <= schema["maximum"] <= 2**31 - 1, (method, path, name)


def test_the_consent_enums_are_the_ones_the_ledger_checks() -> None:
    from connector.guardrails import consent

    body = DOC["paths"]["/api/consents"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["method"]["enum"] == list(consent.METHODS)
    assert body["properties"]["action"]["enum"] == [consent.GRANT, consent.REVOKE]
    row = DOC["components"]["schemas"]["ConsentRow"]["properties"]
    assert row["method"]["enum"] == list(consent.METHODS)
    assert row["action"]["enum"] == [consent.GRANT, consent.REVOKE]
