"""The consent ledger: recorded, withdrawn, checked before a first text, fed by the CMS consent field."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from connector import queries, services
from connector.errors import Kind, MatterlineError
from connector.guardrails import consent
from connector.messaging import intake, reception
from connector.staff.users import Actor
from connector.store.engine import utcnow
from connector.store.tables import audit_log, consents, messages, outbox
from connector.sync.ingest import apply
from connector.sync.records import read_contact
from mappings import load_mapping
from mappings.fieldpath import compile_path
from tests.support.firm import CARA, FIRM_NUMBER, JANE, OMAR, inbound_form, seed, settings

CLIO = load_mapping("clio")


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine, consent=False)
    return engine


def grant(
    engine: Engine, phone: str, *, action: str = "grant", method: str = "engagement_letter"
) -> consent.ConsentRow:
    with engine.begin() as conn:
        return consent.record(
            conn,
            phone,
            action=action,
            method=method,
            captured_by="alice@firm.example",
            region="US",
            source="engagement letter signed 2026-11-02",
        )


def text_in(engine: Engine, phone: str, body: str, ago: timedelta = timedelta(0)) -> None:
    s = settings()
    with engine.begin() as conn:
        reception.receive(conn, reception.parse(inbound_form(phone, body), s), s, utcnow() - ago)
    intake.drain(engine, s)


def verdict(engine: Engine, phone: str, days: int = 30) -> consent.Verdict:
    with engine.connect() as conn:
        return consent.check(conn, phone, FIRM_NUMBER, inbound_days=days, now=utcnow())


def count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def test_a_first_text_without_consent_is_refused_with_409_and_audited(store: Engine) -> None:
    with pytest.raises(MatterlineError) as refused:
        services.messages.send(
            store, settings(), matter_cms_id="101", body="Hi Jane, this is your attorney.", actor=Actor("alice")
        )
    assert (refused.value.kind, refused.value.code) == (Kind.CONFLICT, "consent_required")
    assert "matterline consent record" in str(refused.value)
    assert count(store, messages) == 0
    assert count(store, outbox) == 0
    assert count(store, audit_log, audit_log.c.action == "send_blocked") == 1


def test_recorded_consent_lets_the_text_go_and_the_ledger_keeps_who_how_and_when(store: Engine) -> None:
    row = grant(store, "(415) 867-5309")
    assert (row.phone, row.method, row.captured_by) == (JANE, "engagement_letter", "alice@firm.example")
    queued = services.messages.send(
        store, settings(), matter_cms_id="101", body="Hi Jane, this is your attorney.", actor=Actor("alice")
    )
    assert queued.status == "pending"
    [listed] = queries.consents.listing(store, "415-867-5309")
    assert listed.source == "engagement letter signed 2026-11-02"
    assert count(store, audit_log, audit_log.c.action == "consent") == 1


def test_a_client_who_texted_first_within_the_window_may_be_answered(store: Engine) -> None:
    text_in(store, JANE, "Is my hearing still on?", ago=timedelta(days=3))
    assert verdict(store, JANE).basis == "inbound_text"
    assert verdict(store, JANE, days=2).allowed is False
    services.messages.send(store, settings(), matter_cms_id="101", body="Yes, Tuesday at 9.", actor=Actor("alice"))


def test_a_text_that_waits_for_intake_counts_as_the_client_texting_first(store: Engine) -> None:
    s = settings()
    with store.begin() as conn:
        reception.receive(conn, reception.parse(inbound_form(OMAR, "Call me please"), s), s, utcnow())
    assert verdict(store, OMAR).allowed is True


def test_a_withdrawal_stops_texts_until_the_client_texts_again(store: Engine) -> None:
    grant(store, JANE)
    grant(store, JANE, action="revoke", method="verbal")
    refused = verdict(store, JANE)
    assert refused.allowed is False
    assert "withdrew consent" in refused.detail
    text_in(store, JANE, "Actually, texting is fine, what's the update?")
    assert verdict(store, JANE).basis == "inbound_text"
    assert [r.action for r in queries.consents.listing(store, JANE)] == ["grant", "revoke"]  # append-only


@pytest.mark.parametrize(
    ("phone", "method", "scope", "message"),
    [
        ("not a number", "verbal", "all matters", "is not a phone number"),
        ("555-0100-99999", "verbal", "all matters", "is not a phone number"),
        (JANE, "carrier pigeon", "all matters", "unknown method"),
        (JANE, "verbal", "  ", "needs a scope"),
    ],
)
def test_a_consent_that_cannot_be_taken_is_refused_and_nothing_is_written(
    store: Engine, phone: str, method: str, scope: str, message: str
) -> None:
    with pytest.raises(MatterlineError, match=message), store.begin() as conn:
        consent.record(conn, phone, action="grant", method=method, scope=scope, captured_by="alice", region="US")
    assert count(store, consents) == 0
    assert count(store, audit_log) == 0


def _contact(value: Any) -> Any:
    spec = CLIO.resources["clients"]
    fields = {**spec.fields}
    fields["sms_consent"] = compile_path("custom_field_values[field_name=SMS consent].value")
    raw = {
        "id": 5,
        "name": "Cara Diaz",
        "is_client": True,
        "phone_numbers": [{"number": "3128675309", "primary": True}],
        "custom_field_values": [] if value is None else [{"field_name": "SMS consent", "value": value}],
    }
    return read_contact(replace(spec, fields=fields), raw, "US")


def test_the_cms_consent_field_feeds_the_ledger_only_when_it_changes(store: Engine) -> None:
    def sync(value: Any) -> list[tuple[str, str]]:
        with store.begin() as conn:
            apply(conn, "clients", [_contact(value)], now=utcnow())
        return [(r.action, r.method) for r in queries.consents.listing(store, CARA)]

    assert sync(None) == []
    assert sync("true") == [("grant", "cms_field")]
    assert sync("true") == [("grant", "cms_field")]  # unchanged: nothing new
    assert sync(False) == [("grant", "cms_field"), ("revoke", "cms_field")]
    assert verdict(store, CARA).allowed is False


def test_a_blank_cms_field_never_revokes_a_consent_staff_recorded(store: Engine) -> None:
    grant(store, CARA, method="verbal")
    with store.begin() as conn:
        apply(conn, "clients", [_contact(False)], now=utcnow())
    assert [r.method for r in queries.consents.listing(store, CARA)] == ["verbal"]
    assert verdict(store, CARA).allowed is True


def test_the_newest_row_of_several_numbers_is_read_at_once(store: Engine) -> None:
    grant(store, JANE)
    grant(store, JANE, action="revoke", method="verbal")
    grant(store, OMAR)
    with store.connect() as conn:
        newest = consent.latest_of(conn, [JANE, OMAR, "+14155550123", JANE])
        assert consent.latest_of(conn, []) == {}
    assert {phone: row.action for phone, row in newest.items()} == {JANE: "revoke", OMAR: "grant"}
