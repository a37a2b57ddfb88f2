"""The signed-in frame: who may see a page, what a background poll may not do, and the badge's words."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, update

from connector import services
from connector.settings import Settings
from connector.staff.users import Actor
from connector.store.tables import sessions
from tests.support.inbox import stranger, text_in
from webhooks import create_app
from webhooks.pages.auth import COOKIE

ADMIN = Actor("operator:root")
PASSWORD = "correct horse battery"


@pytest.fixture
def client(sqlite_engine: Engine) -> FlaskClient:
    services.users.add(
        sqlite_engine, name="Pat Paralegal", email="pat@firm.example", role="staff", actor=ADMIN, password=PASSWORD
    )
    settings = Settings(database_url=str(sqlite_engine.url), secret_key="a test secret key, long enough")
    return create_app(settings, sqlite_engine).test_client()


def _sign_in(client: FlaskClient, engine: Engine) -> str:
    signed = services.signin.sign_in(engine, email="pat@firm.example", password=PASSWORD, address="127.0.0.1")
    client.set_cookie(COOKIE, signed.token)
    return signed.token


def _last_seen(engine: Engine) -> object:
    with engine.connect() as conn:
        return conn.execute(select(sessions.c.last_seen_at)).scalar_one()


def _age_session(engine: Engine, minutes: int) -> None:
    """Move the session's last activity back, as if `minutes` had passed since."""
    with engine.begin() as conn:
        row = conn.execute(select(sessions.c.id, sessions.c.last_seen_at, sessions.c.created_at)).one()
        conn.execute(
            update(sessions)
            .where(sessions.c.id == row.id)
            .values(
                last_seen_at=row.last_seen_at - timedelta(minutes=minutes),
                created_at=row.created_at - timedelta(minutes=minutes),
            )
        )


def test_a_page_without_a_session_goes_to_sign_in_and_comes_back(client: FlaskClient) -> None:
    answer = client.get("/inbox?filter=urgent")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/signin?next=/inbox?filter%3Durgent"


def test_an_htmx_request_without_a_session_reloads_the_browser_into_sign_in(client: FlaskClient) -> None:
    answer = client.get(
        "/poll", headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/inbox", "X-Matterline-Poll": "1"}
    )
    assert answer.status_code == 401
    assert answer.headers["HX-Redirect"] == "/signin?next=/inbox"
    assert answer.get_data() == b""


def test_a_background_poll_does_not_keep_an_idle_session_alive(client: FlaskClient, sqlite_engine: Engine) -> None:
    _sign_in(client, sqlite_engine)
    _age_session(sqlite_engine, 10)
    before = _last_seen(sqlite_engine)
    assert client.get("/poll", headers={"HX-Request": "true", "X-Matterline-Poll": "1"}).status_code == 200
    assert _last_seen(sqlite_engine) == before  # polled, but not "seen"
    assert client.get("/inbox").status_code == 200
    assert _last_seen(sqlite_engine) != before  # a page the person opened is activity


def test_a_session_idle_past_its_limit_is_ended_even_while_a_tab_polls(
    client: FlaskClient, sqlite_engine: Engine
) -> None:
    _sign_in(client, sqlite_engine)
    for _ in range(4):  # ten minutes of polling each time: the session ages anyway
        _age_session(sqlite_engine, 10)
        client.get("/poll", headers={"HX-Request": "true", "X-Matterline-Poll": "1"})
    answer = client.get("/poll", headers={"HX-Request": "true", "X-Matterline-Poll": "1"})
    assert answer.status_code == 401
    assert client.get("/inbox").status_code == 302


def test_the_poll_answers_nothing_while_nothing_changed_and_the_new_badge_when_something_did(
    client: FlaskClient, sqlite_engine: Engine
) -> None:
    _sign_in(client, sqlite_engine)
    page = client.get("/inbox").get_data(as_text=True)
    assert 'aria-label="0 unread texts"' in page
    stamp = page.split('"stamp": "', 1)[1].split('"', 1)[0]

    quiet = client.get("/poll", query_string={"stamp": stamp}, headers={"X-Matterline-Poll": "1"})
    assert (quiet.status_code, quiet.get_data()) == (204, b"")

    text_in(sqlite_engine, stranger(1), "are you there?")
    text_in(sqlite_engine, stranger(2), "hello")
    fresh = client.get("/poll", query_string={"stamp": stamp}, headers={"X-Matterline-Poll": "1"})
    body = fresh.get_data(as_text=True)
    assert fresh.status_code == 200
    assert 'aria-label="2 unread texts"' in body
    assert 'hx-swap-oob="true"' in body
    assert "are you there?" not in body
    assert stranger(1) not in body
    new_stamp = body.split('"stamp": "', 1)[1].split('"', 1)[0]
    assert new_stamp != stamp
    assert client.get("/poll", query_string={"stamp": new_stamp}, headers={"X-Matterline-Poll": "1"}).status_code == 204


@pytest.mark.parametrize(("count", "label", "figure"), [(1, "1 unread text", "1"), (150, "99+ unread texts", "99+")])
def test_the_badge_says_the_count_in_words(
    client: FlaskClient, sqlite_engine: Engine, count: int, label: str, figure: str
) -> None:
    _sign_in(client, sqlite_engine)
    for n in range(count):
        text_in(sqlite_engine, stranger(n % 5), f"text {n}")
    page = client.get("/inbox").get_data(as_text=True)
    assert f'aria-label="{label}" data-count="{min(count, 100)}">{figure}</a>' in page
