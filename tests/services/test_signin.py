"""Staff sign in with email and password and sign out: sessions end on sign-out, on timeouts and when the
person is disabled; failed attempts get one generic answer and are throttled in the store; all audited."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import Engine, update

from connector import services
from connector.errors import Kind, MatterlineError
from connector.services.signin import WRONG
from connector.staff.sessions import Lifetimes
from connector.staff.users import Actor
from connector.store.engine import utcnow
from connector.store.tables import sessions, signin_failures
from tests.support.inbox import audit_rows

ADMIN = Actor("operator:root")
PASSWORD = "correct horse battery"
LIFETIMES = Lifetimes(idle=timedelta(minutes=30), absolute=timedelta(hours=12))


@pytest.fixture
def store(engine: Engine) -> Engine:
    services.users.add(engine, name="Avery Counsel", email="avery@firm.example", role="admin", actor=ADMIN)
    services.users.add(
        engine, name="Pat Paralegal", email="pat@firm.example", role="staff", actor=ADMIN, password=PASSWORD
    )
    return engine


def refusal(engine: Engine, email: str, password: str, address: str = "10.0.0.1") -> MatterlineError:
    with pytest.raises(MatterlineError) as caught:
        services.signin.sign_in(engine, email=email, password=password, address=address)
    return caught.value


def test_the_right_password_opens_a_session_that_sign_out_ends(store: Engine) -> None:
    signed = services.signin.sign_in(store, email=" Pat@Firm.Example", password=PASSWORD, address="10.0.0.1")
    assert signed.user.name == "Pat Paralegal"
    assert services.signin.resume(store, signed.token, LIFETIMES) == signed.user
    services.signin.sign_out(store, signed.token)
    assert services.signin.resume(store, signed.token, LIFETIMES) is None
    [login] = audit_rows(store, "login")
    assert login.details["method"] == "password"
    [logout] = audit_rows(store, "logout")
    assert logout.subject_id == str(signed.user.id)
    assert signed.token not in str(login.details) + str(logout.details)


def test_unknown_email_wrong_password_and_no_password_get_the_same_answer(store: Engine) -> None:
    answers = [
        refusal(store, "nobody@firm.example", PASSWORD),
        refusal(store, "pat@firm.example", "wrong password here"),
        refusal(store, "avery@firm.example", PASSWORD),  # added without a password
    ]
    assert {(a.kind, a.code, a.message) for a in answers} == {(Kind.UNAUTHENTICATED, "signin_failed", WRONG)}
    reasons = [row.details["reason"] for row in audit_rows(store, "login_failed")]
    assert reasons == ["unknown_email", "wrong_password", "no_password"]
    assert not any(PASSWORD in str(row.details) for row in audit_rows(store, "login_failed"))


def test_five_failures_lock_the_account_even_against_the_right_password(store: Engine) -> None:
    for _ in range(5):
        assert refusal(store, "pat@firm.example", "wrong password here").code == "signin_failed"
    locked = refusal(store, "pat@firm.example", PASSWORD, address="10.9.9.9")
    assert locked.code == "signin_throttled"
    assert locked.message == "Too many attempts. Try again in 15 minutes."
    assert audit_rows(store, "login_failed")[-1].details["reason"] == "throttled"
    assert audit_rows(store, "login") == []


def test_twenty_failures_from_one_address_stop_it_trying_other_accounts(store: Engine) -> None:
    for n in range(20):
        refusal(store, f"guess{n}@firm.example", "wrong password here", address="10.6.6.6")
    assert refusal(store, "pat@firm.example", PASSWORD, address="10.6.6.6").code == "signin_throttled"
    # Another address is not held back by it.
    assert services.signin.sign_in(store, email="pat@firm.example", password=PASSWORD, address="10.0.0.2")


def test_idle_and_absolute_timeouts_end_a_session(store: Engine) -> None:
    idle = services.signin.sign_in(store, email="pat@firm.example", password=PASSWORD, address="a")
    old = services.signin.sign_in(store, email="pat@firm.example", password=PASSWORD, address="a")
    now = utcnow()
    with store.begin() as conn:
        conn.execute(
            update(sessions).values(last_seen_at=now - timedelta(minutes=31)).where(sessions.c.created_at <= now)
        )
    assert services.signin.resume(store, idle.token, LIFETIMES) is None
    with store.begin() as conn:
        conn.execute(update(sessions).values(last_seen_at=now, created_at=now - timedelta(hours=13)))
    assert services.signin.resume(store, old.token, LIFETIMES) is None


def test_disabling_a_person_ends_their_sessions_at_once(store: Engine) -> None:
    signed = services.signin.sign_in(store, email="pat@firm.example", password=PASSWORD, address="a")
    services.users.disable(store, "pat@firm.example", actor=ADMIN)
    assert services.signin.resume(store, signed.token, LIFETIMES) is None
    assert refusal(store, "pat@firm.example", PASSWORD).code == "signin_failed"


def test_a_password_is_set_only_when_long_enough_and_its_setting_is_audited_without_it(store: Engine) -> None:
    with pytest.raises(MatterlineError) as caught:
        services.users.set_password(store, "avery@firm.example", "short", actor=ADMIN)
    assert caught.value.code == "password_too_short"
    assert audit_rows(store, "password_set")[-1].details["email"] == "pat@firm.example"  # from the fixture
    signed = services.signin.sign_in(store, email="pat@firm.example", password=PASSWORD, address="a")
    services.users.set_password(store, "pat@firm.example", "a brand new passphrase", actor=ADMIN)
    assert services.signin.resume(store, signed.token, LIFETIMES) is None  # a new password ends old sessions
    assert refusal(store, "pat@firm.example", PASSWORD).code == "signin_failed"
    assert services.signin.sign_in(store, email="pat@firm.example", password="a brand new passphrase", address="a")
    assert not any("passphrase" in str(row.details) for row in audit_rows(store, "password_set"))


def test_a_locked_account_opens_again_once_its_failures_age_out(store: Engine) -> None:
    for _ in range(5):
        refusal(store, "pat@firm.example", "wrong password here")
    assert refusal(store, "pat@firm.example", PASSWORD).code == "signin_throttled"
    with store.begin() as conn:
        conn.execute(update(signin_failures).values(at=utcnow() - timedelta(minutes=16)))
    assert services.signin.sign_in(store, email="pat@firm.example", password=PASSWORD, address="10.0.0.1")


def test_parallel_guesses_cannot_get_past_the_limit(store: Engine) -> None:
    def guess(n: int) -> str:
        return refusal(store, "pat@firm.example", f"wrong password {n}", address=f"10.1.0.{n}").code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(guess, range(12)))
    assert codes.count("signin_failed") == 5
    assert codes.count("signin_throttled") == 7
