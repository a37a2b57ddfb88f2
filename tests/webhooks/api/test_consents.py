"""`/api/consents` (`webhooks/api/consents.py`): recording and listing a client's consent to texts."""

from __future__ import annotations

import json

from tests.support.firm import JANE
from tests.webhooks.api.harness import Firm, error


def test_consent_is_recorded_and_listed_through_the_api(firm: Firm) -> None:
    made = firm.staff.post(
        "/api/consents", {"phone": "(212) 555-0142", "method": "web_form", "source": "intake form #88"}
    )
    assert made.status_code == 201
    row = made.get_json()["consent"]
    assert (row["phone"], row["action"], row["captured_by"]) == (
        "+12125550142",
        "grant",
        f"user:{firm.ids['staff']}:staff@firm.example",
    )
    listed = firm.staff.get("/api/consents?phone=212-555-0142").get_json()["consents"]
    assert [r["source"] for r in listed] == ["intake form #88"]
    bad = firm.staff.post("/api/consents", {"phone": "not a phone", "method": "verbal"})
    assert bad.status_code == 422
    assert error(bad)["code"] == "invalid_consent"
    unknown = firm.staff.post("/api/consents", {"phone": JANE, "method": "telepathy"})
    assert unknown.status_code == 400
    assert "method" in json.dumps(error(unknown))
