"""Which code runs each kind of outbox job: the worker walks this table instead of naming the senders.

A new kind of work that leaves the building is a kind in `jobs.kinds` and one row here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from sqlalchemy import Connection, Engine

from connector.cms.client import CmsClient
from connector.jobs import kinds
from connector.messaging import sender
from connector.settings import Settings
from connector.sync import requested
from connector.writeback import writer
from mappings.model import Mapping

__all__ = ["HANDLERS", "Handler", "Resources"]


class Resources(Protocol):
    """What a handler may use: the worker's long-lived pieces."""

    engine: Engine
    settings: Settings

    @property
    def mapping(self) -> Mapping: ...

    def cms_client(self) -> CmsClient: ...

    def twilio(self) -> sender.ClientFactory: ...


@dataclass(frozen=True, slots=True)
class Handler:
    """One kind of job: `run` works the due jobs; `revive` makes a replayed dead job's record live again and
    `abandon` marks it given up (in the caller's transaction); `needs_cms` waits for CMS credentials."""

    run: Callable[[Resources], Any]
    revive: Callable[[Connection, dict[str, Any]], None]
    abandon: Callable[[Connection, dict[str, Any], str], None]
    needs_cms: bool = False


HANDLERS: Final[dict[str, Handler]] = {
    kinds.SEND: Handler(
        lambda r: sender.send_due(r.engine, r.settings, client_factory=r.twilio()), sender.revive, sender.abandon
    ),
    kinds.WRITE: Handler(
        lambda r: writer.run_due(r.engine, r.settings, r.mapping, r.cms_client()),
        writer.revive,
        writer.abandon,
        needs_cms=True,
    ),
    kinds.SYNC: Handler(
        lambda r: requested.run_due(r.engine, r.settings, r.mapping, r.cms_client),
        requested.revive,
        requested.abandon,
        needs_cms=True,
    ),
}
