"""`users add|list|disable` from the command line: a person's token is shown once, and disabling them ends it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from sqlalchemy import Engine

from connector.cli import main
from connector.services import invites, signin
from connector.staff.users import TOKEN_PREFIX, authenticate
from connector.store import make_engine
from tests.support.command import run

AuditLog = Callable[..., list[dict[str, Any]]]
AddUser = Callable[..., dict[str, Any]]


def test_users_add_prints_the_token_once_and_lists_without_it(texting: dict[str, str]) -> None:
    code, out, _ = run(
        texting,
        "users",
        "add",
        "--name",
        "Avery Counsel",
        "--email",
        "Avery@Firm.example",
        "--role",
        "attorney",
        "--json",
    )
    assert code == 0
    created = json.loads(out)
    assert created["token"].startswith("ml_")
    assert created["email"] == "avery@firm.example"
    code, out, _ = run(texting, "users", "list", "--json")
    assert json.loads(out) == [
        {
            "id": created["id"],
            "name": "Avery Counsel",
            "email": "avery@firm.example",
            "role": "attorney",
            "disabled": False,
        }
    ]
    assert created["token"] not in out
    code, _, err = run(texting, "users", "add", "--name", "Again", "--email", "avery@firm.example", "--role", "staff")
    assert code == 1
    assert "already exists" in err


def test_users_disable_ends_their_api_token_at_once(
    texting: dict[str, str], store: Engine, user: AddUser, audit_log: AuditLog
) -> None:
    ada = user("Ada Admin", "ada@firm.example", "admin")
    avery = user("Avery Counsel", "avery@firm.example", "attorney")
    signed_in = authenticate(store, avery["token"])
    assert signed_in is not None
    assert signed_in.email == "avery@firm.example"

    code, out, err = run(texting, "users", "disable", "avery@firm.example", "--as", "ada@firm.example")
    assert code == 0, err
    assert out == "disabled avery@firm.example; their API tokens no longer work\n"
    assert authenticate(store, avery["token"]) is None
    code, out, _ = run(texting, "users", "list", "--json")
    assert [(u["email"], u["disabled"]) for u in json.loads(out)] == [
        ("ada@firm.example", False),
        ("avery@firm.example", True),
    ]
    [entry] = audit_log("user_disabled")
    assert (entry["actor"], entry["subject_type"], entry["subject_id"]) == (
        f"user:{ada['id']}:ada@firm.example",
        "user",
        str(avery["id"]),
    )
    assert entry["details"] == {
        "email": "avery@firm.example",
        "role": "attorney",
        "tokens_revoked": 1,
        "sessions_ended": 0,
    }

    code, _, err = run(texting, "users", "disable", str(avery["id"]))  # by id this time
    assert code == 1
    assert "matterline: already_disabled: avery@firm.example is already disabled" in err
    code, _, err = run(texting, "users", "disable", "nobody@firm.example")
    assert code == 1
    assert "matterline: not_found: no user 'nobody@firm.example'" in err
    assert len(audit_log("user_disabled")) == 1


def test_the_last_active_admin_cannot_be_disabled(
    texting: dict[str, str], store: Engine, user: AddUser, audit_log: AuditLog
) -> None:
    ada = user("Ada Admin", "ada@firm.example", "admin")
    code, _, err = run(texting, "users", "disable", "ada@firm.example")
    assert code == 1
    assert "matterline: last_admin: ada@firm.example is the last active admin" in err
    assert authenticate(store, ada["token"]) is not None
    code, out, _ = run(texting, "users", "list", "--json")
    assert [(u["email"], u["disabled"]) for u in json.loads(out)] == [("ada@firm.example", False)]
    assert audit_log("user_disabled") == []

    user("Bea Admin", "bea@firm.example", "admin")  # with a second admin, the first may go
    code, _, err = run(texting, "users", "disable", "ada@firm.example", "--as", "bea@firm.example")
    assert code == 0, err
    assert authenticate(store, ada["token"]) is None
    code, _, err = run(texting, "users", "disable", "bea@firm.example")
    assert code == 1
    assert "last_admin" in err


def token_list(texting: dict[str, str], person: str) -> list[dict[str, Any]]:
    code, out, err = run(texting, "users", "token", "list", person, "--json")
    assert code == 0, err
    listed: list[dict[str, Any]] = json.loads(out)
    return listed


def test_users_token_revoke_ends_that_token_alone_and_is_audited(
    texting: dict[str, str], store: Engine, user: AddUser, audit_log: AuditLog
) -> None:
    ada = user("Ada Admin", "ada@firm.example", "admin")
    avery = user("Avery Counsel", "avery@firm.example", "attorney")
    [token] = token_list(texting, "avery@firm.example")
    assert (token["prefix"], token["revoked_at"]) == (avery["token"][: len(token["prefix"])], None)
    assert avery["token"] not in json.dumps(token_list(texting, str(avery["id"])))

    code, out, err = run(texting, "users", "token", "revoke", str(token["id"]), "--as", "ada@firm.example")
    assert code == 0, err
    assert out == f"revoked API token {token['id']} ({token['prefix']}…) of avery@firm.example\n"
    assert authenticate(store, avery["token"]) is None
    assert authenticate(store, ada["token"]) is not None
    [entry] = audit_log("token_revoked")
    assert (entry["actor"], entry["subject_type"], entry["subject_id"]) == (
        f"user:{ada['id']}:ada@firm.example",
        "api_token",
        str(token["id"]),
    )
    code, _, err = run(texting, "users", "token", "revoke", str(token["id"]))
    assert code == 1
    assert f"matterline: already_revoked: API token {token['id']} is already revoked" in err
    code, _, err = run(texting, "users", "token", "list", "nobody@firm.example")
    assert code == 1
    assert "no user 'nobody@firm.example'" in err


def test_users_token_rotate_prints_the_new_token_once_and_the_old_one_stops(
    texting: dict[str, str], store: Engine, user: AddUser, audit_log: AuditLog
) -> None:
    user("Ada Admin", "ada@firm.example", "admin")
    avery = user("Avery Counsel", "avery@firm.example", "attorney")
    [old] = token_list(texting, "avery@firm.example")
    code, out, err = run(texting, "users", "token", "rotate", str(old["id"]), "--json")
    assert code == 0, err
    rotated = json.loads(out)
    assert rotated["email"] == "avery@firm.example"
    assert rotated["token"].startswith(TOKEN_PREFIX)
    assert rotated["token"] != avery["token"]
    assert authenticate(store, avery["token"]) is None
    signed_in = authenticate(store, rotated["token"])
    assert signed_in is not None
    assert signed_in.email == "avery@firm.example"
    listed = token_list(texting, "avery@firm.example")
    assert [(t["id"], t["revoked_at"] is None) for t in listed] == [(old["id"], False), (rotated["token_id"], True)]
    assert rotated["token"] not in json.dumps(listed) + json.dumps(audit_log())
    [entry] = audit_log("token_rotated")
    assert entry["details"]["new_token_id"] == rotated["token_id"]

    code, out, err = run(texting, "users", "token", "rotate", str(rotated["token_id"]))
    assert code == 0, err
    assert out.startswith(f"API token for avery@firm.example (shown once, keep it safe): {TOKEN_PREFIX}")


def test_a_password_is_asked_twice_never_echoed_and_then_signs_in(texting: dict[str, str]) -> None:
    runner = CliRunner()
    env = dict(texting)
    added = runner.invoke(
        main,
        ["users", "add", "--name", "Pat", "--email", "pat@firm.example", "--role", "staff", "--password-prompt"],
        env=env,
        input="first passphrase\nfirst passphrase\n",
    )
    assert added.exit_code == 0, added.output
    assert "first passphrase" not in added.output
    short = runner.invoke(main, ["users", "password", "pat@firm.example"], env=env, input="short\nshort\n")
    assert short.exit_code != 0
    assert "at least 12 characters" in short.output
    changed = runner.invoke(
        main, ["users", "password", "pat@firm.example"], env=env, input="second passphrase\nsecond passphrase\n"
    )
    assert changed.exit_code == 0, changed.output
    assert "second passphrase" not in changed.output
    engine = make_engine(env["MATTERLINE_DATABASE_URL"])
    try:
        assert signin.sign_in(engine, email="pat@firm.example", password="second passphrase", address="a")
    finally:
        engine.dispose()


def test_users_invite_prints_a_one_time_link_at_the_public_url(
    texting: dict[str, str], user: AddUser, audit_log: AuditLog
) -> None:
    pat = user("Pat", "pat@firm.example", "staff")
    env = {**texting, "MATTERLINE_PUBLIC_URL": "https://matterline.firm.example"}
    code, out, err = run(env, "users", "invite", "pat@firm.example")
    assert code == 0, err
    heading, url = out.splitlines()
    assert heading.startswith("invite link for pat@firm.example (works once, until ")
    assert url.startswith("https://matterline.firm.example/welcome/")
    engine = make_engine(env["MATTERLINE_DATABASE_URL"])
    try:
        token = url.rsplit("/", 1)[1]
        assert invites.redeem(engine, token, "a passphrase of mine").user.id == pat["id"]
    finally:
        engine.dispose()
    [entry] = audit_log("link_issued")
    assert entry["details"]["purpose"] == "invite"
    assert token not in json.dumps(entry)


def test_users_reset_prints_json_and_is_refused_without_a_public_url(
    texting: dict[str, str], user: AddUser, audit_log: AuditLog
) -> None:
    user("Pat", "pat@firm.example", "staff")
    code, out, err = run(texting, "users", "reset", "pat@firm.example")
    assert code == 1
    assert "MATTERLINE_PUBLIC_URL is not set" in err
    assert audit_log("link_issued") == []
    env = {**texting, "MATTERLINE_PUBLIC_URL": "https://matterline.firm.example/"}
    code, out, err = run(env, "users", "reset", "pat@firm.example", "--json")
    assert code == 0, err
    printed = json.loads(out)
    assert (printed["email"], printed["purpose"]) == ("pat@firm.example", "reset")
    assert printed["url"].startswith("https://matterline.firm.example/welcome/")
    code, _, err = run(env, "users", "reset", "nobody@firm.example")
    assert code == 1
    assert "no user 'nobody@firm.example'" in err


def test_users_role_changes_a_role_audited_and_never_demotes_the_last_admin(
    texting: dict[str, str], store: Engine, user: AddUser, audit_log: AuditLog
) -> None:
    ada = user("Ada Admin", "ada@firm.example", "admin")
    user("Avery Counsel", "avery@firm.example", "attorney")
    code, out, err = run(texting, "users", "role", "avery@firm.example", "admin", "--as", "ada@firm.example")
    assert (code, out, err) == (0, "avery@firm.example is now admin\n", "")
    [entry] = audit_log("role_changed")
    assert entry["actor"] == f"user:{ada['id']}:ada@firm.example"
    code, out, _ = run(texting, "users", "list", "--json")
    assert [(u["email"], u["role"]) for u in json.loads(out)] == [
        ("ada@firm.example", "admin"),
        ("avery@firm.example", "admin"),
    ]
    assert run(texting, "users", "role", "avery@firm.example", "staff")[0] == 0
    code, _, err = run(texting, "users", "role", "ada@firm.example", "staff")
    assert code == 1
    assert "last_admin" in err
    assert len(audit_log("role_changed")) == 2


def test_users_end_sessions_signs_a_person_out_everywhere(
    texting: dict[str, str], store: Engine, user: AddUser, audit_log: AuditLog
) -> None:
    user("Ada Admin", "ada@firm.example", "admin")
    code, out, err = run(texting, "users", "end-sessions", "ada@firm.example")
    assert (code, err) == (0, "")
    assert out == "ended 0 sessions of ada@firm.example\n"
    [entry] = audit_log("sessions_ended")
    assert entry["subject_type"] == "user"


def test_users_away_and_back_set_and_end_time_away_read_in_the_firms_zone(
    texting: dict[str, str], user: AddUser, audit_log: AuditLog
) -> None:
    ada = user("Ada Admin", "ada@firm.example", "admin")
    alice = user("Alice Attorney", "alice@firm.example", "attorney")
    user("Bob Backup", "bob@firm.example", "attorney")
    user("Sam Staff", "sam@firm.example", "staff")
    zone = ZoneInfo("America/New_York")  # the firm's zone by default
    until = (datetime.now(zone) + timedelta(days=5)).replace(hour=17, minute=0, second=0, microsecond=0)
    typed = until.strftime("%Y-%m-%d %H:%M")
    away = ("users", "away", "alice@firm.example", "--backup", "bob@firm.example", "--until", typed)
    code, _, err = run(texting, *away, "--as", "sam@firm.example")
    assert code == 1
    assert "forbidden_role" in err  # staff cannot mark a colleague away

    code, out, err = run(texting, *away, "--reason", "Trial in Fresno", "--as", "alice@firm.example", "--json")
    assert code == 0, err
    period = json.loads(out)
    assert datetime.fromisoformat(period["ends_at"]) == until  # 17:00 in New York, whatever the machine's zone
    assert (period["user_id"], period["backup_email"], period["reason"]) == (
        alice["id"],
        "bob@firm.example",
        "Trial in Fresno",
    )
    code, _, err = run(texting, *away)
    assert code == 1
    assert "already_away" in err

    code, out, err = run(texting, "users", "back", "alice@firm.example", "--as", "ada@firm.example")
    assert (code, err) == (0, "")
    assert out == f"alice@firm.example is back: time away {period['id']} ended; bob@firm.example no longer covers\n"
    [ended] = audit_log("away_ended")
    assert ended["actor"] == f"user:{ada['id']}:ada@firm.example"
    code, _, err = run(texting, "users", "back", "alice@firm.example")
    assert code == 1
    assert "not away" in err
