"""The webhooks Twilio sends a receiver (inbound texts, status callbacks), built, signed and POSTed as Twilio does."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

import phonenumbers
import requests
from twilio.request_validator import RequestValidator

from connector.sandbox.twilio.constants import (
    API_VERSION,
    CALLBACK_TIMEOUT,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    USER_AGENT,
)
from connector.sandbox.twilio.segments import count_segments


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """`X-Twilio-Signature` for a form POST: the twilio library's own HMAC-SHA1 over URL + sorted params."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(params)))


def _country(number: str) -> str:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number, None)) or ""
    except phonenumbers.NumberParseException:
        return ""


def build_inbound(
    url: str,
    *,
    auth_token: str,
    account_sid: str,
    message_sid: str,
    from_: str,
    to: str,
    body: str = "",
    media: Sequence[tuple[str, str]] = (),
    messaging_service_sid: str | None = None,
    opt_out_type: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], str]:
    """The form Twilio POSTs for an incoming SMS/MMS, and its `X-Twilio-Signature` for `url`.

    Pure, so a load generator can pre-build and pre-sign thousands, and a test can post one twice.
    `media` is (MediaUrl, MediaContentType) pairs; `extra` adds or overrides fields before signing,
    since Twilio adds fields without notice and a receiver must validate whatever arrives.
    """
    params: dict[str, str] = {
        "ToCountry": _country(to),
        "ToState": "",
        "SmsMessageSid": message_sid,
        "NumMedia": str(len(media)),
        "ToCity": "",
        "FromZip": "",
        "SmsSid": message_sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": _country(from_),
        "To": to,
    }
    if messaging_service_sid is not None:
        params["MessagingServiceSid"] = messaging_service_sid
    params.update(
        {
            "ToZip": "",
            "NumSegments": str(count_segments(body)),
            "MessageSid": message_sid,
            "AccountSid": account_sid,
            "From": from_,
            "ApiVersion": API_VERSION,
        }
    )
    for index, (media_url, content_type) in enumerate(media):
        params[f"MediaContentType{index}"] = content_type
        params[f"MediaUrl{index}"] = media_url
    if opt_out_type is not None:
        params["OptOutType"] = opt_out_type
    params.update(extra or {})
    return params, twilio_signature(auth_token, url, params)


def _idempotency_token(params: Mapping[str, str]) -> str:
    """Stable per webhook (a retry carries the same token), distinct across webhooks."""
    digest = hashlib.sha256(json.dumps(sorted(params.items())).encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def post_signed(
    url: str,
    params: Mapping[str, str],
    signature: str,
    *,
    session: requests.Session | None = None,
    timeout: float = CALLBACK_TIMEOUT,
) -> requests.Response:
    """POST a signed webhook form the way Twilio does (form body, signature, proxy headers)."""
    headers = {
        SIGNATURE_HEADER: signature,
        IDEMPOTENCY_HEADER: _idempotency_token(params),
        "User-Agent": USER_AGENT,
        "X-Home-Region": "us1",
    }
    sender = session if session is not None else requests
    return sender.post(url, data=dict(params), headers=headers, timeout=timeout)
