"""A firm wired to the sandbox Clio as in production: synced, subscribed, and its webhooks posted over HTTP.

The sandbox signs each delivery with the subscription's secret and posts it to Matterline's app served
by waitress. `Deliveries` sits on the sandbox's outgoing side only to keep what was posted, so a test can
hold a delivery back (the network was slow) or post the very same bytes again (Clio retried): what the
app receives is exactly what Clio would send.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import Engine, select

from connector.cms.client import CmsClient
from connector.cms.connect import build_client
from connector.retry import RetryPolicy
from connector.sandbox import DEFAULT_TOKEN, ClioState, SandboxServer, generate_firm
from connector.sandbox.clio import webhooks as sandbox_webhooks
from connector.settings import Settings, load_settings
from connector.store.tables import contacts, matters
from connector.sync.subscriptions import renew
from connector.sync.syncer import Syncer
from mappings import load_mapping
from webhooks import create_app
from webhooks.server import ServerThread

CLIO = load_mapping("clio")
KEY = "a-secret-key-for-sealing-webhook-secrets"
# The client every scenario is about: one number, one open matter.
PHONE = "+14155550177"


class Clock:
    """The sandbox's clock: behind the real one, moved on by hand so each CMS edit has its own second."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: int = 10) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class Posted:
    """One webhook request as the sandbox sent it."""

    url: str
    body: bytes
    headers: Mapping[str, str]

    def send(self) -> requests.Response:
        return requests.post(self.url, data=self.body, headers=dict(self.headers), timeout=10)


@dataclass
class Deliveries:
    """What the sandbox posts; while `holding`, signed deliveries are kept back instead of sent."""

    sent: list[Posted] = field(default_factory=list)
    held: list[Posted] = field(default_factory=list)
    holding: bool = False

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> requests.Response | None:
        posted = Posted(url, body, dict(headers))
        if self.holding and "X-Hook-Signature" in headers:
            self.held.append(posted)
            return None
        self.sent.append(posted)
        return posted.send()


@dataclass
class Wired:
    """The sandbox firm, Matterline's store and app, and the client/matter the scenario is about."""

    state: ClioState
    server: SandboxServer
    engine: Engine
    clock: Clock
    deliveries: Deliveries
    contact_id: int
    matter_id: int

    def syncer(self, client: CmsClient | None = None) -> Syncer:
        return Syncer(self.engine, client or cms_client(self.server, self.engine), CLIO, progress=False)

    def deliver(self) -> list[int]:
        """Post every queued CMS change to the app; the HTTP statuses it answered."""
        return [status for _, _, status in self.state.deliver_webhooks()]

    def matter(self) -> tuple[str, bool]:
        """The stored matter's status and whether it is deleted."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(matters.c.status, matters.c.deleted_at).where(matters.c.cms_id == str(self.matter_id))
            ).one()
        return str(row.status), row.deleted_at is not None

    def contact(self) -> tuple[str, bool]:
        """The stored contact's name and whether it is deleted."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(contacts.c.name, contacts.c.deleted_at).where(contacts.c.cms_id == str(self.contact_id))
            ).one()
        return str(row.name), row.deleted_at is not None


def cms_client(server: SandboxServer, engine: Engine) -> CmsClient:
    settings = load_settings(
        {"MATTERLINE_CMS_BASE_URL": server.base_url, "MATTERLINE_CMS_ACCESS_TOKEN": DEFAULT_TOKEN}, env_file=None
    )
    return build_client(settings, CLIO, engine, policy=RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_max=0.02))


def app_settings(server: SandboxServer, db_url: str) -> Settings:
    return load_settings(
        {
            "MATTERLINE_DATABASE_URL": db_url,
            "MATTERLINE_CMS_BASE_URL": server.base_url,
            "MATTERLINE_CMS_ACCESS_TOKEN": DEFAULT_TOKEN,
            "MATTERLINE_SECRET_KEY": KEY,
        },
        env_file=None,
    )


@contextmanager
def wired(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Wired]:
    """A synced firm with live, handshaken contact and matter subscriptions pointing at the running app."""
    clock = Clock()
    deliveries = Deliveries()
    monkeypatch.setattr(sandbox_webhooks, "_post", deliveries.post)
    state = ClioState(generate_firm(6, 4), clock=clock)
    state.allow_http_webhooks = True  # the app listens on plain http://127.0.0.1
    contact_id = state.add_contact(name="Rosa Quintero", phone_numbers=["(415) 555-0177"])
    matter_id = state.add_matter(contact_id, "Quintero v. Harbor Transit")
    with SandboxServer(state) as server, ServerThread(create_app(app_settings(server, db_url), engine)) as app:
        renew(engine, cms_client(server, engine), CLIO, public_url=app.url, secret_key=KEY, now=clock.now)
        state.deliver_webhooks()  # the handshakes
        scene = Wired(state, server, engine, clock, deliveries, contact_id, matter_id)
        scene.syncer().run(full=True)
        clock.tick()
        yield scene
