"""MMS media is fetched only from Twilio's hosts, with Twilio's credentials."""

from __future__ import annotations

import pytest

from connector.messaging.media import MediaError, fetch, trusted
from connector.sandbox import SANDBOX_ACCOUNT_SID, SANDBOX_AUTH_TOKEN, TwilioServer, TwilioState
from tests.support.firm import FIRM_NUMBER, JANE
from tests.support.firm import settings as firm_settings


def test_media_from_twilio_is_fetched_with_the_credentials() -> None:
    with TwilioServer(TwilioState(incoming_numbers=(FIRM_NUMBER,))) as twilio:
        settings = firm_settings(
            TWILIO_ACCOUNT_SID=SANDBOX_ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=SANDBOX_AUTH_TOKEN,
            MATTERLINE_TWILIO_API_URL=twilio.origin,
        )
        params, _ = twilio.state.build_inbound(
            "https://texts.firm.example/webhooks/twilio/sms",
            JANE,
            FIRM_NUMBER,
            media=[("image/jpeg", b"\xff\xd8\xff\xe0 a photo of the lease")],
        )
        media = fetch(params["MediaUrl0"], settings)
        assert media.content.endswith(b"a photo of the lease")
        assert media.content_type == "image/jpeg"
        wrong = firm_settings(
            TWILIO_ACCOUNT_SID=SANDBOX_ACCOUNT_SID,
            TWILIO_AUTH_TOKEN="not-the-token",
            MATTERLINE_TWILIO_API_URL=twilio.origin,
        )
        with pytest.raises(MediaError, match="HTTP 401"):
            fetch(params["MediaUrl0"], wrong)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        "http://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        "https://api.twilio.com.evil.example/x",
        "https://user@evil.example/x",
    ],
)
def test_a_url_that_is_not_twilios_never_gets_the_credentials(url: str) -> None:
    settings = firm_settings()
    assert not trusted(url, settings)
    with pytest.raises(MediaError, match="not a Twilio host"):
        fetch(url, settings)


def test_twilios_api_host_is_trusted() -> None:
    assert trusted("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", firm_settings())
