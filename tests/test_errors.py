"""The one error every refusal is: a stable code, a message, details, and its kind."""

from __future__ import annotations

import pytest

from connector.errors import Kind, MatterlineError, bad_parameter, not_found, require_reason


def test_a_refusal_carries_its_code_message_details_and_kind() -> None:
    error = bad_parameter("limit", "must be a whole number from 1 to 200", allowed=[1, 200])
    assert (error.kind, error.code) == (Kind.MALFORMED, "invalid_parameter")
    assert error.message == str(error) == "limit: must be a whole number from 1 to 200"
    assert error.details == {"parameter": "limit", "allowed": [1, 200]}
    assert (not_found("no thread 9").kind, not_found("no thread 9").code) == (Kind.NOT_FOUND, "not_found")


@pytest.mark.parametrize("blank", ["", "   ", "\n\t", None])
def test_a_reason_for_the_audit_log_must_say_something(blank: str | None) -> None:
    with pytest.raises(MatterlineError) as caught:
        require_reason(blank, "override_reason")
    assert (caught.value.kind, caught.value.code, caught.value.details) == (
        Kind.INVALID,
        "empty_reason",
        {"field": "override_reason"},
    )


def test_a_reason_is_kept_trimmed_and_bounded() -> None:
    assert require_reason("  client asked  ") == "client asked"
    assert len(require_reason("x" * 900)) == 500
