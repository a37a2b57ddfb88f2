"""A small firm in the store, written through the same ingest path a sync uses; shared by messaging tests."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from twilio.request_validator import RequestValidator

from connector.guardrails import consent as consents
from connector.sandbox import SANDBOX_ACCOUNT_SID, SANDBOX_AUTH_TOKEN, TwilioServer
from connector.settings import Settings, load_settings
from connector.sync.ingest import apply
from connector.sync.records import read_contact, read_matter
from mappings import load_mapping
from tests.support.fixtures import new_sid as new_sid
from tests.support.fixtures import twilio_form

CLIO = load_mapping("clio")
NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
FIRM_NUMBER = "+14155550100"
TWILIO_TOKEN = "test-twilio-auth-token"
TWILIO_SID = "AC" + "a1" * 16
PUBLIC_URL = "https://texts.firm.example"

# Jane has one open matter; Omar has two; the Lee family shares one number; Cara's only matter is closed.
JANE, OMAR, ANN_LEE, BO_LEE, CARA = "+14158675309", "+12128675309", "+16178675309", "+16178675309", "+13128675309"
CONTACTS: list[dict[str, Any]] = [
    {"id": 1, "name": "Jane Doe", "is_client": True, "phone_numbers": [{"number": "(415) 867-5309", "primary": True}]},
    {"id": 2, "name": "Omar Haddad", "is_client": True, "phone_numbers": [{"number": "212.867.5309", "primary": True}]},
    {"id": 3, "name": "Ann Lee", "is_client": True, "phone_numbers": [{"number": "617-867-5309", "primary": True}]},
    {"id": 4, "name": "Bo Lee", "is_client": True, "phone_numbers": [{"number": "+1 617 867 5309", "primary": True}]},
    {"id": 5, "name": "Cara Diaz", "is_client": True, "phone_numbers": [{"number": "3128675309", "primary": True}]},
]
MATTERS: list[dict[str, Any]] = [
    {"id": 101, "display_number": "00101-Doe", "description": "Doe custody", "status": "Open", "client": {"id": 1}},
    {"id": 102, "display_number": "00102-Doe", "description": "Doe estate", "status": "Closed", "client": {"id": 1}},
    {"id": 201, "display_number": "00201-Haddad", "description": "Haddad DUI", "status": "Open", "client": {"id": 2}},
    {"id": 202, "display_number": "00202-Haddad", "description": "Haddad lease", "status": "Open", "client": {"id": 2}},
    {"id": 301, "display_number": "00301-Lee", "description": "Lee v. Lee", "status": "Open", "client": {"id": 3}},
    {"id": 501, "display_number": "00501-Diaz", "description": "Diaz injury", "status": "Closed", "client": {"id": 5}},
]


def seed(engine: Engine, *, consent: bool = True) -> None:
    """Write the firm above into `engine`; with `consent`, every client agreed to texts in their engagement letter."""
    contacts = [read_contact(CLIO.resources["clients"], raw, "US") for raw in CONTACTS]
    matters = [read_matter(CLIO.resources["matters"], raw) for raw in MATTERS]
    with engine.begin() as conn:
        apply(conn, "clients", contacts, now=NOW)
        apply(conn, "matters", matters, now=NOW)
        for phone in sorted({JANE, OMAR, ANN_LEE, CARA} if consent else ()):
            consents.record(
                conn, phone, action="grant", method="engagement_letter", captured_by="seed", region="US", now=NOW
            )


def process_env(database_url: str, **env: str) -> dict[str, str]:
    """The environment of a `matterline` process serving this firm from `database_url`, as an admin starts one:
    this process's variables but its own MATTERLINE_* and metrics directory, plus the firm's settings."""
    inherited = {
        k: v for k, v in os.environ.items() if not k.startswith("MATTERLINE_") and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    return {
        **inherited,
        "MATTERLINE_DATABASE_URL": database_url,
        "MATTERLINE_SECRET_KEY": "a-firm-secret-key-" * 3,
        "MATTERLINE_FIRM_NUMBERS": FIRM_NUMBER,
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "MATTERLINE_PUBLIC_URL": PUBLIC_URL,
        "MATTERLINE_QUIET_HOURS": "off",
        **env,
    }


def settings(**env: str) -> Settings:
    """Settings for a firm with one number and Twilio credentials."""
    return load_settings(
        {
            "MATTERLINE_FIRM_NUMBERS": FIRM_NUMBER,
            "TWILIO_ACCOUNT_SID": TWILIO_SID,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "MATTERLINE_PUBLIC_URL": PUBLIC_URL,
            "MATTERLINE_FIRM_NAME": "Doe & Roe LLP",
            # Texts go at any hour here; tests/test_guardrails_quiet_hours.py and the quiet-hours send tests
            # set the window they are about.
            "MATTERLINE_QUIET_HOURS": "off",
            **env,
        },
        env_file=None,
    )


def inbound_form(from_: str, body: str = "Hello", **extra: str) -> dict[str, str]:
    """The form Twilio posts for an inbound text to the firm number (`sms__plain.json`), from `from_`.

    A fresh MessageSid (SmsSid and SmsMessageSid equal to it); `extra` is applied last, as given.
    """
    params = twilio_form("sms__plain", From=from_, Body=body)
    params.update(extra)
    return params


def signed(path: str, params: dict[str, str], token: str = TWILIO_TOKEN) -> dict[str, str]:
    """The X-Twilio-Signature header Twilio would send for `params` posted to the public URL + `path`."""
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(f"{PUBLIC_URL}{path}", params)}


def shut_window(zone: str = "America/Los_Angeles") -> str:
    """A quiet-hours window (`HH:MM-HH:MM`) that is shut right now in `zone` (Jane's, by default).

    For tests that go through the real clock (the CLI, the API): whatever time they run, a send is held.
    """
    hour = datetime.now(ZoneInfo(zone)).hour
    start = hour + 2 if hour < 20 else hour - 4
    return f"{start:02d}:00-{start + 1:02d}:00"


def via_twilio(twilio: TwilioServer | None = None, **env: str) -> Settings:
    """The firm's settings sending through the Twilio stand-in (when given), with no public URL."""
    extra = (
        {
            "TWILIO_ACCOUNT_SID": SANDBOX_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": SANDBOX_AUTH_TOKEN,
            "MATTERLINE_TWILIO_API_URL": twilio.origin,
        }
        if twilio
        else {}
    )
    return settings(MATTERLINE_PUBLIC_URL="", **extra, **env)
