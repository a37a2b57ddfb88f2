"""What the command-line tests share: a seeded firm with the Twilio stand-in, the store behind it, and the
audit log as `matterline audit` prints it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from connector.sandbox import SANDBOX_ACCOUNT_SID, SANDBOX_AUTH_TOKEN, TwilioServer, TwilioState
from connector.store import make_engine
from tests.support import firm
from tests.support.command import run


@pytest.fixture
def texting(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """A seeded firm and the Twilio stand-in, configured as an admin would."""
    run(env, "init")
    engine = make_engine(env["MATTERLINE_DATABASE_URL"])
    firm.seed(engine)
    engine.dispose()
    with TwilioServer(TwilioState(incoming_numbers=(firm.FIRM_NUMBER,))) as twilio:
        yield {
            **env,
            "MATTERLINE_FIRM_NUMBERS": firm.FIRM_NUMBER,
            "TWILIO_ACCOUNT_SID": SANDBOX_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": SANDBOX_AUTH_TOKEN,
            "MATTERLINE_TWILIO_API_URL": twilio.origin,
            "MATTERLINE_QUIET_HOURS": "off",  # sends here go at any hour; tests/test_outbound.py covers holding
        }


@pytest.fixture
def store(texting: dict[str, str]) -> Iterator[Engine]:
    """The store the `texting` commands use, to look at what they changed."""
    engine = make_engine(texting["MATTERLINE_DATABASE_URL"])
    yield engine
    engine.dispose()


@pytest.fixture
def audit_log(texting: dict[str, str]) -> Callable[..., list[dict[str, Any]]]:
    """The audit log as `matterline audit --json` prints it, optionally one action's entries only."""

    def read(action: str | None = None) -> list[dict[str, Any]]:
        code, out, err = run(texting, "audit", "--json", *(("--action", action) if action else ()))
        assert code == 0, err
        entries: list[dict[str, Any]] = json.loads(out)
        return entries

    return read


@pytest.fixture
def user(texting: dict[str, str]) -> Callable[..., dict[str, Any]]:
    """Add a person with `matterline users add`; what it printed as JSON (id, email, role, token)."""

    def add(name: str, email: str, role: str) -> dict[str, Any]:
        code, out, err = run(texting, "users", "add", "--name", name, "--email", email, "--role", role, "--json")
        assert code == 0, err
        added: dict[str, Any] = json.loads(out)
        return added

    return add
