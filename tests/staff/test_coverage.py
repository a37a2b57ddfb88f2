"""Who acts for a person: themself when not away, their backup while a period is in force, the backup's
backup when that one is away too (never round in a circle, never to someone disabled), and the CMS user
a task for an away attorney goes to."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, insert, update

from connector.staff import coverage
from connector.staff.users import User
from connector.store.tables import users
from connector.store.workflow_tables import coverage as coverage_rows
from tests.support.firm import NOW
from tests.support.people import add_user

DAY = timedelta(days=1)


@pytest.fixture
def firm(engine: Engine) -> dict[str, User]:
    """Four people: Alice, Bob, Cam and Dee (by first name, lower case)."""
    people = {}
    for name in ("Alice", "Bob", "Cam", "Dee"):
        people[name.lower()], _ = add_user(
            engine, name=f"{name} Person", email=f"{name.lower()}@firm.example", role="attorney"
        )
    return people


def away(engine: Engine, who: User, backup: User, *, start: int = -1, end: int = 2, ended: bool = False) -> int:
    """`who` away from `start` to `end` days from NOW, `backup` covering; ended early (yesterday) if asked."""
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(coverage_rows)
                .values(
                    user_id=who.id,
                    backup_id=backup.id,
                    starts_at=NOW + start * DAY,
                    ends_at=NOW + end * DAY,
                    reason="court week",
                    set_by="cli:test",
                    created_at=NOW - 2 * DAY,
                    ended_at=NOW - DAY / 2 if ended else None,
                )
                .returning(coverage_rows.c.id)
            ).scalar_one()
        )


def test_nobody_away_acts_for_themself_and_an_away_person_has_their_backup(
    engine: Engine, firm: dict[str, User]
) -> None:
    alice, bob = firm["alice"], firm["bob"]
    with engine.connect() as conn:
        assert coverage.covering(conn, alice.id, NOW) == (alice.id, None)
    period = away(engine, alice, bob)
    with engine.connect() as conn:
        assert coverage.covering(conn, alice.id, NOW) == (bob.id, alice.id)
        assert coverage.covering(conn, bob.id, NOW) == (bob.id, None)
        # Before it starts and once it is over, Alice acts for herself.
        assert coverage.covering(conn, alice.id, NOW - 2 * DAY) == (alice.id, None)
        assert coverage.covering(conn, alice.id, NOW + 2 * DAY) == (alice.id, None)
        assert coverage.away(conn, [alice.id, bob.id], NOW) == {
            alice.id: coverage.Away(period, alice.id, bob.id, NOW + 2 * DAY, "court week")
        }
        assert coverage.covers(conn, [alice.id, bob.id], NOW) == {
            alice.id: coverage.Cover(alice.id, "Alice Person", NOW + 2 * DAY, bob.id, "Bob Person")
        }


def test_a_period_ended_early_no_longer_counts_but_stays_on_record(engine: Engine, firm: dict[str, User]) -> None:
    alice, bob = firm["alice"], firm["bob"]
    period = away(engine, alice, bob, ended=True)
    with engine.connect() as conn:
        assert coverage.covering(conn, alice.id, NOW) == (alice.id, None)
        assert coverage.upcoming(conn, [alice.id], NOW) == {alice.id: []}
        kept = coverage.period(conn, period)
    assert kept is not None
    assert (kept.backup_name, kept.ended_at) == ("Bob Person", NOW - DAY / 2)


def test_a_backup_away_too_hands_on_down_the_chain_at_most_three_steps(engine: Engine, firm: dict[str, User]) -> None:
    alice, bob, cam, dee = firm["alice"], firm["bob"], firm["cam"], firm["dee"]
    away(engine, alice, bob)
    away(engine, bob, cam)
    with engine.connect() as conn:
        assert coverage.covering(conn, alice.id, NOW) == (cam.id, alice.id)
        assert coverage.covers(conn, [alice.id], NOW)[alice.id].backup_name == "Cam Person"
    away(engine, cam, dee)
    extra, _ = add_user(engine, name="Eve Person", email="eve@firm.example", role="staff")
    away(engine, dee, extra)
    with engine.connect() as conn:
        assert coverage.covering(conn, alice.id, NOW) == (dee.id, alice.id)  # three steps, and no further
    # Eve names Cam in turn: a circle. Nobody is handed back to someone already in the chain.
    away(engine, extra, cam)
    with engine.connect() as conn:
        assert coverage.covering(conn, cam.id, NOW) == (extra.id, cam.id)
        assert coverage.covering(conn, dee.id, NOW) == (cam.id, dee.id)


def test_a_disabled_backup_is_skipped(engine: Engine, firm: dict[str, User]) -> None:
    alice, bob, cam = firm["alice"], firm["bob"], firm["cam"]
    away(engine, alice, bob)
    away(engine, bob, cam)
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == cam.id).values(disabled_at=NOW))
    with engine.connect() as conn:
        assert coverage.covering(conn, alice.id, NOW) == (bob.id, alice.id)  # Bob is the last who can act
        assert coverage.covering(conn, bob.id, NOW) == (bob.id, None)  # his work stays his, not nobody's
        assert coverage.covers(conn, [bob.id], NOW)[bob.id].backup_id is None


def test_a_task_for_an_away_attorney_goes_to_their_backups_cms_user(engine: Engine, firm: dict[str, User]) -> None:
    alice, bob, cam = firm["alice"], firm["bob"], firm["cam"]
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == alice.id).values(cms_user_id="3001"))
        conn.execute(update(users).where(users.c.id == bob.id).values(cms_user_id="3002"))
    with engine.connect() as conn:
        assert coverage.cms_assignee(conn, "3001", NOW) == "3001"  # not away
        assert coverage.cms_assignee(conn, "9999", NOW) == "9999"  # nobody in Matterline is that CMS user
    away(engine, alice, bob)
    away(engine, bob, cam, start=1)  # Bob's own time away has not started
    with engine.connect() as conn:
        assert coverage.cms_assignee(conn, "3001", NOW) == "3002"
        # When Bob is away too, Cam acts, but has no CMS user linked: the task stays the attorney's.
        assert coverage.cms_assignee(conn, "3001", NOW + DAY + timedelta(hours=1)) == "3001"
