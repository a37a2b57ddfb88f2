"""The admin's people page reads: each person's last sign-in, open sessions, working tokens, CMS link and
whether their buttons are in the CMS; and every API token that still works."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, update

from connector import queries, services
from connector.cms.auth import TokenGrant
from connector.cms.connect import OAuthApp
from connector.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ClioState, SandboxServer, generate_firm
from connector.services import custom_actions
from connector.staff import cms_accounts, sessions
from connector.staff.users import Actor
from connector.store.engine import utcnow
from connector.store.tables import sessions as session_rows
from mappings import load_mapping

OPERATOR = Actor("operator:root")
SECRET = "a test secret key, long enough"
IDLE, ABSOLUTE = timedelta(minutes=30), timedelta(hours=12)


def _add(engine: Engine, name: str, role: str = "staff") -> services.users.Added:
    return services.users.add(engine, name=name, email=f"{name.lower()}@firm.example", role=role, actor=OPERATOR)


def test_sessions_tokens_and_sign_ins_are_counted_per_person(engine: Engine) -> None:
    ada, pat, sam = _add(engine, "Ada", "admin"), _add(engine, "Pat"), _add(engine, "Sam")
    now = utcnow()
    with engine.begin() as conn:
        sessions.open_session(conn, pat.user.id, now - timedelta(hours=2))  # idle past the limit: not open
        sessions.open_session(conn, pat.user.id, now - timedelta(minutes=5))
        sessions.open_session(conn, pat.user.id, now - timedelta(minutes=1))
        sessions.open_session(conn, sam.user.id, now - timedelta(minutes=3))
        conn.execute(update(session_rows).where(session_rows.c.user_id == sam.user.id).values(ended_at=now))
    services.users.rotate_token(engine, queries.users.tokens(engine, pat.user.id)[0].id, actor=OPERATOR)
    services.users.rotate_token(engine, queries.users.tokens(engine, pat.user.id)[1].id, actor=OPERATOR)
    services.users.disable(engine, sam.user.id, actor=OPERATOR)
    found = {s.name: s for s in queries.users.standings(engine, now=now, idle=IDLE, absolute=ABSOLUTE)}
    assert [s.id for s in found.values()] == [ada.user.id, pat.user.id, sam.user.id]
    assert (found["Ada"].open_sessions, found["Ada"].working_tokens, found["Ada"].last_signin_at) == (0, 1, None)
    assert (found["Pat"].open_sessions, found["Pat"].working_tokens) == (2, 1)
    assert found["Pat"].last_signin_at == now - timedelta(minutes=1)
    assert (found["Sam"].open_sessions, found["Sam"].working_tokens) == (0, 0)
    assert found["Sam"].disabled_at is not None
    assert found["Sam"].last_signin_at == now - timedelta(minutes=3)
    assert all(s.cms_user_id is None and not s.cms_token and s.actions_installed_at is None for s in found.values())
    working = queries.users.working_tokens(engine)
    assert [(t.user_id, t.revoked_at) for t in working] == [(ada.user.id, None), (pat.user.id, None)]
    assert working[1].id == queries.users.tokens(engine, pat.user.id)[-1].id  # the rotated-in one


@pytest.fixture
def clio() -> tuple[ClioState, SandboxServer]:
    state = ClioState(generate_firm(5, 3, seed=2))
    return state, SandboxServer(state)


def test_a_linked_persons_installed_buttons_show(engine: Engine, clio: tuple[ClioState, SandboxServer]) -> None:
    state, server = clio
    pat, sam = _add(engine, "Pat"), _add(engine, "Sam")
    _add(engine, "Avery", "attorney")
    clio_pat, clio_sam = state.ids("users")[1], state.ids("users")[2]
    state.add_token("pat-token", clio_pat)
    with engine.begin() as conn:
        cms_accounts.link(conn, pat.user.id, str(clio_pat))
        cms_accounts.save_tokens(conn, SECRET, pat.user.id, TokenGrant("pat-token", None, None), utcnow())
        cms_accounts.link(conn, sam.user.id, str(clio_sam))  # linked, but no token kept: no buttons possible
    with server as cms:
        app = OAuthApp(load_mapping("clio"), cms.base_url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, "https://x/cb")
        report = custom_actions.install(engine, app, SECRET, pat.user, "https://texts.firm.example")
    assert report.created == 2
    found = {s.name: s for s in queries.users.standings(engine, now=utcnow(), idle=IDLE, absolute=ABSOLUTE)}
    assert (found["Pat"].cms_user_id, found["Pat"].cms_token) == (str(clio_pat), True)
    assert found["Pat"].actions_installed_at is not None
    assert (found["Sam"].cms_user_id, found["Sam"].cms_token, found["Sam"].actions_installed_at) == (
        str(clio_sam),
        False,
        None,
    )
    assert (found["Avery"].cms_user_id, found["Avery"].actions_installed_at) == (None, None)
