"""`/api/documents` (`webhooks/api/documents.py`): an admin's new version of the mapping override, content rules
or reply templates (every error at its JSON path and nothing saved; audited; in force at once), and trying an
edit first; admins only."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from connector.guardrails import rules_in_force
from connector.reminders import rules as reminder_rules
from connector.sandbox import DEFAULT_TOKEN, ClioState, SandboxServer, generate_firm
from connector.store.tables import firm_documents
from tests.support.firm import seed, settings
from tests.support.people import add_user
from tests.webhooks.api.harness import Api, Firm, audit_rows, count, error
from webhooks import create_app

PINEAPPLE = {
    "version": 1,
    "rules": [{"id": "fruit", "action": "block", "patterns": [r"\bpineapple\b"], "message": "no", "suggestion": "x"}],
}


@pytest.mark.parametrize("role", ["attorney", "staff"])
def test_only_admins_save_or_try_documents(firm: Firm, role: str) -> None:
    caller: Api = getattr(firm, role)
    for method, path, body in (
        ("PUT", "/api/documents/content_rules", {"text": json.dumps(PINEAPPLE)}),
        ("POST", "/api/documents/content_rules/try", {"rules": json.dumps(PINEAPPLE), "draft": "pineapple"}),
        ("POST", "/api/documents/mapping/preview", {"text": "{}"}),
    ):
        refused = caller.call(method, path, body)
        assert (refused.status_code, error(refused)["code"]) == (403, "forbidden_role"), path
    assert count(firm.store, firm_documents) == 0


def test_an_admin_saves_rules_in_force_at_once_and_audited(firm: Firm) -> None:
    answer = firm.admin.call(
        "PUT", "/api/documents/content_rules", {"text": json.dumps(PINEAPPLE), "reason": "codeword"}
    )
    assert answer.status_code == 200
    document = answer.get_json()["document"]
    assert (document["kind"], document["reason"]) == ("content_rules", "codeword")
    assert [f.rule_id for f in rules_in_force.content_rules(settings(), firm.store).check("pineapple")] == ["fruit"]
    [entry] = audit_rows(firm.store, "rules_change")
    assert entry.details["version"] == document["id"]
    back = firm.admin.call("PUT", "/api/documents/content_rules", {"text": None})
    assert back.get_json()["document"]["body"] is None
    assert rules_in_force.content_rules(settings(), firm.store).check("pineapple") == []


def test_errors_are_listed_at_their_paths_and_nothing_is_saved(firm: Firm) -> None:
    broken = {
        "version": 1,
        "rules": [{"id": "a", "action": "shout", "patterns": ["("], "message": "m", "suggestion": "s"}],
    }
    refused = firm.admin.call("PUT", "/api/documents/content_rules", {"text": json.dumps(broken)})
    assert (refused.status_code, error(refused)["code"]) == (422, "invalid_document")
    assert [e["path"] for e in error(refused)["details"]["errors"]] == ["$.rules[0].action", "$.rules[0].patterns[0]"]
    unknown = firm.admin.call("PUT", "/api/documents/signatures", {"text": "{}"})
    assert unknown.status_code == 404
    assert count(firm.store, firm_documents) == 0
    assert audit_rows(firm.store, "rules_change") == []


def test_an_admin_saves_reminder_rules_and_a_bad_edit_is_refused_at_its_path(firm: Firm) -> None:
    rules = json.loads(reminder_rules.SHIPPED_PATH.read_text(encoding="utf-8"))
    rules["rules"][1]["moments"] = [{"hours_before": 2, "days_before": 1}]
    refused = firm.admin.call("PUT", "/api/documents/reminder_rules", {"text": json.dumps(rules)})
    assert (refused.status_code, error(refused)["code"]) == (422, "invalid_document")
    assert [e["path"] for e in error(refused)["details"]["errors"]] == ["$.rules[1].moments[0].hours_before"]
    rules["rules"][1]["moments"] = [{"hours_before": 2}]
    saved = firm.admin.call("PUT", "/api/documents/reminder_rules", {"text": json.dumps(rules), "reason": "closer"})
    assert saved.status_code == 200
    [entry] = audit_rows(firm.store, "reminders_change")
    assert entry.details["version"] == saved.get_json()["document"]["id"]
    assert [m.label for m in reminder_rules.in_force(settings(), firm.store).rules[1].moments] == ["2 hours before"]


def test_a_draft_is_tried_against_an_edit_and_nothing_is_saved(firm: Firm) -> None:
    tried = firm.admin.post(
        "/api/documents/content_rules/try", {"rules": json.dumps(PINEAPPLE), "draft": "a pineapple"}
    )
    assert tried.status_code == 200
    body = tried.get_json()
    assert ([f["rule"] for f in body["findings"]], body["problems"], body["sendable"]) == (["fruit"], [], False)
    bad = firm.admin.post("/api/documents/content_rules/try", {"rules": "{", "draft": "a pineapple"})
    assert [p["path"] for p in bad.get_json()["problems"]] == ["$"]
    assert count(firm.store, firm_documents) == 0


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(ClioState(generate_firm(4, 2))) as server:
        yield server


def test_a_mapping_edit_is_previewed_on_live_records(engine: Engine, sandbox: SandboxServer) -> None:
    seed(engine)
    app = create_app(
        settings(MATTERLINE_CMS_BASE_URL=sandbox.base_url, MATTERLINE_CMS_ACCESS_TOKEN=DEFAULT_TOKEN), engine
    )
    _, token = add_user(engine, name="Ada", email="ada@firm.example", role="admin")
    admin = Api(app.test_client(), app, token)
    edit = json.dumps({"resources": {"clients": {"fields": {"name": "last_name"}}}})
    shown = admin.post("/api/documents/mapping/preview", {"text": edit})
    assert shown.status_code == 200
    clients = next(r for r in shown.get_json()["resources"] if r["resource"] == "clients")
    assert dict(clients["records"][0]["fields"])["name"] == "Kelly"
    broken = admin.post("/api/documents/mapping/preview", {"text": '{"pagination": {"page_size": 0}}'})
    assert (broken.status_code, error(broken)["code"]) == (422, "invalid_document")
    assert count(engine, firm_documents) == 0
