"""What a Twilio refusal means for a firm, and what the sender does about it: one table, like the CMS's.

Each known error code has a meaning staff read next to the failed text, and an action. An answer Twilio
gave with a status but an unknown code falls back by status: 429 backs off, 5xx retries (after looking
the message up, since Twilio may have created it), any other 4xx is final because Twilio created nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

__all__ = ["ERRORS", "Action", "TwilioError", "classify", "meaning"]


class Action(Enum):
    """What the sender does after Twilio refused a text."""

    RETRY = "retry"  # Twilio may have created it (5xx): look it up, then try again with backoff
    BACK_OFF = "back_off"  # Twilio is busy (429, 20429): nothing was created; try again later
    OPT_OUT = "opt_out"  # the recipient opted out at Twilio (21610): record it in the ledger, never retry
    FAIL = "fail"  # the text cannot go as it is (a bad number, a landline, a blocked sender): final


@dataclass(frozen=True, slots=True)
class TwilioError:
    """One of Twilio's error codes: what it means to staff and what the sender does."""

    meaning: str
    action: Action


ERRORS: Final[dict[int, TwilioError]] = {
    20429: TwilioError("Twilio is busy (too many requests); retried with backoff", Action.BACK_OFF),
    21211: TwilioError("invalid 'To' number", Action.FAIL),
    21214: TwilioError("'To' number cannot be reached", Action.FAIL),
    21408: TwilioError("permission to send to this region is not enabled", Action.FAIL),
    21603: TwilioError("no 'From' number", Action.FAIL),
    21606: TwilioError("the 'From' number cannot send", Action.FAIL),
    21610: TwilioError("the recipient has opted out (STOP)", Action.OPT_OUT),
    21612: TwilioError("cannot route to this number from this sender", Action.FAIL),
    21614: TwilioError("'To' is not a mobile number (landline?)", Action.FAIL),
    21617: TwilioError("the body is too long", Action.FAIL),
    30001: TwilioError("queue overflow at Twilio", Action.FAIL),
    30002: TwilioError("the Twilio account is suspended", Action.FAIL),
    30003: TwilioError("unreachable handset (off, no signal, roaming); may work later", Action.FAIL),
    30004: TwilioError("message blocked (the recipient or carrier blocked it)", Action.FAIL),
    30005: TwilioError("unknown handset: the number is inactive or does not exist", Action.FAIL),
    30006: TwilioError("landline or unreachable carrier: call instead", Action.FAIL),
    30007: TwilioError("filtered by the carrier as spam or fraud", Action.FAIL),
    30008: TwilioError("unknown delivery error", Action.FAIL),
    30034: TwilioError("the sending number is not A2P 10DLC registered", Action.FAIL),
}


def classify(status: int, code: int | None) -> Action:
    """The action for a refusal with HTTP `status` and Twilio error `code`; the status decides first for 5xx."""
    if status >= 500:
        return Action.RETRY
    known = ERRORS.get(code) if code is not None else None
    if known is not None:
        return known.action
    return Action.BACK_OFF if status == 429 else Action.FAIL


def meaning(code: int | None, fallback: str | None = None) -> str | None:
    """Twilio's own words when it gave them, else ours for the code."""
    if fallback:
        return fallback
    known = ERRORS.get(code) if code is not None else None
    return known.meaning if known is not None else None
