"""Summary notes: the privileged headline, each section as a lawyer reads it, blocked bodies kept out, determinism."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from connector.messaging.twilio_errors import meaning
from connector.writeback.summaries import HEADLINE, is_commitment, is_request, sentences, summarize
from connector.writeback.transcripts import Window, WindowMessage
from tests.support.custody import AVERY, CUSTODY, NY, SECRET, at, msg


def window(messages: tuple[WindowMessage, ...], client_name: str | None = "Jane Doe") -> Window:
    return Window(
        thread_id=7,
        matter_cms_id="123456",
        matter_display_number="00101-Doe",
        matter_description="Doe custody modification",
        client_name=client_name,
        client_phone="+16175550142",
        firm_number="+16175550100",
        messages=messages,
        opened_at=at(14, 0),
        closed_at=at(15, 0),
    )


EXPECTED = """\
Privileged & Confidential — Attorney–Client Communication

Participants
- Jane Doe (client, +16175550142)
- Avery Counsel (firm)

Period
Nov 27, 2026 9:14 AM EST – 9:40 AM EST

What the client asked
- 2026-11-27 09:14 EST — Hi Avery, is the custody hearing still on for Dec 3?
- 2026-11-27 09:14 EST — I need to know if I should take off work.
- 2026-11-27 09:28 EST — What do I do?

What the firm answered
- 2026-11-27 09:20 EST — Avery Counsel: Yes, the hearing is still set for Dec 3 at 9:30 AM. I'll call you tomorrow at 3pm to go over what to bring.
- 2026-11-27 09:22 EST — Avery Counsel: Please bring the school records too. (not delivered)

Follow-ups promised
- 2026-11-27 09:20 EST — Avery Counsel: Yes, the hearing is still set for Dec 3 at 9:30 AM.
- 2026-11-27 09:20 EST — Avery Counsel: I'll call you tomorrow at 3pm to go over what to bring.

Escalations
- 2026-11-27 09:28 EST — Jane Doe: My ex is refusing to bring the kids back tonight. What do I do?

Guardrail events
- 2026-11-27 09:22 EST — text from Avery Counsel not delivered: 30007 filtered by the carrier as spam or fraud
- 2026-11-27 09:30 EST — automatic keyword confirmation sent: “You have been unsubscribed from Doe Family Law texts. Reply START to resubscribe.”
- 2026-11-27 09:40 EST — send by Avery Counsel blocked: recipient opted out

Still unanswered
- 2026-11-27 09:28 EST — Jane Doe: My ex is refusing to bring the kids back tonight. What do I do?"""  # noqa: E501


def test_given_a_custody_window_when_summarised_then_the_lawyer_reads_these_exact_sections() -> None:
    note = summarize(window(CUSTODY), NY)

    assert note.subject == "SMS summary — Jane Doe — 00101-Doe — 2026-11-27"
    assert note.body.splitlines()[0] == HEADLINE == "Privileged & Confidential — Attorney–Client Communication"
    assert note.body == EXPECTED
    assert note.facts.participants == ("Jane Doe (client, +16175550142)", "Avery Counsel (firm)")
    assert note.facts.commitments[-1] == (
        "2026-11-27 09:20 EST — Avery Counsel: I'll call you tomorrow at 3pm to go over what to bring."
    )


def test_given_a_blocked_send_when_summarised_then_its_body_appears_nowhere() -> None:
    note = summarize(window(CUSTODY), NY)

    assert "PRIVILEGED-DRAFT" not in note.body
    assert "police" not in note.body
    assert "PRIVILEGED-DRAFT" not in repr(note.facts)


def test_given_a_text_intake_marked_urgent_then_it_is_under_escalations() -> None:
    urgent = msg(1, at(14, 0), "in", "He took the kids out of state!", kind="urgent")

    note = summarize(window((urgent,)), NY)

    assert note.facts.escalations == ("2026-11-27 09:00 EST — Jane Doe: He took the kids out of state!",)
    assert note.facts.unanswered == note.facts.escalations


def test_given_no_firm_reply_and_no_name_then_empty_sections_say_none() -> None:
    note = summarize(window((msg(1, at(14, 0), "in", "Thanks, got it."),), client_name=None), NY)

    assert note.body == (
        f"{HEADLINE}\n\n"
        "Participants\n- +16175550142 (client)\n\n"
        "Period\nNov 27, 2026 9:00 AM EST – 9:00 AM EST\n\n"
        "What the client asked\n— none —\n\n"
        "What the firm answered\n— none —\n\n"
        "Follow-ups promised\n— none —\n\n"
        "Escalations\n— none —\n\n"
        "Guardrail events\n— none —\n\n"
        "Still unanswered\n- 2026-11-27 09:00 EST — +16175550142: Thanks, got it."
    )


def test_given_a_delivered_reply_after_the_client_then_nothing_is_unanswered() -> None:
    messages = (
        msg(1, at(14, 0), "in", "Can you send me the parenting plan?"),
        msg(2, at(14, 5), "out", "Sent it to your email just now.", author=AVERY),
    )

    assert summarize(window(messages), NY).facts.unanswered == ()


def test_given_only_a_failed_or_blocked_reply_then_the_question_is_still_unanswered() -> None:
    question = msg(1, at(14, 0), "in", "Can you send me the parenting plan?")
    failed = msg(
        2, at(14, 5), "out", "Sent.", status="failed", error_code=30003, error_message=meaning(30003), author=AVERY
    )
    blocked = msg(3, at(14, 6), "out", SECRET, status="blocked", author=AVERY, blocked=True)

    facts = summarize(window((question, failed, blocked)), NY).facts

    assert facts.unanswered == ("2026-11-27 09:00 EST — Jane Doe: Can you send me the parenting plan?",)
    assert facts.guardrail_events == (
        "2026-11-27 09:05 EST — text from Avery Counsel not delivered: "
        "30003 unreachable handset (off, no signal, roaming); may work later",
        "2026-11-27 09:06 EST — send by Avery Counsel blocked: refused by the firm's texting guardrails",
    )


def test_given_a_long_firm_message_then_the_answer_is_whole_sentences_within_160_chars() -> None:
    body = (
        "I reviewed the order from Judge Ruiz this morning. "
        "The court kept the temporary schedule in place until the Dec. 3 hearing. "
        "Nothing changes for Thanksgiving weekend, so the exchange stays at the police station."
    )
    answer = summarize(window((msg(1, at(14, 0), "out", body, author=AVERY),)), NY).facts.firm_answers[0]

    assert answer == (
        "2026-11-27 09:00 EST — Avery Counsel: I reviewed the order from Judge Ruiz this morning. "
        "The court kept the temporary schedule in place until the Dec. 3 hearing."
    )


def test_given_one_very_long_sentence_then_the_answer_is_cut_at_a_word_with_an_ellipsis() -> None:
    body = "The " + "very " * 60 + "end."
    answer = summarize(window((msg(1, at(14, 0), "out", body, author=AVERY),)), NY).facts.firm_answers[0]
    quoted = answer.split(": ", 1)[1]

    assert len(quoted) <= 160
    assert quoted.endswith("very…")


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("I'll call you tomorrow at 3pm.", True),
        ("I’ll send the draft over.", True),  # a phone's curly apostrophe
        ("We will file the motion by Friday.", True),
        ("Our paralegal will send the forms.", True),
        ("The mediation is on 12/3.", True),
        ("Let's talk at 9:30 AM.", True),
        ("I can meet next week.", True),
        ("The hearing moved to December 3rd.", True),
        ("Thanks for the photo.", False),
        ("I marked 2 exhibits.", False),
        ("The judge was fair.", False),
    ],
)
def test_commitment_rules(sentence: str, expected: bool) -> None:
    assert is_commitment(sentence) is expected


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Is the hearing still on?", True),
        ("Hi Avery, can you call me", True),
        ("Please send the parenting plan.", True),
        ("I need a copy of the order.", True),
        ("OK, when do I need to be there", True),
        ("Thanks so much.", False),
        ("Here is the notice they mailed me.", False),
        ("My ex is refusing to bring the kids back tonight.", False),
    ],
)
def test_request_rules(sentence: str, expected: bool) -> None:
    assert is_request(sentence) is expected


def test_sentences_keep_abbreviations_and_split_lines() -> None:
    assert sentences("See Dr. Ruiz on Dec. 3 at 9 a.m. Then call me!\nBring ID. Thanks") == [
        "See Dr. Ruiz on Dec. 3 at 9 a.m. Then call me!",
        "Bring ID.",
        "Thanks",
    ]


def test_given_the_same_window_in_any_order_when_summarised_then_byte_identical() -> None:
    first = summarize(window(CUSTODY), NY)
    again = summarize(window(tuple(reversed(CUSTODY))), NY)

    assert first == again
    assert first.body.encode() == again.body.encode()


def test_given_a_window_across_the_fall_back_when_summarised_then_edt_then_est() -> None:
    before = msg(1, datetime(2026, 11, 1, 5, 30, tzinfo=UTC), "in", "Are you up?")
    after = msg(2, datetime(2026, 11, 1, 6, 30, tzinfo=UTC), "out", "Yes, I will call at 8 AM.", author=AVERY)

    note = summarize(replace(window((before, after)), opened_at=before.created_at), NY)

    assert "Period\nNov 1, 2026 1:30 AM EDT – 1:30 AM EST" in note.body
    assert note.facts.client_questions == ("2026-11-01 01:30 EDT — Are you up?",)
    assert note.facts.commitments == ("2026-11-01 01:30 EST — Avery Counsel: Yes, I will call at 8 AM.",)
