"""Phone numbers as firms type them."""

from __future__ import annotations

import pytest

from connector.phones import normalize, to_e164


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(415) 867-5309", "+14158675309"),
        ("415-867-5309", "+14158675309"),
        ("415.867.5309", "+14158675309"),
        ("4158675309", "+14158675309"),
        ("+1 415 867 5309", "+14158675309"),
        ("1-415-867-5309", "+14158675309"),
        ("(415)8675309", "+14158675309"),
        ("  415-867-5309  ", "+14158675309"),
        ("415-867-5309 x12", "+14158675309"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+52 55 1234 5678", "+525512345678"),
        ("+61 2 9876 5432", "+61298765432"),
    ],
)
def test_given_a_typed_number_when_normalized_then_e164(raw: str, expected: str) -> None:
    parsed = normalize(raw, "US")
    assert parsed.e164 == expected
    assert parsed.raw == raw
    assert parsed.error is None


@pytest.mark.parametrize("raw", ["n/a", "call office", "555-1234", "12345", "", "   ", "+999 123", "555-555-5555"])
def test_given_junk_when_normalized_then_kept_with_a_reason(raw: str) -> None:
    parsed = normalize(raw, "US")
    assert parsed.e164 is None
    assert parsed.raw == raw
    assert parsed.error


def test_given_a_national_number_when_region_differs_then_read_in_that_region() -> None:
    assert to_e164("020 7946 0958", "GB") == "+442079460958"
    assert to_e164("020 7946 0958", "US") is None


def test_pretty_is_national_for_the_region_and_international_otherwise() -> None:
    from connector.phones import pretty

    assert pretty("+14158675309", "US") == "(415) 867-5309"
    assert pretty("+14158675309", "GB") == "+1 415-867-5309"
    assert pretty("junk", "US") == "junk"
