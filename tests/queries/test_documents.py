"""The firm's documents as an admin sees them: where each in force comes from, its text and versions; the common
fields of the mapping merged into its override (a path as shipped left out)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from connector.errors import MatterlineError
from connector.guardrails.content import DEFAULT_RULES_PATH
from connector.messaging import reply_templates
from connector.queries import documents
from connector.reminders import rules as reminder_rules
from connector.services import documents as services_documents
from connector.staff.users import Actor, User
from tests.support.firm import NOW, settings

PINEAPPLE = {
    "version": 1,
    "rules": [
        {"id": "fruit", "action": "block", "patterns": [r"\bpineapple\b"], "message": "no", "suggestion": "call"}
    ],
}
ADMIN = Actor("user:1", User(1, "Ada Admin", "ada@firm.example", "admin"))


def test_the_override_in_force_says_where_it_comes_from(engine: Engine, tmp_path: Path) -> None:
    assert documents.mapping_override(engine, settings()).source == "none"
    file = tmp_path / "override.json"
    file.write_text('{"id": "clio"}')
    from_file = documents.mapping_override(engine, settings(MATTERLINE_MAPPING_FILE=str(file)))
    assert (from_file.source, from_file.text, from_file.file) == ("file", '{"id": "clio"}', str(file))
    services_documents.save(
        engine, settings(), "mapping", '{"id": "clio", "check": {"path": "/users/who_am_i.json"}}', actor=ADMIN
    )
    saved = documents.mapping_override(engine, settings(MATTERLINE_MAPPING_FILE=str(file)))
    assert saved.source == "saved"
    assert saved.stored is not None
    assert [v.id for v in saved.versions] == [saved.stored.id]


def test_common_fields_are_merged_into_the_override_and_a_shipped_path_is_left_out() -> None:
    firm = settings()
    start = json.dumps({"id": "clio", "pagination": {"page_size": 50}})
    text = documents.override_with_fields(
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
    back = documents.override_with_fields(
        firm, text, {"clients.sms_consent": "custom_field_values[field_name=SMS consent].value"}
    )
    assert json.loads(back) == {"id": "clio", "pagination": {"page_size": 50}}
    with pytest.raises(MatterlineError) as refused:
        documents.override_with_fields(firm, "{oops", {})
    assert refused.value.details["errors"][0]["path"] == "$"


def test_the_common_fields_list_the_consent_field_first_with_the_path_in_force(engine: Engine) -> None:
    firm = settings()
    services_documents.save(
        engine,
        firm,
        "mapping",
        json.dumps({"resources": {"clients": {"fields": {"state": "addresses.0.province"}}}}),
        actor=ADMIN,
    )
    listed = documents.common_fields(engine, firm)
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


def test_the_text_in_force_says_where_it_comes_from_and_lists_what_is_in_force(engine: Engine, tmp_path: Path) -> None:
    firm = settings()
    shipped = documents.text_in_force(engine, firm, "content_rules")
    assert (shipped.origin, shipped.file, shipped.stored, shipped.versions, shipped.problems) == (
        "default",
        None,
        None,
        (),
        (),
    )
    assert json.loads(shipped.text) == json.loads(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    assert "ssn" in [r.id for r in shipped.rules]
    builtin = documents.text_in_force(engine, firm, "reply_templates")
    assert builtin.origin == "default"
    assert documents.check(firm, "reply_templates", builtin.text) == []  # the built-in set, editable as a file
    assert builtin.templates == reply_templates.DEFAULT_TEMPLATES
    saved = services_documents.save(
        engine, firm, "content_rules", json.dumps(PINEAPPLE), actor=ADMIN, reason="codeword"
    )
    now = documents.text_in_force(engine, firm, "content_rules")
    assert (now.origin, now.stored, [v.id for v in now.versions]) == ("saved", saved, [saved.id])
    assert now.text == json.dumps(PINEAPPLE, indent=2)  # pretty-printed for the editor
    assert [r.id for r in now.rules] == ["fruit"]
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({**PINEAPPLE, "rules": [{**PINEAPPLE["rules"][0], "id": "mango"}]}))  # type: ignore[dict-item]
    from_file = settings(MATTERLINE_CONTENT_RULES_FILE=str(path))
    back = services_documents.save(engine, from_file, "content_rules", None, actor=ADMIN)
    handed = documents.text_in_force(engine, from_file, "content_rules")
    assert (handed.origin, handed.file, handed.setting) == ("file", str(path), "MATTERLINE_CONTENT_RULES_FILE")
    assert (handed.stored, [v.id for v in handed.versions]) == (back, [back.id, saved.id])
    assert [r.id for r in handed.rules] == ["mango"]
    path.write_text('{"version": 1, "rules": [')  # broken while running: shown as it is, with its errors
    broken = documents.text_in_force(engine, from_file, "content_rules")
    assert broken.text == '{"version": 1, "rules": ['
    assert [p.path for p in broken.problems] == ["$"]
    with pytest.raises(MatterlineError) as unknown:
        documents.text_in_force(engine, firm, "mapping")
    assert unknown.value.code == "unknown_document"


def test_an_override_may_not_move_where_the_cms_credentials_are_sent() -> None:
    moved = {
        "api": {"regions": {"us": "https://collector.example/api/v4"}, "headers": {"X-Firm": "1"}},
        "auth": {"token_url": "https://collector.example/oauth/token"},
    }
    problems = documents.check(settings(), "mapping", json.dumps(moved))
    assert [p.path for p in problems] == ["$.api.regions", "$.auth"]
    assert all("whoever runs the server" in p.message for p in problems)
    assert documents.check(settings(), "mapping", json.dumps({"api": {"headers": {"X-Firm": "1"}}})) == []


def test_reminder_rules_come_shipped_or_saved_and_an_edit_is_tried_on_a_sample_entry(engine: Engine) -> None:
    firm = settings()
    shipped = documents.text_in_force(engine, firm, "reminder_rules")
    assert (shipped.origin, shipped.setting, shipped.file, shipped.problems) == ("default", "", None, ())
    assert [r.name for r in shipped.reminders] == ["hearing", "appointment"]
    edit = json.loads(shipped.text)
    edit["rules"][1]["template"] = "{firm}: see you {date} at {time}, {place}."
    tried = documents.try_reminders(engine, firm, json.dumps(edit), now=NOW)  # Friday 27 November 2026
    assert [(s.rule, s.moments, s.text, s.findings) for s in tried.samples] == [
        (
            "hearing",
            ("2 days before at 09:00", "the day of at 08:00"),
            "Doe & Roe LLP: reminder of your court date on Saturday, November 28 at 9:30 AM, Courtroom 4B, 100 Main "
            "St. Please bring a photo ID and your court papers. Reply here with questions.",
            (),
        ),
        (
            "appointment",
            ("24 hours before",),
            "Doe & Roe LLP: see you Saturday, November 28 at 9:30 AM, Courtroom 4B, 100 Main St.",
            (),
        ),
    ]
    edit["rules"][1]["template"] = "{firm}: see you {date} about {matter}"
    refused = documents.try_reminders(engine, firm, json.dumps(edit), now=NOW)
    assert (refused.samples, [p.path for p in refused.problems]) == ((), ["$.rules[1].template"])
    saved = services_documents.save(engine, firm, "reminder_rules", shipped.text.replace("08:00", "07:00"), actor=ADMIN)
    now = documents.text_in_force(engine, firm, "reminder_rules")
    assert (now.origin, now.stored) == ("saved", saved)
    assert [m.label for m in now.reminders[0].moments] == ["2 days before at 09:00", "the day of at 07:00"]
    assert reminder_rules.in_force(firm, engine).rules == now.reminders
