"""The one table that decides what a failed CMS call means."""

from __future__ import annotations

import pytest

from connector.cms.errors import Action, ConfigError, classify


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (400, Action.FATAL),
        (401, Action.FIX_CONFIG),
        (403, Action.FIX_CONFIG),
        (404, Action.FATAL),
        (408, Action.RETRY),
        (410, Action.FIX_CONFIG),
        (412, Action.FATAL),
        (418, Action.FATAL),
        (422, Action.FATAL),
        (429, Action.RATE_LIMITED),
        (500, Action.RETRY),
        (502, Action.RETRY),
        (503, Action.RETRY),
        (504, Action.RETRY),
        (599, Action.RETRY),
    ],
)
def test_status_classification(status: int, action: Action) -> None:
    assert classify(status) is action


def test_config_error_codes() -> None:
    assert ConfigError("GET /x", "expired", status=401).code == "invalid_auth"
    assert ConfigError("GET /x", "forbidden", status=403).code == "invalid_auth"
    assert ConfigError("GET /x", "gone", status=410).code == "invalid_config"
    assert str(ConfigError("GET /api/v4/contacts.json", "nope", status=403)) == (
        "GET /api/v4/contacts.json: HTTP 403: nope"
    )
