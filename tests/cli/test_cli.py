"""The command line as an admin uses it: exit codes, messages and the JSON listings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from connector.sandbox import DEFAULT_TOKEN, ClioState, Fault, SandboxServer, generate_firm
from connector.store import make_engine
from connector.sync.ingest import apply
from connector.sync.records import read_contact, read_matter
from mappings import load_mapping
from tests.support.command import run

CLIO = load_mapping("clio")


def test_init_is_safe_to_run_twice(env: dict[str, str]) -> None:
    code, out, _ = run(env, "init")
    assert code == 0
    assert "upgraded from empty" in out
    code, out, _ = run(env, "init")
    assert code == 0
    assert "is current" in out


def test_commands_refuse_a_store_that_was_not_initialised(env: dict[str, str]) -> None:
    code, _, err = run(env, "clients", "--json")
    assert code == 1
    assert "matterline init" in err


def test_bad_settings_exit_2_naming_each(env: dict[str, str]) -> None:
    code, _, err = run({**env, "MATTERLINE_TIMEZONE": "Nowhere/Land", "MATTERLINE_CMS": "nope"}, "init")
    assert code == 2
    assert "MATTERLINE_TIMEZONE" in err
    assert "MATTERLINE_CMS" in err


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
    code, out, _ = run(cms_env(env, sandbox), "mappings", "check", "--json")
    assert code == 0
    assert json.loads(out)["status"] == "ok"


def test_mappings_check_answers_invalid_auth_without_leaking_the_token(
    env: dict[str, str], sandbox: SandboxServer
) -> None:
    code, out, _ = run(cms_env(env, sandbox, MATTERLINE_CMS_ACCESS_TOKEN="wrong-token-123"), "mappings", "check")
    assert code == 1
    assert out.startswith("invalid_auth: GET /api/v4/users/who_am_i.json: HTTP 401")
    assert "wrong-token-123" not in out


def test_mappings_check_answers_cannot_connect(env: dict[str, str]) -> None:
    unreachable = {**env, "MATTERLINE_CMS_BASE_URL": "http://127.0.0.1:9/api/v4", "MATTERLINE_CMS_ACCESS_TOKEN": "t"}
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


# -- texting from the command line --------------------------------------------------------------------


@pytest.fixture
def texting(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """A seeded firm and the Twilio stand-in, configured as an admin would."""
    from connector.sandbox import (
        SANDBOX_ACCOUNT_SID,
        SANDBOX_AUTH_TOKEN,
        TwilioServer,
        TwilioState,
    )
    from tests.support import firm

    run(env, "init")
    engine = make_engine(env["MATTERLINE_DATABASE_URL"])
    firm.seed(engine)
    engine.dispose()
    with TwilioServer(TwilioState(incoming_numbers=(firm.FIRM_NUMBER,))) as twilio:
        yield {
            **env,
            "MATTERLINE_FIRM_NUMBERS": firm.FIRM_NUMBER,
            "TWILIO_ACCOUNT_SID": SANDBOX_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": SANDBOX_AUTH_TOKEN,
            "MATTERLINE_TWILIO_API_URL": twilio.origin,
            "MATTERLINE_QUIET_HOURS": "off",  # sends here go at any hour; tests/test_outbound.py covers holding
        }


def test_users_add_prints_the_token_once_and_lists_without_it(texting: dict[str, str]) -> None:
    code, out, _ = run(
        texting,
        "users",
        "add",
        "--name",
        "Avery Counsel",
        "--email",
        "Avery@Firm.example",
        "--role",
        "attorney",
        "--json",
    )
    assert code == 0
    created = json.loads(out)
    assert created["token"].startswith("ml_")
    assert created["email"] == "avery@firm.example"
    code, out, _ = run(texting, "users", "list", "--json")
    assert json.loads(out) == [
        {
            "id": created["id"],
            "name": "Avery Counsel",
            "email": "avery@firm.example",
            "role": "attorney",
            "disabled": False,
        }
    ]
    assert created["token"] not in out
    code, _, err = run(texting, "users", "add", "--name", "Again", "--email", "avery@firm.example", "--role", "staff")
    assert code == 1
    assert "already exists" in err


def test_send_queue_worker_threads_and_messages(texting: dict[str, str]) -> None:
    run(texting, "users", "add", "--name", "Avery Counsel", "--email", "avery@firm.example", "--role", "attorney")
    code, out, err = run(
        texting,
        "send",
        "--matter",
        "101",
        "--body",
        "Your hearing is at 9:30 ☺",
        "--as",
        "avery@firm.example",
        "--json",
    )
    assert code == 0, err
    queued = json.loads(out)
    assert (queued["to"], queued["status"], queued["encoding"], queued["segments"]) == (
        "+14158675309",
        "pending",
        "UCS-2",
        1,
    )
    code, out, _ = run(texting, "worker", "--once")
    assert code == 0
    assert "1 sent" in out
    code, out, _ = run(texting, "threads", "--json")
    threads = json.loads(out)
    assert [set(t) for t in threads] == [
        {
            "id",
            "firm_number",
            "client_phone",
            "client_cms_id",
            "matter_cms_id",
            "state",
            "filing_rule",
            "urgent",
            "assignee",
            "message_count",
            "last_message_at",
        }
    ]
    assert (threads[0]["matter_cms_id"], threads[0]["client_phone"]) == ("101", "+14158675309")
    code, out, _ = run(texting, "messages", "--thread", str(threads[0]["id"]), "--json")
    messages = json.loads(out)
    assert [set(m) for m in messages] == [
        {"id", "sid", "direction", "body", "status", "error_code", "matter_cms_id", "author", "created_at"}
    ]
    assert messages[0]["sid"].startswith("SM")
    assert messages[0]["author"] == "avery@firm.example"
    assert messages[0]["status"] in ("queued", "sent", "delivered")


def test_send_to_an_opted_out_number_exits_1_and_optouts_lists_it(texting: dict[str, str]) -> None:
    from connector.guardrails import optouts

    engine = make_engine(texting["MATTERLINE_DATABASE_URL"])
    with engine.begin() as conn:
        optouts.record(conn, "+14158675309", "opt_out", "keyword", keyword="STOP")
    engine.dispose()
    code, _, err = run(texting, "send", "--to", "(415) 867-5309", "--body", "hello")
    assert code == 1
    assert "recipient_opted_out" in err
    code, out, _ = run(texting, "optouts", "--json")
    listing = json.loads(out)
    assert [set(row) for row in listing] == [{"phone", "opted_out", "since", "source"}]
    assert (listing[0]["phone"], listing[0]["opted_out"], listing[0]["source"]) == ("+14158675309", True, "keyword")


def test_send_refuses_a_body_over_1600_characters(texting: dict[str, str]) -> None:
    code, _, err = run(texting, "send", "--to", "+14158675309", "--body", "x" * 1601)
    assert code == 1
    assert "body_too_long" in err


# -- write-back from the command line ----------------------------------------------------------------------


def test_file_writebacks_and_outbox_commands(env: dict[str, str]) -> None:
    from connector.messaging import intake, reception
    from connector.store.engine import utcnow
    from tests.support import firm

    run(env, "init")
    engine = make_engine(env["MATTERLINE_DATABASE_URL"])
    firm.seed(engine)
    settings = firm.settings(MATTERLINE_DATABASE_URL=env["MATTERLINE_DATABASE_URL"])
    with engine.begin() as conn:
        reception.receive(
            conn, reception.parse(firm.inbound_form(firm.JANE, "Is the hearing on?"), settings), settings, utcnow()
        )
    intake.drain(engine, settings)
    engine.dispose()
    texting = {**env, "MATTERLINE_FIRM_NUMBERS": firm.FIRM_NUMBER}
    code, _, err = run(texting, "file")
    assert code == 2  # neither --thread nor --all
    code, out, _ = run(texting, "file", "--all", "--json")
    assert code == 0
    assert [(w["matter_cms_id"], w["messages"], w["writebacks"]) for w in json.loads(out)] == [("101", 1, 2)]
    code, out, _ = run(texting, "writebacks", "--json")
    rows = json.loads(out)
    assert [set(r) for r in rows] == [
        {"id", "kind", "thread_id", "matter_cms_id", "state", "cms_record_id", "attempts", "last_error"}
    ] * 2
    assert [(r["kind"], r["state"]) for r in rows] == [("transcript", "pending"), ("summary", "pending")]
    code, out, _ = run(texting, "outbox", "list", "--json")
    jobs = json.loads(out)
    assert {j["kind"] for j in jobs} == {"cms_write"}
    code, out, err = run(texting, "outbox", "discard", str(jobs[0]["id"]), "--reason", "written by hand in Clio")
    assert code == 0, err
    code, out, _ = run(texting, "outbox", "replay", str(jobs[0]["id"]))
    assert code == 1  # only dead letters can be replayed
    code, out, _ = run(texting, "outbox", "replay", "--all-dead")
    assert code == 0
    assert "replayed 0 jobs" in out


# -- guardrails ---------------------------------------------------------------------------------------------


def test_consent_is_recorded_withdrawn_and_listed(texting: dict[str, str]) -> None:
    code, out, err = run(
        texting,
        "consent",
        "record",
        "--phone",
        "(202) 555-0143",
        "--method",
        "web_form",
        "--source",
        "form 88",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["phone"] == "+12025550143"
    code, _, err = run(texting, "send", "--to", "+12025550143", "--body", "Welcome to the firm")
    assert code == 0, err
    code, _, _ = run(texting, "consent", "revoke", "--phone", "+12025550143", "--method", "verbal")
    assert code == 0
    code, _, err = run(texting, "send", "--to", "+12025550143", "--body", "One more thing")
    assert code == 1
    assert "consent_required" in err
    code, out, _ = run(texting, "consent", "list", "--phone", "202-555-0143", "--json")
    assert [(r["action"], r["method"]) for r in json.loads(out)] == [("grant", "web_form"), ("revoke", "verbal")]
    code, _, err = run(texting, "consent", "record", "--phone", "call me maybe", "--method", "verbal")
    assert code == 2
    assert "is not a phone number" in err


def test_a_send_with_a_warning_needs_an_override_reason_and_a_block_cannot_be_sent(texting: dict[str, str]) -> None:
    code, _, err = run(texting, "send", "--matter", "101", "--body", "They offered $45,000")
    assert code == 1
    assert "content_rule" in err
    assert "warn settlement_amount:" in err
    assert "$45,000" in err
    code, out, err = run(
        texting,
        "send",
        "--matter",
        "101",
        "--body",
        "They offered $45,000",
        "--override-reason",
        "client asked",
        "--json",
    )
    assert code == 0, err
    assert [w["rule"] for w in json.loads(out)["warnings"]] == ["settlement_amount"]
    code, _, err = run(
        texting, "send", "--matter", "101", "--body", "SSN 123-45-6789", "--override-reason", "client asked"
    )
    assert code == 1
    assert "block ssn" in err


def test_a_send_at_night_is_held_and_says_when_it_goes(texting: dict[str, str]) -> None:
    from tests.support import firm

    window = firm.shut_window()
    start = int(window[:2])
    night = {**texting, "MATTERLINE_QUIET_HOURS": window}
    code, out, err = run(night, "send", "--matter", "101", "--body", "See you tomorrow", "--json")
    assert code == 0, err
    held = json.loads(out)
    assert held["status"] == "scheduled"
    opens = datetime.fromisoformat(held["scheduled_for"]).astimezone(ZoneInfo("America/Los_Angeles"))
    assert (opens.hour, opens.minute) == (start, 0)
    code, out, err = run(
        night, "send", "--matter", "101", "--body", "Hearing moved", "--quiet-hours-reason", "hearing moved", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["status"] == "pending"
    run(night, "users", "add", "--name", "Sam Staff", "--email", "sam@firm.example", "--role", "staff")
    code, _, err = run(
        night, "send", "--matter", "101", "--body", "Hi", "--quiet-hours-reason", "urgent", "--as", "sam@firm.example"
    )
    assert code == 1
    assert "forbidden_role" in err
    code, out, err = run(night, "cancel", str(held["id"]), "--reason", "client called instead")
    assert code == 0, err
    assert f"canceled message {held['id']}" in out
    code, _, err = run(night, "cancel", str(held["id"]), "--reason", "again")
    assert code == 1
    assert "not_cancelable" in err


def test_sync_worker_and_serve_audit_the_mapping_when_it_changes(texting: dict[str, str], tmp_path: Path) -> None:
    from connector.compliance.audit import entries
    from connector.store import make_engine

    engine = make_engine(texting["MATTERLINE_DATABASE_URL"])
    run(texting, "worker", "--once")
    run(texting, "worker", "--once")
    override = tmp_path / "firm.json"
    override.write_text(json.dumps({"resources": {"clients": {"fields": {"time_zone": "time_zone"}}}}))
    run({**texting, "MATTERLINE_MAPPING_FILE": str(override)}, "worker", "--once")
    changes = [e for e in entries(engine) if e["action"] == "mapping_change"]
    engine.dispose()
    assert [e["details"]["first"] for e in changes] == [True, False]
    assert set(changes[1]["details"]["files"]) == {"clio.json", "override:firm.json"}
