"""`matterline init`: it creates the store, and running it again changes nothing."""

from __future__ import annotations

from tests.support.command import run


def test_init_is_safe_to_run_twice(env: dict[str, str]) -> None:
    code, out, _ = run(env, "init")
    assert code == 0
    assert "upgraded from empty" in out
    code, out, _ = run(env, "init")
    assert code == 0
    assert "is current" in out
