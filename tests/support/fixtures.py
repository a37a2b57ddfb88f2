"""Where the recorded payloads live: real Clio and Twilio bodies, one file per case, beside the tests."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Final

FIXTURES_ROOT: Final = Path(__file__).resolve().parent.parent / "fixtures"
TWILIO_WEBHOOKS: Final = FIXTURES_ROOT / "webhooks" / "twilio"
"""The forms Twilio posts, as `<kind>__<variant>.json`: `sms__*` to the inbound URL, `status__*` to the callback."""

_sids = itertools.count(1)


def new_sid(prefix: str = "SM") -> str:
    """A fresh, well-formed MessageSid."""
    return f"{prefix}{next(_sids):032x}"


def twilio_names(kind: str) -> list[str]:
    """The names (without `.json`) of every Twilio fixture of `kind` (`sms` or `status`), sorted."""
    return sorted(path.stem for path in TWILIO_WEBHOOKS.glob(f"{kind}__*.json"))


def twilio_fixture(name: str) -> dict[str, str]:
    """One Twilio fixture exactly as recorded, placeholder SIDs included."""
    form = json.loads((TWILIO_WEBHOOKS / f"{name}.json").read_text(encoding="utf-8"))
    if not isinstance(form, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in form.items()):
        raise TypeError(f"{name}.json must be one object of string fields, as Twilio's form is")
    return form


def twilio_form(name: str, **overrides: str) -> dict[str, str]:
    """The form Twilio posts, from `tests/fixtures/webhooks/twilio/<name>.json`, ready to post.

    The recorded MessageSid is a placeholder: it becomes a fresh SID of the same prefix (SM or MM), or the
    `MessageSid` override, wherever it appears (SmsSid, SmsMessageSid, the media URLs), so every load is a
    new message. Then `overrides` are applied, last, as given.
    """
    form = twilio_fixture(name)
    placeholder = form["MessageSid"]
    sid = overrides.get("MessageSid") or new_sid(placeholder[:2])
    form = {key: value.replace(placeholder, sid) for key, value in form.items()}
    form.update(overrides)
    return form
