"""The labelled corpus triage learns from and is judged on.

Client texts written by independent writers, each with a voice of its own (short and misspelt, long
and anxious, Spanish, forwarded notices, legal words used casually, formal, relatives writing for a
client, safety and crisis), one JSON line per text in `corpus/<voice>.jsonl`. Each is labelled urgent
or not, with the situation it is about and the local time it arrived, against which its time words
("tomorrow", "the 14th", "next month") are read.

`corpus/heldout.json` names the held-out slice, drawn at random over the ids of the newest round of writers
before any of their texts existed. Nothing is trained or tuned on it; the figure that counts is measured on it,
once, and then it trains with the next round (`corpus/README.md` keeps each slice's figures).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

__all__ = [
    "CATEGORIES",
    "CORPUS",
    "MATTERS",
    "Labelled",
    "corrected",
    "heldout_ids",
    "load",
    "load_corrections",
    "split",
]

CORPUS: Final = Path(__file__).with_name("corpus")
HELDOUT_FILE: Final = "heldout.json"

# What a text is about. An urgent text's category is what makes it urgent ("other" for an emergency
# outside the seven named situations); a routine one's is what it touches, or "none".
CATEGORIES: Final = (
    "arrest_custody",
    "court_deadline",
    "child_safety",
    "protective_threat",
    "housing",
    "immigration",
    "self_harm_crisis",
    "other",
    "none",
)
MATTERS: Final = ("criminal", "family", "immigration", "housing", "personal_injury", "employment", "estate", "business")


@dataclass(frozen=True, slots=True)
class Labelled:
    """One client text and its label; `received_at` is the client's local time, without a zone."""

    id: str
    text: str
    urgent: bool
    category: str
    matter: str
    received_at: datetime
    language: str


class _Row(Schema):
    class Meta:
        unknown = RAISE

    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z]{2}-\d{4}$"))
    text = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    urgent = fields.Boolean(required=True, truthy={True}, falsy={False})
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    matter = fields.String(required=True, validate=validate.OneOf(MATTERS))
    received_at = fields.NaiveDateTime(required=True, format="iso")
    language = fields.String(required=True, validate=validate.OneOf(("en", "es")))
    # Why the writer labelled it so: for people reviewing the corpus, never for a model.
    note = fields.String(load_default="")


_ROW: Final = _Row()


def _rows(path: Path, schema: Schema, seen: dict[str, str]) -> Iterator[dict[str, Any]]:
    """Each line of the JSON-lines file `path` as `schema` loads it (blank lines skipped); `seen` maps the ids
    read so far, in this file and any before it, to where they were.

    Raises:
        ValueError: a line that is not JSON or not valid, named by file, line and field; an id used twice.
        OSError: the file cannot be read.
    """
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            row: dict[str, Any] = schema.load(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where}: not JSON ({exc.msg})") from exc
        except ValidationError as exc:
            found = exc.messages
            said = "; ".join(found["_schema"]) if isinstance(found, dict) and list(found) == ["_schema"] else found
            raise ValueError(f"{where}: {said}") from exc
        if row["id"] in seen:
            raise ValueError(f"{where}: id {row['id']} is also at {seen[row['id']]}")
        seen[row["id"]] = where
        yield row


def load(folder: Path = CORPUS) -> tuple[Labelled, ...]:
    """Every labelled text in `folder`, in file then line order.

    Raises:
        ValueError: a line that is not JSON or not a valid label, named by file, line and field;
            an id used twice.
    """
    seen: dict[str, str] = {}
    texts: list[Labelled] = []
    for path in sorted(folder.glob("*.jsonl")):
        for row in _rows(path, _ROW, seen):
            row.pop("note")
            texts.append(Labelled(**row))
    return tuple(texts)


class _CorrectedRow(Schema):
    """One line of a corrections export, as `matterline triage corrections` writes it."""

    class Meta:
        unknown = RAISE

    id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    text = fields.String(required=True, validate=validate.Length(min=1))
    urgent = fields.Boolean(required=True, truthy={True}, falsy={False})
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    received_at = fields.NaiveDateTime(required=True, format="iso")
    # For the people reviewing the labels; training reads none of them.
    corrected_by = fields.String(load_default=None, allow_none=True)
    corrected_at = fields.String(load_default=None, allow_none=True)
    was_urgent = fields.Boolean(load_default=None, allow_none=True, truthy={True}, falsy={False})
    version = fields.String(load_default=None, allow_none=True)

    @validates_schema
    def _situation(self, data: dict[str, Any], **_: Any) -> None:
        if data["urgent"] and data["category"] == "none":
            situations = ", ".join(c for c in CATEGORIES if c != "none")
            raise ValidationError(f"an urgent text needs its situation, one of {situations}; got 'none'")


_CORRECTED_ROW: Final = _CorrectedRow()
# What training reads of a corrected text; the rest of an export's line is for the people reviewing labels.
_LABEL_FIELDS: Final = ("id", "text", "urgent", "category", "received_at")


def load_corrections(path: Path) -> tuple[Labelled, ...]:
    """The texts of a corrections export (`matterline triage corrections`), to train on beside the corpus; their
    matter and language are not known, so left empty.

    Raises:
        ValueError: as `load`, for the export's lines.
        OSError: the file cannot be read.
    """
    return tuple(corrected(row) for row in _rows(path, _CORRECTED_ROW, {}))


def corrected(label: Mapping[str, Any]) -> Labelled:
    """A text staff corrected (an export's line, or `queries.triage.Corrected` as a mapping) as the corpus
    holds one; its matter and language are not known, so left empty."""
    return Labelled(**{name: label[name] for name in _LABEL_FIELDS}, matter="", language="")


def heldout_ids(folder: Path = CORPUS) -> frozenset[str]:
    """The ids of the held-out slice."""
    return frozenset(json.loads((folder / HELDOUT_FILE).read_text(encoding="utf-8"))["ids"])


def split(texts: tuple[Labelled, ...], heldout: frozenset[str]) -> tuple[tuple[Labelled, ...], tuple[Labelled, ...]]:
    """(the texts to train and tune on, the held-out slice).

    Raises:
        ValueError: a held-out id that is not in the corpus (the slice would silently shrink).
    """
    missing = heldout - {t.id for t in texts}
    if missing:
        raise ValueError(f"held-out ids not in the corpus: {sorted(missing)[:5]}")
    return tuple(t for t in texts if t.id not in heldout), tuple(t for t in texts if t.id in heldout)
