"""One way of reading a text for every rule, so a phrase edit in the tables never changes how texts are read."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Final

from connector.guardrails.urgency_patterns import CONDITIONALS, ICE, IDIOMS, JOKES, LAUGHTER, NEGATORS, RULES

_NEGATION_WINDOW: Final = 3
_NEGATION_CHARS: Final = 80  # enough for three words; keeps the look-back constant on a 5,000-character text
_QUOTES: Final = str.maketrans("’‘‛ʼ`´“”„‟", "'" * 6 + '"' * 4)
_SENTENCE_END: Final = re.compile(r"[.!?;\n]+(?=\s|$)|[!?\n]+")
_CLAUSE_END: Final = re.compile(r"[,.!?;:\n()]")
_WORD: Final = re.compile(r"[\w']+")


def _normalise(text: str) -> tuple[str, list[int]]:
    """Case-folded, accent-free text and, for each of its characters, the index it came from in `text`.

    Normalising one character at a time keeps the map exact, so every match can be reported as the
    client wrote it.
    """
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = unicodedata.normalize("NFKC", char).casefold().translate(_QUOTES)
        for piece in unicodedata.normalize("NFKD", folded):
            if not unicodedata.combining(piece):
                chars.append(piece)
                origin.append(index)
    return "".join(chars), origin


def _mask(text: str) -> str:
    """`text` with every idiom blanked to spaces of the same length, so no trigger can read it."""
    spans = [match.span() for match in IDIOMS.finditer(text)]
    if LAUGHTER.search(text):
        spans += [match.span() for match in JOKES.finditer(text)]
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


@dataclass(frozen=True, slots=True)
class _Bounds:
    """Where sentences and clauses start and stop in one text, found once so each match costs a bisect."""

    sentence_starts: list[int]
    sentence_stops: list[int]
    clause_starts: list[int]

    @classmethod
    def of(cls, text: str) -> _Bounds:
        ends = list(_SENTENCE_END.finditer(text))
        return cls(
            [0] + [match.end() for match in ends],
            [match.start() for match in ends] + [len(text)],
            [0] + [match.end() for match in _CLAUSE_END.finditer(text)],
        )

    def sentence(self, start: int, end: int) -> tuple[int, int]:
        """The span of the sentence holding the span [start, end)."""
        left = self.sentence_starts[bisect_right(self.sentence_starts, start) - 1]
        right = self.sentence_stops[bisect_left(self.sentence_stops, end)]
        return left, right

    def negated(self, text: str, start: int) -> bool:
        """Whether a negator stands within three words before `start` in its clause, and the clause is no condition."""
        clause_start = self.clause_starts[bisect_right(self.clause_starts, start) - 1]
        window = text[max(clause_start, start - _NEGATION_CHARS) : start]
        words = _WORD.findall(window)[-_NEGATION_WINDOW:]
        return any(word in NEGATORS for word in words) and not any(word in CONDITIONALS for word in words)


def triggers(text: str) -> list[tuple[str, tuple[int, int]]]:
    """Each trigger that counts in `text`, in the order found: its category and its span in `text` itself.

    Spans index the text as the client wrote it, not the normalised copy, so each match reads as they spelt it.
    """
    normal, origin = _normalise(text)
    masked = _mask(normal)
    bounds = _Bounds.of(masked)
    found: list[tuple[str, tuple[int, int]]] = []
    # A sentence is checked once per pattern however many triggers it holds ("hearing hearing ...").
    seen: dict[tuple[re.Pattern[str], int, int], bool] = {}

    def in_sentence(pattern: re.Pattern[str], sentence: tuple[int, int]) -> bool:
        key = (pattern, *sentence)
        if key not in seen:
            seen[key] = pattern.search(masked, *sentence) is not None
        return seen[key]

    for rule in RULES:
        for match in rule.pattern.finditer(masked):
            start, end = match.span()
            if start == end:
                continue
            sentence = bounds.sentence(start, end)
            if rule.needs is not None and not in_sentence(rule.needs, sentence):
                continue
            if rule.unless is not None and in_sentence(rule.unless, sentence):
                continue
            if rule.negatable and bounds.negated(masked, start):
                continue
            found.append((rule.category, (origin[start], origin[end - 1] + 1)))
    found.extend(("police", match.span()) for match in ICE.finditer(text))
    return found
