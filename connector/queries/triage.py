"""What triage said about client texts, and what staff said back: for the thread beside each text, for the
API, and for retraining (the corrected texts, exported with their new labels).

A text's label is staff's newest correction when there is one, else triage's own decision; every
correction is kept, so the history shows who changed their mind and when.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Engine, func, select

from connector.errors import not_found
from connector.guardrails import pipeline
from connector.settings import Settings
from connector.store.tables import messages, users
from connector.store.triage_tables import triage_corrections, triage_decisions
from connector.triage.judge import situation

__all__ = ["Corrected", "CorrectionView", "TriageView", "corrected", "for_messages", "require"]

# Texts read per query when exporting corrections: a firm's whole history, a batch at a time.
_BATCH: Final = 500


@dataclass(frozen=True, slots=True)
class CorrectionView:
    """One person saying triage was wrong about a text."""

    id: int
    message_id: int
    urgent: bool
    category: str | None
    situation: str | None
    note: str | None
    # What triage had said, and which model said it.
    was_urgent: bool
    version: str
    by: str  # the person's name; an operator's label when no person acted
    at: datetime


@dataclass(frozen=True, slots=True)
class TriageView:
    """Triage's decision on one client text, why, and staff's corrections (oldest first).

    `urgent` and `category` are the text's label now: the newest correction's, else the decision's.
    """

    message_id: int
    urgent: bool
    category: str | None
    situation: str | None
    decided_urgent: bool
    decided_category: str | None
    probability: float | None
    rule: str | None
    reasons: tuple[str, ...]
    date_read: str | None
    version: str
    decided_at: datetime
    corrections: tuple[CorrectionView, ...]

    @property
    def corrected(self) -> CorrectionView | None:
        """The newest correction, when staff made one."""
        return self.corrections[-1] if self.corrections else None


def _correction(row: Any) -> CorrectionView:
    return CorrectionView(
        id=row.id,
        message_id=row.message_id,
        urgent=row.urgent,
        category=row.category,
        situation=situation(row.category) if row.urgent else None,
        note=row.note,
        was_urgent=row.was_urgent,
        version=row.version,
        by=row.name or row.actor,
        at=row.created_at,
    )


def _views(conn: Connection, ids: Iterable[int]) -> dict[int, TriageView]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    decided = conn.execute(select(triage_decisions).where(triage_decisions.c.message_id.in_(wanted))).all()
    history: dict[int, list[CorrectionView]] = {}
    for row in conn.execute(
        select(triage_corrections, users.c.name)
        .outerjoin(users, users.c.id == triage_corrections.c.user_id)
        .where(triage_corrections.c.message_id.in_(wanted))
        .order_by(triage_corrections.c.message_id, triage_corrections.c.id)
    ):
        history.setdefault(row.message_id, []).append(_correction(row))
    views = {}
    for row in decided:
        corrections = tuple(history.get(row.message_id, ()))
        urgent, category = (
            (corrections[-1].urgent, corrections[-1].category) if corrections else (row.urgent, row.category)
        )
        views[row.message_id] = TriageView(
            message_id=row.message_id,
            urgent=urgent,
            category=category,
            situation=situation(category) if urgent else None,
            decided_urgent=row.urgent,
            decided_category=row.category,
            probability=row.probability,
            rule=row.rule,
            reasons=tuple(row.reasons or ()),
            date_read=row.date_read,
            version=row.version,
            decided_at=row.decided_at,
            corrections=corrections,
        )
    return views


def for_messages(engine: Engine, ids: Iterable[int]) -> dict[int, TriageView]:
    """Triage's view of each of the texts `ids` that it decided (client texts taken in since decisions were
    kept); a text it never decided is absent."""
    with engine.connect() as conn:
        return _views(conn, ids)


def require(engine: Engine, message_id: int) -> TriageView:
    """Triage's view of one text.

    Raises:
        MatterlineError: not found (no such text, or one triage never decided: a text the firm sent, or
            one taken in before decisions were kept).
    """
    with engine.connect() as conn:
        found = _views(conn, [message_id]).get(message_id)
    if found is None:
        raise not_found(f"triage decided nothing about message {message_id}")
    return found


@dataclass(frozen=True, slots=True)
class Corrected:
    """A corrected text as retraining reads it: the corpus's fields, labelled by staff."""

    id: str
    text: str
    urgent: bool
    category: str
    # The client's local arrival time, which the text's date words are read against.
    received_at: datetime
    # Who made the label, when, and what triage had said (for the people reviewing it).
    corrected_by: str
    corrected_at: datetime
    was_urgent: bool
    version: str


def corrected(engine: Engine, settings: Settings) -> Iterator[Corrected]:
    """Every text staff corrected, with its newest label, oldest correction first. Texts retention has
    purged are left out: nothing of what they said is kept to learn from."""
    newest = select(func.max(triage_corrections.c.id).label("id")).group_by(triage_corrections.c.message_id).subquery()
    query = (
        select(
            triage_corrections,
            users.c.name,
            messages.c.body,
            messages.c.from_number,
            messages.c.created_at.label("received"),
        )
        .join(newest, newest.c.id == triage_corrections.c.id)
        .join(messages, messages.c.id == triage_corrections.c.message_id)
        .outerjoin(users, users.c.id == triage_corrections.c.user_id)
        .where(messages.c.purged_at.is_(None))
        .order_by(triage_corrections.c.id)
    )
    after = 0
    with engine.connect() as conn:
        while True:
            rows = conn.execute(query.where(triage_corrections.c.id > after).limit(_BATCH)).all()
            if not rows:
                return
            zones: dict[str, Any] = {}
            for row in rows:
                if row.from_number not in zones:
                    zones[row.from_number] = pipeline.recipient_for(conn, settings, row.from_number).zones[0]
                yield Corrected(
                    id=f"msg-{row.message_id}",
                    text=row.body,
                    urgent=row.urgent,
                    category=(row.category or "other") if row.urgent else "none",
                    received_at=row.received.astimezone(zones[row.from_number]).replace(tzinfo=None),
                    corrected_by=row.name or row.actor,
                    corrected_at=row.created_at,
                    was_urgent=row.was_urgent,
                    version=row.version,
                )
            after = rows[-1].id
