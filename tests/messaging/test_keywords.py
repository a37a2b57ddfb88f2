"""Classifying inbound texts: Twilio keywords, Twilio's OptOutType, and plain-language revocations.

The labelled set in fixtures/keywords.json holds both harms: revocations that must not be missed
(someone who said stop keeps getting texts) and texts that merely mention stopping or texting,
which must never opt a client out (a false opt-out silently cuts them off from their lawyer).
"""

from __future__ import annotations

import json
import time
import unicodedata
from dataclasses import FrozenInstanceError

import pytest

from connector.messaging.keywords import (
    HELP_KEYWORDS,
    NONE,
    OPT_IN_KEYWORDS,
    OPT_OUT_KEYWORDS,
    Keyword,
    Kind,
    classify,
    plain_language_revocation,
)
from tests.support.fixtures import FIXTURES_ROOT

FIXTURE = FIXTURES_ROOT / "keywords.json"
LABELLED: list[dict[str, str]] = json.loads(FIXTURE.read_text(encoding="utf-8"))
TWILIO_WORDS = OPT_OUT_KEYWORDS | OPT_IN_KEYWORDS | HELP_KEYWORDS


def _is_single_twilio_keyword(text: str) -> bool:
    """Ground truth for the fixture, independent of the classifier: one keyword, wrapping trimmed."""
    start, end = 0, len(text)
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return unicodedata.normalize("NFKC", text[start:end]).upper() in TWILIO_WORDS


def test_given_the_labelled_set_when_loaded_then_it_is_large_and_holds_both_harms() -> None:
    kinds = [row["expected_kind"] for row in LABELLED]
    assert len(LABELLED) >= 120
    assert set(kinds) == {"opt_out", "opt_in", "help", "none"}
    assert len({row["text"] for row in LABELLED}) == len(LABELLED)
    plain = [r for r in LABELLED if r["expected_kind"] == "opt_out" and not _is_single_twilio_keyword(r["text"])]
    tricky = [
        r
        for r in LABELLED
        if r["expected_kind"] == "none" and any(w in r["text"].lower() for w in ("stop", "text", "cancel", "mensaje"))
    ]
    assert len(plain) >= 60
    assert len(tricky) >= 40


@pytest.mark.parametrize("row", LABELLED, ids=[repr(row["text"])[:60] for row in LABELLED])
def test_given_a_labelled_text_when_classified_then_the_expected_kind(row: dict[str, str]) -> None:
    assert classify(row["text"]).kind == row["expected_kind"]


def test_given_the_labelled_set_when_scored_then_plain_language_has_full_recall_and_no_false_opt_outs() -> None:
    true_pos = false_pos = false_neg = 0
    missed: list[str] = []
    wrongly_opted_out: list[str] = []
    for row in LABELLED:
        text, expected = row["text"], row["expected_kind"]
        result = classify(text)
        if result.kind == "opt_out" and expected != "opt_out":
            wrongly_opted_out.append(text)
        if _is_single_twilio_keyword(text):
            continue
        actual_plain = result.source == "plain_language"
        assert actual_plain == (result.kind == "opt_out"), text  # no other route to opt-out for these
        if expected == "opt_out" and actual_plain:
            true_pos += 1
        elif expected == "opt_out":
            false_neg += 1
            missed.append(text)
        elif actual_plain:
            false_pos += 1
    precision = true_pos / (true_pos + false_pos) if true_pos + false_pos else 1.0
    recall = true_pos / (true_pos + false_neg) if true_pos + false_neg else 1.0
    print(
        f"\nplain-language revocations: precision {precision:.3f}, recall {recall:.3f} "
        f"(tp={true_pos} fp={false_pos} fn={false_neg}) over {len(LABELLED)} labelled texts"
    )
    assert missed == []
    assert wrongly_opted_out == []
    assert recall == 1.0
    assert precision == 1.0


@pytest.mark.parametrize(
    ("body", "kind", "word"),
    [
        ("STOP", "opt_out", "STOP"),
        (" Stop! ", "opt_out", "STOP"),
        ('"stop"', "opt_out", "STOP"),
        ("Stop 🙏", "opt_out", "STOP"),
        ("optout", "opt_out", "OPTOUT"),
        ("Revoke.", "opt_out", "REVOKE"),
        ("stopall", "opt_out", "STOPALL"),
        ("Yes!", "opt_in", "YES"),
        ("unstop", "opt_in", "UNSTOP"),
        ("info?", "help", "INFO"),
        ("HELP", "help", "HELP"),
    ],
)
def test_given_a_single_keyword_when_classified_then_twilio_has_confirmed(body: str, kind: Kind, word: str) -> None:
    assert classify(body) == Keyword(kind, word, "keyword", True)


@pytest.mark.parametrize("body", ["STOP PLEASE", "please stop", "Stop, please", "opt out", "OPT-OUT"])
def test_given_two_words_when_classified_then_plain_language_not_a_keyword(body: str) -> None:
    # Twilio only blocks single words, so Matterline sends the one confirmation itself.
    result = classify(body)
    assert result.kind == "opt_out"
    assert result.source == "plain_language"
    assert result.twilio_confirms is False


@pytest.mark.parametrize("body", ["help me", "info about my hearing?", "yes I got it", "Start date is Monday"])
def test_given_a_keyword_inside_a_sentence_when_classified_then_nothing(body: str) -> None:
    assert classify(body) == NONE


def test_given_a_plain_revocation_when_classified_then_the_phrase_is_reported() -> None:
    result = classify("Hi Sarah, please don’t text me anymore.")
    assert result == Keyword("opt_out", "dont text me", "plain_language", False)
    assert plain_language_revocation("No más mensajes, gracias") == "no mas mensajes"
    assert plain_language_revocation("Cancelar") == "cancelar"
    assert plain_language_revocation("my ex won't stop texting me") is None


@pytest.mark.parametrize(
    ("opt_out_type", "body", "expected"),
    [
        ("STOP", "ARRET", Keyword("opt_out", "ARRET", "twilio_opt_out_type", True)),
        ("stop", "please no more", Keyword("opt_out", None, "twilio_opt_out_type", True)),
        ("START", "yes", Keyword("opt_in", "YES", "twilio_opt_out_type", True)),
        ("HELP", "Info", Keyword("help", "INFO", "twilio_opt_out_type", True)),
        # Twilio's classification wins even over what the body alone would say.
        ("HELP", "stop texting me", Keyword("help", None, "twilio_opt_out_type", True)),
    ],
)
def test_given_twilio_opt_out_type_when_classified_then_it_wins(
    opt_out_type: str, body: str, expected: Keyword
) -> None:
    assert classify(body, opt_out_type) == expected


@pytest.mark.parametrize("opt_out_type", [None, "", "  ", "UNKNOWN"])
def test_given_no_usable_opt_out_type_when_classified_then_the_body_decides(opt_out_type: str | None) -> None:
    assert classify("STOP", opt_out_type) == Keyword("opt_out", "STOP", "keyword", True)
    assert classify("stop texting me", opt_out_type).source == "plain_language"
    assert classify("see you Monday", opt_out_type) == NONE


@pytest.mark.parametrize("body", ["", "   ", "🙏", "?!", "\n"])
def test_given_no_words_when_classified_then_nothing(body: str) -> None:
    assert classify(body) == NONE


def test_given_a_keyword_when_mutated_then_refused() -> None:
    result = classify("STOP")
    with pytest.raises(FrozenInstanceError):
        result.kind = "none"  # type: ignore[misc]


@pytest.mark.parametrize(
    "body",
    [
        "hi " * 530 + "stop",
        "please " * 228 + "x",
        "thanks for and and " * 80,
        "ok " * 530 + "wrong number",
        "dont text me " + "from " * 300,
        "no me manden " + "mas " * 300,
        "a" * 1600,
    ],
)
def test_given_a_hostile_body_when_classified_then_it_is_fast(body: str) -> None:
    # Inbound texts are untrusted; the classifier runs inside the webhook's time budget.
    started = time.perf_counter()
    classify(body)
    assert time.perf_counter() - started < 0.25
