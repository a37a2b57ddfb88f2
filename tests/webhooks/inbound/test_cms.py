"""POST /webhooks/cms/<vendor>: the status matrix of a Clio delivery, on SQLite and PostgreSQL.

Requests are signed at test time with `hmac.new` (not with the code under test), and one known-answer
vector computed with `openssl dgst -sha256 -hmac` pins the algorithm so a broken signer cannot pass by
verifying its own mistakes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError
from werkzeug.test import TestResponse

from connector.crypto import SecretBox
from connector.settings import Settings
from connector.store.tables import (
    cms_webhooks,
    consents,
    contact_phones,
    contacts,
    matters,
    messages,
    pending_refresh,
)
from connector.sync import cms_webhooks as cms_module
from connector.sync.ingest import apply
from connector.sync.records import read_contact, read_matter
from mappings import load_mapping
from tests.support.clio_hooks import PHONE, wired
from tests.support.fixtures import FIXTURES_ROOT
from tests.support.inbox import Texted, text_in
from webhooks import create_app
from webhooks.inbound.signatures import decode_signature

FIXTURES = FIXTURES_ROOT / "webhooks" / "clio"
URL = "/webhooks/cms/clio"
CONFIGURED_SECRET = "whsec-configured-0b8e5d2a71c4"
SUBSCRIPTION_SECRET = "clio-shared-secret-4d7e19a0c3b2"
SECRET_KEY = "matterline-test-secret-key-0123456789"
CLIO = load_mapping("clio")
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

# Known-answer vector. The digests were computed with OpenSSL, not Python:
#   printf '%s' '<KAT_BODY>' | openssl dgst -sha256 -hmac 'whsec-clio-kat-3f9a1c'
#   printf '%s' '<KAT_BODY>' | openssl dgst -sha256 -hmac 'whsec-clio-kat-3f9a1c' -binary | base64
KAT_SECRET = "whsec-clio-kat-3f9a1c"
KAT_BODY = (
    rb'{"data":{"id":152,"etag":"\"9a103be2201ae758992733a91f02903f\""},'
    rb'"meta":{"event":"updated","webhook_id":1234}}'
)
KAT_HEX = "3e1bdadf74afcf46133cb0864d989371b46c90c1e42a431ba3789b5b34edfa4d"
KAT_BASE64 = "Phva33Svz0YTPLCGTZiTcbRskMHkKkMbo3ibWzTt+k0="


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def hex_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(client: FlaskClient, body: bytes, signature: str | None, url: str = URL) -> TestResponse:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hook-Signature"] = signature
    return client.post(url, data=body, headers=headers)


def add_subscription(
    engine: Engine, cms_id: str, model: str, *, secret: str | None = None, key: str = SECRET_KEY
) -> int:
    """A subscription row as `matterline webhooks renew` leaves it: pending, secret sealed."""
    sealed = SecretBox(key).seal(secret) if secret is not None else None
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(cms_webhooks)
                .values(
                    vendor="clio",
                    cms_id=cms_id,
                    model=model,
                    url=f"https://matterline.example-firm.com{URL}",
                    status="pending",
                    shared_secret=sealed,
                    expires_at=NOW + timedelta(days=30),
                    created_at=NOW,
                    updated_at=NOW,
                )
                .returning(cms_webhooks.c.id)
            ).scalar_one()
        )


def seed_store(engine: Engine) -> None:
    """Maria Alvarez and her open matter, as a sync left them before the deliveries arrive."""
    contact = read_contact(
        CLIO.resources["clients"],
        {
            "id": 1209815471,
            "name": "Maria Alvarez",
            "is_client": True,
            "phone_numbers": [{"number": "(415) 555-0142", "name": "Mobile", "primary": True}],
        },
        "US",
    )
    matter = read_matter(
        CLIO.resources["matters"],
        {
            "id": 1840023317,
            "display_number": "00142-Alvarez",
            "description": "Alvarez v. Pacific Freight Lines - personal injury",
            "status": "Open",
            "client": {"id": 1209815471},
            "responsible_attorney": {"id": 344912, "name": "Dana Whitfield"},
        },
    )
    with engine.begin() as conn:
        apply(conn, "clients", [contact], now=NOW)
        apply(conn, "matters", [matter], now=NOW)


def make_app(engine: Engine, db_url: str, **overrides: Any) -> Flask:
    values: dict[str, Any] = {
        "database_url": db_url,
        "cms_webhook_secret": CONFIGURED_SECRET,
        "secret_key": SECRET_KEY,
    }
    values.update(overrides)
    return create_app(Settings(**values), engine)


@pytest.fixture
def store(engine: Engine) -> Engine:
    """A migrated store with the contact/matter subscriptions registered and Maria's records synced."""
    seed_store(engine)
    add_subscription(engine, "5512034", "contact")
    add_subscription(engine, "5512035", "matter")
    return engine


@pytest.fixture
def client(store: Engine, db_url: str) -> FlaskClient:
    return make_app(store, db_url).test_client()


def contact_row(engine: Engine, cms_id: str = "1209815471") -> Any:
    with engine.connect() as conn:
        return conn.execute(select(contacts).where(contacts.c.cms_id == cms_id)).one_or_none()


def phones(engine: Engine, cms_id: str = "1209815471") -> list[str | None]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(contact_phones.c.e164)
                .join(contacts, contacts.c.id == contact_phones.c.contact_id)
                .where(contacts.c.cms_id == cms_id)
                .order_by(contact_phones.c.position)
            ).scalars()
        )


def matter_status(engine: Engine, cms_id: str = "1840023317") -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(matters.c.status).where(matters.c.cms_id == cms_id)).scalar_one())


def pending(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(pending_refresh.c.resource, pending_refresh.c.cms_id, pending_refresh.c.event))
        return sorted((r.resource, r.cms_id, r.event) for r in rows)


def subscription_status(engine: Engine, row_id: int) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(cms_webhooks.c.status).where(cms_webhooks.c.id == row_id)).scalar_one())


def assert_error(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    error = response.get_json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    for secret in (CONFIGURED_SECRET, SUBSCRIPTION_SECRET, SECRET_KEY):
        assert secret not in response.get_data(as_text=True)
    return dict(error)


def assert_store_untouched(engine: Engine) -> None:
    row = contact_row(engine)
    assert row.name == "Maria Alvarez"
    assert row.deleted_at is None
    assert phones(engine) == ["+14155550142"]
    assert matter_status(engine) == "open"
    assert pending(engine) == []


# --- routing ---------------------------------------------------------------------------------------


def test_given_get_then_405_with_allow_header(client: FlaskClient) -> None:
    response = client.get(URL)
    error = assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]
    assert "POST" in error["details"]["allowed"]


@pytest.mark.parametrize("vendor", ["mycase", "nonesuch"])
def test_given_vendor_other_than_configured_then_404(client: FlaskClient, vendor: str) -> None:
    body = fixture("contact__updated")
    response = post(client, body, hex_signature(CONFIGURED_SECRET, body), url=f"/webhooks/cms/{vendor}")
    assert_error(response, 404, "unknown_vendor")


# --- handshake -------------------------------------------------------------------------------------


def test_given_handshake_with_secret_of_stored_subscription_then_echoed_and_enabled(store: Engine, db_url: str) -> None:
    row_id = add_subscription(store, "5512099", "contact", secret=SUBSCRIPTION_SECRET)
    client = make_app(store, db_url).test_client()

    response = client.post(URL, headers={"X-Hook-Secret": SUBSCRIPTION_SECRET})

    assert response.status_code == 200
    assert response.headers["X-Hook-Secret"] == SUBSCRIPTION_SECRET
    assert subscription_status(store, row_id) == "enabled"


def test_given_handshake_with_configured_secret_then_echoed(client: FlaskClient, store: Engine) -> None:
    response = client.post(URL, headers={"X-Hook-Secret": CONFIGURED_SECRET}, data=fixture("contact__updated"))

    assert response.status_code == 200
    assert response.headers["X-Hook-Secret"] == CONFIGURED_SECRET
    # A handshake is only a handshake: the body is not applied.
    assert_store_untouched(store)


@pytest.mark.parametrize("offered", ["not-a-secret-we-know", "", CONFIGURED_SECRET.upper(), SUBSCRIPTION_SECRET + "x"])
def test_given_handshake_with_unknown_secret_then_403_and_nothing_enabled(
    store: Engine, db_url: str, offered: str
) -> None:
    row_id = add_subscription(store, "5512099", "contact", secret=SUBSCRIPTION_SECRET)
    client = make_app(store, db_url).test_client()

    response = client.post(URL, headers={"X-Hook-Secret": offered}, data=fixture("contact__updated"))

    assert_error(response, 403, "handshake_rejected")
    assert "X-Hook-Secret" not in response.headers
    assert subscription_status(store, row_id) == "pending"
    assert_store_untouched(store)


def test_given_no_secret_anywhere_then_handshake_rejected(store: Engine, db_url: str) -> None:
    client = make_app(store, db_url, cms_webhook_secret=None).test_client()
    response = client.post(URL, headers={"X-Hook-Secret": "anything"})
    assert_error(response, 403, "handshake_rejected")


# --- verification ----------------------------------------------------------------------------------


def test_given_no_secret_configured_or_stored_then_403_and_nothing_applied(store: Engine, db_url: str) -> None:
    client = make_app(store, db_url, cms_webhook_secret=None).test_client()
    body = fixture("contact__updated")

    response = post(client, body, hex_signature(CONFIGURED_SECRET, body))

    assert_error(response, 403, "webhook_secret_missing")
    assert_store_untouched(store)


def test_given_stored_secret_sealed_under_another_key_then_it_is_not_a_secret(store: Engine, db_url: str) -> None:
    add_subscription(store, "5512099", "contact", secret=SUBSCRIPTION_SECRET, key="some-other-secret-key-987654")
    client = make_app(store, db_url, cms_webhook_secret=None).test_client()
    body = fixture("contact__updated")

    response = post(client, body, hex_signature(SUBSCRIPTION_SECRET, body))

    assert_error(response, 403, "webhook_secret_missing")
    assert_store_untouched(store)


@pytest.mark.parametrize("signature", [None, "", "   "])
def test_given_no_signature_then_400_and_nothing_applied(
    client: FlaskClient, store: Engine, signature: str | None
) -> None:
    response = post(client, fixture("contact__updated"), signature)
    assert_error(response, 400, "signature_missing")
    assert_store_untouched(store)


@pytest.mark.parametrize(
    "signature",
    [
        "0" * 64,
        "not a signature",
        hex_signature(CONFIGURED_SECRET, b"")[:-2],
        hex_signature("wrong-secret", fixture("contact__updated")),
        base64.b64encode(b"x" * 32).decode(),
    ],
)
def test_given_bad_signature_then_403_and_nothing_applied(client: FlaskClient, store: Engine, signature: str) -> None:
    response = post(client, fixture("contact__updated"), signature)
    assert_error(response, 403, "signature_invalid")
    assert_store_untouched(store)


def test_given_signature_over_a_different_body_then_403(client: FlaskClient, store: Engine) -> None:
    signed = fixture("contact__updated")
    tampered = signed.replace(b"Alvarez-Reyes", b"Mallory")
    assert tampered != signed

    response = post(client, tampered, hex_signature(CONFIGURED_SECRET, signed))

    assert_error(response, 403, "signature_invalid")
    assert_store_untouched(store)


def test_given_reformatted_json_then_signature_no_longer_matches(client: FlaskClient, store: Engine) -> None:
    # The HMAC covers the exact bytes; re-serialised JSON with the same meaning must not pass.
    signed = fixture("contact__updated")
    compact = json.dumps(json.loads(signed), separators=(",", ":")).encode()

    response = post(client, compact, hex_signature(CONFIGURED_SECRET, signed))

    assert_error(response, 403, "signature_invalid")


def _encodings(digest: bytes) -> dict[str, str]:
    return {
        "hex": digest.hex(),
        "HEX": digest.hex().upper(),
        "base64": base64.b64encode(digest).decode(),
        "base64-unpadded": base64.b64encode(digest).decode().rstrip("="),
        "base64-urlsafe": base64.urlsafe_b64encode(digest).decode(),
    }


@pytest.mark.parametrize("encoding", ["hex", "HEX", "base64", "base64-unpadded", "base64-urlsafe"])
def test_given_signature_in_hex_or_base64_then_accepted(client: FlaskClient, store: Engine, encoding: str) -> None:
    body = fixture("contact__updated")
    digest = hmac.new(CONFIGURED_SECRET.encode(), body, hashlib.sha256).digest()

    response = post(client, body, _encodings(digest)[encoding])

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"status": "applied"}
    assert contact_row(store).name == "Maria Elena Alvarez-Reyes"


def test_known_answer_vector_from_openssl() -> None:
    assert hmac.new(KAT_SECRET.encode(), KAT_BODY, hashlib.sha256).hexdigest() == KAT_HEX
    assert decode_signature(KAT_HEX) == [bytes.fromhex(KAT_HEX)]
    assert decode_signature(KAT_BASE64) == [bytes.fromhex(KAT_HEX)]
    assert decode_signature(KAT_HEX.upper()) == [bytes.fromhex(KAT_HEX)]


@pytest.mark.parametrize("signature", [KAT_HEX, KAT_BASE64])
def test_given_known_answer_signature_then_endpoint_accepts_it(store: Engine, db_url: str, signature: str) -> None:
    add_subscription(store, "1234", "contact")
    client = make_app(store, db_url, cms_webhook_secret=KAT_SECRET).test_client()

    response = post(client, KAT_BODY, signature)

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"status": "queued"}
    assert pending(store) == [("clients", "152", "updated")]


def test_given_known_answer_signature_with_one_flipped_nibble_then_403(store: Engine, db_url: str) -> None:
    add_subscription(store, "1234", "contact")
    client = make_app(store, db_url, cms_webhook_secret=KAT_SECRET).test_client()
    flipped = ("f" if KAT_HEX[0] != "f" else "e") + KAT_HEX[1:]

    assert_error(post(client, KAT_BODY, flipped), 403, "signature_invalid")
    assert pending(store) == []


# --- applying changes ------------------------------------------------------------------------------


def test_given_contact_update_with_full_fields_then_name_and_phones_change(client: FlaskClient, store: Engine) -> None:
    body = fixture("contact__updated")

    response = post(client, body, hex_signature(CONFIGURED_SECRET, body))

    assert response.status_code == 200
    assert response.get_json() == {"status": "applied"}
    assert contact_row(store).name == "Maria Elena Alvarez-Reyes"
    assert phones(store) == ["+16282047781", "+14155550199"]
    assert pending(store) == []
    assert contact_row(store).state == "CA"  # the address state, for quiet hours
    with store.connect() as conn:  # the "SMS consent" custom field, into the consent ledger
        ledger = conn.execute(select(consents.c.phone, consents.c.method).order_by(consents.c.id)).all()
    assert [tuple(r) for r in ledger] == [("+16282047781", "cms_field"), ("+14155550199", "cms_field")]


def test_given_contact_created_with_full_fields_then_a_new_contact_is_stored(
    client: FlaskClient, store: Engine
) -> None:
    payload = json.loads(fixture("contact__updated"))
    payload["data"].update(id=1209815999, name="Jordan Pike", phone_numbers=[])
    payload["meta"]["event"] = "created"
    body = json.dumps(payload).encode()

    response = post(client, body, hex_signature(CONFIGURED_SECRET, body))

    assert response.get_json() == {"status": "applied"}
    assert contact_row(store, "1209815999").name == "Jordan Pike"


def test_given_matter_closed_then_status_closed(client: FlaskClient, store: Engine) -> None:
    body = fixture("matter__updated")

    response = post(client, body, hex_signature(CONFIGURED_SECRET, body))

    assert response.status_code == 200
    assert response.get_json() == {"status": "applied"}
    assert matter_status(store) == "closed"


def test_given_contact_deleted_then_soft_deleted(client: FlaskClient, store: Engine) -> None:
    body = fixture("contact__deleted")

    response = post(client, body, hex_signature(CONFIGURED_SECRET, body))

    assert response.status_code == 200
    assert response.get_json() == {"status": "deleted"}
    row = contact_row(store)
    assert row is not None, "a deleted contact keeps its history"
    assert row.deleted_at is not None


def test_given_id_only_payload_then_queued_once_for_the_worker(client: FlaskClient, store: Engine) -> None:
    body = fixture("contact__id_only")

    first = post(client, body, hex_signature(CONFIGURED_SECRET, body))
    second = post(client, body, hex_signature(CONFIGURED_SECRET, body))

    assert first.status_code == second.status_code == 200
    assert first.get_json() == second.get_json() == {"status": "queued"}
    assert pending(store) == [("clients", "1209815488", "updated")]
    assert contact_row(store, "1209815488") is None


def test_given_delete_after_id_only_update_then_refresh_is_dropped(client: FlaskClient, store: Engine) -> None:
    queued = json.loads(fixture("contact__id_only"))
    queued["data"]["id"] = 1209815471
    first = json.dumps(queued).encode()
    deleted = fixture("contact__deleted")

    assert post(client, first, hex_signature(CONFIGURED_SECRET, first)).get_json() == {"status": "queued"}
    assert post(client, deleted, hex_signature(CONFIGURED_SECRET, deleted)).get_json() == {"status": "deleted"}
    assert pending(store) == []


def test_given_subscription_secret_then_its_model_is_used_without_webhook_id(store: Engine, db_url: str) -> None:
    add_subscription(store, "5512099", "matter", secret=SUBSCRIPTION_SECRET)
    client = make_app(store, db_url, cms_webhook_secret=None).test_client()
    payload = json.loads(fixture("matter__updated"))
    del payload["meta"]["webhook_id"]
    body = json.dumps(payload).encode()

    response = post(client, body, hex_signature(SUBSCRIPTION_SECRET, body))

    assert response.get_json() == {"status": "applied"}
    assert matter_status(store) == "closed"


def test_given_unknown_webhook_id_then_422_and_nothing_applied(client: FlaskClient, store: Engine) -> None:
    payload = json.loads(fixture("contact__updated"))
    payload["meta"]["webhook_id"] = 999999
    body = json.dumps(payload).encode()

    response = post(client, body, hex_signature(CONFIGURED_SECRET, body))

    assert_error(response, 422, "unknown_model")
    assert_store_untouched(store)


@pytest.mark.parametrize(
    "body",
    [
        b'{"data": {"id": 1209815471, "name": "Maria"',
        b"\xff\xfe not utf-8",
        b"[]",
        b'{"meta": {"event": "updated", "webhook_id": 5512034}}',
        b'{"data": {"id": 1209815471}, "meta": {"webhook_id": 5512034}}',
        b'{"data": "1209815471", "meta": {"event": "updated", "webhook_id": 5512034}}',
        b'{"data": {"etag": "\\"x\\""}, "meta": {"event": "updated", "webhook_id": 5512034}}',
    ],
)
def test_given_malformed_body_after_valid_signature_then_400_and_nothing_applied(
    client: FlaskClient, store: Engine, body: bytes
) -> None:
    response = post(client, body, hex_signature(CONFIGURED_SECRET, body))
    assert_error(response, 400, "malformed_body")
    assert_store_untouched(store)


def test_given_unknown_event_then_200_ignored_and_nothing_applied(client: FlaskClient, store: Engine) -> None:
    body = fixture("matter__matter_pended")

    response = post(client, body, hex_signature(CONFIGURED_SECRET, body))

    assert response.status_code == 200
    assert response.get_json() == {"status": "ignored"}
    assert_store_untouched(store)


def test_given_rejected_requests_then_no_row_was_written_anywhere(client: FlaskClient, store: Engine) -> None:
    def counts() -> tuple[int, ...]:
        with store.connect() as conn:
            return tuple(
                int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for table in (contacts, contact_phones, matters, pending_refresh, cms_webhooks)
            )

    before = counts()
    body = fixture("contact__id_only")
    post(client, body, None)
    post(client, body, "0" * 64)
    post(client, body, hex_signature(CONFIGURED_SECRET, body + b" "))
    assert counts() == before


def test_given_concurrent_insert_of_the_same_contact_then_applied_as_update(
    client: FlaskClient, store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another writer (a second delivery, a sync page) inserts the contact between our read and our insert.
    if store.dialect.name == "sqlite":
        pytest.skip("SQLite transactions take the write lock at BEGIN: no writer can slip in between")
    payload = json.loads(fixture("contact__updated"))
    payload["data"].update(id=1209815777, name="Jordan Pike")
    payload["meta"]["event"] = "created"
    body = json.dumps(payload).encode()
    real_apply = cms_module.ingest.apply
    calls: list[int] = []

    def racing_apply(conn: Any, resource: str, records: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            stale = read_contact(CLIO.resources["clients"], {"id": 1209815777, "name": "J. Pike"}, "US")
            with store.begin() as other:
                real_apply(other, resource, [stale], now=NOW)
            raise IntegrityError("INSERT INTO contacts", {}, Exception("duplicate key value"))
        return real_apply(conn, resource, records, **kwargs)

    monkeypatch.setattr(cms_module.ingest, "apply", racing_apply)

    response = post(client, body, hex_signature(CONFIGURED_SECRET, body))

    assert response.get_json() == {"status": "applied"}
    assert len(calls) == 2
    assert contact_row(store, "1209815777").name == "Jordan Pike"
    assert phones(store, "1209815777") == ["+16282047781", "+14155550199"]


# --- the CMS never rolls the store back (Clio over real HTTP) ---------------------------------------


def filed_to(engine: Engine, texted: Texted) -> str | None:
    with engine.connect() as conn:
        found = conn.execute(select(messages.c.matter_cms_id).where(messages.c.id == texted.message_id)).scalar()
    return None if found is None else str(found)


def test_given_an_older_open_delivery_replayed_after_the_close_then_the_matter_stays_closed_and_texts_wait(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with wired(engine, db_url, monkeypatch) as firm:
        firm.state.update_matter(firm.matter_id, description="Quintero v. Harbor Transit - amended")
        assert firm.deliver() == [200]
        older = firm.deliveries.sent[-1]
        assert b'"status":"Open"' in older.body
        firm.clock.tick()
        firm.state.close_matter(firm.matter_id)
        assert firm.deliver() == [200]
        assert firm.matter() == ("closed", False)

        replayed = older.send()  # Clio retries a delivery it thinks failed: the same bytes, the same signature

        assert replayed.status_code == 200  # acknowledged, so Clio stops retrying it...
        assert replayed.json() == {"status": "stale"}  # ...and said to be older than what is kept
        assert firm.matter() == ("closed", False)
        assert filed_to(engine, text_in(engine, PHONE, "Any news on my case?")) is None


@pytest.mark.parametrize("late", ["replayed", "held back"])
def test_given_a_deleted_matter_then_an_older_update_arriving_after_the_deletion_does_not_bring_it_back(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, late: str
) -> None:
    with wired(engine, db_url, monkeypatch) as firm:
        firm.deliveries.holding = late == "held back"
        firm.state.update_matter(firm.matter_id, description="Quintero v. Harbor Transit - amended")
        firm.deliver()
        older = (firm.deliveries.held or firm.deliveries.sent)[-1]
        firm.deliveries.holding = False
        firm.clock.tick()
        firm.state.delete_matter(firm.matter_id)
        assert firm.deliver() == [200]
        assert firm.matter() == ("open", True)

        assert older.send().status_code == 200

        assert firm.matter() == ("open", True)
        assert filed_to(engine, text_in(engine, PHONE, "Any news on my case?")) is None


def test_given_a_deleted_contact_then_a_replayed_older_update_does_not_bring_it_or_its_number_back(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with wired(engine, db_url, monkeypatch) as firm:
        firm.state.update_contact(firm.contact_id, name="Rosa M. Quintero")
        assert firm.deliver() == [200]
        older = firm.deliveries.sent[-1]
        firm.clock.tick()
        firm.state.delete_contact(firm.contact_id)
        assert firm.deliver() == [200]

        assert older.send().status_code == 200

        assert firm.contact() == ("Rosa M. Quintero", True)
        assert filed_to(engine, text_in(engine, PHONE, "Hello?")) is None
