"""What every command shares: a store that is not initialised, settings that cannot be read, and a person
named with `--as` who is not there each end the command with a clear line and the documented exit code."""

from __future__ import annotations

from tests.support.command import run


def test_commands_refuse_a_store_that_was_not_initialised(env: dict[str, str]) -> None:
    code, _, err = run(env, "clients", "--json")
    assert code == 1
    assert "matterline init" in err


def test_bad_settings_exit_2_naming_each(env: dict[str, str]) -> None:
    code, _, err = run({**env, "MATTERLINE_TIMEZONE": "Nowhere/Land", "MATTERLINE_CMS": "nope"}, "init")
    assert code == 2
    assert "MATTERLINE_TIMEZONE" in err
    assert "MATTERLINE_CMS" in err


def test_acting_as_someone_who_is_not_a_user_exits_1_naming_them(texting: dict[str, str]) -> None:
    code, out, err = run(texting, "send", "--matter", "101", "--body", "Hello", "--as", "ghost@firm.example")
    assert code == 1
    assert out == ""
    assert "no user 'ghost@firm.example' (see `matterline users list`)" in err
    code, out, _ = run(texting, "outbox", "list", "--json")
    assert out.strip() == "[]"  # nothing was queued
