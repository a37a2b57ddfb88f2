"""Twilio's vocabulary (parameters, statuses, error codes) and the sandbox account's fixtures, in one place.

The parameter tables were read once from `twilio_api_v2010.json`; the spec is never loaded at runtime.
"""

from __future__ import annotations

import re
from typing import Final

API_VERSION: Final = "2010-04-01"
ACCOUNTS_PREFIX: Final = f"/{API_VERSION}/Accounts/"
PUBLIC_API_ORIGIN: Final = "https://api.twilio.com"
SANDBOX_ACCOUNT_SID: Final = "ACa1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"
SANDBOX_AUTH_TOKEN: Final = "sandbox-twilio-token"  # noqa: S105 - a well-known sandbox fixture, not a secret
SANDBOX_FIRM_NUMBER: Final = "+16175550100"
SANDBOX_MESSAGING_SERVICE_SID: Final = "MG0f1e2d3c4b5a69788796a5b4c3d2e1f0"
SANDBOX_POOL_NUMBERS: Final = ("+16175550101", "+16175550102", "+16175550103")
MESSAGES_PATH: Final = "/Messages.json"
MORE_INFO: Final = "https://www.twilio.com/docs/errors/{code}"
CALLBACK_TIMEOUT: Final = 15.0  # Twilio's own default total time for a webhook
USER_AGENT: Final = "TwilioProxy/1.1"
SIGNATURE_HEADER: Final = "X-Twilio-Signature"
IDEMPOTENCY_HEADER: Final = "I-Twilio-Idempotency-Token"
MAX_BODY: Final = 1600
MAX_MEDIA: Final = 10
DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 1000
PRICE_PER_SEGMENT: Final = 0.0079

# The form fields of `CreateMessageRequest` (POST .../Messages.json), in the spec's order.
CREATE_PARAMS: Final = (
    "To",
    "StatusCallback",
    "ApplicationSid",
    "MaxPrice",
    "ProvideFeedback",
    "Attempt",
    "ValidityPeriod",
    "ForceDelivery",
    "ContentRetention",
    "AddressRetention",
    "SmartEncoded",
    "PersistentAction",
    "TrafficType",
    "ShortenUrls",
    "ScheduleType",
    "SendAt",
    "SendAsMms",
    "ContentVariables",
    "RiskCheck",
    "From",
    "FallbackFrom",
    "MessagingServiceSid",
    "Body",
    "MediaUrl",
    "ContentSid",
)
LIST_PARAMS: Final = ("To", "From", "DateSent", "DateSent<", "DateSent>", "PageSize", "Page", "PageToken")
MESSAGE_STATUSES: Final = (
    "queued",
    "sending",
    "sent",
    "failed",
    "delivered",
    "undelivered",
    "receiving",
    "received",
    "accepted",
    "scheduled",
    "read",
    "partially_delivered",
    "canceled",
)
# Twilio's single-word keywords: they toggle the recipient's block list even without Advanced Opt-Out.
OPT_OUT_KEYWORDS: Final = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN_KEYWORDS: Final = frozenset({"START", "YES", "UNSTOP"})

# Delivery errors the stand-in can play back: the code, Twilio's text, and whether the message fails
# before it is sent (`failed`) or after the carrier had it (`sent` then `undelivered`).
DELIVERY_ERRORS: Final[dict[int, tuple[str, bool]]] = {
    30001: ("Queue overflow", True),
    30002: ("Account suspended", True),
    30003: ("Unreachable destination handset", False),
    30004: ("Message blocked", False),
    30005: ("Unknown destination handset", False),
    30006: ("Landline or unreachable carrier", False),
    30007: ("Message filtered", False),
    30008: ("Unknown error", False),
    30034: ("US A2P 10DLC - Message from an Unregistered Number", True),
}

_E164: Final = re.compile(r"^\+[1-9]\d{1,14}$")
_ACCOUNT_SID: Final = re.compile(r"^AC[0-9a-fA-F]{32}$")
_SERVICE_SID: Final = re.compile(r"^MG[0-9a-fA-F]{32}$")
