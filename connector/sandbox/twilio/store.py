"""The sandbox Twilio account's identity, numbers and stored messages, which every concern of the state shares."""

from __future__ import annotations

import hmac
import itertools
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connector.sandbox.faults import FaultQueue
from connector.sandbox.stats import TwilioStats
from connector.sandbox.twilio.constants import (
    _ACCOUNT_SID,
    _SERVICE_SID,
    ACCOUNTS_PREFIX,
    API_VERSION,
    PUBLIC_API_ORIGIN,
)
from connector.sandbox.twilio.faults import TwilioFaultQueue
from connector.sandbox.twilio.formats import _require_e164, make_sid, rfc2822
from connector.sandbox.twilio.responses import TwilioApiError
from connector.sandbox.twilio.segments import count_segments


@dataclass(frozen=True, slots=True)
class TwilioRequest:
    """One API request as received; `path` is relative to `/2010-04-01/Accounts/{AccountSid}`."""

    method: str
    path: str
    query: list[tuple[str, str]]
    form: list[tuple[str, str]]
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class MediaItem:
    """One media file of a message: what `MediaUrl{N}` points at."""

    sid: str
    parent_sid: str
    content_type: str
    content: bytes
    date_created: datetime


@dataclass(frozen=True, slots=True)
class QueuedCallback:
    """A status callback waiting for `deliver_callbacks`: the URL it is signed for and its form."""

    sid: str
    status: str
    url: str
    params: Mapping[str, str]


@dataclass(slots=True)
class _Message:
    """A stored message; mutable because its status moves on after the create answer."""

    sid: str
    seq: int
    direction: str
    to: str
    from_: str | None
    body: str
    status: str
    date_created: datetime
    date_updated: datetime
    num_media: int
    num_segments: int
    messaging_service_sid: str | None = None
    status_callback: str | None = None
    date_sent: datetime | None = None
    error_code: int | None = None
    error_message: str | None = None
    price: str | None = None
    media: list[str] = field(default_factory=list)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class TwilioStore:
    """The account's identity and numbers, its messages, request log and fault plan; one re-entrant lock guards all.

    Per-number behaviour is plain data a test sets: `opted_out` (creates answer 21610), `landlines`
    (21614), `undeliverable[number] = code` (delivery ends `undelivered`, or `failed` for codes that
    fail before sending); `builtin_opt_out` lets an inbound STOP/START toggle `opted_out`.
    """

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        incoming_numbers: Iterable[str],
        messaging_service_sid: str | None,
        messaging_service_numbers: Iterable[str],
        clock: Callable[[], datetime] | None,
    ) -> None:
        if not _ACCOUNT_SID.match(account_sid):
            raise ValueError("account_sid must match ^AC[0-9a-fA-F]{32}$")
        if messaging_service_sid is not None and not _SERVICE_SID.match(messaging_service_sid):
            raise ValueError("messaging_service_sid must match ^MG[0-9a-fA-F]{32}$")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.incoming_numbers = tuple(_require_e164(n, "incoming number") for n in incoming_numbers)
        self.messaging_service_sid = messaging_service_sid
        self.messaging_service_numbers = tuple(_require_e164(n, "pool number") for n in messaging_service_numbers)
        if messaging_service_sid is not None and not self.messaging_service_numbers:
            raise ValueError("a Messaging Service needs at least one number in its pool")
        self._clock = clock or _utc_now
        self._lock = threading.RLock()
        self._messages: dict[str, _Message] = {}
        self._in_order = True
        self._latest = datetime.min.replace(tzinfo=UTC)
        self._seq = itertools.count(1)
        self.opted_out: set[str] = set()
        self.landlines: set[str] = set()
        self.undeliverable: dict[str, int] = {}
        self.strict_numbers = True
        self.builtin_opt_out = True
        self.record_requests = False
        self.requests: list[TwilioRequest] = []
        self.api_origin = PUBLIC_API_ORIGIN
        self.faults: FaultQueue = TwilioFaultQueue()
        self.stats = TwilioStats()

    # -- clock, auth, numbers ------------------------------------------------------------------------

    def now(self) -> datetime:
        """The state's clock, to the whole second."""
        return self._clock().astimezone(UTC).replace(microsecond=0)

    @property
    def numbers(self) -> frozenset[str]:
        """Every number the account owns: its own plus the Messaging Service pool."""
        return frozenset(self.incoming_numbers) | frozenset(self.messaging_service_numbers)

    def is_authorized(self, username: str, password: str) -> bool:
        """True for Basic credentials `account_sid:auth_token` (compared in constant time)."""
        user_ok = hmac.compare_digest(username.encode(), self.account_sid.encode())
        return hmac.compare_digest(password.encode(), self.auth_token.encode()) and user_ok

    def record(self, request: TwilioRequest) -> None:
        """Append to the request log (only called when `record_requests` is on)."""
        with self._lock:
            self.requests.append(request)

    def account_path(self, suffix: str = "") -> str:
        """`/2010-04-01/Accounts/{AccountSid}` plus a suffix such as `/Messages.json`."""
        return f"{ACCOUNTS_PREFIX}{self.account_sid}{suffix}"

    # -- messages ------------------------------------------------------------------------------------

    def _new_sid(self, prefix: str) -> tuple[str, int]:
        seq = next(self._seq)
        return make_sid(prefix, seq, self.account_sid), seq

    def _require_message(self, sid: str) -> _Message:
        message = self._messages.get(sid)
        if message is None:
            raise TwilioApiError(
                404, 20404, f"The requested resource {self.account_path(f'/Messages/{sid}.json')} was not found"
            )
        return message

    def render(self, message: _Message) -> dict[str, Any]:
        """The message as `api.v2010.account.message` JSON."""
        uri = self.account_path(f"/Messages/{message.sid}.json")
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": message.body,
            "date_created": rfc2822(message.date_created),
            "date_sent": rfc2822(message.date_sent) if message.date_sent else None,
            "date_updated": rfc2822(message.date_updated),
            "direction": message.direction,
            "error_code": message.error_code,
            "error_message": message.error_message,
            "from": message.from_,
            "messaging_service_sid": message.messaging_service_sid,
            "num_media": str(message.num_media),
            "num_segments": str(message.num_segments),
            "price": message.price,
            "price_unit": "USD",
            "sid": message.sid,
            "status": message.status,
            "subresource_uris": {"media": self.account_path(f"/Messages/{message.sid}/Media.json")},
            "to": message.to,
            "uri": uri,
        }

    def _send_queued(self) -> None:
        """Move on the messages whose turn to be sent has come (lock held); delivery's to say when."""

    def message(self, sid: str) -> dict[str, Any]:
        """One message's JSON (raises `TwilioApiError` 404 / 20404 when unknown)."""
        with self._lock:
            self._send_queued()
            return self.render(self._require_message(sid))

    def messages(self, *, to: str | None = None, from_: str | None = None) -> list[dict[str, Any]]:
        """Every stored message (optionally filtered), newest first, as JSON."""
        with self._lock:
            self._send_queued()
            return [
                self.render(m)
                for m in self._newest_first()
                if (to is None or m.to == to) and (from_ is None or m.from_ == from_)
            ]

    def _newest_first(self) -> list[_Message]:
        """Newest first by `date_created`, then creation order; no sort while the clock only moved forward."""
        if self._in_order:
            return list(reversed(self._messages.values()))
        return sorted(self._messages.values(), key=lambda m: (m.date_created, m.seq), reverse=True)

    def _store(self, message: _Message) -> None:
        if message.date_created < self._latest:
            self._in_order = False
        self._latest = max(self._latest, message.date_created)
        self._messages[message.sid] = message

    @staticmethod
    def _segments(body: str, num_media: int) -> int:
        """An MMS is one message however long its text; an SMS is billed per segment."""
        return 1 if num_media else count_segments(body)
