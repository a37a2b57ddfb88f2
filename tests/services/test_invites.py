"""One-time invite and reset links: only their hash is kept, they work once and until they expire, a newer one
revokes the older, a reset ends the person's other sessions, a disabled person cannot use one, and every
refusal says the same plain sentence; all audited. Also a person's own privacy-mode choice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from connector import queries, services
from connector.errors import Kind, MatterlineError
from connector.services.invites import LINK_REFUSED
from connector.staff.sessions import Lifetimes
from connector.staff.users import Actor, User
from connector.store.engine import utcnow
from connector.store.tables import signin_links, users
from tests.support.inbox import audit_rows

ADMIN = Actor("operator:root", request_id="req-admin")
OLD = "the old password, long"
NEW = "a brand new passphrase"
LIFETIMES = Lifetimes(idle=timedelta(minutes=30), absolute=timedelta(hours=12))


@pytest.fixture
def store(engine: Engine) -> Engine:
    services.users.add(engine, name="Avery Counsel", email="avery@firm.example", role="admin", actor=ADMIN)
    services.users.add(engine, name="Pat Paralegal", email="pat@firm.example", role="staff", actor=ADMIN)
    services.users.add(engine, name="Sam Staff", email="sam@firm.example", role="staff", actor=ADMIN, password=OLD)
    return engine


def person(engine: Engine, email: str) -> User:
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.email == email)).one()
    return User(row.id, row.name, row.email, row.role)


def refused(engine: Engine, token: str, password: str = NEW, **kwargs: object) -> MatterlineError:
    with pytest.raises(MatterlineError) as caught:
        services.invites.redeem(engine, token, password, **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_an_invite_keeps_only_a_hash_sets_the_password_and_signs_the_person_in(store: Engine) -> None:
    issued = services.invites.issue_link(store, "pat@firm.example", "invite", actor=ADMIN)
    assert issued.path == f"/welcome/{issued.token}"
    assert timedelta(days=7) - timedelta(minutes=1) < issued.expires_at - utcnow() <= timedelta(days=7)
    with store.connect() as conn:
        [row] = conn.execute(select(signin_links)).all()
    assert row.id != issued.token
    assert issued.token not in row.id
    [entry] = audit_rows(store, "link_issued")
    assert (entry.actor, entry.request_id, entry.subject_id) == (ADMIN.label, "req-admin", str(issued.user.id))
    assert entry.details["purpose"] == "invite"
    assert entry.details["links_revoked"] == 0
    assert issued.token not in str(entry.details)

    assert services.invites.pending(store, issued.token) == issued.user
    signed = services.invites.redeem(store, issued.token, NEW, address="10.0.0.9", request_id="req-pat")
    assert signed.user == issued.user
    assert services.signin.resume(store, signed.token, LIFETIMES) == issued.user
    assert services.signin.sign_in(store, email="pat@firm.example", password=NEW, address="a").user == issued.user
    for action in ("link_redeemed", "password_set", "login"):
        [entry] = [row for row in audit_rows(store, action) if row.request_id == "req-pat"]
        assert entry.actor == issued.user.actor, action
    [login] = [row for row in audit_rows(store, "login") if row.request_id == "req-pat"]
    assert login.details == {"method": "invite", "role": "staff", "address": "10.0.0.9"}
    assert NEW not in str([row.details for row in audit_rows(store, "password_set")])


def test_a_link_works_once_and_every_refusal_says_the_same(store: Engine) -> None:
    issued = services.invites.issue_link(store, "pat@firm.example", "invite", actor=ADMIN)
    services.invites.redeem(store, issued.token, NEW)
    for token in (issued.token, "not-a-token-at-all"):
        refusal = refused(store, token, "yet another passphrase", address="10.0.0.7")
        assert (refusal.kind, refusal.code, refusal.message) == (Kind.INVALID, "link_refused", LINK_REFUSED)
        assert services.invites.pending(store, token) is None
    assert [row.details["reason"] for row in audit_rows(store, "link_refused")] == ["used", "unknown"]
    assert audit_rows(store, "link_refused")[0].actor == "signin:10.0.0.7"
    assert services.signin.sign_in(store, email="pat@firm.example", password=NEW, address="a")


@pytest.mark.parametrize(("purpose", "lifetime"), [("invite", timedelta(days=7)), ("reset", timedelta(hours=1))])
def test_a_link_expires_after_its_lifetime(store: Engine, purpose: str, lifetime: timedelta) -> None:
    start = utcnow()
    issued = services.invites.issue_link(store, "sam@firm.example", purpose, actor=ADMIN, now=start)  # type: ignore[arg-type]
    assert issued.expires_at == start + lifetime
    almost = start + lifetime - timedelta(seconds=1)
    assert services.invites.pending(store, issued.token, now=almost) is not None
    refusal = refused(store, issued.token, now=start + lifetime)
    assert (refusal.code, refusal.message) == ("link_refused", LINK_REFUSED)
    assert [row.details["reason"] for row in audit_rows(store, "link_refused")] == ["expired"]
    assert services.signin.sign_in(store, email="sam@firm.example", password=OLD, address="a")


def test_a_new_link_revokes_the_older_one_of_the_same_purpose_only(store: Engine) -> None:
    first = services.invites.issue_link(store, "pat@firm.example", "invite", actor=ADMIN)
    reset = services.invites.issue_link(store, "pat@firm.example", "reset", actor=ADMIN)
    second = services.invites.issue_link(store, "pat@firm.example", "invite", actor=ADMIN)
    assert audit_rows(store, "link_issued")[-1].details["links_revoked"] == 1
    assert services.invites.pending(store, first.token) is None
    assert services.invites.pending(store, reset.token) is not None
    services.invites.redeem(store, second.token, NEW)
    # Once the password is set, the reset link that was still open stops working too.
    assert refused(store, reset.token).code == "link_refused"
    assert [row.details["reason"] for row in audit_rows(store, "link_refused")] == ["revoked"]


def test_a_reset_ends_the_persons_other_sessions(store: Engine) -> None:
    laptop = services.signin.sign_in(store, email="sam@firm.example", password=OLD, address="a")
    phone = services.signin.sign_in(store, email="sam@firm.example", password=OLD, address="b")
    issued = services.invites.issue_link(store, "sam@firm.example", "reset", actor=ADMIN)
    signed = services.invites.redeem(store, issued.token, NEW)
    assert services.signin.resume(store, laptop.token, LIFETIMES) is None
    assert services.signin.resume(store, phone.token, LIFETIMES) is None
    assert services.signin.resume(store, signed.token, LIFETIMES) == signed.user
    [entry] = [row for row in audit_rows(store, "password_set") if row.details.get("sessions_ended")]
    assert entry.details["sessions_ended"] == 2
    with pytest.raises(MatterlineError):
        services.signin.sign_in(store, email="sam@firm.example", password=OLD, address="a")


def test_a_disabled_person_cannot_redeem_nor_be_sent_a_link(store: Engine) -> None:
    issued = services.invites.issue_link(store, "pat@firm.example", "invite", actor=ADMIN)
    services.users.disable(store, "pat@firm.example", actor=ADMIN)
    assert services.invites.pending(store, issued.token) is None
    assert refused(store, issued.token).message == LINK_REFUSED
    assert [row.details["reason"] for row in audit_rows(store, "link_refused")] == ["disabled"]
    with pytest.raises(MatterlineError) as caught:
        services.invites.issue_link(store, "pat@firm.example", "reset", actor=ADMIN)
    assert (caught.value.kind, caught.value.code) == (Kind.CONFLICT, "user_disabled")


def test_a_short_password_is_refused_and_the_link_stays_usable(store: Engine) -> None:
    issued = services.invites.issue_link(store, "pat@firm.example", "invite", actor=ADMIN)
    refusal = refused(store, issued.token, "too short")
    assert (refusal.kind, refusal.code) == (Kind.INVALID, "password_too_short")
    assert [row for row in audit_rows(store, "password_set") if row.subject_id == str(issued.user.id)] == []
    assert services.invites.redeem(store, issued.token, NEW).user == issued.user


@pytest.mark.parametrize("role", ["staff", "attorney"])
def test_only_admins_and_operators_send_links(store: Engine, role: str) -> None:
    caller = services.users.add(store, name="Caller", email=f"{role}2@firm.example", role=role, actor=ADMIN).user
    with pytest.raises(MatterlineError) as caught:
        services.invites.issue_link(store, "pat@firm.example", "reset", actor=Actor.of(caller))
    assert (caught.value.kind, caught.value.code) == (Kind.FORBIDDEN, "forbidden_role")
    admin = person(store, "avery@firm.example")
    assert services.invites.issue_link(store, "pat@firm.example", "reset", actor=Actor.of(admin)).purpose == "reset"
    assert audit_rows(store, "link_issued")[-1].actor == admin.actor


def test_an_unknown_person_or_purpose_is_refused(store: Engine) -> None:
    with pytest.raises(MatterlineError) as caught:
        services.invites.issue_link(store, "nobody@firm.example", "invite", actor=ADMIN)
    assert caught.value.kind == Kind.NOT_FOUND
    with pytest.raises(MatterlineError) as caught:
        services.invites.issue_link(store, "pat@firm.example", "unlock", actor=ADMIN)  # type: ignore[arg-type]
    assert (caught.value.kind, caught.value.code) == (Kind.INVALID, "invalid_purpose")
    assert audit_rows(store, "link_issued") == []


# -- privacy mode ----------------------------------------------------------------------------------------


def test_a_person_chooses_privacy_mode_for_themselves_and_can_go_back_to_the_default(store: Engine) -> None:
    pat = person(store, "pat@firm.example")
    assert queries.users.privacy_choice(store, pat.id) is None
    assert services.users.set_privacy(store, pat.id, True, actor=Actor.of(pat, "req-p")) is True
    assert queries.users.privacy_choice(store, pat.id) is True
    services.users.set_privacy(store, pat.id, False, actor=Actor.of(pat))
    assert queries.users.privacy_choice(store, pat.id) is False
    services.users.set_privacy(store, pat.id, None, actor=ADMIN)
    assert queries.users.privacy_choice(store, pat.id) is None
    entries = audit_rows(store, "privacy_set")
    assert [row.details["privacy_mode"] for row in entries] == ["on", "off", "default"]
    assert (entries[0].actor, entries[0].request_id, entries[0].subject_id) == (pat.actor, "req-p", str(pat.id))


def test_nobody_sets_someone_elses_privacy_mode(store: Engine) -> None:
    pat, admin = person(store, "pat@firm.example"), person(store, "avery@firm.example")
    with pytest.raises(MatterlineError) as caught:
        services.users.set_privacy(store, pat.id, False, actor=Actor.of(admin))
    assert (caught.value.kind, caught.value.code) == (Kind.FORBIDDEN, "forbidden_role")
    assert queries.users.privacy_choice(store, pat.id) is None
    assert audit_rows(store, "privacy_set") == []
