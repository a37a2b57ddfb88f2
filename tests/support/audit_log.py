"""A short audit log across two matters, appended the way the code paths append entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import Engine

from connector.compliance import audit

START: Final = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
MATTERS: Final = ("101", "201", "101", None, "101", "201")


def six_entries(engine: Engine) -> list[int]:
    """Six entries, a minute apart, across matters 101 and 201 and one about no matter; their ids."""
    ids = []
    with engine.begin() as conn:
        for n, matter in enumerate(MATTERS):
            ids.append(
                audit.append(
                    conn,
                    actor=f"user:{n}",
                    action=audit.Action.REFILE if matter else audit.Action.REPLAY,
                    subject_type="message" if matter else "outbox",
                    subject_id=100 + n,
                    matter_cms_id=matter,
                    details={"n": n, "to_matter": matter},
                    at=START + timedelta(minutes=n),
                )
            )
    return ids
