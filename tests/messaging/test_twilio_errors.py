"""The one table that decides what a Twilio refusal means and what the sender does about it."""

from __future__ import annotations

import pytest

from connector.messaging.twilio_errors import ERRORS, Action, classify, meaning


@pytest.mark.parametrize(
    ("status", "code", "action"),
    [
        (429, 20429, Action.BACK_OFF),  # Twilio's own rate limit
        (429, None, Action.BACK_OFF),  # a 429 without a code is still load, not the text
        (400, 21610, Action.OPT_OUT),  # the recipient opted out at Twilio
        (400, 21211, Action.FAIL),  # not a number
        (400, 21614, Action.FAIL),  # a landline
        (400, 30007, Action.FAIL),  # filtered as spam
        (400, 99999, Action.FAIL),  # a 4xx we do not know created nothing: final, never retried blind
        (500, None, Action.RETRY),  # Twilio may have created it: look it up, then retry
        (503, 20429, Action.RETRY),  # a 5xx is ambiguous whatever code comes with it
    ],
)
def test_refusals_are_classified(status: int, code: int | None, action: Action) -> None:
    assert classify(status, code) is action


def test_every_known_code_says_what_it_means_to_staff() -> None:
    assert all(entry.meaning.strip() and isinstance(entry.action, Action) for entry in ERRORS.values())
    assert meaning(21610) == "the recipient has opted out (STOP)"
    assert meaning(21610, "Twilio's own words") == "Twilio's own words"
    assert meaning(None) is None
    assert meaning(12345) is None
