"""What the connection page reads: tokens by their times only, subscriptions per model, the write queue's
pause, the unreadable phone numbers as typed, and the URLs Twilio must call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, update

from connector.cms.auth import TokenStore
from connector.jobs import kinds, outbox
from connector.queries import connection as queries
from connector.settings import Settings, load_settings
from connector.store.tables import contacts
from connector.sync.ingest import apply
from connector.sync.records import read_contact
from mappings import load_mapping

CLIO = load_mapping("clio")
KEY = "a-secret-key-for-sealing-tokens"
NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


def settings(**env: str) -> Settings:
    return load_settings({"MATTERLINE_SECRET_KEY": KEY, **env}, env_file=None)


def test_tokens_are_reported_as_set_and_stored_with_their_times_never_their_values(engine: Engine) -> None:
    oauth = settings(
        MATTERLINE_CMS_CLIENT_ID="app-id",
        MATTERLINE_CMS_CLIENT_SECRET="app-secret-value",
        MATTERLINE_CMS_REFRESH_TOKEN="refresh-token-value",
    )
    before = queries.tokens(engine, oauth, CLIO)
    assert (before.method, before.stored, before.refreshed_at, before.expires_at) == ("oauth", False, None, None)
    assert before.refresh_token_set
    assert before.client_secret_set
    assert not before.access_token_set
    TokenStore(engine, CLIO.id, KEY).save("access-token-value", "refresh-token-value", 3600)
    after = queries.tokens(engine, oauth, CLIO)
    assert after.stored
    assert after.stored_access
    assert after.stored_refresh
    assert not after.expired
    assert after.refreshed_at is not None
    assert after.expires_at is not None
    assert timedelta(minutes=59) < after.expires_at - after.refreshed_at <= timedelta(hours=1)
    assert "token-value" not in repr(after)
    assert "app-secret" not in repr(after)
    assert queries.tokens(engine, settings(MATTERLINE_CMS_ACCESS_TOKEN="x" * 20), CLIO).method == "access_token"
    assert queries.tokens(engine, settings(), CLIO).method == "none"


def test_every_watched_model_is_listed_even_before_any_subscription(engine: Engine) -> None:
    listed = queries.subscriptions(engine, settings(), CLIO)
    assert [(s.model, s.status, s.expires_at) for s in listed] == [
        ("contact", "none", None),
        ("matter", "none", None),
        ("calendar_entry", "none", None),
    ]


def test_a_write_queue_held_for_refused_credentials_is_a_pause_with_its_reason(engine: Engine) -> None:
    assert queries.queue_pause(engine) is None
    with engine.begin() as conn:
        outbox.enqueue(conn, kinds.WRITE, kinds.write_key(1), {"writeback_id": 1}, now=NOW)
        outbox.enqueue(conn, kinds.WRITE, kinds.write_key(2), {"writeback_id": 2}, now=NOW)
    for job in outbox.lease(engine, "w", kinds=(kinds.WRITE,), now=NOW):
        with engine.begin() as conn:
            reason = "paused: invalid_auth: GET /api/v4/notes.json: HTTP 401: bad token"
            outbox.defer(conn, job, "w", reason, delay=timedelta(minutes=5), now=NOW)
    pause = queries.queue_pause(engine)
    assert pause is not None
    assert (pause.jobs, pause.credentials, pause.first_paused_at) == (2, True, NOW)
    assert pause.reason.startswith("invalid_auth:")
    assert pause.next_try_at == NOW + timedelta(minutes=5)


def test_unreadable_numbers_are_listed_as_typed_for_contacts_still_in_the_cms(engine: Engine) -> None:
    spec = CLIO.resources["clients"]
    raw = [
        {"id": 7, "name": "Zed Bad", "phone_numbers": [{"number": "call the office", "name": "Work"}]},
        {"id": 8, "name": "Al Gone", "phone_numbers": [{"number": "n/a", "name": "Home"}]},
        {"id": 9, "name": "Ok Person", "phone_numbers": [{"number": "(415) 867-5309", "name": "Mobile"}]},
    ]
    with engine.begin() as conn:
        apply(conn, "clients", [read_contact(spec, r, "US") for r in raw], now=NOW)
        conn.execute(update(contacts).where(contacts.c.cms_id == "8").values(deleted_at=NOW))
    phones, total = queries.unreadable_phones(engine)
    assert total == 1
    assert [(p.contact_cms_id, p.name, p.raw, p.label) for p in phones] == [("7", "Zed Bad", "call the office", "Work")]
    assert phones[0].error


def test_the_twilio_urls_come_from_the_public_url() -> None:
    firm = settings(
        MATTERLINE_PUBLIC_URL="https://texts.firm.example",
        MATTERLINE_FIRM_NUMBERS="+14155550100",
        TWILIO_AUTH_TOKEN="twilio-secret-token",
    )
    view = queries.twilio(firm, CLIO)
    assert view.sms_url == "https://texts.firm.example/webhooks/twilio/sms"
    assert view.status_url == "https://texts.firm.example/webhooks/twilio/status"
    assert view.cms_webhook_url == "https://texts.firm.example/webhooks/cms/clio"
    assert view.firm_numbers == ("+14155550100",)
    assert view.auth_token_set
    assert "twilio-secret-token" not in repr(view)
    unset = queries.twilio(settings(), CLIO)
    assert (unset.public_url, unset.sms_url, unset.auth_token_set) == (None, None, False)


def test_no_check_no_rate_limit_and_no_sync_request_before_any_was_made(engine: Engine) -> None:
    assert queries.last_check(engine) is None
    assert queries.rate_limit(engine) is None
    assert queries.sync_request(engine) is None
    assert [r.resource for r in queries.resources(engine, CLIO)] == [
        "clients",
        "matters",
        "relationships",
        "calendar_entries",
    ]
    assert all(r.counts is None and r.last_completed_at is None for r in queries.resources(engine, CLIO))
