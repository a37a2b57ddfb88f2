"""The triage model as deciding uses it: a linear model over `features`, read from the gzipped JSON file
`matterline triage train` writes (`MODEL_FILE`, shipped in the package), with no machine-learning library
needed to decide.

Training (`connector.triage.train`, scikit-learn) writes the file; deciding is the same arithmetic
done here: sublinear term frequency times idf, normalised, a dot product, and the calibration that turns
the score into a probability. Self-harm and crisis language, explicit (the escalation rules) or
indirect (`connector.triage.crisis`), decides on its own, whatever the score: it must never be missed.
"""

from __future__ import annotations

import gzip
import json
import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from connector.triage.crisis import crisis
from connector.triage.features import Read, read

__all__ = ["MODEL_FILE", "SELF_HARM", "Decision", "Model", "deciding_rule"]

MODEL_FILE: Final = Path(__file__).with_name("model.json.gz")
_REASONS: Final = 3
SELF_HARM: Final = "self_harm_crisis"
# Words that score but do not explain, left out of a decision's reasons (never out of its score).
_FUNCTION_WORDS: Final = frozenset(
    [
        "i",
        "me",
        "my",
        "you",
        "your",
        "u",
        "ur",
        "he",
        "him",
        "his",
        "she",
        "her",
        "they",
        "them",
        "their",
        "we",
        "us",
        "our",
        "it",
        "its",
        "the",
        "a",
        "an",
        "and",
        "or",
        "but",
        "so",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "with",
        "from",
        "by",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "am",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "this",
        "that",
        "these",
        "those",
        "just",
        "im",
        "i'm",
        "it's",
        "its",
        "there",
        "here",
        "what",
        "if",
        "then",
        "than",
        "not",
        "no",
        "yes",
        "ok",
        "el",
        "la",
        "los",
        "las",
        "de",
        "del",
        "que",
        "y",
        "o",
        "en",
        "mi",
        "mis",
        "me",
        "se",
        "lo",
        "le",
        "un",
        "una",
        "por",
        "con",
        "para",
        "es",
        "son",
        "esta",
        "este",
        "al",
        "su",
        "sus",
        "ya",
        "si",
    ]
)
_RULED: Final = {
    "self_harm": "self-harm words",
    "crisis": "crisis language",
    "self_harm_model": "signs of self-harm or crisis (the self-harm model)",
}


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a text is urgent, how sure the model is, and why, for the thread and the CMS task."""

    urgent: bool
    probability: float | None  # None when the escalation rules decided without the model
    category: str | None
    # The strongest words or signals behind the score, as a person would read them.
    reasons: tuple[str, ...]
    # The date the text names, and the day it was read as against the text's arrival: "tomorrow (Wed 09 Dec)".
    date_read: str | None
    # What decided on its own, if anything did: "self_harm" (the escalation rules' explicit phrasing),
    # "crisis" (indirect self-harm and crisis language; its phrase leads `reasons`) or "self_harm_model"
    # (the model trained on self-harm and crisis texts alone, over its own threshold).
    rule: str | None
    version: str

    @property
    def self_harm(self) -> bool:
        """True when the after-hours reply must carry a crisis line (988) as well as the firm's."""
        return self.category == SELF_HARM


def _telling(feature: str) -> bool:
    """Whether a feature means something to a person reading why: "the", "they" or "at the" may carry weight
    in the score, but they explain nothing."""
    kind, _, value = feature.partition(":")
    return kind not in ("w", "b") or not set(value.split("_")) <= _FUNCTION_WORDS


def _readable(feature: str) -> str:
    kind, _, value = feature.partition(":")
    if kind == "w":
        return f'"{value}"'
    if kind == "b":
        return '"' + value.replace("_", " ") + '"'
    if kind == "rule":
        return f"escalation rule: {value.replace('_', ' ')}"
    if kind.startswith("event+when"):
        return f"a legal event and a date ({value.replace('_', ' ')})"
    if kind == "when":
        return f"a date ({value.replace('_', ' ')})"
    return feature


def deciding_rule(text: str, seen: Read) -> tuple[str, str] | None:
    """The rule that makes `text` urgent whatever the score, and the phrase it found: ("self_harm", ...)
    for the escalation rules' explicit phrasing, ("crisis", ...) for indirect self-harm and crisis
    language, or None."""
    phrase = crisis(text)
    if seen.escalation is not None and seen.escalation.self_harm:
        return "self_harm", phrase or ", ".join(seen.escalation.matches)
    return None if phrase is None else ("crisis", phrase)


@dataclass(frozen=True, slots=True)
class Model:
    """A trained model: per feature its idf and weights (urgent, then one per category)."""

    version: str
    weights: dict[str, list[float]]
    intercept: float
    categories: tuple[str, ...]
    category_intercepts: tuple[float, ...]
    calibration: tuple[float, float]
    threshold: float
    # The self-harm model (its weight is each feature's last): at or over its threshold, urgent on its own.
    harm_intercept: float
    harm_threshold: float

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        return cls(
            version=str(data["version"]),
            weights={key: list(map(float, value)) for key, value in data["weights"].items()},
            intercept=float(data["intercept"]),
            categories=tuple(data["categories"]),
            category_intercepts=tuple(map(float, data["category_intercepts"])),
            calibration=(float(data["calibration"][0]), float(data["calibration"][1])),
            threshold=float(data["threshold"]),
            harm_intercept=float(data["harm_intercept"]),
            harm_threshold=float(data["harm_threshold"]),
        )

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> Model:
        """Raises: ValueError when the file is not a model this code can read."""
        try:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                return cls.from_dict(json.load(handle))
        except (OSError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: not a triage model ({exc})") from exc

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "weights": self.weights,
            "intercept": self.intercept,
            "categories": list(self.categories),
            "category_intercepts": list(self.category_intercepts),
            "calibration": list(self.calibration),
            "threshold": self.threshold,
            "harm_intercept": self.harm_intercept,
            "harm_threshold": self.harm_threshold,
        }

    def save(self, path: Path) -> None:
        with gzip.open(path, "wt", encoding="utf-8", compresslevel=9) as handle:
            json.dump(self.to_dict(), handle, separators=(",", ":"), sort_keys=True)

    def _vector(self, found: list[str]) -> dict[str, float]:
        """The text's known features, weighted as in training (sublinear tf × idf, unit length)."""
        counts = Counter(f for f in found if f in self.weights)
        values = {f: (1.0 + math.log(n)) * self.weights[f][0] for f, n in counts.items()}
        norm = math.sqrt(sum(v * v for v in values.values())) or 1.0
        return {f: v / norm for f, v in values.items()}

    def _score(self, vector: dict[str, float]) -> float:
        return self.intercept + sum(v * self.weights[f][1] for f, v in vector.items())

    def _calibrated(self, score: float) -> float:
        slope, offset = self.calibration
        return 1.0 / (1.0 + math.exp(-(slope * score + offset)))

    def decide(self, text: str, received_at: datetime) -> Decision:
        """Whether `text`, arrived at `received_at` (the client's local time), is urgent, and why."""
        seen = read(text, received_at)
        vector = self._vector(seen.features)
        probability = self._calibrated(self._score(vector))
        ruled = deciding_rule(text, seen)
        # The self-harm model speaks only for a text the score would leave: when the score already flags it,
        # the situation model names it (the self-harm model also fires on threats and children in danger).
        if (
            ruled is None
            and probability < self.threshold
            and self.harm_intercept + sum(v * self.weights[f][-1] for f, v in vector.items()) >= self.harm_threshold
        ):
            ruled = ("self_harm_model", "")
        rule = None if ruled is None else ruled[0]
        urgent = rule is not None or probability >= self.threshold
        category = None
        if urgent:
            scores = [
                intercept + sum(v * self.weights[f][2 + k] for f, v in vector.items())
                for k, intercept in enumerate(self.category_intercepts)
            ]
            named = self.categories[max(range(len(scores)), key=scores.__getitem__)]
            # The words decide self-harm; the self-harm model only finds: what it finds, the situations name.
            category = SELF_HARM if rule in ("self_harm", "crisis") else named
        pulls = sorted(((v * self.weights[f][1], f) for f, v in vector.items() if _telling(f)), reverse=True)
        reasons = tuple(_readable(f) for pull, f in pulls[:_REASONS] if pull > 0)
        if ruled is not None and ruled[1]:
            reasons = (f'{_RULED[ruled[0]]}: "{ruled[1]}"', *reasons[: _REASONS - 1])
        elif ruled is not None:
            reasons = (_RULED[ruled[0]], *reasons[: _REASONS - 1])
        reading = seen.reading
        return Decision(
            urgent=urgent,
            probability=round(probability, 4),
            category=category,
            reasons=reasons,
            date_read=None if reading is None else f"{reading.phrase} ({reading.on(received_at):%a %d %b})",
            rule=rule,
            version=self.version,
        )
