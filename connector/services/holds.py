"""Legal holds: an admin puts a matter's texts beyond retention's reach, and later releases them.

The hold ledger is append-only: a matter is on hold while its newest row says "set". Set and release
are serialised with purges (one lock), so a purge never slips between a hold and its record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select

from connector.compliance import audit, retention
from connector.errors import conflict, not_found, require_reason
from connector.staff.users import Actor
from connector.store.engine import utcnow
from connector.store.tables import legal_holds, matters

__all__ = ["HoldChange", "release", "set_hold"]


@dataclass(frozen=True, slots=True)
class HoldChange:
    """A hold set or released: the ledger row and where the matter stands now."""

    id: int
    matter_cms_id: str
    action: str
    on_hold: bool
    reason: str
    actor: str
    at: datetime


def set_hold(
    engine: Engine, matter_cms_id: str, *, reason: str, actor: Actor, now: datetime | None = None
) -> HoldChange:
    """Put a matter on legal hold: from now on no purge touches its messages.

    Raises:
        MatterlineError: invalid `empty_reason`; not found; conflict `already_on_hold`.
    """
    return _change(engine, matter_cms_id, reason, actor, retention.SET, now)


def release(
    engine: Engine, matter_cms_id: str, *, reason: str, actor: Actor, now: datetime | None = None
) -> HoldChange:
    """Lift a matter's legal hold; the next purge treats its messages like any others.

    Raises:
        MatterlineError: invalid `empty_reason`; not found; conflict `not_on_hold`.
    """
    return _change(engine, matter_cms_id, reason, actor, retention.RELEASE, now)


def _change(
    engine: Engine, matter_cms_id: str, reason: str, actor: Actor, action: str, now: datetime | None
) -> HoldChange:
    why = require_reason(reason, f"a hold {action}")
    moment = now or utcnow()
    with engine.begin() as conn:
        retention.lock(conn)
        if conn.execute(select(matters.c.id).where(matters.c.cms_id == matter_cms_id)).first() is None:
            raise not_found(f"no matter {matter_cms_id} in the store (run `matterline sync`?)")
        held = retention.on_hold(conn, matter_cms_id)
        if action == retention.SET and held:
            raise conflict("already_on_hold", f"matter {matter_cms_id} is already on legal hold")
        if action == retention.RELEASE and not held:
            raise conflict("not_on_hold", f"matter {matter_cms_id} is not on legal hold")
        hold_id = int(
            conn.execute(
                insert(legal_holds)
                .values(matter_cms_id=matter_cms_id, action=action, reason=why, actor=actor.label, created_at=moment)
                .returning(legal_holds.c.id)
            ).scalar_one()
        )
        audit.append(
            conn,
            actor=actor.label,
            action=audit.Action.HOLD_SET if action == retention.SET else audit.Action.HOLD_RELEASE,
            subject_type="matter",
            subject_id=matter_cms_id,
            matter_cms_id=matter_cms_id,
            request_id=actor.request_id,
            details={"reason": why, "hold": hold_id},
            at=moment,
        )
    return HoldChange(hold_id, matter_cms_id, action, action == retention.SET, why, actor.label, moment)
