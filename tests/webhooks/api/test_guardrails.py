"""`/api/guardrails/check` (`webhooks/api/guardrails.py`): checking a draft against the content rules."""

from __future__ import annotations

from connector.store.tables import messages
from tests.webhooks.api.harness import Firm, audit_rows, count


def test_a_composer_can_check_a_draft_without_sending(firm: Firm) -> None:
    answer = firm.staff.post("/api/guardrails/check", {"body": "They offered $45,000. Card 4111 1111 1111 1111"})
    assert answer.status_code == 200
    found = answer.get_json()
    assert {f["rule"] for f in found["findings"]} == {"settlement_amount", "card_number"}
    assert (found["sendable"], found["needs_override_reason"]) == (False, True)
    card = next(f for f in found["findings"] if f["rule"] == "card_number")
    assert card["match"] == "4111 1111 1111 1111"
    assert "portal" in card["suggestion"]
    clean = firm.staff.post("/api/guardrails/check", {"body": "See you Tuesday at 9."}).get_json()
    assert (clean["findings"], clean["sendable"], clean["needs_override_reason"]) == ([], True, False)
    assert count(firm.store, messages) == 0
    assert audit_rows(firm.store, "send") == []
