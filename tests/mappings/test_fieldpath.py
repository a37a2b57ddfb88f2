"""Field paths: what a mapping can point at, and that a bad path is caught when the mapping loads."""

from __future__ import annotations

import pytest

from mappings import fieldpath
from mappings.fieldpath import FieldPath, compile_path

CONTACT = {
    "id": 101,
    "name": "Jane Doe",
    "client": {"id": 7, "name": "Acme"},
    "meta": {"paging": {"next": "https://app.clio.com/api/v4/contacts.json?page_token=XYZ"}},
    "clients": [{"id": 11}, {"id": 12}],
    "staff": [
        {"id": 1, "lead_lawyer": False, "originating_lawyer": True},
        {"id": 2, "lead_lawyer": True},
        {"id": 3, "lead_lawyer": True},
    ],
    "phone_numbers": [
        {"number": "555-0100", "name": "Work", "primary": False, "rank": 2},
        {"number": "555-0101", "name": "Mobile", "primary": True, "rank": "1"},
    ],
    "emails": [{"address": "jane.doe@example.com", "id": 44}],
    "counts": {"0": "zero-key"},
    "nothing": None,
    "first_name": " Jane ",
    "last_name": "Doe",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id", 101),
        ("client.id", 7),
        ("meta.paging.next", "https://app.clio.com/api/v4/contacts.json?page_token=XYZ"),
        ("clients.0.id", 11),
        ("clients.1.id", 12),
        ("staff[lead_lawyer=true].id", 2),
        ("staff[lead_lawyer=false].id", 1),
        ("phone_numbers[primary=true].number", "555-0101"),
        ("phone_numbers[name=Mobile].number", "555-0101"),
        ("phone_numbers[rank=2].number", "555-0100"),
        ("phone_numbers[rank=1].number", "555-0101"),
        ("emails[address=jane.doe@example.com].id", 44),
        ("counts.0", "zero-key"),
        ("first_name + last_name", "Jane Doe"),
    ],
)
def test_get_finds_the_value(text: str, expected: object) -> None:
    assert compile_path(text).get(CONTACT) == expected


@pytest.mark.parametrize(
    "text",
    [
        "missing",
        "client.missing",
        "name.first",  # a string has no keys
        "name.0",  # nor list indices: "Jane Doe"[0] must not come back as "J"
        "clients.5.id",
        "clients.id",  # a key step on a list
        "client.0",  # an index step on an object without that key
        "staff[lead_lawyer=maybe].id",
        "staff[absent=null].id",  # a missing key is not null
        "client[id=7]",  # a selector on an object
        "nothing.id",
        "id.x",
        "missing + also_missing",
    ],
)
def test_get_returns_none_when_the_path_does_not_fit(text: str) -> None:
    assert compile_path(text).get(CONTACT) is None


@pytest.mark.parametrize("doc", [None, 5, "text", [], {}, [1, 2], {"client": [1]}, True])
def test_get_never_raises_on_any_document(doc: object) -> None:
    for text in ("client.id", "clients.0.id", "staff[lead_lawyer=true].id", "a + b", ""):
        path = compile_path(text)
        value = path.get(doc)
        if text == "":
            assert value is doc
        else:
            assert value is None


def test_empty_path_is_the_root_for_bare_array_bodies() -> None:
    body = [{"id": 1}, {"id": 2}]
    root = compile_path("")
    assert root.is_root
    assert root.get(body) is body
    assert compile_path("[id=2]").get(body) == {"id": 2}
    assert compile_path("1.id").get(body) == 2


def test_selector_matches_null_and_the_first_element_only() -> None:
    doc = {"rows": [{"k": None, "v": "a"}, {"k": None, "v": "b"}, {"k": "x", "v": "c"}]}
    assert compile_path("rows[k=null].v").get(doc) == "a"
    assert compile_path("rows[k=x].v").get(doc) == "c"


def test_join_skips_empty_parts_and_is_none_when_all_are_empty() -> None:
    path = compile_path("first_name + middle_name + last_name")
    assert path.get({"first_name": "Jane", "middle_name": "", "last_name": "Doe"}) == "Jane Doe"
    assert path.get({"last_name": "Doe"}) == "Doe"
    assert path.get({"first_name": "  ", "last_name": None}) is None


def test_str_gives_the_original_text_and_paths_compare_by_text() -> None:
    for text in ("", "client.id", "staff[lead_lawyer=true].id", "first_name + last_name"):
        assert str(compile_path(text)) == text
    assert compile_path("client.id") == compile_path("client.id")
    assert compile_path("client.id") != compile_path("client.name")
    assert len({compile_path("a.b"), compile_path("a.b")}) == 1


def test_paths_are_frozen() -> None:
    path = compile_path("client.id")
    with pytest.raises(AttributeError):
        path.text = "other"  # type: ignore[misc]


def test_get_uses_the_precompiled_steps_not_the_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    paths = [compile_path(t) for t in ("client.id", "clients.1.id", "staff[lead_lawyer=true].id", "a + id")]

    def parser_called(*args: object) -> None:
        raise AssertionError("get() must not parse")

    monkeypatch.setattr(fieldpath, "compile_path", parser_called)
    monkeypatch.setattr(fieldpath, "_compile_single", parser_called)
    monkeypatch.setattr(fieldpath, "_split_outside_brackets", parser_called)
    assert [p.get(CONTACT) for p in paths] == [7, 12, 2, "101"]
    assert all(isinstance(p, FieldPath) for p in paths)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a..b", "segment 2 is empty"),
        ("a.", "segment 2 is empty"),
        (".a", "segment 1 is empty"),
        ("phone_numbers[*].number", "segment 1 'phone_numbers[*]'"),
        ("client.(id|name)", "segment 2 '(id|name)'"),
        ("client.id$|name", "segment 2 'id$|name'"),
        ("staff[lead_lawyer].id", "name[key=value] selector"),
        ("staff[=true].id", "name[key=value] selector"),
        ("staff[lead_lawyer=true.id", "segment 1"),
        ("a]b", "segment 1 'a]b'"),
        ("first name", "segment 1 'first name'"),
        ("first_name + ", "each side of '+' must be a path"),
        ("+ last_name", "each side of '+' must be a path"),
    ],
)
def test_bad_syntax_raises_a_clear_value_error(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="field path") as excinfo:
        compile_path(text)
    message = str(excinfo.value)
    assert repr(text) in message
    assert fragment in message


def test_a_non_string_path_is_rejected() -> None:
    with pytest.raises(TypeError, match="must be a string"):
        compile_path(5)  # type: ignore[arg-type]
