"""`matterline serve --workers N`: refused, before anything starts, where several processes cannot work."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.command import run
from webhooks import processes


@pytest.fixture(autouse=True)
def _no_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # an empty folder: no stray .env is read


def test_several_workers_on_sqlite_are_refused_with_what_to_do(tmp_path: Path) -> None:
    env = {"MATTERLINE_DATABASE_URL": f"sqlite:///{tmp_path}/matterline.db", "MATTERLINE_SECRET_KEY": "s" * 48}
    code, out, err = run(env, "serve", "--workers", "2")
    assert code == 2
    assert out == ""
    assert err.strip() == (
        "matterline: several web processes need PostgreSQL; SQLite allows one writer: set MATTERLINE_DATABASE_URL "
        "to postgresql://… or use --workers 1"
    )
    assert not (tmp_path / "matterline.db").exists()  # refused before the store was opened


def test_several_workers_without_fork_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes.sys, "platform", "darwin")
    env = {"MATTERLINE_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none", "MATTERLINE_SECRET_KEY": "s" * 48}
    code, out, err = run(env, "serve", "--workers", "4")
    assert code == 2
    assert out == ""
    assert err.strip() == (
        "matterline: several web processes need Linux (gunicorn forks them); this is darwin: use --workers 1"
    )


def test_workers_below_one_are_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run({"MATTERLINE_DATABASE_URL": f"sqlite:///{tmp_path}/m.db"}, "serve", "--workers", "0")
    assert code == 2
    assert "--workers" in err
