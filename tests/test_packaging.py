"""The wheel carries what the server reads at run time besides code: the pages' templates and stylesheet."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_carries_the_templates_static_files_triage_corpus_and_model(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("connector", "webhooks", "mappings"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-q", "-w", str(tmp_path)],
        cwd=source,
        check=True,
        timeout=240,
    )
    (wheel,) = tmp_path.glob("matterline-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        str(path.relative_to(ROOT))
        for folder in ("webhooks/templates", "webhooks/static", "connector/triage/corpus")
        for path in (ROOT / folder).rglob("*")
        if path.is_file()
    } | {"connector/triage/model.json.gz", "connector/reminders/reminder_rules.json"}
    pages = {
        "webhooks/templates/base.html",
        "webhooks/templates/errors/error.html",
        "webhooks/static/app.css",
        "connector/triage/corpus/heldout.json",
    }
    assert pages <= shipped
    assert shipped - names == set()
