"""An admin's mapping edit: where the override in force comes from, the common fields merged into it (a path
as shipped left out), and a preview on live sandbox records that refuses a broken edit and stores nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from connector.errors import MatterlineError
from connector.sandbox import DEFAULT_TOKEN, ClioState, SandboxServer, generate_firm
from connector.services import documents, mapping_edits
from connector.staff.users import Actor, User
from connector.store.tables import contacts, firm_documents
from tests.support.firm import settings

ADMIN = Actor("user:1", User(1, "Ada Admin", "ada@firm.example", "admin"))
STAFF = Actor("user:2", User(2, "Pat Paralegal", "pat@firm.example", "staff"))


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(ClioState(generate_firm(4, 2))) as server:
        yield server


def test_the_override_in_force_says_where_it_comes_from(engine: Engine, tmp_path: Path) -> None:
    assert mapping_edits.in_force(engine, settings()).source == "none"
    file = tmp_path / "override.json"
    file.write_text('{"id": "clio"}')
    from_file = mapping_edits.in_force(engine, settings(MATTERLINE_MAPPING_FILE=str(file)))
    assert (from_file.source, from_file.text, from_file.file) == ("file", '{"id": "clio"}', str(file))
    documents.save(
        engine, settings(), "mapping", '{"id": "clio", "check": {"path": "/users/who_am_i.json"}}', actor=ADMIN
    )
    saved = mapping_edits.in_force(engine, settings(MATTERLINE_MAPPING_FILE=str(file)))
    assert saved.source == "saved"
    assert saved.stored is not None
    assert [v.id for v in saved.versions] == [saved.stored.id]


def test_common_fields_are_merged_into_the_override_and_a_shipped_path_is_left_out() -> None:
    firm = settings()
    start = json.dumps({"id": "clio", "pagination": {"page_size": 50}})
    text = mapping_edits.with_fields(
        firm,
        start,
        {
            "clients.sms_consent": "custom_field_values[field_name=Text OK].value",
            "clients.name": "name",  # as shipped
            "matters.status": "  ",  # emptied: as shipped
            "nowhere.field": "x",  # not a resource: ignored
        },
    )
    assert json.loads(text) == {
        "id": "clio",
        "pagination": {"page_size": 50},
        "resources": {"clients": {"fields": {"sms_consent": "custom_field_values[field_name=Text OK].value"}}},
    }
    back = mapping_edits.with_fields(
        firm, text, {"clients.sms_consent": "custom_field_values[field_name=SMS consent].value"}
    )
    assert json.loads(back) == {"id": "clio", "pagination": {"page_size": 50}}
    with pytest.raises(MatterlineError) as refused:
        mapping_edits.with_fields(firm, "{oops", {})
    assert refused.value.details["errors"][0]["path"] == "$"


def test_the_common_fields_list_the_consent_field_first_with_the_path_in_force(engine: Engine) -> None:
    firm = settings()
    documents.save(
        engine,
        firm,
        "mapping",
        json.dumps({"resources": {"clients": {"fields": {"state": "addresses.0.province"}}}}),
        actor=ADMIN,
    )
    listed = mapping_edits.common_fields(engine, firm)
    assert [(f.resource, f.name) for f in listed[:3]] == [
        ("clients", "sms_consent"),
        ("clients", "state"),
        ("matters", "status"),
    ]
    state = listed[1]
    assert (state.shipped, state.in_force, state.key) == (
        "addresses[primary=true].province",
        "addresses.0.province",
        "clients.state",
    )


def test_a_preview_reads_live_records_through_the_edit_and_stores_nothing(
    engine: Engine, sandbox: SandboxServer
) -> None:
    firm = settings(MATTERLINE_CMS_BASE_URL=sandbox.base_url, MATTERLINE_CMS_ACCESS_TOKEN=DEFAULT_TOKEN)
    edit = json.dumps({"resources": {"clients": {"fields": {"name": "last_name"}}}})
    shown = {r.resource: r for r in mapping_edits.preview_edit(engine, firm, edit, actor=ADMIN)}
    assert set(shown) == {"clients", "matters", "relationships"}
    first = dict(shown["clients"].records[0].fields)
    assert first["name"] == "Kelly"
    assert "phones" in first
    assert shown["matters"].records
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(contacts)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(firm_documents)).scalar_one() == 0
    with pytest.raises(MatterlineError) as broken:
        mapping_edits.preview_edit(engine, firm, '{"pagination": {"style": "carrier pigeon"}}', actor=ADMIN)
    assert broken.value.code == "invalid_document"
    with pytest.raises(MatterlineError) as forbidden:
        mapping_edits.preview_edit(engine, firm, edit, actor=STAFF)
    assert forbidden.value.code == "forbidden_role"
