"""`/api/audit`: who did what, when, in which matter; the hash-chained log, filtered, and its verdict."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from flask import Response

from connector import queries
from connector.compliance import audit
from connector.compliance.audit import Action
from connector.queries.audit import AuditEntry
from connector.staff.users import ADMIN_ROLES
from webhooks.api.routing import Call, IntParam, Param, Route, TextParam, json_response
from webhooks.state import app_state

__all__ = ["ROUTES"]


def _list(call: Call) -> Response:
    """Entries oldest first, the newest `limit` of those that match."""
    rows = queries.audit.listing(
        app_state().engine,
        matter_cms_id=call.query["matter"],
        actor=call.query["actor"],
        action=call.query["action"],
        newest=call.query["limit"],
    )
    return json_response({"entries": rows})


@dataclass(frozen=True, slots=True)
class AuditCheckpointView:
    """A signed checkpoint of the log's head; `checkpoint` is the line to keep away from the store."""

    id: int | None
    at: datetime
    entry_id: int
    entry_hash: str
    entries: int
    checkpoint: str


def _verify(call: Call) -> Response:
    """The verdict on the chain and its checkpoints, as `matterline audit verify --json` prints it."""
    return json_response(audit.verify(app_state().engine).to_json())


ROUTES: Final[tuple[Route, ...]] = (
    Route(
        "GET",
        "/audit",
        _list,
        "listAudit",
        "The audit log",
        (200, "Entries oldest first, each with its place in the hash chain.", {"entries": list[AuditEntry]}),
        description="Admins only. Never holds a message body.",
        params=(
            Param("matter", TextParam(64), "Only this matter's entries (CMS id)."),
            Param("actor", TextParam(128), "Only this actor's entries (e.g. `user:3:avery@firm.example`)."),
            Param("action", TextParam(48, tuple(a.value for a in Action)), "Only this action."),
            Param("limit", IntParam(1, 1000, 200), "The newest N matching entries."),
        ),
        roles=ADMIN_ROLES,
        tags=("compliance",),
    ),
    Route(
        "GET",
        "/audit/verify",
        _verify,
        "verifyAudit",
        "Check the audit log",
        (
            200,
            "Whether every entry and checkpoint checks out; the first that does not, the head, the last checkpoint.",
            {
                "intact": bool,
                "entries": int,
                "broken_id": int | None,
                "broken_checkpoint_id": int | None,
                "reason": str | None,
                "head": str | None,
                "head_id": int | None,
                "keyed_from": int | None,
                "checkpoints": int,
                "last_checkpoint": AuditCheckpointView | None,
            },
        ),
        description="Admins only. Recomputes the keyed hash chain and checks every signed checkpoint.",
        roles=ADMIN_ROLES,
        tags=("compliance",),
    ),
)
