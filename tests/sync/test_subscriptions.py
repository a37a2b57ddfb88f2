"""CMS webhook subscriptions: created once with a sealed secret, renewed before Clio's 31-day expiry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from connector.cms.connect import build_client
from connector.crypto import SecretBox
from connector.retry import RetryPolicy
from connector.sandbox import DEFAULT_TOKEN, ClioState, SandboxServer, generate_firm
from connector.settings import Settings, load_settings
from connector.store.tables import cms_webhooks
from connector.sync.subscriptions import renew, stored_secrets, webhook_url
from mappings import load_mapping
from webhooks import create_app
from webhooks.server import ServerThread

CLIO = load_mapping("clio")
KEY = "a-secret-key-for-sealing-webhook-secrets"
PUBLIC = "https://texts.firm.example"
MODELS = tuple(CLIO.webhooks.models if CLIO.webhooks else ())  # contact, matter, calendar_entry


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> Iterator[SandboxServer]:
    state = ClioState(generate_firm(20, 10), clock=clock)
    state.allow_http_webhooks = True  # the app below listens on plain http://127.0.0.1
    with SandboxServer(state) as server:
        yield server


def settings_for(sandbox: SandboxServer, db_url: str = "sqlite:///unused.db") -> Settings:
    return load_settings(
        {
            "MATTERLINE_DATABASE_URL": db_url,
            "MATTERLINE_CMS_BASE_URL": sandbox.base_url,
            "MATTERLINE_CMS_ACCESS_TOKEN": DEFAULT_TOKEN,
            "MATTERLINE_SECRET_KEY": KEY,
        },
        env_file=None,
    )


def renew_now(engine: Engine, sandbox: SandboxServer, clock: Clock, public: str = PUBLIC) -> dict[str, str]:
    client = build_client(settings_for(sandbox), CLIO, engine, policy=RetryPolicy(max_attempts=1))
    actions = renew(engine, client, CLIO, public_url=public, secret_key=KEY, now=clock.now)
    return {a.model: a.action for a in actions}


@pytest.fixture
def app_url(engine: Engine, db_url: str, sandbox: SandboxServer) -> Iterator[str]:
    """Matterline's app, really serving, so the sandbox's handshakes reach it."""
    with ServerThread(create_app(settings_for(sandbox, db_url), engine)) as server:
        yield server.url


def hooks(sandbox: SandboxServer) -> dict[str, dict[str, object]]:
    return {str(h["model"]): h for h in sandbox.state.find("webhooks", lambda _: True)}


def test_first_renewal_creates_one_subscription_per_model_with_a_sealed_secret(
    engine: Engine, sandbox: SandboxServer, clock: Clock
) -> None:
    assert renew_now(engine, sandbox, clock) == dict.fromkeys(MODELS, "created")
    remote = hooks(sandbox)
    assert {h["url"] for h in remote.values()} == {f"{PUBLIC}/webhooks/cms/clio"}
    assert {h["status"] for h in remote.values()} == {"pending"}
    assert remote["contact"]["fields"] == CLIO.resources["clients"].params["fields"]
    with engine.connect() as conn:
        rows = conn.execute(select(cms_webhooks.c.model, cms_webhooks.c.shared_secret)).all()
    box = SecretBox(KEY)
    for model, sealed in rows:
        assert sealed != remote[model]["shared_secret"]
        assert box.open(sealed) == remote[model]["shared_secret"]
    assert len(stored_secrets(engine, "clio", KEY)) == len(MODELS) == 3
    assert stored_secrets(engine, "clio", "another-key-that-cannot-open-them") == []


def test_handshakes_answered_by_the_app_enable_the_subscriptions(
    engine: Engine, sandbox: SandboxServer, clock: Clock, app_url: str
) -> None:
    renew_now(engine, sandbox, clock, app_url)
    assert [status for _, _, status in sandbox.state.deliver_webhooks()] == [200] * len(MODELS)
    assert {h["status"] for h in hooks(sandbox).values()} == {"enabled"}
    with engine.connect() as conn:
        assert set(conn.execute(select(cms_webhooks.c.status)).scalars()) == {"enabled"}


def test_a_current_subscription_is_left_alone_and_one_near_expiry_is_extended(
    engine: Engine, sandbox: SandboxServer, clock: Clock, app_url: str
) -> None:
    renew_now(engine, sandbox, clock, app_url)
    sandbox.state.deliver_webhooks()
    clock.now += timedelta(days=10)
    assert renew_now(engine, sandbox, clock, app_url) == dict.fromkeys(MODELS, "current")
    clock.now += timedelta(days=15)  # 25 days in: within a week of the 31-day expiry
    assert renew_now(engine, sandbox, clock, app_url) == dict.fromkeys(MODELS, "renewed")
    expires = datetime.fromisoformat(str(hooks(sandbox)["contact"]["expires_at"]))
    assert clock.now + timedelta(days=30) < expires <= clock.now + timedelta(days=31)
    assert len(hooks(sandbox)) == len(MODELS)


def test_a_subscription_deleted_in_the_cms_is_created_again(
    engine: Engine, sandbox: SandboxServer, clock: Clock, app_url: str
) -> None:
    renew_now(engine, sandbox, clock, app_url)
    sandbox.state.deliver_webhooks()
    gone = hooks(sandbox)["matter"]["id"]
    sandbox.state.delete_webhook(int(str(gone)))
    clock.now += timedelta(days=26)
    assert renew_now(engine, sandbox, clock, app_url) == {**dict.fromkeys(MODELS, "renewed"), "matter": "recreated"}
    assert hooks(sandbox)["matter"]["id"] != gone
    with engine.connect() as conn:
        ids = conn.execute(select(cms_webhooks.c.cms_id).where(cms_webhooks.c.model == "matter")).scalars().all()
    assert ids == [str(hooks(sandbox)["matter"]["id"])]


def test_webhook_url_is_the_public_cms_route() -> None:
    assert webhook_url("https://x.example/", "clio") == "https://x.example/webhooks/cms/clio"


def test_a_subscription_whose_handshake_never_came_is_replaced(
    engine: Engine, sandbox: SandboxServer, clock: Clock
) -> None:
    renew_now(engine, sandbox, clock)  # nothing answers the handshake: both stay pending
    first = {m: h["id"] for m, h in hooks(sandbox).items()}
    clock.now += timedelta(minutes=5)
    assert renew_now(engine, sandbox, clock) == dict.fromkeys(MODELS, "current")
    clock.now += timedelta(minutes=10)
    assert renew_now(engine, sandbox, clock) == dict.fromkeys(MODELS, "recreated")
    second = {m: h["id"] for m, h in hooks(sandbox).items()}
    assert set(first.values()).isdisjoint(second.values())
    assert len(hooks(sandbox)) == len(MODELS)  # the dead ones were deleted in the CMS, not left behind
