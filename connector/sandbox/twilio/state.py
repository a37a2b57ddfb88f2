"""The sandbox Twilio account's whole state, composed from its concerns, so one object serves every server thread."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from connector.sandbox.twilio.constants import SANDBOX_ACCOUNT_SID, SANDBOX_AUTH_TOKEN, SANDBOX_FIRM_NUMBER
from connector.sandbox.twilio.inbound import Inbound
from connector.sandbox.twilio.messages import Messages


class TwilioState(Messages, Inbound):
    """The sandbox Twilio account: numbers, messages, media, queued callbacks, per-number behaviour.

    Shared by every server thread (one re-entrant lock). Per-number behaviour is plain data a test
    sets: `opted_out` (creates answer 21610), `landlines` (21614), `undeliverable[number] = code`
    (delivery ends `undelivered`, or `failed` for codes that fail before sending). The clock is
    injectable; stored times are whole seconds, as Twilio's are.
    """

    def __init__(
        self,
        *,
        account_sid: str = SANDBOX_ACCOUNT_SID,
        auth_token: str = SANDBOX_AUTH_TOKEN,
        incoming_numbers: Iterable[str] = (SANDBOX_FIRM_NUMBER,),
        messaging_service_sid: str | None = None,
        messaging_service_numbers: Iterable[str] = (),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(
            account_sid=account_sid,
            auth_token=auth_token,
            incoming_numbers=incoming_numbers,
            messaging_service_sid=messaging_service_sid,
            messaging_service_numbers=messaging_service_numbers,
            clock=clock,
        )
        self._init_media()
        self._init_delivery()
        self._init_messages()
