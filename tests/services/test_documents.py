"""Saving the firm's documents: admins only; checked like their files, every error at its JSON path and nothing
saved; one audit entry per saved version; in force at once for every process reading the store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from connector.cms.in_force import mapping_in_force
from connector.errors import Kind, MatterlineError
from connector.guardrails import rules_in_force
from connector.messaging import reply_templates
from connector.queries import documents as queries_documents
from connector.reminders import rules as reminder_rules
from connector.sandbox import DEFAULT_TOKEN, ClioState, SandboxServer, generate_firm
from connector.services import documents
from connector.staff.users import Actor, User
from connector.store import make_engine
from connector.store.tables import audit_log, contacts, firm_documents
from connector.store.workflow_tables import calendar_entries
from tests.support.firm import NOW, settings

ADMIN = Actor("user:1", User(1, "Ada Admin", "ada@firm.example", "admin"), "req-1")
STAFF = Actor("user:2", User(2, "Pat Paralegal", "pat@firm.example", "staff"))
PINEAPPLE = {
    "version": 1,
    "rules": [
        {"id": "fruit", "action": "block", "patterns": [r"\bpineapple\b"], "message": "no", "suggestion": "call"}
    ],
}


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(ClioState(generate_firm(4, 2))) as server:
        yield server


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(firm_documents)).scalar_one()
        entries = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
    return rows, entries


def test_a_saved_rule_is_in_force_for_every_process_reading_the_store_and_audited(engine: Engine) -> None:
    firm = settings()
    assert rules_in_force.content_rules(firm, engine).check("the pineapple has landed") == []
    stored = documents.save(engine, firm, "content_rules", json.dumps(PINEAPPLE), actor=ADMIN, reason="codeword")
    assert [f.rule_id for f in rules_in_force.content_rules(firm, engine).check("the pineapple has landed")] == [
        "fruit"
    ]
    other_process = make_engine(str(engine.url.render_as_string(hide_password=False)))
    try:
        found = rules_in_force.content_rules(firm, other_process).check("pineapple")
        assert [f.rule_id for f in found] == ["fruit"]
    finally:
        other_process.dispose()
    with engine.connect() as conn:
        entry = conn.execute(select(audit_log).where(audit_log.c.action == "rules_change")).one()
    assert (entry.actor, entry.request_id, entry.subject_id) == ("user:1", "req-1", "content_rules")
    assert entry.details == {
        "kind": "content_rules",
        "version": stored.id,
        "digest": stored.digest,
        "previous": None,
        "back_to_file": False,
        "reason": "codeword",
    }
    back = documents.save(engine, firm, "content_rules", None, actor=ADMIN)
    assert back.body is None
    assert rules_in_force.content_rules(firm, engine).check("pineapple") == []  # the shipped rules again


def test_a_document_with_errors_is_refused_with_each_at_its_path_and_nothing_saved(engine: Engine) -> None:
    firm = settings()
    broken = {
        "version": 1,
        "rules": [
            {"id": "a", "action": "shout", "patterns": ["x"], "message": "m", "suggestion": "s"},
            {"id": "b", "action": "warn", "patterns": ["[unclosed"], "message": "m", "suggestion": "s"},
        ],
    }
    before = _counts(engine)
    with pytest.raises(MatterlineError) as refused:
        documents.save(engine, firm, "content_rules", json.dumps(broken), actor=ADMIN)
    assert (refused.value.kind, refused.value.code) == (Kind.INVALID, "invalid_document")
    paths = [e["path"] for e in refused.value.details["errors"]]
    assert paths == ["$.rules[0].action", "$.rules[1].patterns[0]"]
    with pytest.raises(MatterlineError) as not_json:
        documents.save(engine, firm, "reply_templates", "{not json", actor=ADMIN)
    [problem] = not_json.value.details["errors"]
    assert problem["path"] == "$"
    assert problem["message"].startswith("not valid JSON")
    with pytest.raises(MatterlineError) as bad_mapping:
        documents.save(engine, firm, "mapping", '{"pagination": {"page_size": 0}}', actor=ADMIN)
    assert [e["path"] for e in bad_mapping.value.details["errors"]] == ["$.pagination.page_size"]
    assert _counts(engine) == before


def test_only_an_admin_may_save_and_the_same_text_twice_is_refused(engine: Engine) -> None:
    firm = settings()
    with pytest.raises(MatterlineError) as forbidden:
        documents.save(engine, firm, "content_rules", json.dumps(PINEAPPLE), actor=STAFF)
    assert (forbidden.value.kind, forbidden.value.code) == (Kind.FORBIDDEN, "forbidden_role")
    assert _counts(engine) == (0, 0)
    documents.save(engine, firm, "content_rules", json.dumps(PINEAPPLE), actor=ADMIN)
    with pytest.raises(MatterlineError) as again:
        documents.save(engine, firm, "content_rules", json.dumps(PINEAPPLE), actor=ADMIN)
    assert again.value.code == "unchanged"
    assert _counts(engine) == (1, 1)
    with pytest.raises(MatterlineError) as unknown:
        documents.save(engine, firm, "signatures", "{}", actor=ADMIN)
    assert unknown.value.code == "unknown_document"


def test_a_document_too_large_is_refused_before_it_is_read(engine: Engine) -> None:
    text = json.dumps({"version": 1, "templates": [], "padding": "x" * queries_documents.MAX_BYTES})
    [problem] = queries_documents.check(settings(), "reply_templates", text)
    assert problem.path == "$"
    assert "at most" in problem.message


def test_saved_templates_and_mapping_are_the_ones_in_force(engine: Engine) -> None:
    firm = settings()
    templates = {"version": 1, "templates": [{"id": "late", "title": "Running late", "body": "Running late, sorry."}]}
    documents.save(engine, firm, "reply_templates", json.dumps(templates), actor=ADMIN)
    assert [t.id for t in reply_templates.in_force(firm, engine)] == ["late"]
    override = {"id": "clio", "resources": {"clients": {"fields": {"name": "last_name"}}}}
    documents.save(engine, firm, "mapping", json.dumps(override), actor=ADMIN)
    assert str(mapping_in_force(firm, engine).resources["clients"].fields["name"]) == "last_name"
    with engine.connect() as conn:
        entry = conn.execute(select(audit_log).where(audit_log.c.action == "mapping_change")).one()
    assert entry.subject_id == "clio"


def test_a_draft_is_tried_against_an_edit_of_the_rules_and_nothing_is_saved(engine: Engine) -> None:
    firm = settings()
    tried = documents.try_rules(firm, json.dumps(PINEAPPLE), "a pineapple, please")
    assert [(f.rule, f.action, f.match) for f in tried.findings] == [("fruit", "block", "pineapple")]
    assert (tried.problems, tried.sendable) == ((), False)
    assert documents.try_rules(firm, json.dumps(PINEAPPLE), "a mango").sendable
    broken = {**PINEAPPLE, "rules": [{**PINEAPPLE["rules"][0], "patterns": ["(pine"]}]}  # type: ignore[dict-item]
    refused = documents.try_rules(firm, json.dumps(broken), "a pineapple")
    assert refused.findings == ()
    assert [p.path for p in refused.problems] == ["$.rules[0].patterns[0]"]
    assert not refused.sendable
    assert _counts(engine) == (0, 0)
    assert rules_in_force.content_rules(firm, engine).check("a pineapple") == []  # the shipped rules stay


def test_a_preview_reads_live_records_through_the_edit_and_stores_nothing(
    engine: Engine, sandbox: SandboxServer
) -> None:
    firm = settings(MATTERLINE_CMS_BASE_URL=sandbox.base_url, MATTERLINE_CMS_ACCESS_TOKEN=DEFAULT_TOKEN)
    edit = json.dumps({"resources": {"clients": {"fields": {"name": "last_name"}}}})
    shown = {r.resource: r for r in documents.preview_mapping(engine, firm, edit, actor=ADMIN)}
    assert set(shown) == {"clients", "matters", "relationships", "calendar_entries"}
    first = dict(shown["clients"].records[0].fields)
    assert first["name"] == "Kelly"
    assert "phones" in first
    assert shown["matters"].records
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(contacts)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(firm_documents)).scalar_one() == 0
    with pytest.raises(MatterlineError) as broken:
        documents.preview_mapping(engine, firm, '{"pagination": {"style": "carrier pigeon"}}', actor=ADMIN)
    assert broken.value.code == "invalid_document"
    with pytest.raises(MatterlineError) as forbidden:
        documents.preview_mapping(engine, firm, edit, actor=STAFF)
    assert forbidden.value.code == "forbidden_role"


def test_a_preview_never_sends_the_credentials_to_a_host_the_edit_names(engine: Engine, sandbox: SandboxServer) -> None:
    firm = settings(MATTERLINE_CMS_REGION="us", MATTERLINE_CMS_ACCESS_TOKEN=DEFAULT_TOKEN)
    edit = json.dumps({"api": {"regions": {"us": sandbox.base_url}}})
    with pytest.raises(MatterlineError) as refused:
        documents.preview_mapping(engine, firm, edit, actor=ADMIN)
    assert [e["path"] for e in refused.value.details["errors"]] == ["$.api.regions"]
    assert sandbox.state.stats.total_requests == 0
    with pytest.raises(MatterlineError):
        documents.save(engine, firm, "mapping", edit, actor=ADMIN)
    assert _counts(engine) == (0, 0)


def test_saved_reminder_rules_are_in_force_audited_and_re_plan_every_entry_still_ahead(engine: Engine) -> None:
    firm = settings()
    with engine.begin() as conn:
        for cms_id, days, deleted in (("ahead", 3, None), ("past", -1, None), ("gone", 3, NOW)):
            conn.execute(
                calendar_entries.insert().values(
                    cms_id=cms_id,
                    starts_at=NOW + timedelta(days=days),
                    fingerprint="f",
                    synced_at=NOW,
                    deleted_at=deleted,
                    needs_plan=False,
                )
            )
    edit = json.loads(reminder_rules.SHIPPED_PATH.read_text(encoding="utf-8"))
    edit["rules"][0]["bring"] = "Bring the card 4111 1111 1111 1111 to pay the fee."
    with pytest.raises(MatterlineError) as blocked:
        documents.save(engine, firm, "reminder_rules", json.dumps(edit), actor=ADMIN, now=NOW)
    [problem] = blocked.value.details["errors"]
    assert problem["path"] == "$.rules[0].template"
    assert problem["message"].startswith("the content rules in force block its text: card_number ('4111 1111")
    edit["rules"][0]["bring"] = "Please wear something warm."
    edit["rules"].pop()
    stored = documents.save(engine, firm, "reminder_rules", json.dumps(edit), actor=ADMIN, reason="winter", now=NOW)
    assert [r.name for r in reminder_rules.in_force(firm, engine).rules] == ["hearing"]
    with engine.connect() as conn:
        planned = dict(conn.execute(select(calendar_entries.c.cms_id, calendar_entries.c.needs_plan)).all())
        entry = conn.execute(select(audit_log).where(audit_log.c.action == "reminders_change")).one()
    assert planned == {"ahead": True, "past": False, "gone": False}
    assert (entry.subject_id, entry.details["version"], entry.details["replanned"]) == ("reminder_rules", stored.id, 1)
    documents.save(engine, firm, "reminder_rules", None, actor=ADMIN, now=NOW)
    assert reminder_rules.in_force(firm, engine) == reminder_rules.shipped()
