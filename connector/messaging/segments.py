"""How many SMS segments a body costs, counted the way the carrier network splits it.

Twilio bills per segment and the firm sees the count before a text goes out, so the count has to
match what is actually transmitted, not a length divided by a constant. Two rules make the naive
division wrong at the edges, and both are applied here:

* GSM-7 extension characters (``^ { } \\ [ ~ ] | €`` and form feed) are sent as an escape septet plus
  the character. The pair is never split across segments, so when it would straddle a 153-septet
  boundary the whole pair moves to the next segment and the last septet of the earlier one is wasted.
* In UCS-2 a character outside the Basic Multilingual Plane (emoji, some CJK) is a UTF-16 surrogate
  pair; the pair is never split either, with the same effect at the 67-unit boundary.

One non-GSM-7 character anywhere switches the whole body to UCS-2 (reference §5.3). Smart Encoding
is not modelled: Matterline counts the body it is about to send, and a curly quote that Twilio might
substitute is still counted as UCS-2, which can only over-estimate the cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Encoding = Literal["GSM-7", "UCS-2"]

GSM7_SINGLE: Final = 160
"""Septets in a GSM-7 message that fits one segment."""
GSM7_CONCAT: Final = 153
"""Septets per segment of a concatenated GSM-7 message (the user-data header takes the other 7)."""
UCS2_SINGLE: Final = 70
"""UTF-16 code units in a UCS-2 message that fits one segment."""
UCS2_CONCAT: Final = 67
"""UTF-16 code units per segment of a concatenated UCS-2 message."""

MAX_BODY_CHARS: Final = 1600
"""Twilio's limit on `Body`; longer outbound requests fail with error 21617 (reference §5.2, §5.3)."""

# GSM 03.38 default alphabet, in code-point order of the GSM table (0x00-0x7F), less the escape
# (0x1B), which is not a character a body can contain.
_GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# GSM 03.38 extension table: each is sent as ESC + character, so costs two septets.
_GSM7_EXTENSION: Final = frozenset("\f^{}\\[~]|€")


@dataclass(frozen=True, slots=True)
class Segments:
    """The cost of one body.

    `units` is septets for GSM-7 and UTF-16 code units for UCS-2; `per_segment` is the capacity of
    each segment the body was split into (160/70 when it fits one, 153/67 when concatenated), so
    ``segments * per_segment >= units`` always holds.
    """

    encoding: Encoding
    segments: int
    units: int
    per_segment: int


def _gsm7_widths(body: str) -> list[int] | None:
    """Septets per character, or None as soon as one character has no GSM-7 encoding."""
    widths: list[int] = []
    for char in body:
        if char in _GSM7_BASIC:
            widths.append(1)
        elif char in _GSM7_EXTENSION:
            widths.append(2)
        else:
            return None
    return widths


def _utf16_width(char: str) -> int:
    """UTF-16 code units of one code point: astral characters are a surrogate pair."""
    return 2 if ord(char) > 0xFFFF else 1


def _pack(widths: list[int], capacity: int) -> int:
    """Segments needed when each indivisible run of `widths` must sit wholly inside one segment."""
    segments, used = 1, 0
    for width in widths:
        if used + width > capacity:
            segments += 1
            used = 0
        used += width
    return segments


def _split(encoding: Encoding, widths: list[int], single: int, concat: int) -> Segments:
    units = sum(widths)
    if units <= single:
        return Segments(encoding, 1 if units else 0, units, single)
    return Segments(encoding, _pack(widths, concat), units, concat)


def measure(body: str) -> Segments:
    """Encoding and segment count of `body` as an SMS; the empty body costs nothing."""
    gsm = _gsm7_widths(body)
    if gsm is not None:
        return _split("GSM-7", gsm, GSM7_SINGLE, GSM7_CONCAT)
    return _split("UCS-2", [_utf16_width(char) for char in body], UCS2_SINGLE, UCS2_CONCAT)


def twilio_length(body: str) -> int:
    """The length Twilio holds against `MAX_BODY_CHARS`: UTF-16 code units, so an emoji counts 2.

    Twilio's error 21617 page says emoji and other characters "will be counted as multiple
    characters", and the reference (§5.3) records emoji as two UTF-16 code units. Counting code units
    (astral characters 2, everything else 1, GSM-7 extension characters 1) is therefore the reading
    that never lets a body through that Twilio would reject for an emoji; the exact rule for
    non-astral non-GSM characters is not published, and code units are the natural count for them.
    """
    return sum(_utf16_width(char) for char in body)


def too_long(body: str) -> bool:
    """Whether Twilio would refuse `body` as over its 1,600-character limit (see `twilio_length`)."""
    return twilio_length(body) > MAX_BODY_CHARS
