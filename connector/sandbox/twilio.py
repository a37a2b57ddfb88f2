"""The sandbox Twilio: an in-memory account plus a WSGI app that speaks Api v2010's Messages resource.

Nothing in Matterline may call real Twilio, so the worker, its tests, the benchmarks and the demo send
through this stand-in with the real `twilio` library (`client.api.base_url = <origin>`). It keeps
Twilio's shapes and habits because a worker that copes here must cope there: Basic auth with the
account SID and auth token, form-encoded creates, the legacy error body `{code, message, more_info,
status}` with Twilio's own codes, RFC 2822 dates, GSM-7/UCS-2 segment counts, the list envelope with
`next_page_uri`, status callbacks signed with `X-Twilio-Signature` that arrive when the test says so
(and out of order when it asks), and inbound webhooks built and signed as Twilio builds them. The
parameter tables were read once from `twilio_api_v2010.json`; the spec is never loaded at runtime.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import mimetypes
import random
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING, Any, ClassVar, Final
from urllib.parse import parse_qsl, urlencode, urlsplit

import phonenumbers
import requests
from twilio.request_validator import RequestValidator
from werkzeug.wrappers import Request, Response

from connector.sandbox.faults import (
    Fault,
    FaultQueue,
    RequestStats,
    control_payload,
    drop_connection,
    immediate_response,
    pause,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

API_VERSION: Final = "2010-04-01"
ACCOUNTS_PREFIX: Final = f"/{API_VERSION}/Accounts/"
CONTROL_PREFIX: Final = "/_sandbox/"
PUBLIC_API_ORIGIN: Final = "https://api.twilio.com"
SANDBOX_ACCOUNT_SID: Final = "ACa1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"
SANDBOX_AUTH_TOKEN: Final = "sandbox-twilio-token"  # noqa: S105 - a well-known sandbox fixture, not a secret
SANDBOX_FIRM_NUMBER: Final = "+16175550100"
SANDBOX_MESSAGING_SERVICE_SID: Final = "MG0f1e2d3c4b5a69788796a5b4c3d2e1f0"
SANDBOX_POOL_NUMBERS: Final = ("+16175550101", "+16175550102", "+16175550103")
MESSAGES_PATH: Final = "/Messages.json"
MORE_INFO: Final = "https://www.twilio.com/docs/errors/{code}"
JSON_MIMETYPE: Final = "application/json"
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
FAULT_KINDS_SERVED: Final = frozenset({"status", "rate_limit", "slow", "drop", "applied_lost", "html", "broken_json"})
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

# GSM 03.38: the default alphabet (one septet each; ESC itself is not a character) and its extension
# table (ESC + one septet, so two each).
GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED: Final = frozenset("\f^{}\\[~]|€")

_E164: Final = re.compile(r"^\+[1-9]\d{1,14}$")
_ACCOUNT_SID: Final = re.compile(r"^AC[0-9a-fA-F]{32}$")
_SERVICE_SID: Final = re.compile(r"^MG[0-9a-fA-F]{32}$")
_ACCOUNT_PATH: Final = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)(?P<rest>/.*)?$")
_ROUTES: Final = (
    ("messages", re.compile(r"^/Messages\.json$"), "/Messages.json"),
    ("message", re.compile(r"^/Messages/(?P<sid>[^/]+)\.json$"), "/Messages/{Sid}.json"),
    ("media_list", re.compile(r"^/Messages/(?P<sid>[^/]+)/Media\.json$"), "/Messages/{MessageSid}/Media.json"),
    (
        "media",
        re.compile(r"^/Messages/(?P<sid>[^/]+)/Media/(?P<media>[^/.]+)(?P<json>\.json)?$"),
        "/Messages/{MessageSid}/Media/{Sid}",
    ),
)
_METHODS: Final = {
    "messages": ("GET", "POST"),
    "message": ("GET", "DELETE"),
    "media_list": ("GET",),
    "media": ("GET", "DELETE"),
}
_CONTROL_SETTINGS: Final = ("strict_numbers", "builtin_opt_out", "record_requests")


class TwilioApiError(Exception):
    """A request Twilio refuses: HTTP status plus Twilio's numeric error code and message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        """Twilio's legacy error object, as Api v2010 answers it."""
        return error_body(self.status, self.code, self.message)


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


class TwilioStats(RequestStats):
    """Counters a benchmark or test reads back: creates, lists, callbacks, inbound posts, faults."""

    COUNTERS: ClassVar[tuple[str, ...]] = (
        "total_requests",
        "creates",
        "rejected",
        "lists",
        "fetches",
        "deletes",
        "media_fetches",
        "callbacks_sent",
        "callbacks_failed",
        "inbound_sent",
        "faults_fired",
        "rate_limited",
        "auth_failures",
    )
    creates: int
    rejected: int
    lists: int
    fetches: int
    deletes: int
    media_fetches: int
    callbacks_sent: int
    callbacks_failed: int
    inbound_sent: int
    faults_fired: int
    rate_limited: int
    auth_failures: int


class TwilioFaultQueue(FaultQueue):
    """The shared fault queue, refusing faults that could never fire against the Twilio stand-in."""

    def add(self, fault: Fault) -> None:
        """Arm a fault; its path is relative to `/2010-04-01/Accounts/{AccountSid}` (e.g. `/Messages.json`)."""
        if fault.kind not in FAULT_KINDS_SERVED:
            raise ValueError(f"the Twilio stand-in does not serve {fault.kind!r} faults")
        if not fault.path.startswith(("/Messages", "*")):
            raise ValueError(
                f"fault path {fault.path!r} never matches: paths are relative to "
                "/2010-04-01/Accounts/{AccountSid}, e.g. /Messages.json"
            )
        super().add(fault)


def twilio_fault(
    kind: str,
    *,
    method: str = "POST",
    path: str = MESSAGES_PATH,
    times: int = 1,
    status: int = 500,
    delay: float = 0.0,
    retry_after: int = 1,
) -> Fault:
    """A `Fault` aimed at message creates by default (the request a worker must never blindly repeat)."""
    return Fault(kind, method=method, path=path, times=times, status=status, delay=delay, retry_after=retry_after)


# -- pure helpers --------------------------------------------------------------------------------


def error_body(status: int, code: int, message: str) -> dict[str, Any]:
    """`{"code", "message", "more_info", "status"}`: the body every Api v2010 error carries."""
    return {"code": code, "message": message, "more_info": MORE_INFO.format(code=code), "status": status}


def twilio_error_response(status: int, code: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """A Twilio-shaped JSON error response."""
    return _json(error_body(status, code, message), status, headers)


def _json(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps(payload), status=status, mimetype=JSON_MIMETYPE, headers=dict(headers or {}))


def is_gsm7(body: str) -> bool:
    """True when every character is in the GSM-7 default alphabet or its extension table."""
    return all(char in GSM7_BASIC or char in GSM7_EXTENDED for char in body)


def _pack(units: Sequence[int], single: int, multi: int) -> int:
    """Segments needed when a character's units may not straddle two concatenated segments."""
    if sum(units) <= single:
        return 1
    segments, used = 1, 0
    for size in units:
        if used + size > multi:
            segments, used = segments + 1, 0
        used += size
    return segments


def count_segments(body: str) -> int:
    """SMS segments for a body, as carriers bill it.

    GSM-7 when every character allows it (160 septets alone, 153 per concatenated part; extension
    characters cost two), otherwise UCS-2 for the whole message (70 UTF-16 units alone, 67 per part;
    an emoji is a surrogate pair, two units). An escape pair or a surrogate pair is never split.
    """
    if is_gsm7(body):
        return _pack([2 if char in GSM7_EXTENDED else 1 for char in body], 160, 153)
    return _pack([2 if ord(char) > 0xFFFF else 1 for char in body], 70, 67)


def utf16_length(body: str) -> int:
    """The length Twilio holds against its 1,600 limit: UTF-16 code units, so an emoji counts twice."""
    return sum(2 if ord(char) > 0xFFFF else 1 for char in body)


def make_sid(prefix: str, number: int, namespace: str = "") -> str:
    """A deterministic 34-character SID (`SM…`, `MM…`, `ME…`): two letters and 32 hex digits."""
    digest = hashlib.sha256(f"{namespace}:{prefix}:{number}".encode()).hexdigest()
    return f"{prefix}{digest[:32]}"


def rfc2822(moment: datetime) -> str:
    """Twilio's date format: `Thu, 27 Nov 2026 10:00:00 +0000` (always GMT)."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0))


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


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _require_e164(number: str, label: str) -> str:
    if not _E164.match(number):
        raise ValueError(f"{label} {number!r} is not an E.164 number")
    return number


def _valid_number(number: str, strict: bool) -> bool:
    """E.164 syntax, and (when strict) a number that exists in its country's numbering plan."""
    if not _E164.match(number):
        return False
    if not strict:
        return True
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(number, None)))
    except phonenumbers.NumberParseException:
        return False


def _valid_callback_url(url: str) -> bool:
    """Twilio's rule: an absolute http(s) URL with a hostname, and no underscores in it."""
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.hostname) and "_" not in (parts.hostname or "_")


def _filter_bound(text: str) -> datetime | date:
    """A DateSent filter value: a GMT date (`YYYY-MM-DD`), an ISO timestamp, or an RFC 2822 date."""
    value = text.strip()
    if len(value) == 10:
        return date.fromisoformat(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(value) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def _date_filter(name: str, text: str) -> Callable[[datetime], bool]:
    """The predicate for `DateSent` (same day or second), `DateSent>` (on/after) or `DateSent<` (on/before).

    A plain date compares by GMT calendar day, a timestamp by the second; both bounds are inclusive.
    """
    try:
        bound = _filter_bound(text)
    except ValueError as exc:
        raise TwilioApiError(400, 20001, f"Invalid {name}: {text}") from exc
    op = name[len("DateSent") :]

    def key(sent: datetime) -> datetime | date:
        return sent if isinstance(bound, datetime) else sent.date()

    def check(sent: datetime) -> bool:
        value = key(sent)
        if op == ">":
            return value >= bound
        if op == "<":
            return value <= bound
        return value == bound

    return check


def _equals(attribute: str, wanted: str) -> Callable[[_Message], bool]:
    return lambda message: getattr(message, attribute) == wanted


def _sent_where(test: Callable[[datetime], bool]) -> Callable[[_Message], bool]:
    return lambda message: message.date_sent is not None and test(message.date_sent)


def _page_size(args: Mapping[str, str]) -> int:
    raw = args.get("PageSize", str(DEFAULT_PAGE_SIZE))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise TwilioApiError(400, 20001, f"PageSize must be between 1 and {MAX_PAGE_SIZE}")
    return int(raw)


class TwilioState:
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
        self._media: dict[str, MediaItem] = {}
        self._callbacks: list[QueuedCallback] = []
        self._sticky: dict[str, str] = {}
        self._seq = itertools.count(1)
        self._media_seq = itertools.count(1)
        self.opted_out: set[str] = set()
        self.landlines: set[str] = set()
        self.undeliverable: dict[str, int] = {}
        self.unknown_params_seen: list[str] = []
        self.strict_numbers = True
        self.builtin_opt_out = True
        self.record_requests = False
        self.requests: list[TwilioRequest] = []
        self.callback_timeout = CALLBACK_TIMEOUT
        self.proxy_origins: dict[str, str] = {}
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

    def message(self, sid: str) -> dict[str, Any]:
        """One message's JSON (raises `TwilioApiError` 404 / 20404 when unknown)."""
        with self._lock:
            return self.render(self._require_message(sid))

    def messages(self, *, to: str | None = None, from_: str | None = None) -> list[dict[str, Any]]:
        """Every stored message (optionally filtered), newest first, as JSON."""
        with self._lock:
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

    def create_message(self, form: Iterable[tuple[str, str]]) -> dict[str, Any]:
        """`POST .../Messages.json`: validate as Twilio does, store, answer the initial JSON.

        After the answer is rendered, the message moves through its delivery (queued, sent, then
        delivered / undelivered / failed) and each step's status callback is queued. Parameters
        outside `CreateMessageRequest` are recorded in `unknown_params_seen`, not refused.
        """
        pairs = list(form)
        values: dict[str, list[str]] = {}
        for key, value in pairs:
            values.setdefault(key, []).append(value)
        with self._lock:
            self.unknown_params_seen.extend(key for key in values if key not in CREATE_PARAMS)

        def one(name: str) -> str:
            return values.get(name, [""])[-1]

        to, sender, service = one("To").strip(), one("From").strip(), one("MessagingServiceSid").strip()
        body, media_urls, callback = one("Body"), [u for u in values.get("MediaUrl", []) if u], one("StatusCallback")
        self._validate(to, sender, service, body, media_urls, one("ContentSid"), callback)
        with self._lock:
            now = self.now()
            sid, seq = self._new_sid("MM" if media_urls else "SM")
            message = _Message(
                sid=sid,
                seq=seq,
                direction="outbound-api",
                to=to,
                from_=sender or None,
                body=body,
                status="accepted" if service else "queued",
                date_created=now,
                date_updated=now,
                num_media=len(media_urls),
                num_segments=0 if service else self._segments(body, len(media_urls)),
                messaging_service_sid=service or None,
                status_callback=callback or None,
            )
            for url in media_urls:
                content_type = mimetypes.guess_type(urlsplit(url).path)[0] or "application/octet-stream"
                message.media.append(self._add_media(sid, content_type, f"sandbox copy of {url}\n".encode()).sid)
            self._store(message)
            answer = self.render(message)
            self._deliver(message)
            return answer

    def _validate(
        self, to: str, sender: str, service: str, body: str, media: list[str], content_sid: str, callback: str
    ) -> None:
        if not to:
            raise TwilioApiError(400, 21604, "'To' phone number is required")
        if not sender and not service:
            raise TwilioApiError(400, 21603, "A 'From' phone number is required")
        if not body and not media and not content_sid:
            raise TwilioApiError(400, 21602, "Message body is required")
        if utf16_length(body) > MAX_BODY:
            raise TwilioApiError(400, 21617, f"The concatenated message body exceeds the {MAX_BODY} character limit")
        if len(media) > MAX_MEDIA:
            raise TwilioApiError(400, 21623, "Number of media files exceeds allowed limit")
        if any(urlsplit(url).scheme not in {"http", "https"} for url in media):
            raise TwilioApiError(400, 21620, "Invalid media URL(s)")
        if service and service != self.messaging_service_sid:
            raise TwilioApiError(400, 21701, f"The Messaging Service Sid {service} is invalid.")
        allowed = self.messaging_service_numbers if service else self.numbers
        if sender and sender not in allowed:
            raise TwilioApiError(
                400,
                21606,
                f"The From phone number {sender} is not a valid, SMS-capable inbound phone number or short code "
                "for your account.",
            )
        if callback and not _valid_callback_url(callback):
            raise TwilioApiError(400, 21609, f"Invalid StatusCallback url: {callback}")
        if not _valid_number(to, self.strict_numbers):
            raise TwilioApiError(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if to == sender:
            raise TwilioApiError(400, 21266, "'To' and 'From' number cannot be the same")
        if to in self.landlines:
            raise TwilioApiError(400, 21614, f"'To' number {to} is not a valid mobile number")
        if to in self.opted_out:
            raise TwilioApiError(400, 21610, "Attempt to send to unsubscribed recipient")

    @staticmethod
    def _segments(body: str, num_media: int) -> int:
        """An MMS is one message however long its text; an SMS is billed per segment."""
        return 1 if num_media else count_segments(body)

    def _sender(self, to: str) -> str:
        """Sticky sender: a recipient keeps the pool number it was first texted from."""
        pool = self.messaging_service_numbers
        if to not in self._sticky:
            self._sticky[to] = pool[len(self._sticky) % len(pool)]
        return self._sticky[to]

    def _deliver(self, message: _Message) -> None:
        """Play the message's delivery through, queuing one status callback per step (lock held)."""
        code = self.undeliverable.get(message.to)
        steps: list[tuple[str, int | None]] = [("queued", None)] if message.messaging_service_sid else []
        if code is None:
            steps += [("sent", None), ("delivered", None)]
        elif DELIVERY_ERRORS.get(code, ("", False))[1]:
            steps += [("failed", code)]
        else:
            steps += [("sent", None), ("undelivered", code)]
        for status, error in steps:
            self._advance(message, status, error)

    def _advance(self, message: _Message, status: str, error: int | None) -> None:
        now = self.now()
        if message.from_ is None:
            message.from_ = self._sender(message.to)
        if message.messaging_service_sid and message.num_segments == 0:
            message.num_segments = self._segments(message.body, message.num_media)
        message.status, message.date_updated = status, now
        if status in {"sent", "failed"}:
            message.date_sent = now
        if status == "sent":
            message.price = f"-{PRICE_PER_SEGMENT * message.num_segments:.5f}"
        if error is not None:
            message.error_code = error
            message.error_message = DELIVERY_ERRORS.get(error, ("Unknown error", False))[0]
        if message.status_callback:
            form = self._status_form(message)
            self._callbacks.append(QueuedCallback(message.sid, status, message.status_callback, form))

    def _status_form(self, message: _Message) -> dict[str, str]:
        params = {
            "SmsSid": message.sid,
            "SmsStatus": message.status,
            "MessageStatus": message.status,
            "To": message.to,
        }
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        params.update(
            {
                "MessageSid": message.sid,
                "AccountSid": self.account_sid,
                "From": message.from_ or "",
                "ApiVersion": API_VERSION,
            }
        )
        if message.status in {"failed", "undelivered"} and message.error_code is not None:
            params["ErrorCode"] = str(message.error_code)
            params["ErrorMessage"] = message.error_message or ""
        return params

    def delete_message(self, sid: str) -> None:
        """`DELETE .../Messages/{Sid}.json`: the message and its media are gone."""
        with self._lock:
            message = self._require_message(sid)
            for media_sid in message.media:
                self._media.pop(media_sid, None)
            del self._messages[sid]

    def list_messages(self, args: Mapping[str, str]) -> dict[str, Any]:
        """`GET .../Messages.json`: Twilio's list envelope, newest first, filtered and paged.

        Paging is by token (`PageToken=PA<sid>` continues after that message), so a message created
        between two pages never shifts the second page.
        """
        filters: list[Callable[[_Message], bool]] = []
        if "To" in args:
            filters.append(_equals("to", args["To"]))
        if "From" in args:
            filters.append(_equals("from_", args["From"]))
        dated = [name for name in ("DateSent", "DateSent>", "DateSent<") if name in args]
        filters.extend(_sent_where(_date_filter(name, args[name])) for name in dated)
        size = _page_size(args)
        page_raw = args.get("Page", "0")
        page = int(page_raw) if page_raw.isdigit() else 0
        with self._lock:
            rows = [m for m in self._newest_first() if all(check(m) for check in filters)]
            start = self._page_start(rows, args.get("PageToken"), page, size)
            chunk = rows[start : start + size]
            rendered = [self.render(m) for m in chunk]
        base = [(k, v) for k, v in args.items() if k in {"To", "From", "DateSent", "DateSent<", "DateSent>"}]
        path = self.account_path(MESSAGES_PATH)

        def uri(page_number: int, token: str | None) -> str:
            query = [*base, ("PageSize", str(size)), ("Page", str(page_number))]
            if token is not None:
                query.append(("PageToken", token))
            return f"{path}?{urlencode(query)}"

        has_more = start + size < len(rows)
        return {
            "end": start + max(len(chunk) - 1, 0),
            "first_page_uri": uri(0, None),
            "messages": rendered,
            "next_page_uri": uri(page + 1, f"PA{chunk[-1].sid}") if has_more and chunk else None,
            "page": page,
            "page_size": size,
            "previous_page_uri": uri(page - 1, f"PB{chunk[0].sid}") if page > 0 and chunk else None,
            "start": start,
            "uri": uri(page, args.get("PageToken")),
        }

    @staticmethod
    def _page_start(rows: list[_Message], token: str | None, page: int, size: int) -> int:
        """Where a page begins: after (`PA`) or a page before (`PB`) the token's message, else by index."""
        if token and token[:2] in {"PA", "PB"}:
            positions = {m.sid: index for index, m in enumerate(rows)}
            anchor = positions.get(token[2:])
            if anchor is None:
                raise TwilioApiError(400, 20001, f"Invalid PageToken: {token}")
            return anchor + 1 if token[:2] == "PA" else max(anchor - size, 0)
        return page * size

    # -- media ---------------------------------------------------------------------------------------

    def _add_media(self, parent_sid: str, content_type: str, content: bytes) -> MediaItem:
        item = MediaItem(
            sid=make_sid("ME", next(self._media_seq), self.account_sid),
            parent_sid=parent_sid,
            content_type=content_type,
            content=content,
            date_created=self.now(),
        )
        self._media[item.sid] = item
        return item

    def media(self, message_sid: str, media_sid: str) -> MediaItem:
        """One media file of a message (raises `TwilioApiError` 404 / 20404 when unknown)."""
        with self._lock:
            item = self._media.get(media_sid)
            if item is None or item.parent_sid != message_sid:
                path = self.account_path(f"/Messages/{message_sid}/Media/{media_sid}.json")
                raise TwilioApiError(404, 20404, f"The requested resource {path} was not found")
            return item

    def media_url(self, item: MediaItem) -> str:
        """The absolute URL Twilio puts in `MediaUrl{N}` (Basic auth required to fetch it)."""
        return f"{self.api_origin}{self.account_path(f'/Messages/{item.parent_sid}/Media/{item.sid}')}"

    def render_media(self, item: MediaItem) -> dict[str, Any]:
        """The media file as `api.v2010.account.message.media` JSON."""
        stamp = rfc2822(item.date_created)
        return {
            "account_sid": self.account_sid,
            "content_type": item.content_type,
            "date_created": stamp,
            "date_updated": stamp,
            "parent_sid": item.parent_sid,
            "sid": item.sid,
            "uri": self.account_path(f"/Messages/{item.parent_sid}/Media/{item.sid}.json"),
        }

    def media_list(self, message_sid: str) -> dict[str, Any]:
        """`GET .../Messages/{Sid}/Media.json`: one page holding every media file of the message."""
        with self._lock:
            message = self._require_message(message_sid)
            items = [self.render_media(self._media[s]) for s in message.media if s in self._media]
        uri = self.account_path(f"/Messages/{message_sid}/Media.json?PageSize={DEFAULT_PAGE_SIZE}&Page=0")
        return {
            "end": max(len(items) - 1, 0),
            "first_page_uri": uri,
            "media_list": items,
            "next_page_uri": None,
            "page": 0,
            "page_size": DEFAULT_PAGE_SIZE,
            "previous_page_uri": None,
            "start": 0,
            "uri": uri,
        }

    def delete_media(self, message_sid: str, media_sid: str) -> None:
        """`DELETE .../Media/{Sid}.json`: Twilio keeps media until this is called."""
        with self._lock:
            self.media(message_sid, media_sid)
            del self._media[media_sid]
            message = self._messages.get(message_sid)
            if message is not None:
                message.media.remove(media_sid)

    # -- status callbacks ----------------------------------------------------------------------------

    def pending_callbacks(self) -> list[QueuedCallback]:
        """Status callbacks queued and not yet delivered, in the order Twilio would send them."""
        with self._lock:
            return list(self._callbacks)

    def _target(self, url: str) -> str:
        """Where a webhook signed for `url` is actually POSTed (`proxy_origins` maps public origins)."""
        for public, local in self.proxy_origins.items():
            if url == public or url.startswith(f"{public.rstrip('/')}/"):
                return f"{local.rstrip('/')}{url[len(public.rstrip('/')) :]}"
        return url

    def deliver_callbacks(self, shuffle: bool = False, seed: int | None = None) -> list[tuple[str, str, int]]:
        """POST every queued status callback, signed, and return (MessageSid, status, HTTP status).

        Synchronous and opt-in, so a test decides when callbacks arrive; `shuffle=True` sends them in a
        seeded random order, as Twilio's do arrive. The lock is not held while posting: a receiver may
        call back into the stand-in. HTTP status 0 means the receiver could not be reached; like
        Twilio, the stand-in does not retry.
        """
        with self._lock:
            jobs, self._callbacks = self._callbacks, []
        if shuffle:
            random.Random(seed).shuffle(jobs)
        results: list[tuple[str, str, int]] = []
        with requests.Session() as session:
            for job in jobs:
                signature = twilio_signature(self.auth_token, job.url, job.params)
                try:
                    response = post_signed(
                        self._target(job.url), job.params, signature, session=session, timeout=self.callback_timeout
                    )
                    status = response.status_code
                except requests.RequestException:
                    status = 0
                self.stats.bump("callbacks_sent")
                if not 200 <= status < 300:
                    self.stats.bump("callbacks_failed")
                results.append((job.sid, job.status, status))
        return results

    # -- inbound -------------------------------------------------------------------------------------

    def build_inbound(
        self,
        url: str,
        from_: str,
        to: str,
        body: str = "",
        media: Sequence[tuple[str, str | bytes]] = (),
        messaging_service_sid: str | None = None,
        opt_out_type: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> tuple[dict[str, str], str]:
        """Record an incoming message (and its media) and build its signed webhook form.

        `media` is (content type, content) pairs; their `MediaUrl{N}` point back at this stand-in.
        A single-word STOP/START keyword toggles `opted_out`, as Twilio's default handling does.
        """
        with self._lock:
            now = self.now()
            sid, seq = self._new_sid("MM" if media else "SM")
            message = _Message(
                sid=sid,
                seq=seq,
                direction="inbound",
                to=to,
                from_=from_,
                body=body,
                status="received",
                date_created=now,
                date_updated=now,
                date_sent=now,
                num_media=len(media),
                num_segments=count_segments(body),
                messaging_service_sid=messaging_service_sid,
            )
            items = [
                self._add_media(sid, content_type, content.encode() if isinstance(content, str) else content)
                for content_type, content in media
            ]
            message.media = [item.sid for item in items]
            self._store(message)
            keyword = body.strip().upper()
            if self.builtin_opt_out and keyword in OPT_OUT_KEYWORDS:
                self.opted_out.add(from_)
            elif self.builtin_opt_out and keyword in OPT_IN_KEYWORDS:
                self.opted_out.discard(from_)
            media_refs = [(self.media_url(item), item.content_type) for item in items]
        return build_inbound(
            url,
            auth_token=self.auth_token,
            account_sid=self.account_sid,
            message_sid=sid,
            from_=from_,
            to=to,
            body=body,
            media=media_refs,
            messaging_service_sid=messaging_service_sid,
            opt_out_type=opt_out_type,
            extra=extra,
        )

    def inbound(
        self,
        url: str,
        from_: str,
        to: str,
        body: str = "",
        media: Sequence[tuple[str, str | bytes]] = (),
        messaging_service_sid: str | None = None,
        opt_out_type: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Simulate an incoming SMS/MMS: build, sign for `url`, and POST it as Twilio would."""
        params, signature = self.build_inbound(url, from_, to, body, media, messaging_service_sid, opt_out_type, extra)
        return self.post_inbound(url, params, signature)

    def post_inbound(self, url: str, params: Mapping[str, str], signature: str) -> requests.Response:
        """POST an already built webhook form (e.g. the same MessageSid twice, as a Twilio retry does)."""
        self.stats.bump("inbound_sent")
        return post_signed(self._target(url), params, signature, timeout=self.callback_timeout)


# -- the WSGI app ----------------------------------------------------------------------------------


def _route(rest: str) -> tuple[str | None, str, dict[str, str]]:
    """(route name or None, path template for stats, path values)."""
    for name, pattern, template in _ROUTES:
        match = pattern.match(rest)
        if match:
            return name, template, {k: v for k, v in match.groupdict().items() if v is not None}
    return None, "*", {}


class TwilioApp:
    """The WSGI app: `/2010-04-01/Accounts/{AccountSid}/Messages…` and unauthenticated `/_sandbox/` controls."""

    def __init__(self, state: TwilioState) -> None:
        self.state = state
        self._request_ids = itertools.count(1)
        self._controls: dict[tuple[str, str], Callable[[Request], Any]] = {
            ("POST", "faults"): self._control_add_fault,
            ("GET", "faults"): lambda _: [{**f.to_json(), "remaining": n} for f, n in state.faults.pending()],
            ("DELETE", "faults"): lambda _: state.faults.clear(),
            ("GET", "stats"): lambda _: state.stats.snapshot(),
            ("DELETE", "stats"): lambda _: state.stats.reset(),
            ("POST", "deliver_callbacks"): self._control_deliver,
            ("POST", "inbound"): self._control_inbound,
            ("POST", "numbers"): self._control_numbers,
            ("POST", "settings"): self._control_settings,
            ("GET", "messages"): lambda _: state.messages(),
            ("GET", "requests"): lambda _: [
                {"method": r.method, "path": r.path, "query": r.query, "form": r.form} for r in list(state.requests)
            ],
        }

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.startswith(CONTROL_PREFIX):
            response = self._control(request)
        else:
            response = self._api(request, environ)
            response.headers["Twilio-Request-Id"] = make_sid("RQ", next(self._request_ids), self.state.account_sid)
        return response(environ, start_response)

    # -- /2010-04-01 ---------------------------------------------------------------------------------

    def _api(self, request: Request, environ: WSGIEnvironment) -> Response:
        located = _ACCOUNT_PATH.match(request.path)
        if located is None:
            self.state.stats.request(request.method, "*")
            return twilio_error_response(404, 20404, f"The requested resource {request.path} was not found")
        account, rest = located.group("account"), located.group("rest") or "/"
        route, template, values = _route(rest)
        self.state.stats.request(request.method, template)
        self._record(request, rest)
        fault = self.state.faults.take(request.method, rest)
        if fault is not None:
            early = self._fault(fault, environ)
            if early is not None:
                return early
        response = self._authorized(request, account, route, rest, values)
        if fault is not None and fault.kind == "applied_lost":
            drop_connection(environ)
        return response

    def _fault(self, fault: Fault, environ: WSGIEnvironment) -> Response | None:
        self.state.stats.bump("faults_fired")
        if fault.kind == "drop":
            drop_connection(environ)
        pause(fault)
        if fault.kind == "rate_limit":
            self.state.stats.bump("rate_limited")
            return twilio_error_response(429, 20429, "Too Many Requests", {"Retry-After": str(fault.retry_after)})
        if fault.kind == "status":
            # Twilio's generic codes mirror the HTTP status: 20500, 20503, ...
            return twilio_error_response(fault.status, 20000 + fault.status, f"Sandbox fault: injected {fault.status}")
        return immediate_response(fault)

    def _record(self, request: Request, rest: str) -> None:
        if not self.state.record_requests:
            return
        query = parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True)
        form = list(request.form.items(multi=True)) if request.method == "POST" else []
        self.state.record(TwilioRequest(request.method, rest, query, form, dict(request.headers)))

    def _authorized(
        self, request: Request, account: str, route: str | None, rest: str, values: Mapping[str, str]
    ) -> Response:
        auth = request.authorization
        username = (auth.username or "") if auth is not None and auth.type == "basic" else ""
        password = (auth.password or "") if auth is not None and auth.type == "basic" else ""
        if not self.state.is_authorized(username, password) or account != self.state.account_sid:
            self.state.stats.bump("auth_failures")
            return twilio_error_response(401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'})
        if route is None:
            return twilio_error_response(404, 20404, f"The requested resource {request.path} was not found")
        if request.method not in _METHODS[route]:
            return twilio_error_response(405, 20004, "Method not allowed")
        try:
            return self._dispatch(request, route, values)
        except TwilioApiError as exc:
            if exc.status == 400:
                self.state.stats.bump("rejected")
            return _json(exc.body(), exc.status)

    def _dispatch(self, request: Request, route: str, values: Mapping[str, str]) -> Response:
        state, method = self.state, request.method
        if route == "messages" and method == "POST":
            answer = state.create_message(request.form.items(multi=True))
            state.stats.bump("creates")
            return _json(answer, 201)
        if route == "messages":
            state.stats.bump("lists")
            return _json(state.list_messages(dict(request.args.items())))
        if route == "message" and method == "GET":
            state.stats.bump("fetches")
            return _json(state.message(values["sid"]))
        if route == "message":
            state.delete_message(values["sid"])
            state.stats.bump("deletes")
            return Response(status=204)
        if route == "media_list":
            return _json(state.media_list(values["sid"]))
        if method == "DELETE":
            state.delete_media(values["sid"], values["media"])
            state.stats.bump("deletes")
            return Response(status=204)
        item = state.media(values["sid"], values["media"])
        state.stats.bump("media_fetches")
        if "json" in values:
            return _json(state.render_media(item))
        return Response(item.content, status=200, mimetype=item.content_type)

    # -- /_sandbox -----------------------------------------------------------------------------------

    def _control(self, request: Request) -> Response:
        name = request.path[len(CONTROL_PREFIX) :].strip("/")
        handler = self._controls.get((request.method, name))
        if handler is None:
            return _json({"ok": False, "error": f"No sandbox control {request.method} {request.path}"}, 404)
        try:
            result = handler(request)
        except (ValueError, TypeError, KeyError) as exc:
            return _json({"ok": False, "error": str(exc)}, 400)
        return _json({"ok": True, "result": result})

    def _control_add_fault(self, request: Request) -> dict[str, Any]:
        fault = Fault.from_json({"method": "POST", "path": MESSAGES_PATH, **control_payload(request)})
        self.state.faults.add(fault)
        return fault.to_json()

    def _control_deliver(self, request: Request) -> list[list[Any]]:
        payload = control_payload(request)
        seed = payload.get("seed")
        results = self.state.deliver_callbacks(bool(payload.get("shuffle", False)), None if seed is None else int(seed))
        return [list(row) for row in results]

    def _control_inbound(self, request: Request) -> dict[str, Any]:
        payload = control_payload(request)
        media = [(str(kind), str(content)) for kind, content in payload.get("media", [])]
        params, signature = self.state.build_inbound(
            str(payload["url"]),
            str(payload["from"]),
            str(payload["to"]),
            str(payload.get("body", "")),
            media,
            payload.get("messaging_service_sid"),
            payload.get("opt_out_type"),
            {str(k): str(v) for k, v in (payload.get("extra") or {}).items()},
        )
        try:
            status = self.state.post_inbound(str(payload["url"]), params, signature).status_code
        except requests.RequestException:
            status = 0
        return {"message_sid": params["MessageSid"], "status": status}

    def _control_numbers(self, request: Request) -> dict[str, Any]:
        payload = control_payload(request)
        unknown = sorted(set(payload) - {"opted_out", "landlines", "undeliverable"})
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(unknown)}")
        state = self.state
        if "opted_out" in payload:
            state.opted_out = {str(n) for n in payload["opted_out"]}
        if "landlines" in payload:
            state.landlines = {str(n) for n in payload["landlines"]}
        if "undeliverable" in payload:
            state.undeliverable = {str(n): int(c) for n, c in payload["undeliverable"].items()}
        return {
            "opted_out": sorted(state.opted_out),
            "landlines": sorted(state.landlines),
            "undeliverable": dict(sorted(state.undeliverable.items())),
        }

    def _control_settings(self, request: Request) -> dict[str, Any]:
        payload = control_payload(request)
        unknown = sorted(set(payload) - set(_CONTROL_SETTINGS))
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        for key, value in payload.items():
            setattr(self.state, key, bool(value))
        return {key: getattr(self.state, key) for key in _CONTROL_SETTINGS}


def create_twilio_app(state: TwilioState | None = None) -> TwilioApp:
    """The Twilio stand-in WSGI app over a state (a fresh sandbox account when none is given)."""
    return TwilioApp(state if state is not None else TwilioState())
