"""Transcripts: the exact lines a paralegal reads, DST-correct times, splitting, and blocked bodies kept out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from connector.writeback.transcripts import Window, WindowMessage, render_transcript
from tests.support.custody import AVERY, CUSTODY, NY, PHOTO, at, msg


def window(messages: tuple[WindowMessage, ...], **overrides: object) -> Window:
    base = Window(
        thread_id=7,
        matter_cms_id="123456",
        matter_display_number="00101-Doe",
        matter_description="Doe custody modification",
        client_name="Jane Doe",
        client_phone="+16175550142",
        firm_number="+16175550100",
        messages=messages,
        opened_at=messages[0].created_at if messages else datetime(2026, 11, 27, 14, 0, tzinfo=UTC),
        closed_at=messages[-1].created_at if messages else datetime(2026, 11, 27, 15, 0, tzinfo=UTC),
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


EXPECTED = """\
Client: Jane Doe (+16175550142)
Matter: 00101-Doe — Doe custody modification
Firm number: +16175550100
Period: Nov 27, 2026 9:14 AM EST – 9:40 AM EST

2026-11-27 09:14 EST  Jane Doe: Hi Avery, is the custody hearing still on for Dec 3? I need to know if I should take off work.
2026-11-27 09:16 EST  Jane Doe: Here is the notice they mailed me.
    [image/jpeg: https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1]
2026-11-27 09:20 EST  Avery Counsel (firm): Yes, the hearing is still set for Dec 3 at 9:30 AM. I'll call you tomorrow at 3pm to go over what to bring.
2026-11-27 09:22 EST  Avery Counsel (firm): Please bring the school records too. (not delivered: 30007 filtered by the carrier as spam or fraud)
2026-11-27 09:28 EST  Jane Doe: My ex is refusing to bring the kids back tonight. What do I do?
2026-11-27 09:30 EST  Jane Doe: STOP
2026-11-27 09:30 EST  Firm (automatic reply): You have been unsubscribed from Doe Family Law texts. Reply START to resubscribe.
2026-11-27 09:40 EST  Avery Counsel (firm): [send blocked: recipient opted out]"""  # noqa: E501


def test_given_a_custody_window_when_rendered_then_the_paralegal_reads_these_exact_lines() -> None:
    parts = render_transcript(window(CUSTODY), NY)

    assert len(parts) == 1
    assert parts[0].subject == "SMS transcript — Jane Doe — 00101-Doe — 2026-11-27"
    assert (parts[0].part, parts[0].parts) == (1, 1)
    assert parts[0].body == EXPECTED


def test_given_a_blocked_send_when_rendered_then_its_body_appears_nowhere() -> None:
    no_reason = replace(CUSTODY[-1], error_message=None)
    for messages in (CUSTODY, (*CUSTODY[:-1], no_reason)):
        for max_chars in (60_000, 400):
            for part in render_transcript(window(messages), NY, max_chars=max_chars):
                assert "PRIVILEGED-DRAFT" not in part.body
                assert "police" not in part.body
                assert "PRIVILEGED-DRAFT" not in part.subject

    only = render_transcript(window((*CUSTODY[:-1], no_reason)), NY)[0].body
    assert only.endswith("Avery Counsel (firm): [send blocked: refused by the firm's texting guardrails]")


def test_given_a_window_across_the_fall_back_when_rendered_then_edt_then_est() -> None:
    # 2026-11-01 06:00 UTC is 02:00 EDT, which becomes 01:00 EST: 01:30 happens twice.
    before = msg(1, datetime(2026, 11, 1, 5, 30, tzinfo=UTC), "in", "Are you up? Court papers came.")
    after = msg(2, datetime(2026, 11, 1, 6, 30, tzinfo=UTC), "out", "Yes, send a photo.", author=AVERY)

    body = render_transcript(window((after, before)), NY)[0].body

    assert body.splitlines()[3] == "Period: Nov 1, 2026 1:30 AM EDT – 1:30 AM EST"
    assert body.splitlines()[-2:] == [
        "2026-11-01 01:30 EDT  Jane Doe: Are you up? Court papers came.",
        "2026-11-01 01:30 EST  Avery Counsel (firm): Yes, send a photo.",
    ]


def test_given_a_window_over_midnight_when_rendered_then_the_period_names_both_days() -> None:
    first = msg(1, datetime(2026, 7, 3, 3, 50, tzinfo=UTC), "in", "Still awake?")
    last = msg(2, datetime(2026, 7, 3, 4, 10, tzinfo=UTC), "out", "Yes.", author=AVERY)

    parts = render_transcript(window((first, last)), NY)

    assert "Period: Jul 2, 2026 11:50 PM EDT – Jul 3, 2026 12:10 AM EDT" in parts[0].body
    assert parts[0].subject.endswith("— 2026-07-02")


def _many(count: int) -> tuple[WindowMessage, ...]:
    messages: list[WindowMessage] = []
    for n in range(count):
        when = at(14, 0) + timedelta(minutes=n)
        if n % 3 == 0:
            messages.append(msg(n, when, "in", f"Question {n}: when is the next filing due?\nAlso, is mediation set?"))
        elif n % 3 == 1:
            messages.append(msg(n, when, "out", f"Answer {n}: the filing is due Friday.", author=AVERY))
        else:
            messages.append(msg(n, when, "in", f"Photo {n}", media=(("image/png", f"{PHOTO}{n}"), ("video/mp4", "x"))))
    return tuple(messages)


def _message_section(body: str) -> str:
    return body.split("\n\n", 1)[1]


@pytest.mark.parametrize(("count", "max_chars"), [(30, 900), (60, 420)])
def test_given_many_messages_when_split_then_numbered_parts_with_whole_messages(count: int, max_chars: int) -> None:
    win = window(_many(count))
    whole = render_transcript(win, NY, max_chars=10**9)
    parts = render_transcript(win, NY, max_chars=max_chars)

    total = len(parts)
    assert len(whole) == 1
    assert total > 1
    assert [(p.part, p.parts) for p in parts] == [(n, total) for n in range(1, total + 1)]
    header = whole[0].body.split("\n\n", 1)[0]
    for number, part in enumerate(parts, start=1):
        assert len(part.body) <= max_chars
        assert part.subject == f"SMS transcript — Jane Doe — 00101-Doe — 2026-11-27 (part {number} of {total})"
        head, section = part.body.split("\n\n", 1)
        assert head == f"{header}\nPart {number} of {total}"
        assert section.startswith("2026-11-27 ")  # a part opens on a message line, never on a continuation
    assert "\n".join(_message_section(p.body) for p in parts) == _message_section(whole[0].body)


def test_given_more_than_nine_parts_when_split_then_two_digit_numbering_still_fits() -> None:
    parts = render_transcript(window(_many(80)), NY, max_chars=330)

    assert len(parts) >= 10
    assert all(len(p.body) <= 330 for p in parts)
    assert parts[9].body.split("\n\n", 1)[0].endswith(f"Part 10 of {len(parts)}")


def test_given_a_message_longer_than_a_part_when_split_then_it_stays_whole_in_its_own_part() -> None:
    long = msg(2, at(14, 1), "in", "word " * 200)
    messages = (msg(1, at(14, 0), "in", "Hello?"), long, msg(3, at(14, 2), "out", "Got it.", author=AVERY))

    parts = render_transcript(window(messages), NY, max_chars=500)

    assert len(parts) == 3
    assert _message_section(parts[1].body) == "2026-11-27 09:01 EST  Jane Doe: " + ("word " * 200).strip()


def test_given_a_limit_smaller_than_the_header_when_split_then_refused() -> None:
    with pytest.raises(ValueError, match="header"):
        render_transcript(window(_many(5)), NY, max_chars=60)


def test_given_the_same_window_in_any_storage_order_when_rendered_then_byte_identical() -> None:
    first = render_transcript(window(_many(40)), NY, max_chars=700)
    again = render_transcript(window(_many(40)), NY, max_chars=700)
    shuffled = render_transcript(window(tuple(reversed(_many(40)))), NY, max_chars=700)

    assert first == again == shuffled


def test_given_multiline_and_control_characters_when_rendered_then_one_message_stays_one_block() -> None:
    body = "First line\r\n\r\nsecond\tline\u2028third\x07line"
    parts = render_transcript(window((msg(1, at(14, 0), "in", body),)), NY)

    assert _message_section(parts[0].body) == (
        "2026-11-27 09:00 EST  Jane Doe: First line\n    second line\n    third line"
    )


def test_given_media_only_from_an_unnamed_client_then_phone_and_no_text_marker() -> None:
    photo = msg(1, at(14, 0), "in", "", media=(("image/jpeg", PHOTO),))
    parts = render_transcript(window((photo,), client_name=None), NY)

    assert parts[0].subject == "SMS transcript — +16175550142 — 00101-Doe — 2026-11-27"
    assert parts[0].body.splitlines()[0] == "Client: +16175550142"
    assert (
        _message_section(parts[0].body) == f"2026-11-27 09:00 EST  +16175550142: (no text)\n    [image/jpeg: {PHOTO}]"
    )


def test_given_a_failure_without_code_or_author_then_twilio_message_and_firm_label() -> None:
    failed = msg(1, at(14, 0), "out", "Reminder: court at 9.", status="failed", error_message="Unreachable destination")
    help_reply = msg(2, at(14, 1), "out", "Doe Family Law: reply STOP to opt out.", kind="help", author=AVERY)

    section = _message_section(render_transcript(window((failed, help_reply)), NY)[0].body)

    assert section.splitlines() == [
        "2026-11-27 09:00 EST  Firm (firm): Reminder: court at 9. (not delivered: Unreachable destination)",
        "2026-11-27 09:01 EST  Avery Counsel (firm, automatic reply): Doe Family Law: reply STOP to opt out.",
    ]


def test_given_an_empty_window_with_a_reference_then_window_bounds_and_part_of_line() -> None:
    parts = render_transcript(window((), part_of="thread 7, window 3"), NY)

    assert parts[0].body == (
        "Client: Jane Doe (+16175550142)\n"
        "Matter: 00101-Doe — Doe custody modification\n"
        "Firm number: +16175550100\n"
        "Period: Nov 27, 2026 9:00 AM EST – 10:00 AM EST\n"
        "Part of: thread 7, window 3\n"
        "\n"
        "(no messages)"
    )


def test_given_a_naive_timestamp_when_rendered_then_refused() -> None:
    naive = msg(1, datetime(2026, 11, 27, 9, 0), "in", "Hi")
    with pytest.raises(ValueError, match="no zone"):
        render_transcript(window((naive,)), NY)
