"""Staff record a client's consent to texts and its withdrawal: rows appended to the ledger, each audited with
who wrote it down, and a withdrawal stops the firm's texts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from connector import queries, services
from connector.errors import Kind, MatterlineError
from connector.staff.users import Actor
from tests.support.firm import JANE, seed, settings
from tests.support.inbox import audit_rows

PAT = Actor("user:3:pat@firm.example", request_id="req-pat")
SIGNED = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine, consent=False)
    return engine


def test_a_recorded_consent_is_on_the_ledger_and_audited_and_lets_texts_go(store: Engine) -> None:
    row = services.consents.record(
        store,
        settings(),
        "(415) 867-5309",
        method="engagement_letter",
        actor=PAT,
        scope="matter 101: scheduling",
        source="retainer p.3",
        matter_cms_id="101",
        captured_at=SIGNED,
    )
    assert (row.phone, row.action, row.method, row.captured_by, row.captured_at) == (
        JANE,
        "grant",
        "engagement_letter",
        PAT.label,
        SIGNED,
    )
    assert queries.consents.listing(store, JANE) == [row]
    [entry] = audit_rows(store, "consent")
    assert (entry.actor, entry.request_id, entry.subject_id, entry.matter_cms_id) == (PAT.label, "req-pat", JANE, "101")
    assert entry.details == {
        "method": "engagement_letter",
        "scope": "matter 101: scheduling",
        "source": "retainer p.3",
        "consent_id": row.id,
    }
    queued = services.messages.send(store, settings(), matter_cms_id="101", body="Hearing at 9", actor=PAT)
    assert queued.status == "pending"


def test_a_withdrawal_is_appended_audited_and_stops_the_firms_texts(store: Engine) -> None:
    granted = services.consents.record(store, settings(), JANE, method="verbal", actor=PAT)
    withdrawn = services.consents.withdraw(store, settings(), JANE, method="verbal", actor=PAT)
    assert [r.action for r in queries.consents.listing(store, JANE)] == ["grant", "revoke"]
    assert withdrawn.id > granted.id
    [entry] = audit_rows(store, "consent_revoked")
    assert (entry.actor, entry.subject_id, entry.details["consent_id"]) == (PAT.label, JANE, withdrawn.id)
    with pytest.raises(MatterlineError) as refused:
        services.messages.send(store, settings(), matter_cms_id="101", body="Hearing at 9", actor=PAT)
    assert (refused.value.kind, refused.value.code) == (Kind.CONFLICT, "consent_required")


@pytest.mark.parametrize(
    ("phone", "method", "scope", "field"),
    [
        ("not a number", "verbal", "all matters", "phone"),
        (JANE, "carrier_pigeon", "all matters", "method"),
        (JANE, "verbal", "   ", "scope"),
    ],
)
def test_a_consent_that_cannot_be_taken_is_refused_and_nothing_is_written(
    store: Engine, phone: str, method: str, scope: str, field: str
) -> None:
    for change in (services.consents.record, services.consents.withdraw):
        with pytest.raises(MatterlineError) as caught:
            change(store, settings(), phone, method=method, actor=PAT, scope=scope)
        assert (caught.value.kind, caught.value.code, caught.value.details) == (
            Kind.INVALID,
            "invalid_consent",
            {"field": field},
        )
    assert queries.consents.listing(store) == []
    assert audit_rows(store, "consent") == audit_rows(store, "consent_revoked") == []
