"""The shipped triage corpus: big enough, balanced as the issue asks, every label valid, the held-out
slice real and disjoint; and a bad line in a corpus is named, not skipped."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from connector.triage.corpus import CATEGORIES, CORPUS, heldout_ids, load, split


def test_the_corpus_has_two_thousand_texts_a_third_urgent_in_every_situation_and_voice() -> None:
    texts = load()
    assert len(texts) >= 2000
    assert 0.28 <= sum(t.urgent for t in texts) / len(texts) <= 0.40
    urgent_by_category = Counter(t.category for t in texts if t.urgent)
    assert set(urgent_by_category) == set(CATEGORIES) - {"none"}
    assert min(urgent_by_category.values()) >= 40
    assert {t.matter for t in texts} == {
        "criminal", "family", "immigration", "housing", "personal_injury", "employment", "estate", "business",
    }  # fmt: skip
    assert sum(t.language == "es" for t in texts) >= 200
    voices = {t.id.split("-")[0] for t in texts}
    assert len(voices) >= 8
    assert len({t.text.strip().casefold() for t in texts}) == len(texts)  # no text twice


def test_the_heldout_slice_has_four_hundred_texts_disjoint_from_training_and_every_urgent_situation() -> None:
    texts = load()
    train, heldout = split(texts, heldout_ids())
    assert len(heldout) >= 400
    assert {t.id for t in train}.isdisjoint({t.id for t in heldout})
    assert len(train) + len(heldout) == len(texts)
    assert {t.category for t in heldout if t.urgent} == set(CATEGORIES) - {"none"}


def test_a_bad_line_is_named_by_file_line_and_field(tmp_path: Path) -> None:
    shutil.copy(CORPUS / "safety.jsonl", tmp_path / "safety.jsonl")
    row = json.loads((CORPUS / "formal.jsonl").read_text(encoding="utf-8").splitlines()[0])
    lines = [json.dumps(row), json.dumps(row | {"id": "fo-9999", "category": "panic"})]
    (tmp_path / "formal.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"formal.jsonl:2: .*category"):
        load(tmp_path)
    (tmp_path / "formal.jsonl").write_text(json.dumps(row | {"urgent": "yes"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"formal.jsonl:1: .*urgent"):
        load(tmp_path)
    (tmp_path / "formal.jsonl").write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"formal.jsonl:2: id fo-0001 is also at formal.jsonl:1"):
        load(tmp_path)


def test_a_heldout_id_missing_from_the_corpus_is_refused() -> None:
    with pytest.raises(ValueError, match="zz-0001"):
        split(load(), heldout_ids() | {"zz-0001"})
