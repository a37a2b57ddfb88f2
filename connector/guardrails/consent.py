"""The consent ledger: who agreed to be texted, how, when, captured by whom, and for what.

Append-only, like the opt-out ledger: a number's consent is its newest row, and every earlier row stays
as the firm's record. A first text to a number is allowed on recorded consent, or when the client
texted that firm number first within `MATTERLINE_CONSENT_INBOUND_DAYS` (a reply to their own text). A
revocation stops texts until consent is recorded again or the client texts the firm afresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, func, insert, select

from connector import jsonable
from connector.compliance import audit
from connector.errors import invalid
from connector.phones import to_e164
from connector.store.engine import utcnow
from connector.store.tables import WAITING_FOR_INTAKE, consents, messages, threads

METHODS: Final = ("engagement_letter", "verbal", "web_form", "inbound_text", "cms_field")
GRANT, REVOKE = "grant", "revoke"
ACTIONS: Final = (GRANT, REVOKE)
# What a CMS consent field records, and what it is written down as.
CMS_FIELD_ACTOR: Final = "sync"


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a text may go to a number, and on what basis (`consent`, `inbound_text`) or why not."""

    allowed: bool
    basis: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class ConsentRow:
    """One ledger row: a grant or a withdrawal, how and when the client gave it, and who wrote it down."""

    id: int
    phone: str
    action: str = field(metadata={"enum": ACTIONS})
    method: str = field(metadata={"enum": METHODS})
    scope: str
    source: str | None
    captured_by: str
    client_cms_id: str | None
    matter_cms_id: str | None
    captured_at: datetime
    created_at: datetime


def phone_of(raw: str, region: str, *, code: str = "invalid_consent") -> str:
    """`raw` as E.164.

    Raises:
        MatterlineError: invalid `code` when it is not a number that can be texted.
    """
    phone = to_e164(raw, region)
    if phone is None:
        raise invalid(code, f"{raw!r} is not a phone number that can be texted", {"field": "phone"})
    return phone


def row_of(row: Any) -> ConsentRow:
    """A `consents` row as a view."""
    return ConsentRow(
        id=row.id,
        phone=row.phone,
        action=row.action,
        method=row.method,
        scope=row.scope,
        source=row.source,
        captured_by=row.captured_by,
        client_cms_id=row.client_cms_id,
        matter_cms_id=row.matter_cms_id,
        captured_at=row.captured_at,
        created_at=row.created_at,
    )


def record(
    conn: Connection,
    raw_phone: str,
    *,
    action: str,
    method: str,
    captured_by: str,
    region: str,
    scope: str = "all matters",
    source: str | None = None,
    captured_at: datetime | None = None,
    client_cms_id: str | None = None,
    matter_cms_id: str | None = None,
    request_id: str | None = None,
    now: datetime | None = None,
) -> ConsentRow:
    """Append a grant or a revocation in the caller's transaction, audited with it.

    Raises:
        MatterlineError: invalid `invalid_consent` when the number cannot be read, or the method or
            scope is missing or unknown.
    """
    if action not in ACTIONS:
        raise invalid("invalid_consent", f"action must be {GRANT!r} or {REVOKE!r}", {"field": "action"})
    if method not in METHODS:
        raise invalid(
            "invalid_consent", f"unknown method {method!r}; one of: {', '.join(METHODS)}", {"field": "method"}
        )
    if not scope.strip():
        raise invalid(
            "invalid_consent",
            "a consent needs a scope (e.g. 'all matters' or 'matter 1234: scheduling')",
            {"field": "scope"},
        )
    phone = phone_of(raw_phone, region)
    moment = now or utcnow()
    row: dict[str, Any] = {
        "phone": phone,
        "action": action,
        "method": method,
        "scope": scope.strip()[:256],
        "source": source,
        "captured_by": captured_by[:128],
        "client_cms_id": client_cms_id,
        "matter_cms_id": matter_cms_id,
        "captured_at": captured_at or moment,
        "created_at": moment,
    }
    row_id = conn.execute(insert(consents).values(**row).returning(consents.c.id)).scalar_one()
    audit.append(
        conn,
        actor=captured_by,
        action=audit.Action.CONSENT if action == GRANT else audit.Action.CONSENT_REVOKED,
        subject_type="phone",
        subject_id=phone,
        matter_cms_id=matter_cms_id,
        request_id=request_id,
        details={"method": method, "scope": row["scope"], "source": source, "consent_id": row_id},
        at=moment,
    )
    return ConsentRow(id=int(row_id), **row)


def latest(conn: Connection, phone: str) -> Any:
    """The newest ledger row for a number, or None."""
    return conn.execute(
        select(consents).where(consents.c.phone == phone).order_by(consents.c.id.desc()).limit(1)
    ).first()


def check(conn: Connection, phone: str, firm_number: str, *, inbound_days: int, now: datetime) -> Verdict:
    """May the firm text `phone` from `firm_number` now?"""
    newest = latest(conn, phone)
    last_inbound = conn.execute(
        select(threads.c.last_inbound_at).where(threads.c.firm_number == firm_number, threads.c.client_phone == phone)
    ).scalar()
    # A text the webhook stored that intake has not threaded yet counts too.
    waiting = conn.execute(
        select(func.max(messages.c.created_at)).where(
            WAITING_FOR_INTAKE, messages.c.direction == "inbound", messages.c.from_number == phone
        )
    ).scalar()
    if waiting is not None and (last_inbound is None or waiting > last_inbound):
        last_inbound = waiting
    return decide(phone, newest, last_inbound, inbound_days=inbound_days, now=now)


def decide(phone: str, newest: Any, last_inbound: datetime | None, *, inbound_days: int, now: datetime) -> Verdict:
    """The rule of `check`, given the number's newest ledger row (or None) and when the client last texted.

    Separate so a list of threads (the inbox) can decide for each of its rows from two batched reads.
    """
    if newest is not None and newest.action == GRANT:
        return Verdict(True, "consent", f"{newest.method} consent recorded {newest.captured_at:%Y-%m-%d}")
    recent = last_inbound is not None and now - last_inbound <= timedelta(days=inbound_days)
    after_revocation = newest is None or (last_inbound is not None and last_inbound > newest.created_at)
    if recent and after_revocation:
        return Verdict(True, "inbound_text", f"the client texted this number on {last_inbound:%Y-%m-%d}")
    if newest is not None:
        return Verdict(
            False, None, f"{phone} withdrew consent to texts ({newest.method}, {newest.captured_at:%Y-%m-%d})"
        )
    return Verdict(
        False,
        None,
        f"no consent to texts is recorded for {phone} and they have not texted this number in the last "
        f"{inbound_days} days; record it first (matterline consent record)",
    )


def latest_of(conn: Connection, phones: Iterable[str]) -> dict[str, Any]:
    """The newest ledger row of each of `phones` that has one, in one read (`ix_consents_phone_id`)."""
    wanted = sorted(set(phones))
    if not wanted:
        return {}
    newest = select(func.max(consents.c.id)).where(consents.c.phone.in_(wanted)).group_by(consents.c.phone)
    rows = conn.execute(select(consents).where(consents.c.id.in_(newest)))
    return {row.phone: row for row in rows}


def for_phones(conn: Connection, phones: Iterable[str]) -> list[dict[str, Any]]:
    """Ledger rows of several numbers, oldest first (a matter's export)."""
    wanted = sorted(set(phones))
    if not wanted:
        return []
    rows = conn.execute(select(consents).where(consents.c.phone.in_(wanted)).order_by(consents.c.id))
    return [jsonable.plain(row_of(row)) for row in rows]


def reconcile_cms_field(conn: Connection, values: Sequence[tuple[str, str, bool]], *, field: str, now: datetime) -> int:
    """Bring the ledger in line with the CMS consent field: (phone, client id, value) per number.

    Only a change is recorded: a number whose newest CMS-field row already says the same is left alone,
    and a consent recorded by staff is never revoked because the CMS field is blank.
    """
    if not values:
        return 0
    phones = sorted({phone for phone, _, _ in values})
    newest_ids = (
        select(func.max(consents.c.id))
        .where(consents.c.phone.in_(phones), consents.c.method == "cms_field")
        .group_by(consents.c.phone)
    )
    current = {
        row.phone: row.action == GRANT
        for row in conn.execute(select(consents.c.phone, consents.c.action).where(consents.c.id.in_(newest_ids)))
    }
    rows: list[dict[str, Any]] = []
    for phone, client_cms_id, granted in values:
        if current.get(phone) == granted or (phone not in current and not granted):
            continue
        current[phone] = granted
        rows.append(
            {
                "phone": phone,
                "action": GRANT if granted else REVOKE,
                "method": "cms_field",
                "scope": "all matters",
                "source": f"CMS field {field}",
                "captured_by": CMS_FIELD_ACTOR,
                "client_cms_id": client_cms_id,
                "matter_cms_id": None,
                "captured_at": now,
                "created_at": now,
            }
        )
    if not rows:
        return 0
    # One multi-row insert and one audit entry per sync page: a first sync of a large firm stays fast.
    ids = list(conn.execute(insert(consents).returning(consents.c.id, sort_by_parameter_order=True), rows).scalars())
    audit.append(
        conn,
        actor=CMS_FIELD_ACTOR,
        action=audit.Action.CONSENT,
        subject_type="consents",
        details={
            "method": "cms_field",
            "source": f"CMS field {field}",
            "granted": sum(r["action"] == GRANT for r in rows),
            "revoked": sum(r["action"] == REVOKE for r in rows),
            "consent_ids": ids,
        },
        at=now,
    )
    return len(rows)
