"""A person marks themself away with a backup and comes back early; an admin may do either for anyone, no
one else may; each refusal says what is wrong and leaves nothing behind; both are audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from connector import queries, services
from connector.errors import Kind, MatterlineError
from connector.staff.users import Actor, User
from tests.support.firm import NOW
from tests.support.inbox import audit_rows
from tests.support.people import add_user

DAY = timedelta(days=1)


@pytest.fixture
def people(engine: Engine) -> dict[str, User]:
    found = {}
    for name, role in (("alice", "attorney"), ("bob", "attorney"), ("sam", "staff"), ("gc", "admin")):
        found[name], _ = add_user(engine, name=f"{name.title()} Person", email=f"{name}@firm.example", role=role)
    return found


def test_a_person_sets_their_own_time_away_and_ends_it_early_audited(engine: Engine, people: dict[str, User]) -> None:
    alice, bob = people["alice"], people["bob"]
    as_alice = Actor.of(alice, "req-1")
    period = services.coverage.set_away(
        engine,
        user_id=alice.id,
        backup_id=bob.id,
        starts_at=NOW - DAY,  # a start already past counts from now
        ends_at=NOW + 3 * DAY,
        reason=" court week ",
        actor=as_alice,
        now=NOW,
    )
    assert (period.user_id, period.backup_email, period.starts_at, period.ends_at) == (
        alice.id,
        "bob@firm.example",
        NOW,
        NOW + 3 * DAY,
    )
    assert (period.reason, period.set_by, period.ended_at) == ("court week", alice.actor, None)
    assert queries.coverage.covers(engine, [alice.id], NOW + DAY)[alice.id].backup_name == "Bob Person"
    [entry] = audit_rows(engine, "away_set")
    assert (entry.actor, entry.request_id, entry.subject_type, entry.subject_id) == (
        alice.actor,
        "req-1",
        "user",
        str(alice.id),
    )
    assert entry.details == {
        "coverage_id": period.id,
        "backup_id": bob.id,
        "backup_email": "bob@firm.example",
        "starts_at": NOW.isoformat(),
        "ends_at": (NOW + 3 * DAY).isoformat(),
        "reason": "court week",
    }

    ended = services.coverage.end_away(engine, period.id, actor=as_alice, now=NOW + DAY)
    assert ended.ended_at == NOW + DAY
    assert queries.coverage.covers(engine, [alice.id], NOW + 2 * DAY) == {}
    assert queries.coverage.get(engine, period.id) == ended  # kept on record
    [done] = audit_rows(engine, "away_ended")
    assert done.details["coverage_id"] == period.id
    assert done.details["called_off"] is False
    with pytest.raises(MatterlineError) as caught:
        services.coverage.end_away(engine, period.id, actor=as_alice, now=NOW + DAY)
    assert (caught.value.kind, caught.value.code) == (Kind.CONFLICT, "not_away")


def test_an_admin_sets_anyones_time_away_and_no_one_else_may(engine: Engine, people: dict[str, User]) -> None:
    alice, bob, sam, gc = people["alice"], people["bob"], people["sam"], people["gc"]
    with pytest.raises(MatterlineError) as caught:
        services.coverage.set_away(
            engine,
            user_id=alice.id,
            backup_id=bob.id,
            starts_at=None,
            ends_at=NOW + DAY,
            reason=None,
            actor=Actor.of(sam),
            now=NOW,
        )
    assert (caught.value.kind, caught.value.code) == (Kind.FORBIDDEN, "forbidden_role")
    period = services.coverage.set_away(
        engine,
        user_id=alice.id,
        backup_id=sam.id,
        starts_at=NOW + DAY,
        ends_at=NOW + 2 * DAY,
        reason=None,
        actor=Actor.of(gc),
        now=NOW,
    )
    with pytest.raises(MatterlineError) as caught:
        services.coverage.end_away(engine, period.id, actor=Actor.of(bob), now=NOW)
    assert caught.value.kind is Kind.FORBIDDEN
    # Not started yet: ending it calls it off.
    services.coverage.end_away(engine, period.id, actor=Actor("cli:ops"), now=NOW)
    assert [e.details["called_off"] for e in audit_rows(engine, "away_ended")] == [True]
    assert [e.actor for e in audit_rows(engine, "away_set")] == [gc.actor]


# (backup, start and end in days from NOW, the refusal): Alice already has time away from day 2 to day 3.
REFUSALS = (
    ("alice", None, 1, Kind.INVALID, "backup_is_self"),
    (None, None, 1, Kind.INVALID, "unknown_backup"),
    ("disabled", None, 1, Kind.INVALID, "unknown_backup"),
    ("bob", None, -1, Kind.INVALID, "period_over"),
    ("bob", 3, 2, Kind.INVALID, "invalid_period"),
    ("bob", None, 367, Kind.INVALID, "period_too_long"),
    ("bob", 1, 4, Kind.CONFLICT, "already_away"),
)


def test_a_period_that_cannot_work_is_refused_and_nothing_is_kept(engine: Engine, people: dict[str, User]) -> None:
    alice, bob, sam = people["alice"], people["bob"], people["sam"]
    services.coverage.set_away(
        engine,
        user_id=alice.id,
        backup_id=bob.id,
        starts_at=NOW + 2 * DAY,
        ends_at=NOW + 3 * DAY,
        reason=None,
        actor=Actor.of(alice),
        now=NOW,
    )
    services.users.disable(engine, sam.id, actor=Actor("cli:ops"))
    ids = {"alice": alice.id, "bob": bob.id, "disabled": sam.id, None: 999_999}
    for backup, start, end, kind, code in REFUSALS:
        with pytest.raises(MatterlineError) as caught:
            services.coverage.set_away(
                engine,
                user_id=alice.id,
                backup_id=ids[backup],
                starts_at=None if start is None else NOW + start * DAY,
                ends_at=NOW + end * DAY,
                reason=None,
                actor=Actor.of(alice),
                now=NOW,
            )
        assert (caught.value.kind, caught.value.code) == (kind, code)
        assert caught.value.message  # a sentence a person reads
    assert len(queries.coverage.upcoming(engine, [alice.id], NOW)[alice.id]) == 1
    assert len(audit_rows(engine, "away_set")) == 1
