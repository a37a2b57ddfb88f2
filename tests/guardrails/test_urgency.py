"""Escalation detection on inbound texts: which ones mark the thread urgent and task the attorney.

The labelled set in fixtures/escalation_texts.json was written and labelled before the rules, as a
paralegal would read each text, and is never relabelled to suit them. About a fifth of it, chosen by
a hash of the text within each label before any rule existed, is a held-out slice (``"split":
"holdout"``) that the rules were not tuned on; its figures are printed beside the whole set's, so a
drop there shows overfitting. Run with ``pytest -s`` to see them.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import FrozenInstanceError
from typing import Any

import pytest

from connector.guardrails.urgency import CATEGORIES, Escalation, classify
from tests.support.fixtures import FIXTURES_ROOT

FIXTURE = FIXTURES_ROOT / "escalation_texts.json"
LABELLED: list[dict[str, Any]] = json.loads(FIXTURE.read_text(encoding="utf-8"))
HOLDOUT = [row for row in LABELLED if row["split"] == "holdout"]
# Written by a second person after the rules were final and never tuned on: the most honest figure.
FRESH = [row for row in LABELLED if row["split"] == "fresh"]

# The issue's three tricky texts: they share words with urgent ones and must stay ordinary.
ISSUE_TRICKY = ("I'm dying to know how it went", "court of public opinion", "arrested development on Netflix lol")


def _score(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Precision and recall of "urgent", and how often a caught text carries its labelled category."""
    true_pos = false_pos = false_neg = category_hits = 0
    for row in rows:
        result = classify(row["text"])
        if row["urgent"] and result is not None:
            true_pos += 1
            category_hits += row["category"] in result.categories
        elif row["urgent"]:
            false_neg += 1
        elif result is not None:
            false_pos += 1
    return {
        "precision": true_pos / (true_pos + false_pos) if true_pos + false_pos else 1.0,
        "recall": true_pos / (true_pos + false_neg) if true_pos + false_neg else 1.0,
        "category_accuracy": category_hits / true_pos if true_pos else 1.0,
        "tp": true_pos,
        "fp": false_pos,
        "fn": false_neg,
    }


def _line(name: str, rows: list[dict[str, Any]]) -> str:
    s = _score(rows)
    return (
        f"{name:8} n={len(rows):3}  precision {s['precision']:.3f}  recall {s['recall']:.3f}  "
        f"category accuracy {s['category_accuracy']:.3f}  (tp={s['tp']:.0f} fp={s['fp']:.0f} fn={s['fn']:.0f})"
    )


# --- the labelled set itself ----------------------------------------------------------------------


def test_given_the_labelled_set_when_loaded_then_it_is_large_balanced_and_well_formed() -> None:
    urgent = [row for row in LABELLED if row["urgent"]]
    calm = [row for row in LABELLED if not row["urgent"]]
    assert len(LABELLED) >= 300
    assert len(urgent) >= 130
    assert len(calm) >= 190
    assert {row["category"] for row in urgent} == set(CATEGORIES)
    assert min(Counter(row["category"] for row in urgent).values()) >= 15
    assert len({row["text"] for row in LABELLED}) == len(LABELLED)
    for row in LABELLED:
        assert set(row) == {"text", "urgent", "category", "split"}, row
        assert (row["category"] is None) == (not row["urgent"]), row
        assert row["split"] in {"dev", "holdout", "fresh"}, row
    assert 0.15 <= len(HOLDOUT) / (len(LABELLED) - len(FRESH)) <= 0.25
    assert {row["category"] for row in HOLDOUT if row["urgent"]} == set(CATEGORIES)


@pytest.mark.parametrize("phrase", ISSUE_TRICKY)
def test_given_the_issues_tricky_texts_when_labelled_then_they_are_not_urgent(phrase: str) -> None:
    rows = [row for row in LABELLED if phrase.lower() in row["text"].lower()]
    assert rows, phrase
    assert all(not row["urgent"] for row in rows)
    assert all(classify(row["text"]) is None for row in rows)


# --- scores ----------------------------------------------------------------------------------------


def test_given_the_labelled_set_when_scored_then_recall_and_precision_meet_the_bar() -> None:
    counts = Counter((row["category"] or "not urgent", row["split"]) for row in LABELLED)
    print("\nescalation labelled set (dev + holdout):")
    for category in (*CATEGORIES, "not urgent"):
        dev, held = counts[category, "dev"], counts[category, "holdout"]
        print(f"  {category:11} {dev + held:3}  (holdout {held})")
    print(_line("all", LABELLED))
    print(_line("dev", [row for row in LABELLED if row["split"] == "dev"]))
    print(_line("holdout", HOLDOUT))
    print(_line("fresh", FRESH))
    whole = _score(LABELLED)
    assert whole["recall"] >= 0.95
    assert whole["precision"] >= 0.90
    assert whole["category_accuracy"] >= 0.90
    held = _score(HOLDOUT)
    assert held["recall"] >= 0.90
    assert held["precision"] >= 0.90


def test_given_the_labelled_set_when_classified_then_misses_and_false_alarms_are_listed() -> None:
    # Not a gate beyond the bars above: a readable list of what a rule change broke, for `pytest -s`.
    missed = [row["text"] for row in LABELLED if row["urgent"] and classify(row["text"]) is None]
    alarms = [row["text"] for row in LABELLED if not row["urgent"] and classify(row["text"]) is not None]
    for text in missed:
        print(f"  missed: {text!r}")
    for text in alarms:
        print(f"  false alarm: {text!r}")
    assert len(missed) <= 0.05 * sum(row["urgent"] for row in LABELLED)


def test_given_an_urgent_text_when_caught_then_its_labelled_category_is_among_the_categories() -> None:
    wrong = []
    for row in LABELLED:
        result = classify(row["text"])
        if row["urgent"] and result is not None and row["category"] not in result.categories:
            wrong.append((row["text"], row["category"], result.categories))
    caught = sum(1 for row in LABELLED if row["urgent"] and classify(row["text"]) is not None)
    assert 1 - len(wrong) / caught >= 0.90, wrong


# --- the issue's examples -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("my hearing got moved to tomorrow 9am", "court_date"),
        ("court is on monday and I still don't have the papers", "court_date"),
        ("I have a court date on the 14th", "court_date"),
        ("the deadline to respond is friday", "deadline"),
        ("they arrested my son last night", "arrest"),
        ("im in county jail can u call", "arrest"),
        ("cops came to my house again", "police"),
        ("police are here", "police"),
        ("he took the kids and won't bring them back", "custody"),
        ("she violated the restraining order", "safety"),
        ("my ex said he'll kill me", "safety"),
        ("I don't want to be alive anymore", "self_harm"),
    ],
)
def test_given_an_urgent_example_when_classified_then_flagged_with_its_category(text: str, category: str) -> None:
    result = classify(text)
    assert result is not None
    assert category in result.categories
    assert result.matches


@pytest.mark.parametrize(
    "text",
    [
        "I'm dying to know how it went",
        "he's already lost in the court of public opinion",
        "arrested development on Netflix lol",
        "killing it at work",
        "the police report you asked for is attached",
        "deadline for the survey was fine",
        "court reporter invoice",
        "my kid has soccer practice",
        "custody of the dog lol",
        "I could kill for a coffee",
        "I want to die of embarrassment, that text was meant for my sister",
        "me quiero morir de la verguenza jaja",
        "I wish I could just disappear to a beach for a month lol",
        "this traffic is murder",
        "meet at the basketball court",
        "lunch at the food court",
        "my hearing aid died",
        "jail-broken phone",
        "on the case like a detective",
        "Thank you so much for everything!",
        "Can we move our call to Thursday?",
        "I paid the invoice",
        "the hearing went really well, thank you",
        "no court date yet right?",
        "he wasn't arrested, just a ticket",
    ],
)
def test_given_a_text_that_only_shares_words_when_classified_then_not_urgent(text: str) -> None:
    assert classify(text) is None


def test_given_a_self_harm_text_when_classified_then_the_crisis_line_flag_is_set() -> None:
    result = classify("I don't want to be alive anymore")
    assert result is not None
    assert result.self_harm is True
    other = classify("they arrested my son last night")
    assert other is not None
    assert other.self_harm is False


def test_given_a_joke_when_the_text_laughs_then_not_urgent_but_the_same_words_plain_are() -> None:
    # Hyperbole is masked only when the text laughs; a plain "will kill me if" is a warning sign.
    assert classify("lol my mom is gonna kill me if I'm late to dinner") is None
    assert classify("my husband will kill me if he finds out I called you") is not None


# --- the result's shape ----------------------------------------------------------------------------


def test_given_every_flagged_text_when_classified_then_matches_are_substrings_and_categories_ordered() -> None:
    texts = [row["text"] for row in LABELLED] + [
        "MY HEARING IS TOMORROW!!",
        "La POLICÍA vino a mi casa",
        "He’s outside my house right now and won’t leave",
        "ICE detained my husband",
    ]
    for text in texts:
        result = classify(text)
        if result is None:
            continue
        assert result.matches, text
        assert all(match and match in text for match in result.matches), (text, result.matches)
        assert len(set(result.matches)) == len(result.matches)
        assert len(set(result.categories)) == len(result.categories)
        assert list(result.categories) == [c for c in CATEGORIES if c in result.categories]


def test_given_accents_and_curly_quotes_when_classified_then_matches_keep_the_clients_spelling() -> None:
    result = classify("la policía vino a mi casa")
    assert result == Escalation(("police",), ("policía",))
    curly = classify("He’s outside my house right now and won’t leave")
    assert curly is not None
    assert curly.categories == ("safety",)
    assert all(match in "He’s outside my house right now and won’t leave" for match in curly.matches)


def test_given_an_escalation_when_mutated_then_refused() -> None:
    result = classify("police are here")
    assert result is not None
    with pytest.raises(FrozenInstanceError):
        result.categories = ()  # type: ignore[misc]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\n",
        "🙏",
        "😂😂😂🔥🔥",
        "👍🏽",
        "?!",
        "a" * 5000,
        ("court is on monday and I still don't have the papers. " * 100)[:5000],
        "hearing " * 625,
        "he took the kids " * 294,
        "no " * 1667,
        "kill me if lol " * 333,
        "\u0301" * 5000,
    ],
)
def test_given_an_odd_or_huge_body_when_classified_then_it_never_raises_and_is_fast(text: str) -> None:
    # Inbound texts are untrusted; the check runs at intake for every text.
    started = time.perf_counter()
    result = classify(text)
    assert time.perf_counter() - started < 0.5
    assert result is None or isinstance(result, Escalation)
    if not text.strip() or not any(char.isalpha() for char in text):
        assert result is None
