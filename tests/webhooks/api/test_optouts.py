"""`/api/optouts` (`webhooks/api/optouts.py`): who has opted out of texts, and since when."""

from __future__ import annotations

from tests.support.firm import JANE, OMAR
from tests.webhooks.api.harness import Firm, error, text_in


def test_optouts(firm: Firm) -> None:
    text_in(firm.admin.client, JANE, "STOP")
    text_in(firm.admin.client, OMAR, "STOP")
    text_in(firm.admin.client, OMAR, "START")
    everything = firm.staff.get("/api/optouts").get_json()["optouts"]
    assert {(o["phone"], o["opted_out"]) for o in everything} == {(JANE, True), (OMAR, False)}
    assert all(o["since"] and o["source"] for o in everything)
    only = firm.staff.get("/api/optouts?opted_out=true").get_json()["optouts"]
    assert [o["phone"] for o in only] == [JANE]
    bad = firm.staff.get("/api/optouts?opted_out=maybe")
    assert (bad.status_code, error(bad)["details"]["parameter"]) == (400, "opted_out")
