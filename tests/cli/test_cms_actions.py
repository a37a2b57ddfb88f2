"""`matterline custom-actions install` against the sandbox CMS: creates each linked person's two buttons,
changes nothing the second time, re-points them when the public URL moves, and names an unknown person."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from connector import services
from connector.cms.auth import TokenGrant
from connector.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ClioState, SandboxServer, generate_firm
from connector.staff import cms_accounts
from connector.staff.users import Actor
from connector.store import make_engine
from connector.store.engine import utcnow
from tests.support.command import run
from tests.support.inbox import audit_rows

SECRET = "a test secret key, long enough"


@pytest.fixture
def linked(env: dict[str, str]) -> Iterator[tuple[dict[str, str], ClioState, Engine]]:
    """Pat linked to a sandbox Clio user, whose token the store keeps sealed."""
    assert run(env, "init")[0] == 0
    engine = make_engine(env["MATTERLINE_DATABASE_URL"])
    added = services.users.add(engine, name="Pat", email="pat@firm.example", role="staff", actor=Actor("op"))
    state = ClioState(generate_firm(5, 3, seed=2))
    clio_user = state.ids("users")[2]
    state.add_token("pat-token", clio_user)
    with engine.begin() as conn:
        cms_accounts.link(conn, added.user.id, str(clio_user))
        cms_accounts.save_tokens(conn, SECRET, added.user.id, TokenGrant("pat-token", None, None), utcnow())
    with SandboxServer(state) as cms:
        yield (
            {
                **env,
                "MATTERLINE_SECRET_KEY": SECRET,
                "MATTERLINE_CMS_BASE_URL": cms.base_url,
                "MATTERLINE_CMS_CLIENT_ID": DEFAULT_CLIENT_ID,
                "MATTERLINE_CMS_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
                "MATTERLINE_PUBLIC_URL": "https://texts.firm.example",
            },
            state,
            engine,
        )
    engine.dispose()


def test_install_creates_then_changes_nothing_then_follows_the_public_url(
    linked: tuple[dict[str, str], ClioState, Engine],
) -> None:
    env, state, engine = linked
    clio_user = state.ids("users")[2]
    code, out, _ = run(env, "custom-actions", "install")
    assert code == 0, out
    assert "pat@firm.example: 2 created, 0 updated, 0 unchanged" in out
    buttons = state.custom_actions_of(clio_user)
    assert sorted(b["ui_reference"] for b in buttons) == ["contacts/show", "matters/show"]
    assert {b["target_url"] for b in buttons} == {"https://texts.firm.example/cms/clio/action"}
    assert "0 created, 0 updated, 2 unchanged" in run(env, "custom-actions", "install", "--user", "pat@firm.example")[1]
    moved = {**env, "MATTERLINE_PUBLIC_URL": "https://sms.firm.example"}
    assert "0 created, 2 updated, 0 unchanged" in run(moved, "custom-actions", "install")[1]
    assert {b["target_url"] for b in state.custom_actions_of(clio_user)} == {"https://sms.firm.example/cms/clio/action"}
    assert len(state.custom_actions_of(clio_user)) == 2
    assert [row.details["created"] for row in audit_rows(engine, "custom_actions")] == [2, 0]


def test_an_unknown_person_or_missing_settings_are_named(linked: tuple[dict[str, str], ClioState, Engine]) -> None:
    env, _, _ = linked
    code, out, err = run(env, "custom-actions", "install", "--user", "nobody@firm.example")
    assert code != 0
    assert "nobody@firm.example" in out + err
    bare = {k: v for k, v in env.items() if k != "MATTERLINE_CMS_CLIENT_ID"}
    code, out, err = run(bare, "custom-actions", "install")
    assert code != 0
    assert "MATTERLINE_CMS_CLIENT_ID" in out + err
