"""The firm's canned replies: the built-in set, a firm's file validated entry by entry, and the merge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connector.messaging.reply_templates import (
    DEFAULT_TEMPLATES,
    MergeFields,
    TemplatesError,
    find,
    load_templates,
    merge,
)

FIELDS = MergeFields("Jane Doe", "00101-Doe", "Doe & Roe LLP", "Pat Paralegal")


def test_the_built_in_set_includes_well_call_you_which_asks_for_a_call_task() -> None:
    call = find(load_templates(None), "call_back")
    assert call is not None
    assert call.call_back
    assert call.title == "We'll call you about this"
    assert all(not t.call_back for t in DEFAULT_TEMPLATES if t.id != "call_back")


def test_merge_fills_every_field_and_falls_back_when_unknown() -> None:
    received = find(DEFAULT_TEMPLATES, "received")
    assert received is not None
    assert merge(received, FIELDS) == (
        "Thanks Jane, we received your message about 00101-Doe and will get back to you soon."
    )
    assert merge(received, MergeFields(None, None, "F", "S")).startswith(
        "Thanks there, we received your message about your matter"
    )


def test_a_firms_file_replaces_the_set(tmp_path: Path) -> None:
    path = tmp_path / "replies.json"
    path.write_text(
        json.dumps({"version": 1, "templates": [{"id": "hi", "title": "Hi", "body": "Hi {client_first_name}"}]})
    )
    [only] = load_templates(path)
    assert (only.id, merge(only, FIELDS), only.call_back) == ("hi", "Hi Jane", False)


@pytest.mark.parametrize(
    ("document", "error"),
    [
        (
            {"version": 1, "templates": [{"id": "a", "title": "A", "body": "Hi {client_nmae}"}]},
            "templates[0].body: unknown merge field {client_nmae}",
        ),
        (
            {
                "version": 1,
                "templates": [{"id": "a", "title": "A", "body": "x"}, {"id": "a", "title": "B", "body": "y"}],
            },
            "templates[1].id: duplicate id 'a'",
        ),
        ({"version": 1, "templates": [{"id": "a", "title": "", "body": "x"}]}, "templates[0].title:"),
        (
            {"version": 1, "templates": [{"id": "a", "title": "A", "body": "x", "colour": "red"}]},
            "templates[0].colour: Unknown field.",
        ),
        ({"version": 2, "templates": []}, "version: must be 1"),
        (
            {"version": 1, "templates": [{"id": "a", "title": "A", "body": "Hi {"}]},
            "templates[0].body: braces do not parse",
        ),
    ],
)
def test_a_bad_entry_is_named(tmp_path: Path, document: object, error: str) -> None:
    path = tmp_path / "replies.json"
    path.write_text(json.dumps(document))
    with pytest.raises(TemplatesError) as refused:
        load_templates(path)
    assert any(line.startswith(error) for line in refused.value.errors), refused.value.errors


def test_a_file_that_is_not_json_says_where(tmp_path: Path) -> None:
    path = tmp_path / "replies.json"
    path.write_text("{not json")
    with pytest.raises(TemplatesError, match="not valid JSON"):
        load_templates(path)
