"""One round of reminders for the worker: plan what the sync changed, then send what is due.

Planning first, so a reminder moved or cancelled by this round's changes is never sent at its old time, and a
reminder planned this round (due now) is queued this round; the worker runs this right after intake, before
its job handlers, so the text it queues goes out in the same round.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from connector.reminders.due import DueCounts, send_due
from connector.reminders.planner import PlanCounts, plan
from connector.settings import Settings

__all__ = ["RunCounts", "run"]


@dataclass(frozen=True, slots=True)
class RunCounts:
    """What a round of reminders did: the planning and the sending."""

    planned: PlanCounts
    due: DueCounts


def run(engine: Engine, settings: Settings, now: datetime) -> RunCounts:
    """Plan the entries marked for planning, then queue the reminders due by `now`."""
    return RunCounts(plan(engine, settings, now=now), send_due(engine, settings, now=now))
