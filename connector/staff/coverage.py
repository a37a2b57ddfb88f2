"""Who is away and who acts for them: the reads every effect of coverage shares.

A person away for a period names a backup; while the period is in force, urgent-text tasks, threads
assigned to them and reply alerts go to whoever covers. These are pure reads in the caller's transaction,
so the writer, the assignment service and the alert job all decide the same way; setting and ending a
period is `connector.services.coverage`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, select

from connector.store.tables import users
from connector.store.workflow_tables import coverage

__all__ = [
    "MAX_HOPS",
    "Away",
    "Cover",
    "Period",
    "away",
    "cms_assignee",
    "covering",
    "covers",
    "in_force",
    "period",
    "upcoming",
]

# How far "my backup is away too" is followed: far enough for a holiday week, short enough that a
# mis-set chain never wanders through the whole firm.
MAX_HOPS = 3


@dataclass(frozen=True, slots=True)
class Away:
    """One period in force: `user_id` is away until `until`, and `backup_id` covers."""

    coverage_id: int
    user_id: int
    backup_id: int
    until: datetime
    reason: str | None


@dataclass(frozen=True, slots=True)
class Cover:
    """Someone away and who acts for them now, named as a page or an answer says it.

    `backup_id` is whoever the chain of backups ends at (`covering`), which is not always the backup the
    person named; None when nobody can act for them (their backup was disabled since).
    """

    user_id: int
    name: str
    until: datetime
    backup_id: int | None
    backup_name: str | None


@dataclass(frozen=True, slots=True)
class Period:
    """One away period as it is on record: its people, when, why, who set it, and whether it ended early."""

    id: int
    user_id: int
    name: str
    email: str
    backup_id: int
    backup_name: str
    backup_email: str
    starts_at: datetime
    ends_at: datetime
    reason: str | None
    set_by: str
    created_at: datetime
    ended_at: datetime | None


def in_force(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """The conditions for a period that is in force at `now`: started, not over, not ended early."""
    return (coverage.c.starts_at <= now, coverage.c.ends_at > now, coverage.c.ended_at.is_(None))


def away(conn: Connection, user_ids: Iterable[int], now: datetime) -> dict[int, Away]:
    """The periods in force at `now` for `user_ids`, by person: one query for a whole page of people.

    Periods do not overlap (the service refuses it); should two ever do, the one that ends last wins,
    since that is the one the person will still be away for.
    """
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    rows = conn.execute(
        select(coverage.c.id, coverage.c.user_id, coverage.c.backup_id, coverage.c.ends_at, coverage.c.reason)
        .where(coverage.c.user_id.in_(ids), *in_force(now))
        .order_by(coverage.c.ends_at, coverage.c.id)
    ).all()
    return {row.user_id: Away(row.id, row.user_id, row.backup_id, row.ends_at, row.reason) for row in rows}


def _enabled(conn: Connection, user_id: int) -> bool:
    row = conn.execute(select(users.c.disabled_at).where(users.c.id == user_id)).first()
    return row is not None and row.disabled_at is None


def covering(conn: Connection, user_id: int, now: datetime) -> tuple[int, int | None]:
    """Who acts for `user_id` at `now`: `(user_id, None)` when they are not away, `(backup, user_id)` when they are.

    A backup who is away too hands on to their own backup, up to `MAX_HOPS` steps, and never back to
    anyone already in the chain (two people covering for each other stop at the second). A backup who
    has been disabled cannot act: the chain stops before them, so a person whose own backup is disabled
    keeps their work rather than it going to nobody.
    """
    current = user_id
    seen = {user_id}
    for _ in range(MAX_HOPS):
        period = away(conn, [current], now).get(current)
        if period is None or period.backup_id in seen or not _enabled(conn, period.backup_id):
            break
        current = period.backup_id
        seen.add(current)
    return (user_id, None) if current == user_id else (current, user_id)


def cms_assignee(conn: Connection, cms_user_id: str, now: datetime) -> str:
    """The CMS user a task meant for CMS user `cms_user_id` should go to at `now`.

    The Matterline person linked to that CMS user (`users.cms_user_id`) being away sends it to whoever
    covers, when that person has linked their CMS account too; otherwise (nobody linked, not away, the
    backup not linked) it goes to `cms_user_id` as before, since a task the CMS cannot assign is worse.
    """
    person = conn.execute(select(users.c.id).where(users.c.cms_user_id == cms_user_id)).scalar()
    if person is None:
        return cms_user_id
    acting, covering_for = covering(conn, int(person), now)
    if covering_for is None:
        return cms_user_id
    linked = conn.execute(select(users.c.cms_user_id).where(users.c.id == acting)).scalar()
    return cms_user_id if linked is None else str(linked)


def covers(conn: Connection, user_ids: Iterable[int], now: datetime) -> dict[int, Cover]:
    """Who is away among `user_ids` at `now` and who acts for each, by person: what a page names."""
    periods = away(conn, user_ids, now)
    if not periods:
        return {}
    acting = {user_id: covering(conn, user_id, now)[0] for user_id in periods}
    wanted = set(periods) | set(acting.values())
    names = {row.id: row.name for row in conn.execute(select(users.c.id, users.c.name).where(users.c.id.in_(wanted)))}
    found = {}
    for user_id, period in periods.items():
        backup = acting[user_id] if acting[user_id] != user_id else None
        found[user_id] = Cover(user_id, names[user_id], period.until, backup, None if backup is None else names[backup])
    return found


def _periods(conn: Connection, *conditions: ColumnElement[bool]) -> list[Period]:
    person, backup = users.alias("person"), users.alias("backup")
    rows = conn.execute(
        select(
            coverage,
            person.c.name,
            person.c.email,
            backup.c.name.label("backup_name"),
            backup.c.email.label("backup_email"),
        )
        .join(person, person.c.id == coverage.c.user_id)
        .join(backup, backup.c.id == coverage.c.backup_id)
        .where(*conditions)
        .order_by(coverage.c.starts_at, coverage.c.id)
    ).all()
    return [
        Period(
            row.id,
            row.user_id,
            row.name,
            row.email,
            row.backup_id,
            row.backup_name,
            row.backup_email,
            row.starts_at,
            row.ends_at,
            row.reason,
            row.set_by,
            row.created_at,
            row.ended_at,
        )
        for row in rows
    ]


def period(conn: Connection, coverage_id: int) -> Period | None:
    """One period on record, ended or not."""
    found = _periods(conn, coverage.c.id == coverage_id)
    return found[0] if found else None


def upcoming(conn: Connection, user_ids: Iterable[int], now: datetime) -> dict[int, list[Period]]:
    """Each person's periods not over at `now` (in force, or still to come), soonest first."""
    ids = sorted(set(user_ids))
    found: dict[int, list[Period]] = {user_id: [] for user_id in ids}
    if ids:
        for item in _periods(
            conn, coverage.c.user_id.in_(ids), coverage.c.ends_at > now, coverage.c.ended_at.is_(None)
        ):
            found[item.user_id].append(item)
    return found
