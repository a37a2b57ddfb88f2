"""The raw form an inbound text keeps: every parameter as Twilio sent it, in a shape PostgreSQL accepts."""

from __future__ import annotations

import json

from connector.messaging import reception


def test_the_raw_form_round_trips_whatever_it_holds_and_stores_no_nul() -> None:
    form = {
        "Body": "50%\x00 off %00 ␀ \\u0000 \ufffd 👍",
        "Odd\x00Name": "\x00",
        "FromCity": "100% SAN FRANCISCO",
        reception.ENCODED_KEY + "x": "a parameter whose name only looks like ours",
    }
    stored = reception.stored_raw(form)
    assert "\x00" not in json.dumps(stored, ensure_ascii=False)
    assert stored["FromCity"] == "100% SAN FRANCISCO"  # only a parameter holding a NUL is encoded
    assert reception.original_raw(stored) == form
    assert reception.original_raw(json.loads(json.dumps(stored))) == form


def test_a_raw_form_without_nul_is_kept_as_sent() -> None:
    form = {"Body": "caf\ufffd %41", "NumMedia": "0"}
    assert reception.stored_raw(form) == form
    assert reception.original_raw(form) == form
