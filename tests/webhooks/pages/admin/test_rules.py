"""The content rules and reply templates page: what is in force and where from, an edit refused with every error
at its path and nothing saved, a saved edit audited and followed by the next send, a draft tried against an
unsaved edit, a templates edit in the composer, and going back to the shipped rules."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select

from connector import services
from connector.guardrails.content import DEFAULT_RULES_PATH
from connector.services import documents
from connector.staff.users import Actor
from connector.store.tables import audit_log, firm_documents
from tests.support.admin_site import ADMIN, admin_site, posted_as, sign_in_as
from tests.support.browser import assert_accessible
from tests.support.firm import JANE
from tests.support.thread_site import Site

PINEAPPLE = {
    "id": "pineapple",
    "action": "block",
    "patterns": [r"\bpineapples?\b"],
    "message": "The word pineapple is our codeword: it never goes by text.",
    "suggestion": "Call the client instead.",
}
FOUND = ".findings-table"


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[Site]:
    with admin_site(sqlite_engine) as served:
        yield served


def _shipped_rules() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    return loaded


def _with_pineapple() -> str:
    rules = _shipped_rules()
    rules["rules"].append(PINEAPPLE)
    return json.dumps(rules, indent=2)


def _rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(firm_documents).order_by(firm_documents.c.id)))


def _audited(engine: Engine, action: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.id)))


def _row(page: Page, header: str, within: str = "main") -> list[str]:
    row = page.locator(within).get_by_role("row").filter(has=page.get_by_role("rowheader", name=header, exact=True))
    return [cell.strip() for cell in row.get_by_role("cell").all_inner_texts()]


def test_the_shipped_rules_and_templates_show_where_they_come_from_and_what_each_does(page: Page, site: Site) -> None:
    sign_in_as(page, site, then="/admin/rules")
    expect(page.get_by_role("heading", name="Content rules", level=1)).to_be_visible()
    expect(page.locator(".in-force")).to_contain_text("The rules shipped with Matterline")
    editor = page.get_by_label("Content rules (JSON)")
    assert json.loads(editor.input_value()) == _shipped_rules()
    assert _row(page, "ssn")[0] == "Block"
    assert _row(page, "settlement_amount")[:2] == [
        "Warn",
        "Looks like a settlement figure or dollar amount; money discussed by text can be forwarded or misread.",
    ]
    expect(page.get_by_text("None yet: nothing has been saved on this page.")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Go back"))).to_have_count(0)  # nothing saved to leave
    assert_accessible(page)
    page.get_by_role("navigation", name="Content rules, reply templates and reminder rules").get_by_role(
        "link", name="Reply templates"
    ).click()
    expect(page.get_by_role("heading", name="Reply templates", level=2)).to_be_visible()
    expect(page.locator(".in-force")).to_contain_text("The templates shipped with Matterline")
    assert _row(page, "call_back") == [
        "We'll call you about this",
        "Thanks {client_first_name}. This is best discussed by phone: someone from {firm_name} will call you "
        "about it shortly.",
        "Yes",
    ]
    templates = json.loads(page.get_by_label("Reply templates (JSON)").input_value())
    assert [t["id"] for t in templates["templates"]] == ["received", "call_back", "documents", "appointment"]
    assert_accessible(page)


def test_an_invalid_edit_shows_each_error_at_its_path_keeps_the_text_and_saves_nothing(page: Page, site: Site) -> None:
    rules = _shipped_rules()
    rules["rules"][0]["action"] = "shout"
    rules["rules"][2]["patterns"][0] = "[unclosed"
    typed = json.dumps(rules, indent=2)
    sign_in_as(page, site, then="/admin/rules")
    page.get_by_label("Content rules (JSON)").fill(typed)
    page.get_by_label("Reason for the change (optional, kept in the audit log)").fill("Tightening")
    with page.expect_response(lambda r: r.url.endswith("/admin/rules/save")) as answer:
        page.get_by_role("button", name="Save", exact=True).click()
    assert answer.value.status == 422
    alert = page.locator("main").get_by_role("alert")
    expect(alert).to_contain_text("the content rules has 2 errors; nothing was saved")
    errors = [e.strip() for e in alert.get_by_role("listitem").all_inner_texts()]
    assert errors == [
        "$.rules[0].action: unknown action 'shout'; must be one of: warn, block",
        "$.rules[2].patterns[0]: bad regular expression: unterminated character set at position 0",
    ]
    expect(page.get_by_label("Content rules (JSON)")).to_have_value(typed)
    expect(page.get_by_label("Reason for the change (optional, kept in the audit log)")).to_have_value("Tightening")
    assert _rows(site.engine) == []
    assert _audited(site.engine, "rules_change") == []
    assert_accessible(page)
    # Not JSON at all: one error about the whole text.
    page.get_by_label("Content rules (JSON)").fill('{"version": 1, "rules": [')
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("main").get_by_role("alert").get_by_role("listitem")).to_have_text(
        re.compile(r"^\$: not valid JSON: ")
    )
    assert _rows(site.engine) == []


def test_a_valid_edit_is_saved_audited_with_the_admin_and_the_next_draft_follows_it(
    page: Page, sqlite_engine: Engine
) -> None:
    # On SQLite: saving and reading versions on both stores is tests/services/test_documents.py's.
    with admin_site(sqlite_engine) as site:
        thread_id = site.text_in(JANE, "Any news?")
        sign_in_as(page, site, then="/admin/rules")
        page.get_by_label("Content rules (JSON)").fill(_with_pineapple())
        page.get_by_label("Reason for the change (optional, kept in the audit log)").fill("Client codeword")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator("main").get_by_role("status")).to_have_text(re.compile(r"Saved: version \d+ is in force\."))
        [row] = _rows(sqlite_engine)
        assert page.url.endswith(f"/admin/rules?saved={row.id}")
        admin = site.people[ADMIN]
        assert (row.kind, row.actor, row.reason) == ("content_rules", admin.actor, "Client codeword")
        [entry] = _audited(sqlite_engine, "rules_change")
        assert entry.actor == admin.actor
        assert (entry.details["version"], entry.details["reason"]) == (row.id, "Client codeword")
        expect(page.locator(".in-force")).to_contain_text(f"Version {row.id}, saved on this page by ada@firm.example")
        assert _row(page, "pineapple") == ["Block", PINEAPPLE["message"], PINEAPPLE["suggestion"], ""]
        assert _row(page, str(row.id))[:2] == ["Saved here (in force)", "ada@firm.example"]
        assert_accessible(page)
        # The next check, wherever it is made, follows the new rule.
        checked = services.messages.check_draft(sqlite_engine, site.settings, "The pineapple has landed.")
        assert (checked.sendable, [f.rule for f in checked.findings]) == (False, ["pineapple"])
        page.goto(f"{site.url}/inbox/{thread_id}")
        page.get_by_label("Text to send").fill("The pineapple has landed.")
        expect(page.locator(".findings")).to_contain_text("Blocked: " + PINEAPPLE["message"])
        expect(page.get_by_role("button", name="Send", exact=True)).to_be_disabled()


def test_a_draft_is_tried_against_the_rules_in_force_or_the_unsaved_edit_and_nothing_is_saved(
    page: Page, site: Site
) -> None:
    sign_in_as(page, site, then="/admin/rules")
    page.get_by_label("Content rules (JSON)").fill(_with_pineapple())
    page.get_by_label("Text message to try").fill("Bring a pineapple, and the $500 fee.")
    page.get_by_role("button", name="Try against the rules in force").click()
    expect(page.get_by_role("heading", name="What the rules in force find")).to_be_visible()
    assert _row(page, "settlement_amount", FOUND)[:2] == ["Warn", "$500"]
    expect(page.locator(FOUND).get_by_role("row").filter(has_text="pineapple")).to_have_count(0)
    expect(page.locator("main").get_by_role("status")).to_have_text(
        "Could be sent, with a reason to override the warnings."
    )
    # The unsaved edit and the draft survived the round trip; now try the edit.
    expect(page.get_by_label("Content rules (JSON)")).to_have_value(_with_pineapple())
    expect(page.get_by_label("Text message to try")).to_have_value("Bring a pineapple, and the $500 fee.")
    assert_accessible(page)
    page.get_by_role("button", name="Try against the edit above (unsaved)").click()
    expect(page.get_by_role("heading", name="What the edit above finds")).to_be_visible()
    assert _row(page, "pineapple", FOUND) == ["Block", "pineapple", PINEAPPLE["message"], PINEAPPLE["suggestion"]]
    assert _row(page, "settlement_amount", FOUND)[:2] == ["Warn", "$500"]
    expect(page.locator("main").get_by_role("status")).to_have_text("Blocked: this text could not be sent as written.")
    assert_accessible(page)
    # A broken edit is not tried: its errors, at their paths.
    page.get_by_label("Content rules (JSON)").fill(_with_pineapple().replace(r"\\bpineapples?\\b", "(pine"))
    page.get_by_role("button", name="Try against the edit above (unsaved)").click()
    expect(page.locator("main").get_by_role("alert")).to_contain_text("The edit cannot be used: it has 1 error.")
    expect(page.locator("main").get_by_role("alert").get_by_role("listitem")).to_have_text(
        re.compile(r"^\$\.rules\[7\]\.patterns\[0\]: bad regular expression: missing \)")
    )
    assert_accessible(page)
    assert _rows(site.engine) == []
    assert _audited(site.engine, "rules_change") == []
    # The rules in force are still the shipped ones.
    assert services.messages.check_draft(site.engine, site.settings, "a pineapple").findings == ()


def test_a_templates_edit_is_offered_in_the_composer_and_a_bad_merge_field_is_refused(page: Page, site: Site) -> None:
    thread_id = site.text_in(JANE, "Where do I park?")
    sign_in_as(page, site, then="/admin/rules/templates")
    editor = page.get_by_label("Reply templates (JSON)")
    templates = json.loads(editor.input_value())
    templates["templates"].append({"id": "parking", "title": "Parking", "body": "Hi {client_frist_name}, use Elm St."})
    editor.fill(json.dumps(templates, indent=2))
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("main").get_by_role("alert").get_by_role("listitem")).to_have_text(
        re.compile(r"^\$\.templates\[4\]\.body: unknown merge field \{client_frist_name\}")
    )
    assert _rows(site.engine) == []
    assert_accessible(page)
    templates["templates"][4]["body"] = "Hi {client_first_name}, park on Elm St behind {firm_name}."
    page.get_by_label("Reply templates (JSON)").fill(json.dumps(templates, indent=2))
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("main").get_by_role("status")).to_have_text(re.compile(r"Saved: version \d+ is in force\."))
    assert page.url.split("?")[0].endswith("/admin/rules/templates")
    assert _row(page, "parking")[:2] == ["Parking", "Hi {client_first_name}, park on Elm St behind {firm_name}."]
    [entry] = _audited(site.engine, "templates_change")
    assert entry.actor == site.people[ADMIN].actor
    page.goto(f"{site.url}/inbox/{thread_id}")
    page.get_by_label("Template").select_option(label="Parking")
    page.get_by_role("button", name="Use template").click()
    expect(page.get_by_label("Text to send")).to_have_value("Hi Jane, park on Elm St behind Doe & Roe LLP.")


def test_going_back_to_the_default_restores_the_shipped_rules(page: Page, site: Site) -> None:
    admin = Actor.of(site.people[ADMIN])
    saved = documents.save(
        site.engine, site.settings, "content_rules", _with_pineapple(), actor=admin, reason="codeword"
    )
    assert not services.messages.check_draft(site.engine, site.settings, "a pineapple").sendable
    sign_in_as(page, site, then="/admin/rules")
    expect(page.locator(".in-force")).to_contain_text(f"Version {saved.id}, saved on this page by ada@firm.example")
    expect(page.locator(".in-force")).to_contain_text("(reason: codeword)")
    assert_accessible(page)
    # Without the confirmation nothing happens (the browser asks for the box; the server refuses too).
    refused = posted_as(page, site, "/admin/rules/back", {"kind": "content_rules"})
    assert refused.status == 422
    assert len(_rows(site.engine)) == 1
    page.goto(site.url + "/admin/rules")
    page.get_by_label("Yes, stop using the version saved here and put the shipped default back in force").check()
    page.get_by_label("Reason for going back (optional, kept in the audit log)").fill("Codeword retired")
    page.get_by_role("button", name="Go back to the shipped default").click()
    expect(page.locator("main").get_by_role("status")).to_contain_text(
        "the version saved on this page is no longer in force"
    )
    expect(page.locator(".in-force")).to_contain_text("The rules shipped with Matterline")
    assert json.loads(page.get_by_label("Content rules (JSON)").input_value()) == _shipped_rules()
    expect(page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="pineapple"))).to_have_count(0)
    back = _rows(site.engine)[-1]
    assert (back.body, back.reason, back.actor) == (None, "Codeword retired", site.people[ADMIN].actor)
    assert _row(page, str(back.id))[:2] == ["Back to the file or default (in force)", "ada@firm.example"]
    assert [e.details["back_to_file"] for e in _audited(site.engine, "rules_change")] == [False, True]
    assert services.messages.check_draft(site.engine, site.settings, "a pineapple").sendable
    assert_accessible(page)


def test_a_rules_file_named_by_the_setting_is_shown_as_the_source(
    page: Page, sqlite_engine: Engine, tmp_path: Path
) -> None:
    rules = {"version": 1, "rules": [PINEAPPLE]}
    path = tmp_path / "firm-rules.json"
    path.write_text(json.dumps(rules))
    with admin_site(sqlite_engine, MATTERLINE_CONTENT_RULES_FILE=str(path)) as site:
        sign_in_as(page, site, then="/admin/rules")
        expect(page.locator(".in-force")).to_contain_text(f"The file {path}, named by MATTERLINE_CONTENT_RULES_FILE.")
        assert json.loads(page.get_by_label("Content rules (JSON)").input_value()) == rules
        assert [r.strip() for r in page.get_by_role("rowheader").all_inner_texts()] == ["pineapple"]
        edited = {"version": 1, "rules": [{**PINEAPPLE, "action": "warn"}]}
        page.get_by_label("Content rules (JSON)").fill(json.dumps(edited, indent=2))
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator("main").get_by_role("status")).to_have_text(re.compile(r"Saved: version \d+ is in force\."))
        expect(page.get_by_role("button", name="Go back to the file")).to_be_visible()
        assert_accessible(page)


def test_reminder_rules_are_edited_tried_on_a_sample_entry_and_saved(page: Page, site: Site) -> None:
    sign_in_as(page, site, then="/admin/rules")
    page.get_by_role("navigation", name="Content rules, reply templates and reminder rules").get_by_role(
        "link", name="Reminder rules"
    ).click()
    expect(page.get_by_role("heading", name="Reminder rules", level=2)).to_be_visible()
    expect(page.locator(".in-force")).to_contain_text(
        "The reminder rules shipped with Matterline (nothing is saved here)."
    )
    assert _row(page, "hearing")[:2] == [
        "Types: Hearing, Court Date, Trial",
        "2 days before at 09:00; the day of at 08:00",
    ]
    editor = page.get_by_label("Reminder rules (JSON)")
    rules = json.loads(editor.input_value())
    rules["rules"][0]["template"] = "{firm}: your hearing about {matter} is on {date} at {time}, {place}."
    typed = json.dumps(rules, indent=2)
    editor.fill(typed)
    with page.expect_response(lambda r: r.url.endswith("/admin/rules/save")) as answer:
        page.get_by_role("button", name="Save", exact=True).click()
    assert answer.value.status == 422
    errors = page.locator("#save-errors").get_by_role("listitem")
    expect(errors).to_have_text(
        [
            "$.rules[0].template: unknown placeholder {matter}; a reminder may only say {firm}, {date}, {time}, "
            "{place}, {bring}"
        ]
    )
    expect(page.get_by_label("Reminder rules (JSON)")).to_have_value(typed)
    assert_accessible(page)
    # Fixed, then tried: the exact text a client would get for an entry tomorrow at 9:30 AM.
    rules["rules"][0]["template"] = "{firm}: your hearing is on {date} at {time}, {place}. {bring}"
    page.get_by_label("Reminder rules (JSON)").fill(json.dumps(rules, indent=2))
    page.get_by_role("button", name="Try the edit above").click()
    # The answer replaces the table; read it once it is there (under load it comes after the click returns).
    expect(page.locator(".samples-table").get_by_role("rowheader", name="hearing", exact=True)).to_be_visible()
    sample = _row(page, "hearing", within=".samples-table")
    assert sample[0] == "2 days before at 09:00; the day of at 08:00"
    assert re.fullmatch(
        r"Doe & Roe LLP: your hearing is on \w+day, \w+ \d{1,2} at 9:30 AM, Courtroom 4B, 100 Main St\. "
        r"Please bring a photo ID and your court papers\.",
        sample[1],
    ), sample[1]
    assert sample[3] == "Nothing found"
    assert _rows(site.engine) == []
    page.get_by_label("Reason for the change (optional, kept in the audit log)").fill("Shorter")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("main").get_by_role("status")).to_have_text(re.compile(r"Saved: version \d+ is in force\."))
    [row] = _rows(site.engine)
    assert page.url.endswith(f"/admin/rules/reminders?saved={row.id}")
    expect(page.locator(".in-force")).to_contain_text(f"Version {row.id}, saved on this page by ada@firm.example")
    assert _row(page, "hearing")[2] == "{firm}: your hearing is on {date} at {time}, {place}. {bring}"
    assert _row(page, str(row.id))[:2] == ["Saved here (in force)", "ada@firm.example"]
    assert [e.details["version"] for e in _audited(site.engine, "reminders_change")] == [row.id]
    assert_accessible(page)
