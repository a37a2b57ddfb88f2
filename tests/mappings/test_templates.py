"""Request templates: what reaches the CMS when a mapping's request is filled in."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from mappings import available_vendors, bundled_path, load_mapping
from mappings.model import RequestSpec
from mappings.schema_api import AUTH_PLACEHOLDERS
from mappings.schema_writes import WEBHOOK_PLACEHOLDERS, WRITE_PLACEHOLDERS
from mappings.templates import (
    MissingValueError,
    iter_placeholders,
    render,
    render_params,
    render_path,
    render_request,
    template_variables,
)

WRITE_VALUES: dict[str, Any] = {
    "matter_id": 123456,
    "client_id": 101,
    "subject": "SMS transcript — Jane Doe — 2026-01-02 [ml:thr_abc]",
    "body": "09:14 Jane: running late {sorry}\n09:15 Firm: no problem",
    "date": "2026-01-02",
    "received_at": "2026-01-02T09:14:00Z",
    "due_at": "2026-01-03T17:00:00Z",
    "assignee_id": 7,
    "marker": "ml:thr_abc",
}
WEBHOOK_VALUES: dict[str, Any] = {
    "url": "https://matterline.example.com/webhooks/cms/clio",
    "model": "contact",
    "fields": "id,etag,updated_at",
    "expires_at": "2026-02-01T00:00:00Z",
    "webhook_id": 77,
}
AUTH_VALUES: dict[str, Any] = {
    "origin": "https://app.clio.com",
    "refresh_token": "rt-1",
    "client_id": "app-key",
    "client_secret": "app-secret",
    "access_token": "at-1",
}


def test_template_variables_finds_placeholders_in_any_string_at_any_depth() -> None:
    template = {
        "data": {
            "matter": {"id": "{matter_id}"},
            "subject": "Re: {subject} ({date})",
            "list": [{"value": "{marker}"}, "plain", 5, None, True],
            "{not_a_key_placeholder}": "x",
        }
    }
    assert template_variables(template) == {"matter_id", "subject", "date", "marker"}


@pytest.mark.parametrize(
    "text",
    ["phone_numbers{id,number,name,primary}", "{ID}", "{ matter_id }", "{}", "{9lives}", "{a-b}", "{{", "}"],
)
def test_brace_text_that_is_not_an_identifier_is_not_a_placeholder(text: str) -> None:
    assert template_variables(text) == set()
    assert render(text, {}) == text


def test_iter_placeholders_reports_where_each_one_is() -> None:
    template = {"data": {"matter": {"id": "{matter_id}"}, "props": [{"value": "{marker}"}]}}
    assert list(iter_placeholders(template, ("body",))) == [
        (("body", "data", "matter", "id"), "matter_id"),
        (("body", "data", "props", 0, "value"), "marker"),
    ]


def test_an_exact_placeholder_keeps_the_json_type_of_its_value() -> None:
    template = {"id": "{n}", "ids": "{many}", "obj": "{obj}", "flag": "{flag}"}
    values = {"n": 123456, "many": [1, 2], "obj": {"a": 1}, "flag": False}
    assert render(template, values) == {"id": 123456, "ids": [1, 2], "obj": {"a": 1}, "flag": False}


def test_none_drops_the_key_from_its_object_but_stays_in_a_list() -> None:
    template = {"data": {"due_at": "{due_at}", "name": "{subject}", "tags": ["{due_at}", "x"]}}
    assert render(template, {"due_at": None, "subject": "Call back"}) == {
        "data": {"name": "Call back", "tags": [None, "x"]}
    }


def test_embedded_placeholders_get_text_substitution() -> None:
    values = {"origin": "https://eu.app.clio.com", "n": 5, "yes": True}
    assert render("{origin}/oauth/token", values) == "https://eu.app.clio.com/oauth/token"
    assert render("page {n} of {n}", values) == "page 5 of 5"
    assert render("flag={yes}", values) == "flag=true"


def test_substituted_values_are_not_rendered_again() -> None:
    assert render("{body}", {"body": "literal {subject}"}) == "literal {subject}"
    assert render("Re: {body}", {"body": "{subject}", "subject": "x"}) == "Re: {subject}"


def test_none_inside_text_is_an_error_not_the_word_none() -> None:
    with pytest.raises(ValueError, match=r"\{matter_id\} is None"):
        render("/cases/{matter_id}/notes", {"matter_id": None})


def test_a_missing_value_raises_a_key_error_naming_the_placeholder() -> None:
    with pytest.raises(MissingValueError) as excinfo:
        render({"data": {"matter": {"id": "{matter_id}"}}}, {"subject": "x"})
    assert isinstance(excinfo.value, KeyError)
    assert excinfo.value.name == "matter_id"
    assert "{matter_id}" in str(excinfo.value)


def test_render_does_not_modify_the_template() -> None:
    template = {"data": {"a": "{x}", "b": ["{x}", {"c": "{y}"}]}}
    before = copy.deepcopy(template)
    render(template, {"x": 1, "y": None})
    assert template == before


def test_params_keep_fields_verbatim_and_drop_none_values() -> None:
    params = {
        "fields": "id,description,matter{id},contact{id}",
        "matter_id": "{matter_id}",
        "query": "{marker}",
        "order": "id(asc)",
    }
    rendered = render_params(params, {"matter_id": 9, "marker": None})
    assert rendered == {"fields": "id,description,matter{id},contact{id}", "matter_id": 9, "order": "id(asc)"}
    # The same string outside ``fields`` would be read as the placeholder {id}:
    with pytest.raises(MissingValueError):
        render("matter{id}", {})


def test_path_values_are_percent_encoded() -> None:
    assert render_path("/webhooks/{webhook_id}.json", {"webhook_id": 77}) == "/webhooks/77.json"
    assert render_path("/cases/{matter_id}/notes", {"matter_id": "a/b c?"}) == "/cases/a%2Fb%20c%3F/notes"
    assert render_path("/contacts.json", {}) == "/contacts.json"


def test_render_request_renders_path_params_and_body() -> None:
    spec = RequestSpec(
        method="POST",
        path="/cases/{matter_id}/notes",
        params={"fields": "id,subject{x}", "page_size": "1"},
        body={"subject": "{subject}", "note": "{body}", "date": "{received_at}"},
    )
    request = render_request(spec, WRITE_VALUES)
    assert request.method == "POST"
    assert request.path == "/cases/123456/notes"
    assert request.params == {"fields": "id,subject{x}", "page_size": "1"}
    assert request.body == {
        "subject": WRITE_VALUES["subject"],
        "note": WRITE_VALUES["body"],
        "date": "2026-01-02T09:14:00Z",
    }
    assert render_request(RequestSpec(method="GET", path="/x"), {}).body is None


def _raw_requests(raw: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(label, raw request JSON, values) for every request of a mapping document."""
    found: list[tuple[str, dict[str, Any], dict[str, Any]]] = [("check", raw["check"], {})]
    for name, write in raw["writes"].items():
        for part in ("create", "find"):
            if part in write:
                found.append((f"writes.{name}.{part}", write[part], WRITE_VALUES))
    for part in ("create", "renew", "list", "delete"):
        if part in raw.get("webhooks", {}):
            found.append((f"webhooks.{part}", raw["webhooks"][part], WEBHOOK_VALUES))
    return found


def test_every_clio_request_renders_with_fields_byte_identical() -> None:
    mapping = load_mapping("clio")
    raw = json.loads(bundled_path("clio").read_text(encoding="utf-8"))
    specs = {
        "check": mapping.check,
        **{f"writes.{n}.{p}": getattr(w, p) for n, w in mapping.writes.items() for p in ("create", "find")},
    }
    assert mapping.webhooks is not None
    for part in ("create", "renew", "list", "delete"):
        specs[f"webhooks.{part}"] = getattr(mapping.webhooks, part)

    rendered = {}
    for label, raw_request, values in _raw_requests(raw):
        spec = specs[label]
        assert spec is not None, label
        request = render_request(spec, values)
        rendered[label] = request
        raw_fields = raw_request.get("params", {}).get("fields")
        assert request.params.get("fields") == raw_fields, label
        assert template_variables(request.path) == set(), label
        plain = render_request(spec, {**values, "body": "plain text"} if values else values)
        assert template_variables(plain.body) == set(), label

    note = rendered["writes.note.create"]
    assert note.path == "/notes.json"
    assert note.body == {
        "data": {
            "type": "Matter",
            "matter": {"id": 123456},
            "subject": WRITE_VALUES["subject"],
            "detail": WRITE_VALUES["body"],  # its "{sorry}" is text, not rendered again
            "detail_text_type": "plain_text",
            "date": "2026-01-02",
        }
    }
    communication = rendered["writes.communication.create"].body["data"]
    assert communication["external_properties"] == [{"name": "matterline_key", "value": "ml:thr_abc"}]
    assert communication["received_at"] == "2026-01-02T09:14:00Z"
    find = rendered["writes.communication.find"]
    assert find.params["external_property_value"] == "ml:thr_abc"
    assert find.params["matter_id"] == 123456
    assert rendered["writes.task.create"].body["data"]["assignee"] == {"id": 7, "type": "User"}
    assert rendered["writes.note.find"].params["query"] == "ml:thr_abc"
    assert rendered["webhooks.renew"].path == "/webhooks/77.json"
    assert rendered["webhooks.renew"].body == {"data": {"expires_at": "2026-02-01T00:00:00Z"}}
    assert rendered["webhooks.create"].body["data"]["fields"] == "id,etag,updated_at"
    assert rendered["check"].params == {"fields": "id,name"}


def test_clio_auth_renders_a_refresh_request() -> None:
    auth = load_mapping("clio").auth
    assert auth.token_url is not None
    assert render(auth.token_url, AUTH_VALUES) == "https://app.clio.com/oauth/token"
    assert render(auth.refresh_params, AUTH_VALUES) == {
        "grant_type": "refresh_token",
        "refresh_token": "rt-1",
        "client_id": "app-key",
        "client_secret": "app-secret",
    }


@pytest.mark.parametrize("vendor", available_vendors())
def test_every_bundled_request_renders_with_the_values_its_spot_supplies(vendor: str) -> None:
    mapping = load_mapping(vendor)
    assert set(WRITE_VALUES) == WRITE_PLACEHOLDERS
    assert set(WEBHOOK_VALUES) == WEBHOOK_PLACEHOLDERS
    assert set(AUTH_VALUES) == AUTH_PLACEHOLDERS
    requests: list[tuple[RequestSpec, dict[str, Any]]] = [(mapping.check, {})]
    for write in mapping.writes.values():
        requests.append((write.create, WRITE_VALUES))
        if write.find is not None:
            requests.append((write.find, WRITE_VALUES))
    if mapping.webhooks is not None:
        for spec in (mapping.webhooks.create, mapping.webhooks.renew, mapping.webhooks.list, mapping.webhooks.delete):
            if spec is not None:
                requests.append((spec, WEBHOOK_VALUES))
    for spec, values in requests:
        request = render_request(spec, values)
        assert request.path.startswith("/")
        assert "{" not in request.path
    if mapping.auth.token_url is not None:
        assert render(mapping.auth.token_url, AUTH_VALUES).startswith("https://")
        assert template_variables(render(mapping.auth.refresh_params, AUTH_VALUES)) == set()
