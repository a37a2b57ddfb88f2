"""Phone numbers as firms type them, read into E.164 without ever losing what was typed."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

_E164 = phonenumbers.PhoneNumberFormat.E164


@dataclass(frozen=True, slots=True)
class ParsedPhone:
    """One number as read: `e164` when it is a real number, else `error` says why not."""

    raw: str
    e164: str | None
    error: str | None


@lru_cache(maxsize=65_536)
def normalize(raw: str, region: str) -> ParsedPhone:
    """Read `raw` as a phone number, assuming `region` for numbers typed without a country code.

    Extensions ("x12") are dropped from the E.164 form: a text message cannot dial them.
    """
    text = raw.strip()
    if not text:
        return ParsedPhone(raw, None, "empty")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        return ParsedPhone(raw, None, _PARSE_ERRORS.get(exc.error_type, "not a phone number"))
    if not phonenumbers.is_valid_number(parsed):
        return ParsedPhone(raw, None, "not a valid number")
    return ParsedPhone(raw, phonenumbers.format_number(parsed, _E164), None)


def to_e164(raw: str, region: str) -> str | None:
    """The E.164 form of `raw`, or None when it is not a valid number."""
    return normalize(raw, region).e164


_PARSE_ERRORS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    phonenumbers.NumberParseException.NOT_A_NUMBER: "not a phone number",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
    phonenumbers.NumberParseException.TOO_LONG: "too long",
}


def pretty(e164: str, region: str) -> str:
    """`e164` as people read it: the national form for a number of `region`, else the international one."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    same = phonenumbers.region_code_for_number(parsed) == region
    return phonenumbers.format_number(
        parsed, phonenumbers.PhoneNumberFormat.NATIONAL if same else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
