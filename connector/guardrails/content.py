"""Content rules: what an outbound text must not say before it leaves the firm.

A law firm's texts are read on lock screens, shared phones and family tablets, so a settlement figure,
detailed legal advice, a Social Security number, a card or bank number or a date of birth does not
belong in one. Each rule finds such content with regular expressions and says what to do:

* ``warn``: staff see the finding and may still send (a dollar amount is sometimes fine);
* ``block``: the text is not sent as written (an identifier that must never travel by SMS).

The rules are data, not code, so a firm can ship its own file (it replaces the defaults wholesale;
copy ``content_rules.json`` and edit it). A rules file is edited by hand, so loading it reports *every*
mistake at once, each with its JSON path, instead of stopping at the first.

Two conventions of a pattern:

* a named group ``value`` (``(?P<value>...)``) marks the part to flag when the pattern needs context
  around it ("routing number 011000015" flags only the number); without it the whole match is flagged;
* a rule's ``validator`` (``luhn``, ``aba_routing``, ``ssn``) checks the digits of the flagged part and
  drops matches that fail, so a random 16-digit reference is not reported as a card number.

This module is pure: no database, no network, and the default rules are compiled once per process.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final, Literal

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validates_schema
from marshmallow.validate import Equal, Length, OneOf, Regexp

from mappings import DuplicateKeyError, reject_duplicate_keys

__all__ = [
    "DEFAULT_RULES_PATH",
    "Finding",
    "Rule",
    "RuleSet",
    "RulesError",
    "default_rules",
    "load_rules",
]

Action = Literal["warn", "block"]

# --- constants ------------------------------------------------------------------------------------

DEFAULT_RULES_PATH: Final = Path(__file__).resolve().with_name("content_rules.json")
DEFAULT_SOURCE: Final = "default"
FORMAT_VERSION: Final = 1
ACTIONS: Final[tuple[Action, ...]] = ("warn", "block")
RULE_ID: Final = r"^[a-z][a-z0-9_]*$"
VALUE_GROUP: Final = "value"
# The re flags a rules file may name; the others (DEBUG, LOCALE, TEMPLATE) make no sense for SMS text.
FLAGS: Final[dict[str, re.RegexFlag]] = {
    "IGNORECASE": re.IGNORECASE,
    "MULTILINE": re.MULTILINE,
    "DOTALL": re.DOTALL,
    "VERBOSE": re.VERBOSE,
    "ASCII": re.ASCII,
}
_NON_DIGITS: Final = re.compile(r"\D")
_ROOT_PATH: Final = "$"
_PLAIN_KEY: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# --- validators: checksums that tell a real identifier from a look-alike number -------------------


def _luhn(digits: str) -> bool:
    """Payment card numbers (13-19 digits) carry a Luhn check digit; most random numbers fail it."""
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _aba_routing(digits: str) -> bool:
    """US routing numbers are nine digits with a 3-7-1 weighted checksum."""
    if len(digits) != 9:
        return False
    weights = (3, 7, 1) * 3
    return sum(int(char) * weight for char, weight in zip(digits, weights, strict=True)) % 10 == 0


def _ssn(digits: str) -> bool:
    """The SSA never issues area 000, 666 or 900-999, group 00 or serial 0000."""
    if len(digits) != 9:
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


VALIDATORS: Final[dict[str, Callable[[str], bool]]] = {
    "luhn": _luhn,
    "aba_routing": _aba_routing,
    "ssn": _ssn,
}


# --- the loaded form --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Finding:
    """One flagged span of a checked text: what matched, which rule, and what staff should do."""

    rule_id: str
    action: Action
    start: int
    end: int
    match: str
    message: str
    suggestion: str

    def view(self) -> FindingView:
        """The finding as staff, the API and the audit log see it."""
        return FindingView(self.rule_id, self.action, [self.start, self.end], self.match, self.message, self.suggestion)

    def to_json(self) -> dict[str, Any]:
        """The finding's view as JSON (in an error's details)."""
        return asdict(self.view())


@dataclass(frozen=True, slots=True)
class FindingView:
    """What a content rule found in a text: the rule, its action, the span and text matched, and advice."""

    rule: str
    action: str
    span: list[int]
    match: str
    message: str
    suggestion: str


@dataclass(frozen=True, slots=True)
class Rule:
    """One validated rule, its patterns compiled once."""

    id: str
    description: str
    action: Action
    patterns: tuple[re.Pattern[str], ...]
    validator: str | None
    message: str
    suggestion: str

    def find(self, text: str) -> list[Finding]:
        """This rule's findings in ``text``, ordered by start; overlapping spans merged into one.

        Several patterns of one rule often match the same figure ("$45k" is both a dollar amount and
        a "k" amount); staff should see it once.
        """
        spans = sorted(self._spans(text))
        return [self._finding(text, start, end) for start, end in _merge(spans)]

    def _spans(self, text: str) -> Iterator[tuple[int, int]]:
        check = VALIDATORS[self.validator] if self.validator is not None else None
        for pattern in self.patterns:
            for found in pattern.finditer(text):
                start, end = _flagged_span(found)
                if start == end:
                    continue
                if check is not None and not check(_NON_DIGITS.sub("", text[start:end])):
                    continue
                yield start, end

    def _finding(self, text: str, start: int, end: int) -> Finding:
        return Finding(
            rule_id=self.id,
            action=self.action,
            start=start,
            end=end,
            match=text[start:end],
            message=self.message,
            suggestion=self.suggestion,
        )


def _flagged_span(found: re.Match[str]) -> tuple[int, int]:
    """The ``value`` group's span when the pattern has one and it took part, else the whole match."""
    if VALUE_GROUP in found.re.groupindex:
        start, end = found.span(VALUE_GROUP)
        if start >= 0:
            return start, end
    return found.span()


def _merge(spans: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """Merge sorted spans that overlap (touching spans stay apart: they are separate matches)."""
    current: tuple[int, int] | None = None
    for start, end in spans:
        if current is not None and start < current[1]:
            current = (current[0], max(current[1], end))
            continue
        if current is not None:
            yield current
        current = (start, end)
    if current is not None:
        yield current


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The rules in force, and where they came from (a file path, or ``"default"``)."""

    rules: tuple[Rule, ...]
    source: str

    def check(self, text: str) -> list[Finding]:
        """Every finding in ``text``, ordered by start (then end, then rule order).

        Callers decide by ``action``: any ``block`` finding stops the send, ``warn`` findings are shown.
        """
        keyed = [
            ((finding.start, finding.end, index), finding)
            for index, rule in enumerate(self.rules)
            for finding in rule.find(text)
        ]
        return [finding for _, finding in sorted(keyed, key=lambda pair: pair[0])]


class RulesError(ValueError):
    """Every problem in a rules file, each with its JSON path.

    e.g. ``rules[2].patterns[0]: bad regular expression: unterminated character set at position 3``.
    Problems with the file itself (missing, not JSON) have no path. ``str()`` names the file, so the
    admin knows which one to open.
    """

    def __init__(self, source: str, errors: list[str]) -> None:
        self.source = source
        self.errors = errors
        super().__init__(source, errors)

    def __str__(self) -> str:
        lines = "\n".join(f"  {error}" for error in self.errors)
        return f"invalid content rules ({self.source}):\n{lines}"


# --- schemas --------------------------------------------------------------------------------------


class _Strict(Schema):
    """Unknown keys are errors: a misspelt key would otherwise silently switch a check off."""

    class Meta:
        unknown = RAISE


class RuleSchema(_Strict):
    """One rule; see ``content_rules.json`` for the format by example."""

    id = fields.String(
        required=True,
        validate=Regexp(RULE_ID, error="must be lowercase letters, digits and '_', starting with a letter"),
    )
    description = fields.String(load_default="")
    action = fields.String(
        required=True,
        validate=OneOf(ACTIONS, error="unknown action {input!r}; must be one of: {choices}"),
    )
    patterns = fields.List(
        fields.String(),
        required=True,
        validate=Length(min=1, error="needs at least one pattern"),
    )
    flags = fields.List(
        fields.String(validate=OneOf(tuple(FLAGS), error="unknown flag {input!r}; one of: {choices}")),
        load_default=list,
    )
    validator = fields.String(
        load_default=None,
        allow_none=True,
        validate=OneOf(tuple(VALIDATORS), error="unknown validator {input!r}; one of: {choices} (or null)"),
    )
    message = fields.String(required=True, validate=Length(min=1))
    suggestion = fields.String(required=True, validate=Length(min=1))

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_patterns(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        """Compile every pattern with the rule's flags; runs even when other fields failed.

        Reads the original input so a bad flag or a non-string pattern never hides a broken regex.
        """
        if not isinstance(original, dict):
            return
        flags = _known_flags(original.get("flags"))
        patterns = original.get("patterns")
        if not isinstance(patterns, list):
            return
        errors: dict[int, list[str]] = {}
        for index, pattern in enumerate(patterns):
            if isinstance(pattern, str):
                problem = _compile_problem(pattern, flags)
                if problem is not None:
                    errors[index] = [problem]
        if errors:
            raise ValidationError({"patterns": errors})

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> Rule:
        flags = _known_flags(data["flags"])
        return Rule(
            id=data["id"],
            description=data["description"],
            action=data["action"],
            patterns=tuple(re.compile(pattern, flags) for pattern in data["patterns"]),
            validator=data["validator"],
            message=data["message"],
            suggestion=data["suggestion"],
        )


class RulesFileSchema(_Strict):
    """The whole file: ``{"version": 1, "rules": [...]}``."""

    version = fields.Integer(
        required=True,
        strict=True,
        validate=Equal(FORMAT_VERSION, error=f"must be {FORMAT_VERSION} (the only format this version reads)"),
    )
    rules = fields.List(fields.Nested(RuleSchema), required=True)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_unique_ids(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        """Two rules with one id would make findings ambiguous; name both places."""
        rules = original.get("rules") if isinstance(original, dict) else None
        if not isinstance(rules, list):
            return
        first_seen: dict[str, int] = {}
        errors: dict[int, dict[str, list[str]]] = {}
        for index, rule in enumerate(rules):
            rule_id = rule.get("id") if isinstance(rule, dict) else None
            if not isinstance(rule_id, str):
                continue
            if rule_id in first_seen:
                errors[index] = {"id": [f"duplicate rule id {rule_id!r} (first used by rules[{first_seen[rule_id]}])"]}
            else:
                first_seen[rule_id] = index
        if errors:
            raise ValidationError({"rules": errors})

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> tuple[Rule, ...]:
        return tuple(data["rules"])


def _known_flags(names: Any) -> int:
    """OR the flags a rule names, skipping unknown ones (those are reported by the field itself)."""
    flags = 0
    if isinstance(names, list):
        for name in names:
            if isinstance(name, str) and name in FLAGS:
                flags |= FLAGS[name]
    return flags


def _compile_problem(pattern: str, flags: int) -> str | None:
    try:
        re.compile(pattern, flags)
    except re.error as exc:
        return f"bad regular expression: {exc}"
    return None


# --- loading --------------------------------------------------------------------------------------


def _read_document(path: Path, source: str) -> Any:
    """Read and parse a rules file; any failure is a RulesError that says what is wrong with the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RulesError(source, [f"no such file: {path}"]) from None
    except IsADirectoryError:
        raise RulesError(source, [f"is a directory, not a rules file: {path}"]) from None
    except UnicodeDecodeError as exc:
        raise RulesError(source, [f"not UTF-8 text: {exc.reason} at byte {exc.start}"]) from None
    except OSError as exc:
        raise RulesError(source, [f"cannot read {path}: {exc.strerror or exc}"]) from None
    return _parse(text, source)


def _parse(text: str, source: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=reject_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise RulesError(source, [f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"]) from None
    except DuplicateKeyError as exc:
        raise RulesError(source, [f"not valid JSON: {exc}"]) from None


def _error_lines(messages: Any, path: str = "") -> list[str]:
    """Turn marshmallow's nested messages into ``path: message`` lines (``rules[2].action: ...``)."""
    if isinstance(messages, dict):
        keys = sorted(messages, key=_key_order)
        return [line for key in keys for line in _error_lines(messages[key], _child_path(path, key))]
    if isinstance(messages, list):
        return [line for item in messages for line in _error_lines(item, path)]
    return [f"{path or _ROOT_PATH}: {messages}"]


def _key_order(key: Any) -> tuple[int, int]:
    """List indices in numeric order; object keys keep marshmallow's (declaration) order."""
    return (1, key) if isinstance(key, int) else (0, 0)


def _child_path(path: str, key: Any) -> str:
    if key == "_schema":
        return path
    if isinstance(key, int):
        return f"{path}[{key}]"
    name = str(key)
    if _PLAIN_KEY.fullmatch(name):
        return f"{path}.{name}" if path else name
    return f"{path}[{json.dumps(name)}]"


def load_rules(path: str | os.PathLike[str] | None = None) -> RuleSet:
    """Load and validate a rules file (``None``: the rules shipped with Matterline).

    A firm's file replaces the defaults wholesale, so what is checked is exactly what the file says.
    Raises RulesError listing every problem, also for an unreadable file or malformed JSON.
    """
    file = DEFAULT_RULES_PATH if path is None else Path(path)
    source = DEFAULT_SOURCE if path is None else str(path)
    return _rule_set(_read_document(file, source), source)


def parse_rules(text: str, source: str) -> RuleSet:
    """Rules from `text` (an admin's edit), checked exactly as a rules file is.

    Raises:
        RulesError: listing every problem, with its path.
    """
    return _rule_set(_parse(text, source), source)


def _rule_set(document: Any, source: str) -> RuleSet:
    if not isinstance(document, dict):
        raise RulesError(source, [f'{_ROOT_PATH}: must be a JSON object {{"version": 1, "rules": [...]}}'])
    try:
        rules: tuple[Rule, ...] = RulesFileSchema().load(document)
    except ValidationError as exc:
        raise RulesError(source, _error_lines(exc.messages)) from None
    return RuleSet(rules=rules, source=source)


@functools.cache
def default_rules() -> RuleSet:
    """The shipped rules, loaded and compiled once per process."""
    return load_rules(None)
