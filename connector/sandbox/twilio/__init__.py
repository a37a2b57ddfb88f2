"""The sandbox Twilio: an in-memory account plus a WSGI app that speaks Api v2010's Messages resource.

Nothing in Matterline may call real Twilio, so the worker, its tests, the benchmarks and the demo send
through this stand-in with the real `twilio` library (`client.api.base_url = <origin>`). It keeps
Twilio's shapes and habits because a worker that copes here must cope there: Basic auth with the
account SID and auth token, form-encoded creates, the legacy error body `{code, message, more_info,
status}` with Twilio's own codes, RFC 2822 dates, GSM-7/UCS-2 segment counts, the list envelope with
`next_page_uri`, status callbacks signed with `X-Twilio-Signature` that arrive when the test says so
(and out of order when it asks), and inbound webhooks built and signed as Twilio builds them.
"""

from __future__ import annotations

from connector.sandbox.stats import TwilioStats
from connector.sandbox.twilio.app import TwilioApp, create_twilio_app
from connector.sandbox.twilio.constants import (
    API_VERSION,
    CREATE_PARAMS,
    SANDBOX_ACCOUNT_SID,
    SANDBOX_AUTH_TOKEN,
    SANDBOX_FIRM_NUMBER,
    SANDBOX_MESSAGING_SERVICE_SID,
    SANDBOX_POOL_NUMBERS,
)
from connector.sandbox.twilio.faults import TwilioFaultQueue, twilio_fault
from connector.sandbox.twilio.responses import TwilioApiError
from connector.sandbox.twilio.segments import count_segments
from connector.sandbox.twilio.state import TwilioState
from connector.sandbox.twilio.store import MediaItem, QueuedCallback, TwilioRequest
from connector.sandbox.twilio.webhooks import build_inbound, post_signed, twilio_signature

__all__ = [
    "API_VERSION",
    "CREATE_PARAMS",
    "SANDBOX_ACCOUNT_SID",
    "SANDBOX_AUTH_TOKEN",
    "SANDBOX_FIRM_NUMBER",
    "SANDBOX_MESSAGING_SERVICE_SID",
    "SANDBOX_POOL_NUMBERS",
    "MediaItem",
    "QueuedCallback",
    "TwilioApiError",
    "TwilioApp",
    "TwilioFaultQueue",
    "TwilioRequest",
    "TwilioState",
    "TwilioStats",
    "build_inbound",
    "count_segments",
    "create_twilio_app",
    "post_signed",
    "twilio_fault",
    "twilio_signature",
]
