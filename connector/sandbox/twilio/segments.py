"""SMS segments as carriers bill them (GSM-7 or UCS-2), so a worker's segment count matches Twilio's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

# GSM 03.38: the default alphabet (one septet each; ESC itself is not a character) and its extension
# table (ESC + one septet, so two each).
GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED: Final = frozenset("\f^{}\\[~]|€")


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
