"""Recording a client's consent to texts, and its withdrawal: rows appended to the ledger, never edited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from connector.guardrails import consent
from connector.guardrails.consent import ConsentRow
from connector.settings import Settings
from connector.staff.users import Actor

__all__ = ["record", "withdraw"]


def _append(
    engine: Engine,
    settings: Settings,
    action: str,
    phone: str,
    *,
    method: str,
    actor: Actor,
    scope: str,
    source: str | None,
    matter_cms_id: str | None,
    captured_at: datetime | None,
) -> ConsentRow:
    with engine.begin() as conn:
        return consent.record(
            conn,
            phone,
            action=action,
            method=method,
            scope=scope,
            source=source,
            matter_cms_id=matter_cms_id,
            captured_at=captured_at,
            captured_by=actor.label,
            region=settings.default_region,
            request_id=actor.request_id,
        )


def record(
    engine: Engine,
    settings: Settings,
    phone: str,
    *,
    method: str,
    actor: Actor,
    scope: str = "all matters",
    source: str | None = None,
    matter_cms_id: str | None = None,
    captured_at: datetime | None = None,
) -> ConsentRow:
    """The client agreed to be texted: how, when, for what, and who wrote it down; audited as `consent`.

    Raises:
        MatterlineError: invalid `invalid_consent` (an unreadable number, an unknown method, no scope).
    """
    return _append(
        engine,
        settings,
        consent.GRANT,
        phone,
        method=method,
        actor=actor,
        scope=scope,
        source=source,
        matter_cms_id=matter_cms_id,
        captured_at=captured_at,
    )


def withdraw(
    engine: Engine,
    settings: Settings,
    phone: str,
    *,
    method: str,
    actor: Actor,
    scope: str = "all matters",
    source: str | None = None,
    matter_cms_id: str | None = None,
    captured_at: datetime | None = None,
) -> ConsentRow:
    """The client withdrew consent: texts stop until it is given again or the client texts afresh.

    Raises:
        MatterlineError: invalid `invalid_consent`.
    """
    return _append(
        engine,
        settings,
        consent.REVOKE,
        phone,
        method=method,
        actor=actor,
        scope=scope,
        source=source,
        matter_cms_id=matter_cms_id,
        captured_at=captured_at,
    )
