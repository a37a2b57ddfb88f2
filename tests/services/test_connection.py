"""The connection page's actions against the sandbox CMS served for real: check it, renew its webhooks, and
queue a sync that the worker then runs; each audited with who did it, none showing a token."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from connector import services
from connector.cms.connect import build_client
from connector.compliance import audit
from connector.errors import Kind, MatterlineError
from connector.jobs import kinds
from connector.queries import connection as queries
from connector.sandbox import DEFAULT_TOKEN, ClioState, SandboxServer, generate_firm
from connector.services import connection
from connector.settings import Settings, load_settings
from connector.staff.users import Actor
from connector.store.tables import audit_log, cms_webhooks, outbox
from connector.sync import requested
from mappings import load_mapping

CLIO = load_mapping("clio")
KEY = "a-secret-key-for-sealing-webhook-secrets"
ADMIN = Actor("operator:root")
WRONG = "not-the-right-token-0123456789"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    firm = generate_firm(12, 6)
    firm.contacts[0]["phone_numbers"][0]["number"] = "ask the front desk"
    state = ClioState(firm)
    state.set_rate_limit(500)
    with SandboxServer(state) as server:
        yield server


def settings_for(base_url: str, token: str = DEFAULT_TOKEN, **env: str) -> Settings:
    return load_settings(
        {
            "MATTERLINE_CMS_BASE_URL": base_url,
            "MATTERLINE_CMS_ACCESS_TOKEN": token,
            "MATTERLINE_SECRET_KEY": KEY,
            **env,
        },
        env_file=None,
    )


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v4"


def entries(engine: Engine, action: audit.Action) -> list[tuple[str, dict[str, object]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.actor, audit_log.c.details)
            .where(audit_log.c.action == str(action))
            .order_by(audit_log.c.id)
        ).all()
    return [(r.actor, dict(r.details or {})) for r in rows]


def test_a_check_against_the_sandbox_is_ok_and_records_the_rate_limit(engine: Engine, sandbox: SandboxServer) -> None:
    outcome = connection.check(engine, settings_for(sandbox.base_url), CLIO, actor=ADMIN)
    assert outcome.status == "ok"
    assert outcome.rate_limit["limit"] == 500
    assert outcome.rate_limit["remaining"] is not None
    assert outcome.rate_limit["remaining"] < 500
    [(who, details)] = entries(engine, audit.Action.CMS_CHECK)
    assert who == ADMIN.label
    assert details["status"] == "ok"
    shown = queries.last_check(engine)
    assert shown is not None
    assert shown.status == "ok"
    assert shown.actor == ADMIN.label
    rate = queries.rate_limit(engine)
    assert rate is not None
    assert rate.source == "check"
    assert rate.limit == 500
    assert rate.reset_at is not None


def test_a_wrong_token_is_invalid_auth_and_the_token_is_nowhere(engine: Engine, sandbox: SandboxServer) -> None:
    outcome = connection.check(engine, settings_for(sandbox.base_url, WRONG), CLIO, actor=ADMIN)
    assert outcome.status == "invalid_auth"
    assert outcome.reason
    [(_, details)] = entries(engine, audit.Action.CMS_CHECK)
    assert WRONG not in repr(details)
    assert WRONG not in outcome.reason


def test_a_closed_port_is_cannot_connect_with_the_reason(engine: Engine) -> None:
    outcome = connection.check(engine, settings_for(closed_port_url()), CLIO, actor=ADMIN)
    assert outcome.status == "cannot_connect"
    assert "GET" in outcome.reason


def test_scrub_hides_every_configured_secret() -> None:
    settings = settings_for("https://cms.example/api/v4", "tok-abcdefghijkl")
    assert connection.scrub("Bearer tok-abcdefghijkl refused; key " + KEY, settings) == "Bearer *** refused; key ***"


def test_staff_may_not_check_renew_or_sync(engine: Engine, sandbox: SandboxServer) -> None:
    staff = services.users.add(engine, name="Sam Staff", email="sam@firm.example", role="staff", actor=ADMIN).user
    settings = settings_for(sandbox.base_url, MATTERLINE_PUBLIC_URL="https://texts.firm.example")
    for action in (
        lambda: connection.check(engine, settings, CLIO, actor=Actor.of(staff)),
        lambda: connection.renew_webhooks(engine, settings, CLIO, actor=Actor.of(staff)),
        lambda: connection.request_sync(engine, actor=Actor.of(staff)),
    ):
        with pytest.raises(MatterlineError) as refused:
            action()
        assert refused.value.kind == Kind.FORBIDDEN
    assert entries(engine, audit.Action.CMS_CHECK) == []


def test_renewing_without_a_public_url_says_so(engine: Engine, sandbox: SandboxServer) -> None:
    with pytest.raises(MatterlineError) as refused:
        connection.renew_webhooks(engine, settings_for(sandbox.base_url), CLIO, actor=ADMIN)
    assert refused.value.code == "public_url_unset"
    assert "MATTERLINE_PUBLIC_URL" in refused.value.message
    assert sandbox.state.count("webhooks") == 0


def test_renewing_creates_the_subscriptions_and_audits_them(engine: Engine, sandbox: SandboxServer) -> None:
    settings = settings_for(sandbox.base_url, MATTERLINE_PUBLIC_URL="https://texts.firm.example")
    actions = connection.renew_webhooks(engine, settings, CLIO, actor=ADMIN)
    assert {a.model: a.action for a in actions} == {
        "contact": "created",
        "matter": "created",
        "calendar_entry": "created",
    }
    assert sandbox.state.count("webhooks") == 3
    [(who, details)] = entries(engine, audit.Action.WEBHOOKS_RENEWED)
    assert who == ADMIN.label
    assert len(details["actions"]) == 3
    shown = {s.model: s for s in queries.subscriptions(engine, settings, CLIO)}
    assert shown["contact"].status == "pending"
    assert shown["contact"].expires_at is not None
    assert shown["contact"].current_url


def test_renewing_with_a_refused_token_is_invalid_auth_and_not_audited(engine: Engine, sandbox: SandboxServer) -> None:
    settings = settings_for(sandbox.base_url, WRONG, MATTERLINE_PUBLIC_URL="https://texts.firm.example")
    with pytest.raises(MatterlineError) as refused:
        connection.renew_webhooks(engine, settings, CLIO, actor=ADMIN)
    assert refused.value.code == "invalid_auth"
    assert WRONG not in refused.value.message
    assert entries(engine, audit.Action.WEBHOOKS_RENEWED) == []


def test_a_requested_sync_is_queued_once_then_run_by_the_worker_with_its_counts(
    engine: Engine, sandbox: SandboxServer
) -> None:
    settings = settings_for(sandbox.base_url)
    asked = connection.request_sync(engine, actor=ADMIN)
    view = queries.sync_request(engine)
    assert view is not None
    assert view.state == "queued"
    assert view.requested_by == ADMIN.label
    assert view.active
    with pytest.raises(MatterlineError) as again:
        connection.request_sync(engine, actor=ADMIN)
    assert again.value.code == "sync_already_queued"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).where(outbox.c.kind == kinds.SYNC)).scalar_one() == 1
    [(who, _)] = entries(engine, audit.Action.SYNC_REQUESTED)
    assert who == ADMIN.label

    client = build_client(settings, CLIO, engine)
    runs = requested.run_due(engine, settings, CLIO, lambda: client)
    assert (runs.done, runs.dead) == (1, 0)
    view = queries.sync_request(engine)
    assert view is not None
    assert view.job_id == asked.job_id
    assert view.state == "done"
    assert view.fetched == sandbox.state.count("contacts") + sandbox.state.count("matters") + view.result["resources"][
        "relationships"
    ]["fetched"] + sandbox.state.count("calendar_entries")  # type: ignore[index]
    by_name = {r.resource: r for r in queries.resources(engine, CLIO)}
    assert by_name["clients"].counts is not None
    assert by_name["clients"].counts["fetched"] == 12
    assert by_name["clients"].last_completed_at is not None
    phones, total = queries.unreadable_phones(engine)
    assert total == 1
    assert phones[0].raw == "ask the front desk"
    assert queries.rate_limit(engine) is not None
    # Done, so another may be asked for.
    assert connection.request_sync(engine, actor=ADMIN).job_id != asked.job_id


def test_a_sync_the_cms_refuses_fails_with_the_reason(engine: Engine, sandbox: SandboxServer) -> None:
    settings = settings_for(sandbox.base_url, WRONG)
    connection.request_sync(engine, actor=ADMIN)
    runs = requested.run_due(engine, settings, CLIO, lambda: build_client(settings, CLIO, engine))
    assert runs.dead == 1
    view = queries.sync_request(engine)
    assert view is not None
    assert view.state == "failed"
    assert view.error
    assert WRONG not in view.error
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(cms_webhooks)).scalar_one() == 0
