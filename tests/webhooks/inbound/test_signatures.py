"""Twilio's signature check during an auth-token rotation: the primary or TWILIO_AUTH_TOKEN_SECONDARY, never neither.

Signed with Twilio's real algorithm (twilio-python's RequestValidator), posted through the app as Twilio would.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, func, select
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from connector.errors import MatterlineError
from connector.store.tables import messages
from tests.support.firm import JANE, PUBLIC_URL, TWILIO_TOKEN, inbound_form, seed, settings, signed
from webhooks import create_app
from webhooks.inbound.signatures import verify_twilio

SMS = "/webhooks/twilio/sms"
NEW_TOKEN = "the-new-twilio-auth-token"
STRANGER = "another-accounts-token"


def stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(messages)).scalar_one())


def test_while_rotating_a_text_signed_with_either_token_is_taken_and_any_other_refused(engine: Engine) -> None:
    # The app while the admin rotates: one token set as TWILIO_AUTH_TOKEN, the other as the secondary.
    seed(engine)
    client = create_app(settings(TWILIO_AUTH_TOKEN_SECONDARY=NEW_TOKEN), engine).test_client()
    cases: list[tuple[str, Callable[[dict[str, str]], dict[str, str]], int, str | None]] = [
        ("primary", lambda params: signed(SMS, params, token=TWILIO_TOKEN), 200, None),
        ("secondary", lambda params: signed(SMS, params, token=NEW_TOKEN), 200, None),
        ("neither", lambda params: signed(SMS, params, token=STRANGER), 403, "signature_invalid"),
        ("unsigned", lambda params: {}, 403, "signature_missing"),
    ]
    for name, headers_for, status, code in cases:
        before = stored(engine)
        params = inbound_form(JANE, "Is my hearing still on Friday?")
        response = client.post(SMS, data=params, headers=headers_for(params))
        assert response.status_code == status, name
        if code is None:
            assert stored(engine) == before + 1, name
        else:
            assert response.get_json()["error"]["code"] == code, name
            assert stored(engine) == before, name


def form() -> MultiDict[str, str]:
    return MultiDict(inbound_form(JANE))


def test_the_secondary_alone_does_not_open_the_door() -> None:
    # Without TWILIO_AUTH_TOKEN everything is refused, even a request the secondary signed.
    url, params = f"{PUBLIC_URL}{SMS}", form()
    signature = RequestValidator(NEW_TOKEN).compute_signature(url, params)
    with pytest.raises(MatterlineError) as refused:
        verify_twilio(None, url, params, signature, secondary=NEW_TOKEN)
    assert refused.value.code == "twilio_auth_token_missing"


def test_the_secondary_is_also_tried_with_the_default_port() -> None:
    # Twilio has signed URLs with and without :443; the secondary gets the same allowance as the primary.
    params = form()
    signature = RequestValidator(NEW_TOKEN).compute_signature(f"https://texts.firm.example:443{SMS}", params)
    verify_twilio(TWILIO_TOKEN, f"{PUBLIC_URL}{SMS}", params, signature, secondary=NEW_TOKEN)
    with pytest.raises(MatterlineError) as refused:
        verify_twilio(TWILIO_TOKEN, f"{PUBLIC_URL}{SMS}", params, signature)
    assert refused.value.code == "signature_invalid"
