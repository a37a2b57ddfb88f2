"""The CMS side from the command line: `sync`, the synced `clients` and `matters`, and
`mappings validate|show|check`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from connector.sandbox import DEFAULT_TOKEN, ClioState, Fault, SandboxServer, generate_firm
from connector.store import make_engine
from connector.store.tables import audit_log
from connector.sync.ingest import apply
from connector.sync.records import read_contact, read_matter
from mappings import load_mapping
from tests.support.command import run

CLIO = load_mapping("clio")


def _seed(url: str) -> None:
    engine: Engine = make_engine(url)
    now = datetime(2026, 11, 27, tzinfo=UTC)
    contacts = [
        read_contact(
            CLIO.resources["clients"],
            {
                "id": 11,
                "name": "Jane Doe",
                "phone_numbers": [
                    {"number": "(415) 867-5309", "name": "Mobile", "primary": True},
                    {"number": "call office", "name": "Work", "primary": False},
                ],
            },
            "US",
        ),
        read_contact(
            CLIO.resources["clients"],
            {
                "id": 12,
                "name": "Ray Roe",
                "phone_numbers": [{"number": "212-867-5309", "name": "Mobile", "primary": True}],
            },
            "US",
        ),
    ]
    matter = read_matter(
        CLIO.resources["matters"],
        {
            "id": 501,
            "display_number": "00501-Doe",
            "description": "Doe custody",
            "status": "Open",
            "client": {"id": 11},
            "responsible_attorney": {"id": 2, "name": "Ann Counsel"},
        },
    )
    with engine.begin() as conn:
        apply(conn, "clients", contacts, now=now)
        apply(conn, "matters", [matter], now=now)
    engine.dispose()


def test_listings_print_the_contract_json(env: dict[str, str]) -> None:
    run(env, "init")
    _seed(env["MATTERLINE_DATABASE_URL"])
    code, out, _ = run(env, "clients", "--json")
    assert code == 0
    listing = json.loads(out)
    assert [set(item) for item in listing] == [{"id", "cms_id", "name", "phones", "unparseable_phones"}] * 2
    jane = next(item for item in listing if item["cms_id"] == "11")
    assert jane["phones"] == ["+14158675309"]
    assert jane["unparseable_phones"] == ["call office"]
    code, out, _ = run(env, "clients", "--json", "--cms-id", "12")
    assert [item["name"] for item in json.loads(out)] == ["Ray Roe"]
    code, out, _ = run(env, "clients", "--json", "--unparseable")
    assert [item["cms_id"] for item in json.loads(out)] == ["11"]
    code, out, _ = run(env, "matters", "--json", "--cms-id", "501")
    assert json.loads(out) == [
        {
            "id": 1,
            "cms_id": "501",
            "display_number": "00501-Doe",
            "description": "Doe custody",
            "status": "open",
            "client_cms_id": "11",
            "responsible_attorney": "Ann Counsel",
        }
    ]


def test_mappings_validate_reports_every_typo_with_its_path(env: dict[str, str], tmp_path: Path) -> None:
    override = tmp_path / "firm.json"
    override.write_text(
        json.dumps(
            {
                "resources": {"clients": {"feilds": {}, "path": 7}},
                "pagination": {"page_size": 500},
            }
        )
    )
    code, _, err = run(env, "mappings", "validate", str(override))
    assert code == 2
    assert "$.resources.clients.feilds" in err
    assert "$.resources.clients.path" in err
    assert "page_size" in err


def test_mappings_validate_accepts_a_good_override_and_show_merges_it(env: dict[str, str], tmp_path: Path) -> None:
    override = tmp_path / "firm.json"
    override.write_text(json.dumps({"api": {"headers": {"X-API-VERSION": "4.0.9"}}}))
    code, out, _ = run(env, "mappings", "validate", str(override))
    assert code == 0, out
    code, out, _ = run({**env, "MATTERLINE_MAPPING_FILE": str(override)}, "mappings", "show")
    shown = json.loads(out)
    assert shown["api"]["headers"]["X-API-VERSION"] == "4.0.9"
    assert shown["api"]["headers"]["Accept"] == "application/json"  # untouched keys survive
    assert shown["resources"]["clients"]["path"] == "/contacts.json"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(ClioState(generate_firm(260, 120, seed=3))) as server:
        yield server


def cms_env(env: dict[str, str], sandbox: SandboxServer, **extra: str) -> dict[str, str]:
    return {**env, "MATTERLINE_CMS_BASE_URL": sandbox.base_url, "MATTERLINE_CMS_ACCESS_TOKEN": DEFAULT_TOKEN, **extra}


def test_sync_json_prints_the_contract_object(env: dict[str, str], sandbox: SandboxServer) -> None:
    env = cms_env(env, sandbox)
    run(env, "init")
    code, out, err = run(env, "sync", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert set(report) >= {"clients", "matters", "phones", "requests", "rate_limited", "seconds"}
    assert set(report["clients"]) == {"fetched", "created", "updated", "unchanged"}
    assert report["clients"]["created"] == 260
    assert report["matters"]["created"] == 120
    assert set(report["phones"]) == {"normalized", "unparseable"}
    assert err == ""  # no progress bar when not on a terminal
    code, out, _ = run(env, "sync")
    assert "clients: 0 fetched" in out


def test_mappings_check_answers_ok(env: dict[str, str], sandbox: SandboxServer) -> None:
    run(env, "init")
    code, out, _ = run(cms_env(env, sandbox), "mappings", "check", "--json")
    assert code == 0
    assert json.loads(out)["status"] == "ok"


def test_mappings_check_answers_invalid_auth_without_leaking_the_token(
    env: dict[str, str], sandbox: SandboxServer
) -> None:
    run(env, "init")
    code, out, _ = run(cms_env(env, sandbox, MATTERLINE_CMS_ACCESS_TOKEN="wrong-token-123"), "mappings", "check")
    assert code == 1
    assert out.startswith("invalid_auth: GET /api/v4/users/who_am_i.json: HTTP 401")
    assert "wrong-token-123" not in out


def test_mappings_check_answers_cannot_connect(env: dict[str, str]) -> None:
    unreachable = {**env, "MATTERLINE_CMS_BASE_URL": "http://127.0.0.1:9/api/v4", "MATTERLINE_CMS_ACCESS_TOKEN": "t"}
    run(env, "init")
    code, out, _ = run(unreachable, "mappings", "check")
    assert code == 1
    assert out.startswith("cannot_connect: GET /api/v4/users/who_am_i.json: connection failed")


def test_sync_against_a_failing_cms_exits_1_naming_the_endpoint(env: dict[str, str], sandbox: SandboxServer) -> None:
    env = cms_env(env, sandbox)
    run(env, "init")
    sandbox.state.faults.add(Fault("status", path="/matters.json", status=403))
    code, _, err = run(env, "sync")
    assert code == 1
    assert "GET /api/v4/matters.json: HTTP 403" in err
    assert DEFAULT_TOKEN not in err


def _audit_actions(url: str) -> list[tuple[str, dict[str, object]]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(audit_log.c.action, audit_log.c.details).order_by(audit_log.c.id)).all()
        return [(row.action, row.details or {}) for row in rows]
    finally:
        engine.dispose()


def test_a_check_is_audited_with_what_the_cms_said(env: dict[str, str], sandbox: SandboxServer) -> None:
    run(env, "init")
    assert run(cms_env(env, sandbox), "mappings", "check")[0] == 0
    [(_, details)] = [a for a in _audit_actions(env["MATTERLINE_DATABASE_URL"]) if a[0] == "cms_check"]
    assert details["status"] == "ok"


def test_sync_queue_asks_the_worker_once(env: dict[str, str], sandbox: SandboxServer) -> None:
    run(env, "init")
    code, out, _ = run(cms_env(env, sandbox), "sync", "--queue", "--json")
    assert code == 0
    asked = json.loads(out)
    assert asked["full"] is False
    code, _, err = run(cms_env(env, sandbox), "sync", "--queue")
    assert code == 1
    assert "sync_already_queued" in err
    assert [a for a, _ in _audit_actions(env["MATTERLINE_DATABASE_URL"]) if a == "sync_requested"] == ["sync_requested"]
