"""A closed texting window rendered as the plain-text record a paralegal reads on the matter.

Each closed window becomes one Clio record (a Note or a PhoneCommunication, reference §1.6–1.7),
written as ``detail_text_type: plain_text``. The text is the firm's record of what was said, so the
rules here are about trust rather than looks:

* Times are shown in the firm's zone, converted per message, so a window that spans a daylight-saving
  change reads EDT before it and EST after it instead of shifting every line by an hour.
* A send that guardrails refused never reached the client and may hold exactly what the guardrail was
  there to stop (text to an opted-out number, privileged content); its body is never rendered, only
  the fact that it was blocked and why.
* Clio documents no hard limit on ``detail`` but the brief recommends staying under ~64 KB, so a long
  window splits into numbered parts. A message is never cut across parts, and every part repeats the
  header so each record stands on its own when found by search.
* Rendering is a pure function of the window and the zone: retries produce byte-identical records,
  which is what lets the writer dedupe by content.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal
from zoneinfo import ZoneInfo

Direction = Literal["inbound", "outbound"]

MAX_CHARS: Final = 60_000
"""Default size of one part: under the ~64 KB the reference recommends for a Clio note's ``detail``."""

AUTOMATIC_KINDS: Final = frozenset({"confirmation", "help", "auto_reply"})
"""Outbound kinds the connector sends on its own (keyword confirmations, HELP, out-of-hours replies)."""

URGENT_KIND: Final = "urgent"
"""The kind intake gives a client text that escalation flagged: the record keeps what fired on arrival."""

FAILED_STATUSES: Final = frozenset({"failed", "undelivered"})
"""Twilio statuses after which the client never received the text."""

BLOCKED_REASON: Final = "refused by the firm's texting guardrails"
"""Shown for a blocked send that carries no reason of its own."""

_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_INDENT: Final = "    "


@dataclass(frozen=True, slots=True)
class WindowMessage:
    """One text in a window, as stored; ``blocked`` sends keep their body here but never render it."""

    id: int
    direction: Direction
    kind: str
    body: str
    status: str
    error_code: int | None
    error_message: str | None
    author: str | None
    media: tuple[tuple[str, str], ...]
    created_at: datetime
    blocked: bool


@dataclass(frozen=True, slots=True)
class Window:
    """A closed stretch of one thread on one matter: the unit that becomes one record in the CMS.

    ``part_of`` names a larger record this window continues (for instance the window an earlier
    record covered); when set it is printed in the header so the records can be read together.
    """

    thread_id: int
    matter_cms_id: str
    matter_display_number: str
    matter_description: str
    client_name: str | None
    client_phone: str
    firm_number: str
    messages: tuple[WindowMessage, ...]
    opened_at: datetime
    closed_at: datetime
    part_of: str | None = None
    # Guardrail decisions on texts that did go (a warning overridden, a send in quiet hours), from the
    # audit log: (when, what), for the summary's "Guardrail events".
    guardrail_notes: tuple[tuple[datetime, str], ...] = ()


@dataclass(frozen=True, slots=True)
class TranscriptPart:
    """One record to write: ``part`` of ``parts`` (1 of 1 when the window fits)."""

    subject: str
    body: str
    part: int
    parts: int


def _aware(moment: datetime) -> datetime:
    """Refuse naive times: converting one would silently use the server's zone, not the firm's."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"timestamp {moment.isoformat()} has no zone; window times must be aware UTC")
    return moment


def local(moment: datetime, zone: ZoneInfo) -> datetime:
    """The instant in the firm's zone; the offset is looked up per instant, so DST is right per message."""
    return _aware(moment).astimezone(zone)


def stamp(moment: datetime, zone: ZoneInfo) -> str:
    """Sortable local time with the zone abbreviation, e.g. ``2026-11-27 09:14 EST``."""
    here = local(moment, zone)
    return f"{here:%Y-%m-%d %H:%M} {here.tzname()}"


def _day(here: datetime) -> str:
    """``Nov 27, 2026``; month names are fixed, not the server locale's, so output is deterministic."""
    return f"{_MONTHS[here.month - 1]} {here.day}, {here.year}"


def _clock(here: datetime) -> str:
    """``9:14 AM EST``: the way a person reads the period line."""
    hour = here.hour % 12 or 12
    half = "AM" if here.hour < 12 else "PM"
    return f"{hour}:{here.minute:02d} {half} {here.tzname()}"


def ordered(window: Window) -> tuple[WindowMessage, ...]:
    """Messages by time, then id: storage order is not trusted to be chronological."""
    return tuple(sorted(window.messages, key=lambda m: (_aware(m.created_at), m.id)))


def bounds(window: Window) -> tuple[datetime, datetime]:
    """First and last message times; the window's own open and close when it holds no messages."""
    messages = ordered(window)
    if messages:
        return messages[0].created_at, messages[-1].created_at
    return _aware(window.opened_at), _aware(window.closed_at)


def period(window: Window, zone: ZoneInfo) -> str:
    """``Nov 27, 2026 9:14 AM EST – 9:40 AM EST``; the end repeats the date only when it differs."""
    first, last = (local(moment, zone) for moment in bounds(window))
    if first.date() == last.date():
        return f"{_day(first)} {_clock(first)} – {_clock(last)}"
    return f"{_day(first)} {_clock(first)} – {_day(last)} {_clock(last)}"


def one_line(text: str) -> str:
    """Collapse any whitespace and control characters so a field cannot break the line structure."""
    cleaned = "".join(" " if unicodedata.category(ch) in {"Cc", "Zl", "Zp"} else ch for ch in text)
    return " ".join(cleaned.split())


def text_lines(text: str) -> list[str]:
    """A body's non-blank lines, each cleaned; ``splitlines`` also catches U+2028 and friends."""
    return [line for line in (one_line(raw) for raw in text.splitlines()) if line]


def client_label(window: Window) -> str:
    """The client as the firm knows them: the contact name, else the phone number."""
    return one_line(window.client_name or "") or one_line(window.client_phone)


def staff_label(message: WindowMessage) -> str:
    """The staff member's display name, else ``Firm`` for a send with no recorded author."""
    return one_line(message.author or "") or "Firm"


def failure(message: WindowMessage) -> str | None:
    """Why a send did not reach the client (``30007 filtered by the carrier…``), or None if it did."""
    if message.direction != "outbound" or message.blocked or message.status not in FAILED_STATUSES:
        return None
    # The sender and the status callbacks store the error's meaning with its code (Twilio's words, else the table's).
    reason = one_line(message.error_message or "") or "reason not reported"
    return f"{message.error_code} {reason}" if message.error_code is not None else reason


def blocked_reason(message: WindowMessage) -> str:
    """What the guardrail said, or a generic reason; never derived from the refused body."""
    return one_line(message.error_message or "") or BLOCKED_REASON


def _who(window: Window, message: WindowMessage) -> str:
    if message.direction == "inbound":
        return client_label(window)
    if message.kind in AUTOMATIC_KINDS:
        named = one_line(message.author or "")
        return f"{named} (firm, automatic reply)" if named else "Firm (automatic reply)"
    return f"{staff_label(message)} (firm)"


def _block(window: Window, message: WindowMessage, zone: ZoneInfo) -> str:
    """One message as one line, plus indented continuation and media lines that travel with it."""
    head = f"{stamp(message.created_at, zone)}  {_who(window, message)}: "
    if message.blocked:
        what = "not sent" if message.status == "canceled" else "send blocked"
        return f"{head}[{what}: {blocked_reason(message)}]"
    lines = text_lines(message.body) or ["(no text)"]
    why = failure(message)
    if why is not None:
        lines[-1] = f"{lines[-1]} (not delivered: {why})"
    rendered = [head + lines[0], *(_INDENT + line for line in lines[1:])]
    rendered += [f"{_INDENT}[{one_line(kind) or 'media'}: {one_line(url)}]" for kind, url in message.media]
    return "\n".join(rendered)


def _header(window: Window, zone: ZoneInfo, part: int, parts: int) -> str:
    phone = one_line(window.client_phone)
    name = one_line(window.client_name or "")
    lines = [
        f"Client: {name} ({phone})" if name else f"Client: {phone}",
        f"Matter: {one_line(window.matter_display_number)} — {one_line(window.matter_description)}",
        f"Firm number: {one_line(window.firm_number)}",
        f"Period: {period(window, zone)}",
    ]
    if window.part_of:
        lines.append(f"Part of: {one_line(window.part_of)}")
    if parts > 1:
        lines.append(f"Part {part} of {parts}")
    return "\n".join(lines)


def subject(window: Window, zone: ZoneInfo, kind: str = "transcript") -> str:
    """``SMS transcript — Jane Doe — 00101-Doe — 2026-11-27``, dated by the window's first local day."""
    first = local(bounds(window)[0], zone)
    return f"SMS {kind} — {client_label(window)} — {one_line(window.matter_display_number)} — {first:%Y-%m-%d}"


def _pack(blocks: list[str], budget: int) -> list[list[str]]:
    """Greedy, in order: a block goes to the next part only when it would overflow the current one."""
    parts: list[list[str]] = []
    current: list[str] = []
    size = 0
    for block in blocks:
        extra = len(block) + (1 if current else 0)
        if current and size + extra > budget:
            parts.append(current)
            current, size = [block], len(block)
        else:
            current.append(block)
            size += extra
    parts.append(current)
    return parts


def _body(header: str, blocks: list[str]) -> str:
    return f"{header}\n\n" + ("\n".join(blocks) if blocks else "(no messages)")


def render_transcript(window: Window, zone: ZoneInfo, *, max_chars: int = MAX_CHARS) -> list[TranscriptPart]:
    """The window as one or more plain-text records of at most ``max_chars`` characters each.

    A single message longer than a whole part is still kept whole, alone in its part: cutting a
    message would misquote the client, and Clio's limit is soft. ``ValueError`` if even the header
    cannot fit, since every part would then be over the limit.
    """
    blocks = [_block(window, message, zone) for message in ordered(window)]
    title = subject(window, zone)
    whole = _body(_header(window, zone, 1, 1), blocks)
    if len(whole) <= max_chars:
        return [TranscriptPart(title, whole, 1, 1)]
    digits = 1
    while True:
        widest = 10**digits - 1  # "Part N of M" is longest when N == M; its width depends on M's digits
        budget = max_chars - len(_header(window, zone, widest, widest)) - 2
        if budget <= 0:
            raise ValueError(f"max_chars={max_chars} cannot hold the transcript header")
        packed = _pack(blocks, budget)
        if len(packed) <= widest:
            break
        digits += 1
    if len(packed) == 1:
        return [TranscriptPart(title, whole, 1, 1)]
    count = len(packed)
    return [
        TranscriptPart(
            f"{title} (part {number} of {count})",
            _body(_header(window, zone, number, count), chunk),
            number,
            count,
        )
        for number, chunk in enumerate(packed, start=1)
    ]
