"""Content rules: what an outbound text must not say (figures, legal advice, identifiers, dates of birth).

Both harms matter. A missed SSN or card number goes out over SMS and cannot be recalled; a false
alarm on an ordinary scheduling text trains staff to click through every warning. So each rule is
tested on what it must catch and on realistic texts it must leave alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connector.guardrails.content import (
    DEFAULT_RULES_PATH,
    Finding,
    RulesError,
    RuleSet,
    default_rules,
    load_rules,
)

SHIPPED_IDS = {
    "settlement_amount": "warn",
    "legal_advice": "warn",
    "ssn": "block",
    "card_number": "block",
    "bank_account": "block",
    "routing_number": "block",
    "date_of_birth": "warn",
}


def _only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, [f.to_json() for f in findings]
    return findings[0]


def _write(tmp_path: Path, document: Any, name: str = "rules.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _rule(**overrides: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": "codename",
        "description": "A matter's internal codename must not reach the client.",
        "action": "block",
        "patterns": [r"\bproject\s+falcon\b"],
        "flags": ["IGNORECASE"],
        "validator": None,
        "message": "Internal codename.",
        "suggestion": "Use the matter name.",
    }
    rule.update(overrides)
    return rule


def _errors_of(tmp_path: Path, document: Any) -> list[str]:
    with pytest.raises(RulesError) as caught:
        load_rules(_write(tmp_path, document))
    return caught.value.errors


# --- the shipped rules ----------------------------------------------------------------------------


def test_shipped_rules_load_with_the_documented_ids_and_actions() -> None:
    rules = load_rules()
    assert rules.source == "default"
    assert {rule.id: rule.action for rule in rules.rules} == SHIPPED_IDS
    for rule in rules.rules:
        assert rule.description, f"{rule.id} must explain itself"
        assert rule.patterns
        assert rule.message
        assert rule.suggestion


def test_default_rules_are_loaded_once() -> None:
    assert default_rules() is default_rules()
    assert default_rules().source == "default"


def test_the_shipped_file_is_the_packaged_json() -> None:
    document = json.loads(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    assert document["version"] == 1
    assert [rule["id"] for rule in document["rules"]] == [rule.id for rule in default_rules().rules]


# --- what each rule catches -----------------------------------------------------------------------

POSITIVES = [
    # settlement_amount: the three examples of the issue first
    ("The other side came back at $45,000.", "settlement_amount", "$45,000"),
    ("They are at 45k right now", "settlement_amount", "45k"),
    ("I think they'd settle for 40", "settlement_amount", "settle for 40"),
    ("They want 45,000 dollars", "settlement_amount", "45,000 dollars"),
    ("It could be worth $1.2 million", "settlement_amount", "$1.2 million"),
    ("We got an offer of 40,000 today", "settlement_amount", "offer of 40,000"),
    ("they offered 30", "settlement_amount", "offered 30"),
    ("Their counteroffer is $ 52,500.00 final", "settlement_amount", "$ 52,500.00"),
    ("Settlement of 75k is on the table", "settlement_amount", "Settlement of 75k"),
    ("That's USD 12,000", "settlement_amount", "USD 12,000"),
    ("Theyre offering 25 grand", "settlement_amount", "offering 25 grand"),
    # any dollar amount warns (staff decide); a parking fee is a click, a leaked figure is not undoable
    ("Parking is $12 at the garage", "settlement_amount", "$12"),
    # legal_advice
    ("Honestly you should plead guilty", "legal_advice", "you should plead guilty"),
    ("you should plead not guilty at arraignment", "legal_advice", "you should plead not guilty"),
    ("I advise you to stay quiet", "legal_advice", "I advise you"),
    ("You don't have to answer their questions.", "legal_advice", "You don't have to answer"),
    ("Don't sign anything they send", "legal_advice", "Don't sign"),
    ("You should sign the release", "legal_advice", "You should sign"),
    ("You will win this one", "legal_advice", "You will win"),
    ("We guarantee a good result", "legal_advice", "We guarantee"),
    ("you should accept the offer", "legal_advice", "you should accept"),
    ("you shouldn’t take the deal", "legal_advice", "you shouldn’t take the deal"),
    ("Do not talk to the police without me", "legal_advice", "Do not talk to the police"),
    ("Don't give the adjuster a recorded statement", "legal_advice", "Don't give the adjuster a recorded statement"),
    ("If I were you I'd wait", "legal_advice", "If I were you"),
    ("You'd better take the plea", "legal_advice", "You'd better take the plea"),
    ("You’ll win at trial", "legal_advice", "You’ll win"),
    ("We're going to win this", "legal_advice", "We're going to win"),
    # ssn
    ("My SSN is 123-45-6789", "ssn", "123-45-6789"),
    ("it's 123 45 6789", "ssn", "123 45 6789"),
    ("SSN 123456789", "ssn", "123456789"),
    ("social security number: 123456789", "ssn", "123456789"),
    # card_number
    ("card 4111 1111 1111 1111 exp 12/27", "card_number", "4111 1111 1111 1111"),
    ("5500-0000-0000-0004", "card_number", "5500-0000-0000-0004"),
    ("amex 378282246310005", "card_number", "378282246310005"),
    # bank_account
    ("account number 000123456789", "bank_account", "000123456789"),
    ("acct # 12345678", "bank_account", "12345678"),
    ("acct: 1234-5678-90", "bank_account", "1234-5678-90"),
    # routing_number
    ("routing number 011000015", "routing_number", "011000015"),
    ("ABA: 021000021", "routing_number", "021000021"),
    ("RTN 011000015", "routing_number", "011000015"),
    # date_of_birth
    ("DOB 01/02/1980", "date_of_birth", "01/02/1980"),
    ("date of birth: 1980-01-02", "date_of_birth", "1980-01-02"),
    ("he was born on March 3, 1975", "date_of_birth", "March 3, 1975"),
    ("her birthday is 4/5/1990", "date_of_birth", "4/5/1990"),
]


@pytest.mark.parametrize(("text", "rule_id", "match"), POSITIVES)
def test_each_rule_flags_what_it_is_for(text: str, rule_id: str, match: str) -> None:
    finding = _only([f for f in default_rules().check(text) if f.rule_id == rule_id])
    assert finding.match == match
    assert text[finding.start : finding.end] == match
    assert finding.action == SHIPPED_IDS[rule_id]
    assert finding.message
    assert finding.suggestion


NEGATIVES = [
    "Your appointment is tomorrow at 3:30",
    "See you at 3:30pm on 12/05",
    "Court date is 12/05/2024 at 9am in room 4",
    "Call us at (415) 555-0100 or 415-555-0101",
    "Case 2024-CV-1234 has a hearing next week",
    "I have 3 kids and can't come before 10",
    "No fee unless we win.",
    "You should bring your ID to the meeting",
    "Please sign in at the front desk when you arrive",
    "You will need to sign the fee agreement at the office",
    "You don't have to bring anything",
    "Don't forget your appointment on Monday",
    "We offered 3 dates for the deposition",
    "The settlement conference is on 12/05 at 3:30",
    "The offer expires at 5pm Friday",
    "Happy birthday! Hope it's a good one",
    "Your portal account is ready, log in with your email",
    "Please bring your 401k statements",
    "The arraignment, where you plead not guilty, is at 9am",
    "Reference 4111 1111 1111 1112",
    "You'll need to bring your ID",
    "You're going to receive a letter from the court",
    "The judge gave us 30 days to respond",
    "Our office number is 415.555.0100",
    "We filed the motion on 2024-03-01",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_ordinary_texts_are_not_flagged(text: str) -> None:
    assert [f.to_json() for f in default_rules().check(text)] == []


# --- checksums: a look-alike number is not an identifier ------------------------------------------


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("4111 1111 1111 1111", True),
        ("4111111111111111", True),
        ("4111 1111 1111 1112", False),
        ("1234 5678 9012 3456", False),
    ],
)
def test_card_numbers_must_pass_luhn(text: str, flagged: bool) -> None:
    cards = [f for f in default_rules().check(text) if f.rule_id == "card_number"]
    assert bool(cards) is flagged
    if flagged:
        assert _only(cards).action == "block"


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("routing 011000015", True),
        ("routing 021000021", True),
        ("routing 011000016", False),
        ("routing 123456789", False),
        ("011000015", False),  # a checksum-valid number without context is just a number
    ],
)
def test_routing_numbers_need_context_and_a_valid_checksum(text: str, flagged: bool) -> None:
    routing = [f for f in default_rules().check(text) if f.rule_id == "routing_number"]
    assert bool(routing) is flagged


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("123-45-6789", True),
        ("000-12-3456", False),
        ("666-12-3456", False),
        ("900-12-3456", False),
        ("123-00-4567", False),
        ("123-45-0000", False),
        ("SSN 000123456", False),
        ("123456789", False),  # nine bare digits need SSN/social context
    ],
)
def test_ssns_must_be_issuable(text: str, flagged: bool) -> None:
    ssns = [f for f in default_rules().check(text) if f.rule_id == "ssn"]
    assert bool(ssns) is flagged


# --- findings: spans, order, merging, JSON --------------------------------------------------------


def test_findings_are_ordered_by_position_with_spans_into_the_text() -> None:
    text = "Hi Ana, DOB 01/02/1980 and SSN 123-45-6789; they offered 30. Don't sign."
    findings = default_rules().check(text)
    assert [f.rule_id for f in findings] == ["date_of_birth", "ssn", "settlement_amount", "legal_advice"]
    assert [f.start for f in findings] == sorted(f.start for f in findings)
    for finding in findings:
        assert text[finding.start : finding.end] == finding.match
    assert [f.match for f in findings] == ["01/02/1980", "123-45-6789", "offered 30", "Don't sign"]


def test_overlapping_matches_of_one_rule_are_merged() -> None:
    # "$45k" is both a $ amount and a "k" amount; staff should see one finding covering both.
    finding = _only(default_rules().check("They said $45k."))
    assert (finding.rule_id, finding.match, finding.start, finding.end) == ("settlement_amount", "$45k", 10, 14)


def test_to_json_is_what_the_api_shows() -> None:
    finding = _only(default_rules().check("SSN 123-45-6789"))
    assert finding.to_json() == {
        "rule": "ssn",
        "action": "block",
        "span": [4, 15],
        "match": "123-45-6789",
        "message": finding.message,
        "suggestion": "Send it through the client portal or discuss it on a call.",
    }


def test_advice_suggests_a_call_with_the_attorney() -> None:
    finding = _only(default_rules().check("you should plead guilty"))
    assert "call" in finding.suggestion
    assert "attorney" in finding.suggestion


# --- a firm's own rules ---------------------------------------------------------------------------


def test_a_firms_rules_file_replaces_the_defaults(tmp_path: Path) -> None:
    path = _write(tmp_path, {"version": 1, "rules": [_rule()]})
    rules = load_rules(path)
    assert isinstance(rules, RuleSet)
    assert rules.source == str(path)
    assert rules.check("They offered $45,000 on Project  Falcon") == [
        Finding("codename", "block", 24, 39, "Project  Falcon", "Internal codename.", "Use the matter name.")
    ]


def test_a_value_group_narrows_the_flagged_part_and_feeds_the_validator(tmp_path: Path) -> None:
    rule = _rule(id="claim_card", patterns=[r"claim card (?P<value>[\d ]+\d)"], validator="luhn")
    rules = load_rules(_write(tmp_path, {"version": 1, "rules": [rule]}))
    assert [f.match for f in rules.check("claim card 4111 1111 1111 1111")] == ["4111 1111 1111 1111"]
    assert rules.check("claim card 4111 1111 1111 1112") == []


def test_flags_apply_when_patterns_are_checked(tmp_path: Path) -> None:
    # Under VERBOSE, "# [" is a comment; without it, an unterminated character set.
    verbose = _rule(patterns=[r"falcon  # the codename ["], flags=["VERBOSE", "IGNORECASE"])
    assert [f.match for f in load_rules(_write(tmp_path, {"version": 1, "rules": [verbose]})).check("FALCON")] == [
        "FALCON"
    ]
    errors = _errors_of(tmp_path, {"version": 1, "rules": [_rule(patterns=[r"falcon  # the codename ["])]})
    assert errors == ["rules[0].patterns[0]: bad regular expression: unterminated character set at position 23"]


def test_every_error_is_reported_at_once_with_its_path(tmp_path: Path) -> None:
    document = {
        "version": 1,
        "rules": [
            _rule(),
            _rule(id="second", action="shout"),
            _rule(id="third", patterns=["ok", "[0-9"], colour="red"),
        ],
    }
    errors = _errors_of(tmp_path, document)
    assert sorted(errors) == sorted(
        [
            "rules[1].action: unknown action 'shout'; must be one of: warn, block",
            "rules[2].patterns[1]: bad regular expression: unterminated character set at position 0",
            "rules[2].colour: Unknown field.",
        ]
    )


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ({"version": 2, "rules": []}, "version: must be 1"),
        ({"rules": []}, "version: Missing data for required field."),
        ({"version": 1}, "rules: Missing data for required field."),
        ({"version": 1, "rules": [], "extra": 1}, "extra: Unknown field."),
        ({"version": 1, "rules": [_rule(id="Bad-Id")]}, "rules[0].id: must be lowercase letters"),
        ({"version": 1, "rules": [_rule(patterns=[])]}, "rules[0].patterns: needs at least one pattern"),
        ({"version": 1, "rules": [_rule(patterns=[3])]}, "rules[0].patterns[0]: Not a valid string."),
        ({"version": 1, "rules": [_rule(validator="md5")]}, "rules[0].validator: unknown validator 'md5'"),
        ({"version": 1, "rules": [_rule(flags=["LOCALE"])]}, "rules[0].flags[0]: unknown flag 'LOCALE'"),
        ({"version": 1, "rules": [_rule(message="")]}, "rules[0].message: Shorter than minimum length 1."),
        ({"version": 1, "rules": [_rule(), _rule()]}, "rules[1].id: duplicate rule id 'codename'"),
        ({"version": 1, "rules": ["codename"]}, "rules[0]: Invalid input type."),
        ([], '$: must be a JSON object {"version": 1, "rules": [...]}'),
    ],
)
def test_each_mistake_names_its_place(tmp_path: Path, document: Any, error: str) -> None:
    errors = _errors_of(tmp_path, document)
    assert len(errors) == 1, errors
    assert errors[0].startswith(error)


def test_bad_json_is_reported_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text('{"version": 1,\n "rules": [}', encoding="utf-8")
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert caught.value.errors == ["not valid JSON: Expecting value at line 2, column 12"]
    assert caught.value.source == str(path)
    assert str(path) in str(caught.value)


def test_a_repeated_key_is_refused_rather_than_silently_dropped(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text('{"version": 1, "version": 1, "rules": []}', encoding="utf-8")
    with pytest.raises(RulesError, match="key 'version' appears twice"):
        load_rules(path)


def test_a_missing_file_is_a_rules_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(RulesError) as caught:
        load_rules(missing)
    assert caught.value.errors == [f"no such file: {missing}"]
    assert isinstance(caught.value, ValueError)


def test_a_directory_or_binary_file_is_a_rules_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="is a directory"):
        load_rules(tmp_path)
    binary = tmp_path / "rules.json"
    binary.write_bytes(b"\xff\xfe{}")
    with pytest.raises(RulesError, match="not UTF-8 text"):
        load_rules(binary)
