"""An admin adds the people who use Matterline and disables those who leave: both audited, a disabled person's
token stops working at once, and the firm can never disable its last admin."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from connector import queries, services
from connector.errors import Kind, MatterlineError
from connector.staff import sessions
from connector.staff.users import Actor, authenticate
from connector.store.engine import utcnow
from tests.support.firm import JANE, seed
from tests.support.inbox import audit_rows, text_in

ADMIN = Actor("user:1:gc@firm.example", request_id="req-admin")


@pytest.fixture
def store(engine: Engine) -> Engine:
    seed(engine)
    return engine


def add(engine: Engine, email: str, role: str = "staff", name: str = "Pat Paralegal") -> Any:
    return services.users.add(engine, name=name, email=email, role=role, actor=ADMIN)


# -- adding a person -------------------------------------------------------------------------------------


def test_a_new_person_gets_a_working_token_and_the_addition_is_audited(store: Engine) -> None:
    added = add(store, "  Pat@Firm.Example ", role="staff", name="  Pat Paralegal ")
    assert (added.user.name, added.user.email, added.user.role) == ("Pat Paralegal", "pat@firm.example", "staff")
    assert authenticate(store, added.token) == added.user
    [entry] = audit_rows(store, "user_added")
    assert (entry.actor, entry.request_id) == (ADMIN.label, "req-admin")
    assert (entry.subject_type, entry.subject_id) == ("user", str(added.user.id))
    assert entry.details == {"email": "pat@firm.example", "role": "staff"}
    assert added.token not in str(entry.details)  # shown once, to the admin, never kept
    assert [(u.email, u.disabled_at) for u in queries.users.listing(store)] == [("pat@firm.example", None)]


def test_the_same_email_cannot_be_added_twice(store: Engine) -> None:
    add(store, "pat@firm.example")
    with pytest.raises(MatterlineError) as caught:
        add(store, "PAT@firm.example", role="attorney", name="Pat Again")
    assert (caught.value.kind, caught.value.code) == (Kind.CONFLICT, "user_exists")
    assert [u.name for u in queries.users.listing(store)] == ["Pat Paralegal"]
    assert len(audit_rows(store, "user_added")) == 1


@pytest.mark.parametrize(
    ("name", "email", "role", "code"),
    [
        ("Pat", "pat@firm.example", "partner", "invalid_role"),
        ("   ", "pat@firm.example", "staff", "invalid_name"),
        ("Pat", "pat.firm.example", "staff", "invalid_email"),
        ("Pat", "pat@", "staff", "invalid_email"),
    ],
)
def test_a_person_who_cannot_be_added_is_refused(store: Engine, name: str, email: str, role: str, code: str) -> None:
    with pytest.raises(MatterlineError) as caught:
        services.users.add(store, name=name, email=email, role=role, actor=ADMIN)
    assert (caught.value.kind, caught.value.code) == (Kind.INVALID, code)
    assert queries.users.listing(store) == []
    assert audit_rows(store, "user_added") == []


# -- disabling a person ----------------------------------------------------------------------------------


def test_a_disabled_persons_token_stops_working_and_the_change_is_audited(store: Engine) -> None:
    add(store, "gc@firm.example", role="admin", name="Grace Counsel")
    pat = add(store, "pat@firm.example")
    assert authenticate(store, pat.token) is not None

    disabled = services.users.disable(store, "pat@firm.example", actor=ADMIN)

    assert disabled == pat.user
    assert authenticate(store, pat.token) is None
    [entry] = audit_rows(store, "user_disabled")
    assert (entry.actor, entry.request_id, entry.subject_id) == (ADMIN.label, "req-admin", str(pat.user.id))
    assert entry.details == {"email": "pat@firm.example", "role": "staff", "tokens_revoked": 1, "sessions_ended": 0}
    listed = {u.email: u for u in queries.users.listing(store)}
    assert listed["pat@firm.example"].disabled_at is not None
    assert [u.email for u in queries.users.listing(store, include_disabled=False)] == ["gc@firm.example"]


def test_a_person_can_be_disabled_by_id(store: Engine) -> None:
    pat = add(store, "pat@firm.example")
    services.users.disable(store, pat.user.id, actor=ADMIN)
    assert authenticate(store, pat.token) is None


def test_a_disabled_persons_threads_stay_assigned_to_them(store: Engine) -> None:
    pat = add(store, "pat@firm.example")
    thread_id = text_in(store, JANE).thread_id
    services.threads.assign(store, thread_id, pat.user.id, actor=ADMIN)
    services.users.disable(store, pat.user.id, actor=ADMIN)
    view = queries.threads.get(store, thread_id, None)
    assert view is not None
    assert (view.assignee_id, view.assignee) == (pat.user.id, "pat@firm.example")


def test_a_person_already_disabled_is_not_disabled_again(store: Engine) -> None:
    add(store, "pat@firm.example")
    services.users.disable(store, "pat@firm.example", actor=ADMIN)
    with pytest.raises(MatterlineError) as caught:
        services.users.disable(store, "pat@firm.example", actor=ADMIN)
    assert (caught.value.kind, caught.value.code) == (Kind.CONFLICT, "already_disabled")
    assert len(audit_rows(store, "user_disabled")) == 1


def test_the_last_active_admin_cannot_be_disabled(store: Engine) -> None:
    grace = add(store, "gc@firm.example", role="admin", name="Grace Counsel")
    paul = add(store, "partner@firm.example", role="admin", name="Paul Partner")
    services.users.disable(store, paul.user.id, actor=ADMIN)  # another admin remains: allowed
    with pytest.raises(MatterlineError) as caught:
        services.users.disable(store, grace.user.id, actor=ADMIN)
    assert (caught.value.kind, caught.value.code) == (Kind.CONFLICT, "last_admin")
    assert authenticate(store, grace.token) == grace.user
    assert [e.details["email"] for e in audit_rows(store, "user_disabled")] == ["partner@firm.example"]


def test_disabling_someone_unknown_is_not_found(store: Engine) -> None:
    with pytest.raises(MatterlineError) as caught:
        services.users.disable(store, "nobody@firm.example", actor=ADMIN)
    assert caught.value.kind is Kind.NOT_FOUND
    assert audit_rows(store, "user_disabled") == []


def test_a_person_with_a_very_long_email_can_still_act_and_be_audited(store: Engine) -> None:
    long_email = "p" * 290 + "@firm.example"  # within the 320 characters an email may have
    person = add(store, long_email, role="attorney").user
    thread_id = text_in(store, JANE, "Hello").thread_id
    services.threads.set_urgent(store, thread_id, True, actor=Actor.of(person))
    [entry] = audit_rows(store, "urgent")
    assert entry.actor.startswith(f"user:{person.id}:ppp")
    assert len(entry.actor) == 128


# -- roles and sessions ------------------------------------------------------------------------------------


def _open_session(engine: Engine, user_id: int) -> str:
    with engine.begin() as conn:
        return sessions.open_session(conn, user_id, utcnow())


LIFETIMES = sessions.Lifetimes(timedelta(hours=1), timedelta(hours=12))


def test_a_role_change_is_stored_audited_and_in_force_at_once(store: Engine) -> None:
    add(store, "gc@firm.example", role="admin", name="Grace Counsel")
    pat = add(store, "pat@firm.example").user
    token = _open_session(store, pat.id)
    changed = services.users.set_role(store, "pat@firm.example", "attorney", actor=ADMIN)
    assert (changed.id, changed.role) == (pat.id, "attorney")
    assert [u.role for u in queries.users.listing(store) if u.id == pat.id] == ["attorney"]
    resumed = sessions.resume(store, token, LIFETIMES)
    assert resumed is not None
    assert resumed.role == "attorney"  # the same session, the new role
    [entry] = audit_rows(store, "role_changed")
    assert (entry.actor, entry.request_id, entry.subject_id) == (ADMIN.label, "req-admin", str(pat.id))
    assert entry.details == {"email": "pat@firm.example", "from": "staff", "to": "attorney"}


def test_the_last_active_admin_cannot_be_demoted_but_one_of_two_can(store: Engine) -> None:
    grace = add(store, "gc@firm.example", role="admin", name="Grace Counsel").user
    with pytest.raises(MatterlineError) as caught:
        services.users.set_role(store, grace.id, "staff", actor=ADMIN)
    assert (caught.value.kind, caught.value.code) == (Kind.CONFLICT, "last_admin")
    assert "last active admin" in caught.value.message
    other = add(store, "ada@firm.example", role="admin", name="Ada Admin").user
    services.users.set_role(store, grace.id, "staff", actor=ADMIN)
    with pytest.raises(MatterlineError) as again:
        services.users.set_role(store, other.id, "attorney", actor=ADMIN)
    assert again.value.code == "last_admin"
    assert [(u.email, u.role) for u in queries.users.listing(store)] == [
        ("gc@firm.example", "staff"),
        ("ada@firm.example", "admin"),
    ]
    assert len(audit_rows(store, "role_changed")) == 1


@pytest.mark.parametrize(
    ("role", "code", "kind"), [("partner", "invalid_role", Kind.INVALID), ("staff", "role_unchanged", Kind.CONFLICT)]
)
def test_an_unknown_or_unchanged_role_is_refused_and_nothing_is_audited(
    store: Engine, role: str, code: str, kind: Kind
) -> None:
    pat = add(store, "pat@firm.example").user
    with pytest.raises(MatterlineError) as caught:
        services.users.set_role(store, pat.id, role, actor=ADMIN)
    assert (caught.value.kind, caught.value.code) == (kind, code)
    assert audit_rows(store, "role_changed") == []


def test_only_an_admin_changes_roles_or_ends_sessions(store: Engine) -> None:
    pat = add(store, "pat@firm.example").user
    as_pat = Actor.of(pat)
    for call in (
        lambda: services.users.set_role(store, pat.id, "admin", actor=as_pat),
        lambda: services.users.end_sessions(store, pat.id, actor=as_pat),
    ):
        with pytest.raises(MatterlineError) as caught:
            call()
        assert (caught.value.kind, caught.value.code) == (Kind.FORBIDDEN, "forbidden_role")
    assert [u.role for u in queries.users.listing(store)] == ["staff"]


def test_ending_a_persons_sessions_signs_them_out_everywhere_and_keeps_their_tokens(store: Engine) -> None:
    added = add(store, "pat@firm.example")
    first, second = _open_session(store, added.user.id), _open_session(store, added.user.id)
    assert services.users.end_sessions(store, "pat@firm.example", actor=ADMIN) == 2
    assert sessions.resume(store, first, LIFETIMES) is None
    assert sessions.resume(store, second, LIFETIMES) is None
    assert authenticate(store, added.token) == added.user
    [entry] = audit_rows(store, "sessions_ended")
    assert (entry.actor, entry.subject_id) == (ADMIN.label, str(added.user.id))
    assert entry.details == {"email": "pat@firm.example", "sessions_ended": 2}
    with pytest.raises(MatterlineError) as caught:
        services.users.end_sessions(store, "nobody@firm.example", actor=ADMIN)
    assert caught.value.kind == Kind.NOT_FOUND
