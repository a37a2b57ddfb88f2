"""Mapping files: the bundled ones load, firm overrides change only what they name, and every mistake
is reported at once with the file and JSON path an admin needs to fix it."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

import mappings
from mappings import (
    MappingError,
    available_vendors,
    bundled_path,
    flatten_errors,
    load_mapping,
    merge,
    read_document,
    validate_document,
)
from tests.support.fixtures import FIXTURES_ROOT

FIXTURES = FIXTURES_ROOT / "mappings"
MAPPINGS_DIR = Path(mappings.__file__).parent


def clio_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(bundled_path("clio").read_text(encoding="utf-8"))
    return document


def error_paths(error: MappingError) -> list[str]:
    return [path for path, _message in error.errors]


def errors_at(error: MappingError, path: str) -> list[str]:
    return [message for where, message in error.errors if where == path]


def invalid(doc: dict[str, Any]) -> MappingError:
    with pytest.raises(MappingError) as excinfo:
        validate_document(doc, "test.json")
    return excinfo.value


# --- the bundled mappings ------------------------------------------------------------------------


def test_available_vendors_are_exactly_the_bundled_files() -> None:
    on_disk = tuple(sorted(p.stem for p in MAPPINGS_DIR.glob("*.json")))
    assert available_vendors() == on_disk
    assert {"clio", "mycase", "practicepanther", "filevine"} <= set(on_disk)


@pytest.mark.parametrize("vendor", available_vendors())
def test_every_bundled_mapping_validates(vendor: str) -> None:
    mapping = load_mapping(vendor)
    assert mapping.id == vendor
    assert mapping.raw == json.loads(bundled_path(vendor).read_text(encoding="utf-8"))
    assert {"clients", "matters"} <= set(mapping.resources)
    assert mapping.write_for("transcript") is not None
    assert mapping.write_for("summary") is not None
    assert mapping.api.default_base_url.startswith("https://")
    assert mapping.pagination.page_size <= mapping.pagination.max_page_size


@pytest.mark.parametrize("vendor", ["mycase", "practicepanther", "filevine"])
def test_vendor_mappings_explain_what_is_missing_or_unconfirmed(vendor: str) -> None:
    mapping = load_mapping(vendor)
    text = " ".join(mapping.notes)
    assert "UNCONFIRMED" in text
    assert mapping.webhooks is None
    assert "Webhooks are omitted" in text


def test_clio_is_the_complete_reference() -> None:
    clio = load_mapping("clio")
    assert clio.auth.kind == "oauth2"
    assert not clio.auth.rotates_refresh_token
    assert clio.pagination.style == "next_url"
    assert clio.pagination.next_path is not None
    assert str(clio.pagination.next_path) == "meta.paging.next"
    assert set(clio.resources) == {"clients", "matters", "relationships", "calendar_entries"}
    assert clio.write_targets == {
        "transcript": "communication",
        "summary": "note",
        "correction": "note",
        "task": "task",
    }
    assert clio.writes["communication"].idempotency == "external_property"
    assert clio.webhooks is not None
    assert clio.webhooks.signature.header == "X-Hook-Signature"
    assert clio.webhooks.max_lifetime_days == 31
    assert clio.rate_limit.retry_after_headers == ("Retry-After", "Retry-At")
    matters = clio.resources["matters"]
    record = {"id": 5, "status": "Pending", "client": {"id": 101}, "responsible_attorney": {"id": 7, "name": "A"}}
    assert matters.status_of(record["status"]) == "pending"
    assert matters.fields["client_id"].get(record) == 101


def test_mycase_reads_bare_arrays_link_headers_and_phone_slots() -> None:
    mycase = load_mapping("mycase")
    assert mycase.api.default_base_url == "https://external-integrations.mycase.com/v1"
    assert mycase.api.records_path.is_root
    assert mycase.pagination.style == "link_header"
    assert mycase.pagination.max_page_size == 1000
    assert mycase.auth.token_url == "https://auth.mycase.com/tokens"
    assert mycase.auth.token_encoding == "json"
    assert mycase.auth.rotates_refresh_token

    clients = mycase.resources["clients"]
    assert clients.updated_since_param == "filter[updated_after]"
    client = {"id": 9, "first_name": "Jane", "last_name": "Doe", "cell_phone_number": "555-0101"}
    assert clients.fields["name"].get(client) == "Jane Doe"
    assert clients.phones is not None
    assert clients.phones.style == "slots"
    assert list(clients.phones.slots) == ["Mobile", "Work", "Home"]
    assert clients.phones.slots["Mobile"].get(client) == "555-0101"

    matters = mycase.resources["matters"]
    case = {
        "id": 3,
        "case_number": "2026-001",
        "status": "closed",
        "clients": [{"id": 9}],
        "staff": [{"id": 1, "lead_lawyer": False}, {"id": 4, "lead_lawyer": True}],
    }
    assert matters.fields["client_id"].get(case) == 9
    assert matters.fields["responsible_attorney_id"].get(case) == 4
    assert matters.status_of(case["status"]) == "closed"

    note = mycase.writes["note"]
    assert note.create.path == "/cases/{matter_id}/notes"
    assert set(note.create.body) == {"subject", "note", "date"}


def test_practicepanther_links_contacts_to_matters_through_the_account() -> None:
    pp = load_mapping("practicepanther")
    assert pp.pagination.style == "offset"
    assert (pp.pagination.offset_param, pp.pagination.size_param) == ("$skip", "$top")
    assert pp.auth.token_url == "{origin}/oauth/token"
    assert pp.auth.token_encoding == "form"
    assert pp.auth.rotates_refresh_token
    contact = {"id": "c-1", "display_name": "Jane Doe", "account_ref": {"id": "acct-1"}, "phone_mobile": "555"}
    matter = {"id": "m-1", "status": "Archived", "account_ref": {"id": "acct-1"}}
    clients, matters = pp.resources["clients"], pp.resources["matters"]
    assert clients.fields["client_key"].get(contact) == matters.fields["client_id"].get(matter) == "acct-1"
    assert clients.phones is not None
    assert clients.phones.slots["Mobile"].get(contact) == "555"
    assert [matters.status_of(s) for s in ("Open", "Pending", "Closed", "Archived", "ARCHIVED")] == [
        "open",
        "pending",
        "closed",
        "closed",
        "closed",
    ]
    body = pp.writes["note"].create.body
    assert body["matter_ref"] == {"id": "{matter_id}"}
    assert {"subject", "note", "date"} <= set(body)


def test_filevine_mints_from_a_pat_and_writes_idempotent_notes() -> None:
    fv = load_mapping("filevine")
    assert fv.auth.token_url == "https://identity.filevine.com/connect/token"
    assert fv.auth.refresh_params["grant_type"] == "personal_access_token"
    assert fv.auth.refresh_params["token"] == "{refresh_token}"
    assert str(fv.api.records_path) == "Items"
    assert fv.pagination.has_more_path is not None
    assert str(fv.pagination.has_more_path) == "HasMore"
    assert any("x-fv-orgid" in note and "x-fv-userid" in note for note in fv.notes)

    matters = fv.resources["matters"]
    assert matters.status_of(True) == "closed"
    assert matters.status_of(False) == "open"
    note = fv.writes["note"]
    assert note.idempotency == "native_key"
    assert note.find is None
    assert note.create.body["NoteId"] == {"Partner": "{marker}"}
    assert note.create.body["ProjectId"] == {"Native": "{matter_id}"}

    contact = {"PersonId": {"Native": 8}, "Phones": [{"Number": "555-0100", "Label": "Cell", "IsSmsable": True}]}
    phones = fv.resources["clients"].phones
    assert phones is not None
    assert phones.style == "list"
    assert phones.path is not None
    assert phones.number is not None
    assert phones.number.get(phones.path.get(contact)[0]) == "555-0100"


def test_a_mapping_is_frozen() -> None:
    clio = load_mapping("clio")
    with pytest.raises(dataclasses.FrozenInstanceError):
        clio.id = "other"  # type: ignore[misc]


# --- every error at once, with its path -----------------------------------------------------------


def test_several_typos_are_all_reported_at_once_with_their_json_paths() -> None:
    doc = clio_document()
    fields = doc["resources"]["clients"]["fields"]
    fields["nmae"] = fields.pop("name")
    doc["api"]["default_region"] = "uk"
    doc["pagination"]["page_size"] = 500
    doc["writes"]["note"]["create"]["body"]["data"]["matter"]["id"] = "{mater_id}"
    doc["write_targets"]["summary"] = "notes"
    doc["resources"]["matters"]["fields"]["client_id"] = "client.[id]"
    doc["resources"]["matters"]["statuz"] = {"Open": "open"}
    doc["api"]["error_message_paths"][1] = "error..description"
    doc["webhooks"]["models"]["task"] = "tasks"

    error = invalid(doc)
    paths = error_paths(error)
    expected = [
        "$.api.default_region",
        "$.api.error_message_paths[1]",
        "$.pagination.page_size",
        "$.resources.clients.fields.nmae",
        "$.resources.clients.fields.name",
        "$.resources.matters.fields.client_id",
        "$.resources.matters.statuz",
        "$.writes.note.create.body.data.matter.id",
        "$.write_targets.summary",
        "$.webhooks.models.task",
    ]
    assert sorted(paths) == sorted(expected)
    assert "'uk' is not one of the regions" in errors_at(error, "$.api.default_region")[0]
    assert "larger than max_page_size (200)" in errors_at(error, "$.pagination.page_size")[0]
    assert "use one of: id, name" in errors_at(error, "$.resources.clients.fields.nmae")[0]
    assert "required" in errors_at(error, "$.resources.clients.fields.name")[0]
    assert "segment 2 '[id]'" in errors_at(error, "$.resources.matters.fields.client_id")[0]
    assert errors_at(error, "$.resources.matters.statuz") == ["Unknown field."]
    assert "{mater_id}" in errors_at(error, "$.writes.note.create.body.data.matter.id")[0]
    assert "'notes' is not one of the writes" in errors_at(error, "$.write_targets.summary")[0]


def test_str_lists_every_error_on_its_own_line_prefixed_by_the_source() -> None:
    doc = clio_document()
    doc["name"] = ""
    doc["pagination"]["style"] = "cursor"
    error = invalid(doc)
    lines = str(error).splitlines()
    assert len(lines) == len(error.errors) == 2
    assert all(line.startswith("test.json: $.") for line in lines)
    assert error.source == "test.json"


def test_a_webhooks_block_without_deleted_events_loads_with_none() -> None:
    doc = clio_document()
    del doc["webhooks"]["deleted_events"]
    mapping = validate_document(doc, "test.json")
    assert mapping.webhooks is not None
    assert tuple(mapping.webhooks.deleted_events) == ()


@pytest.mark.parametrize("style", [["cursor"], {"cursor": True}, 7])
def test_a_pagination_style_that_is_not_text_is_an_error_not_a_crash(style: Any) -> None:
    doc = clio_document()
    doc["pagination"]["style"] = style
    assert "$.pagination.style" in error_paths(invalid(doc))


def test_a_bad_field_path_names_its_path_and_the_problem() -> None:
    doc = clio_document()
    doc["resources"]["clients"]["phones"]["number"] = "phone_numbers[*].number"
    error = invalid(doc)
    assert error_paths(error) == ["$.resources.clients.phones.number"]
    assert "is not a key, a list index or a name[key=value] selector" in error.errors[0][1]


def test_a_bad_placeholder_is_named_with_what_the_spot_allows() -> None:
    doc = clio_document()
    doc["writes"]["task"]["create"]["body"]["data"]["assignee"]["id"] = "{user_id}"
    doc["auth"]["refresh_params"]["refresh_token"] = "{refresh}"
    doc["check"]["path"] = "/users/{user_id}.json"
    doc["resources"]["matters"]["params"]["status"] = "{status}"
    error = invalid(doc)
    task_error = errors_at(error, "$.writes.task.create.body.data.assignee.id")
    assert task_error
    assert "unknown placeholder {user_id}" in task_error[0]
    assert "{assignee_id}" in task_error[0]
    assert "{refresh_token}" in errors_at(error, "$.auth.refresh_params.refresh_token")[0]
    assert "check takes no placeholders" in errors_at(error, "$.check.path")[0]
    assert "a resource takes no placeholders" in errors_at(error, "$.resources.matters.params.status")[0]


def test_the_fields_param_is_exempt_from_placeholder_checks() -> None:
    doc = clio_document()
    doc["resources"]["clients"]["params"]["fields"] = "id,name,company{id},phone_numbers{number}"
    assert validate_document(doc, "test.json").resources["clients"].params["fields"].endswith("{number}")


def test_a_write_target_naming_a_missing_write_is_an_error() -> None:
    doc = clio_document()
    doc["write_targets"]["transcript"] = "sms_log"
    del doc["write_targets"]["summary"]
    doc["write_targets"]["transcipt"] = "note"
    error = invalid(doc)
    assert (
        "'sms_log' is not one of the writes (communication, note, task)"
        in errors_at(error, "$.write_targets.transcript")[0]
    )
    assert "required" in errors_at(error, "$.write_targets.summary")[0]
    assert "not a write target" in errors_at(error, "$.write_targets.transcipt")[0]


def test_idempotency_strategies_need_their_requests() -> None:
    doc = clio_document()
    del doc["writes"]["note"]["find"]
    del doc["writes"]["task"]["find"]["match_path"]
    comm = doc["writes"]["communication"]
    comm["create"]["body"]["data"]["external_properties"][0]["value"] = "fixed"
    del comm["create"]["id_path"]
    error = invalid(doc)
    assert sorted(error_paths(error)) == sorted(
        [
            "$.writes.note.find",
            "$.writes.task.find.match_path",
            "$.writes.communication.create",
            "$.writes.communication.create.id_path",
        ]
    )


def test_pagination_styles_need_their_keys_and_reject_others() -> None:
    doc = clio_document()
    doc["pagination"] = {"style": "offset", "page_size": 50, "max_page_size": 100, "next_path": "x"}
    error = invalid(doc)
    assert "required when style is 'offset'" in errors_at(error, "$.pagination.offset_param")[0]
    assert "only used with style 'next_url'" in errors_at(error, "$.pagination.next_path")[0]


def test_required_structure_is_reported_for_every_missing_part() -> None:
    doc = clio_document()
    del doc["resources"]["matters"]
    del doc["auth"]
    del doc["resources"]["clients"]["fields"]["id"]
    del doc["resources"]["relationships"]["fields"]["contact_id"]
    error = invalid(doc)
    assert errors_at(error, "$.resources.matters") == ["Missing data for required field."]
    assert errors_at(error, "$.auth") == ["Missing data for required field."]
    assert errors_at(error, "$.resources.clients.fields.id")
    assert errors_at(error, "$.resources.relationships.fields.contact_id")


def test_a_calendar_resource_must_map_its_start_and_only_fields_matterline_knows() -> None:
    doc = clio_document()
    calendar = doc["resources"]["calendar_entries"]
    del calendar["fields"]["starts_at"]
    calendar["fields"]["attendees"] = "attendees"
    calendar["status_values"] = {"Open": "open"}
    error = invalid(doc)
    assert errors_at(error, "$.resources.calendar_entries.fields.starts_at") == [
        "required: calendar_entries must map 'starts_at'"
    ]
    assert "not a field Matterline knows" in errors_at(error, "$.resources.calendar_entries.fields.attendees")[0]
    assert errors_at(error, "$.resources.calendar_entries.status_values") == [
        "only matters have a status, not calendar_entries"
    ]
    del doc["resources"]["calendar_entries"]
    del doc["webhooks"]["models"]["calendar_entry"]
    assert "calendar_entries" not in validate_document(doc, "test.json").resources  # optional, like relationships


def test_notes_are_allowed_and_unknown_top_level_keys_are_not() -> None:
    doc = clio_document()
    doc["notes"] = ["checked against tenant 2026-11"]
    doc["extra"] = True
    error = invalid(doc)
    assert error.errors == (("$.extra", "Unknown field."),)
    del doc["extra"]
    assert validate_document(doc, "test.json").notes == ("checked against tenant 2026-11",)


def test_a_document_that_is_not_an_object_is_an_error() -> None:
    error = invalid([])  # type: ignore[arg-type]
    assert error_paths(error) == ["$"]


def test_flatten_errors_writes_list_indices_and_odd_keys() -> None:
    messages = {"api": {"headers": {"Bad Header": ["x"]}, "_schema": ["y"]}, "list": {0: ["z"]}}
    assert flatten_errors(messages) == [
        ("$.api.headers['Bad Header']", "x"),
        ("$.api", "y"),
        ("$.list[0]", "z"),
    ]


# --- loading files and firm overrides ---------------------------------------------------------------


def test_an_override_changes_only_what_it_names() -> None:
    base = load_mapping("clio")
    firm = load_mapping("clio", FIXTURES / "clio-firm.json")

    assert firm.api.headers == {"X-API-VERSION": "4.0.9", "Accept": "application/json"}
    assert firm.pagination.page_size == 100
    assert firm.pagination.max_page_size == base.pagination.max_page_size == 200
    assert firm.pagination.next_path == base.pagination.next_path
    assert firm.resources["matters"].status_values == {"open": "open", "pending": "open", "closed": "closed"}
    assert firm.resources["matters"].fields == base.resources["matters"].fields
    assert firm.resources["clients"] == base.resources["clients"]
    assert firm.writes == base.writes
    assert firm.auth == base.auth
    assert len(firm.notes) == 1
    assert firm.notes[0].startswith("Firm override: pinned to API 4.0.9")


def test_an_override_removes_keys_with_null() -> None:
    firm = load_mapping("clio", FIXTURES / "clio-firm.json")
    assert firm.webhooks is None
    assert "webhooks" not in firm.raw
    assert "task" not in firm.write_targets
    assert firm.write_for("task") is None
    assert firm.write_targets["transcript"] == "communication"


def test_the_merged_document_is_exposed_as_raw() -> None:
    firm = load_mapping("clio", str(FIXTURES / "clio-firm.json"))
    expected = merge(clio_document(), json.loads((FIXTURES / "clio-firm.json").read_text(encoding="utf-8")))
    assert firm.raw == expected
    assert firm.raw["pagination"]["page_size"] == 100


def test_override_errors_name_the_override_file_and_the_path() -> None:
    override = FIXTURES / "clio-typos.json"
    with pytest.raises(MappingError) as excinfo:
        load_mapping("clio", override)
    error = excinfo.value
    assert str(override) in error.source
    assert "override of mappings/clio.json" in error.source
    assert sorted(error_paths(error)) == sorted(
        ["$.pagination.page_size", "$.resources.clients.fields.nmae", "$.write_targets.summary"]
    )
    assert all(line.startswith(error.source) for line in str(error).splitlines())


def test_a_firm_override_supplies_the_filevine_tenant_headers() -> None:
    fv = load_mapping("filevine", FIXTURES / "filevine-firm.json")
    assert fv.api.headers == {"Accept": "application/json", "x-fv-orgid": "4401", "x-fv-userid": "90210"}
    assert fv.resources == load_mapping("filevine").resources


def test_an_override_for_an_unknown_vendor_is_refused() -> None:
    with pytest.raises(MappingError) as excinfo:
        load_mapping("clio", FIXTURES / "other-vendor.json")
    assert error_paths(excinfo.value) == ["$.id"]
    assert "'lawmatics'" in excinfo.value.errors[0][1]
    assert "no bundled mapping" in excinfo.value.errors[0][1]


def test_an_override_for_another_bundled_vendor_is_refused(tmp_path: Path) -> None:
    override = tmp_path / "mycase-firm.json"
    override.write_text('{"id": "mycase"}', encoding="utf-8")
    with pytest.raises(MappingError) as excinfo:
        load_mapping("clio", override)
    assert "override for 'mycase'" in excinfo.value.errors[0][1]
    assert "'clio'" in excinfo.value.errors[0][1]


def test_bad_json_reports_line_and_column() -> None:
    override = FIXTURES / "bad-json.json"
    with pytest.raises(MappingError) as excinfo:
        load_mapping("clio", override)
    error = excinfo.value
    assert error.source == str(override)
    assert error_paths(error) == ["$"]
    assert "not valid JSON" in error.errors[0][1]
    assert "line 4, column 3" in error.errors[0][1]


def test_an_unreadable_override_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(MappingError) as excinfo:
        load_mapping("clio", missing)
    assert excinfo.value.source == str(missing)
    assert "cannot read the file" in excinfo.value.errors[0][1]


def test_an_override_that_is_not_an_object_or_repeats_a_key_is_an_error(tmp_path: Path) -> None:
    array = tmp_path / "array.json"
    array.write_text("[]", encoding="utf-8")
    with pytest.raises(MappingError, match="must be a JSON object"):
        load_mapping("clio", array)
    repeated = tmp_path / "repeated.json"
    repeated.write_text('{"pagination": {"page_size": 50, "page_size": 500}}', encoding="utf-8")
    with pytest.raises(MappingError, match="'page_size' appears twice"):
        load_mapping("clio", repeated)


def test_read_document_applies_the_same_checks_as_loading(tmp_path: Path) -> None:
    assert read_document(FIXTURES / "filevine-firm.json")["api"]["headers"]["x-fv-orgid"] == "4401"
    with pytest.raises(MappingError, match="line 4, column 3"):
        read_document(str(FIXTURES / "bad-json.json"))


def test_a_local_base_url_is_accepted_for_sandboxes() -> None:
    doc = clio_document()
    doc["api"]["regions"]["local"] = "http://127.0.0.1:8765/api/v4"
    doc["api"]["default_region"] = "local"
    assert validate_document(doc, "test.json").api.default_base_url == "http://127.0.0.1:8765/api/v4"
    doc["api"]["regions"]["local"] = "http://127.0.0.1:8765/api/v4/"
    assert errors_at(invalid(doc), "$.api.regions.local") == ["must not end with '/'"]


def test_an_unknown_vendor_lists_the_available_ones() -> None:
    with pytest.raises(MappingError) as excinfo:
        load_mapping("lawmatics")
    message = excinfo.value.errors[0][1]
    assert "'lawmatics'" in message
    for vendor in available_vendors():
        assert vendor in message


def test_merge_rules() -> None:
    base = {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "f": 1, "g": {"h": 1}}
    override = {"a": {"b": 2, "c": [3], "d": None}, "g": {"h": None, "new": {"x": None, "y": 1}}, "i": [None]}
    before = copy.deepcopy(base), copy.deepcopy(override)
    assert merge(base, override) == {
        "a": {"b": 2, "c": [3]},
        "f": 1,
        "g": {"new": {"y": 1}},
        "i": [None],
    }
    assert (base, override) == before
