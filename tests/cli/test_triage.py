"""`matterline triage train|evaluate` on a small sample: a model file is written, then judged on the
held-out slice with its figures per situation."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.command import run


def test_train_writes_a_model_that_evaluate_judges_on_the_heldout_slice(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "model.json.gz"
    code, stdout, _ = run(env, "triage", "train", "--sample", "200", "--out", str(out))
    assert code == 0, stdout
    assert "on 200 texts" in stdout
    assert out.is_file()
    code, stdout, _ = run(env, "triage", "evaluate", "--model", str(out), "--json")
    assert code == 0, stdout
    figures = json.loads(stdout)
    assert figures["texts"] >= 400
    assert figures["model"].startswith("triage-")
    assert 0.0 <= figures["precision"] <= 1.0
    assert 0.0 <= figures["recall"] <= 1.0
    assert "self_harm_crisis" in figures["by_category"]


def test_evaluate_names_a_file_that_is_not_a_model(env: dict[str, str], tmp_path: Path) -> None:
    bogus = tmp_path / "model.json.gz"
    bogus.write_bytes(b"not gzip")
    code, _, stderr = run(env, "triage", "evaluate", "--model", str(bogus))
    assert code == 1
    assert "not a triage model" in stderr
