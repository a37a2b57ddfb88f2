"""`/api/intake` (`webhooks/api/intake.py`): the texts intake set aside, and taking them again."""

from __future__ import annotations

from tests.webhooks.api.harness import Firm, audit_rows, error


def test_a_retry_naming_an_id_beyond_the_stores_range_is_refused(firm: Firm) -> None:
    refused = firm.admin.post("/api/intake/retry", {"message_ids": [2**63]})
    assert (refused.status_code, error(refused)["code"]) == (400, "number_out_of_range")
    beyond_ids = firm.admin.post("/api/intake/retry", {"message_ids": [2**31]})
    assert (beyond_ids.status_code, error(beyond_ids)["code"]) == (400, "invalid_body")
    largest = firm.admin.post("/api/intake/retry", {"message_ids": [2**31 - 1]})
    assert (largest.status_code, error(largest)["code"]) == (409, "not_set_aside")
    assert audit_rows(firm.store, "intake_retry") == []
