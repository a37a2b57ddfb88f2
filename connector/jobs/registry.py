"""Which code runs each kind of outbox job: the worker walks this table instead of naming the senders.

A new kind of work that leaves the building is a kind in `jobs.kinds` and one row here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from sqlalchemy import Engine

from connector.cms.client import CmsClient
from connector.jobs import kinds
from connector.messaging import sender
from connector.settings import Settings
from connector.writeback import writer
from mappings.model import Mapping

__all__ = ["HANDLERS", "Handler", "Resources"]


class Resources(Protocol):
    """What a handler may use: the worker's long-lived pieces."""

    engine: Engine
    settings: Settings
    mapping: Mapping

    def cms_client(self) -> CmsClient: ...

    def twilio(self) -> sender.ClientFactory: ...


@dataclass(frozen=True, slots=True)
class Handler:
    """Runs the due jobs of one kind; `needs_cms` says it waits until CMS credentials are configured."""

    run: Callable[[Resources], Any]
    needs_cms: bool = False


HANDLERS: Final[dict[str, Handler]] = {
    kinds.SEND: Handler(lambda r: sender.send_due(r.engine, r.settings, client_factory=r.twilio())),
    kinds.WRITE: Handler(lambda r: writer.run_due(r.engine, r.settings, r.mapping, r.cms_client()), needs_cms=True),
}
