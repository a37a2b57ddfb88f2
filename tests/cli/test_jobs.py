"""The worker and its queue from the command line: `worker`, and `outbox list|replay|discard`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connector.compliance.audit import entries
from connector.store import make_engine
from tests.support.command import run

AuditLog = Callable[..., list[dict[str, Any]]]


def test_sync_worker_and_serve_audit_the_mapping_when_it_changes(texting: dict[str, str], tmp_path: Path) -> None:
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


def queue_a_text(texting: dict[str, str]) -> dict[str, Any]:
    """Queue a text (not sent: no worker has run); its job in `outbox list --json`."""
    code, _, err = run(texting, "send", "--matter", "101", "--body", "See you Monday")
    assert code == 0, err
    code, out, _ = run(texting, "outbox", "list", "--json")
    [job] = json.loads(out)
    assert (job["kind"], job["state"]) == ("sms_send", "pending")
    return job


def test_outbox_replay_of_a_job_that_is_not_dead_exits_1_and_replays_nothing(
    texting: dict[str, str], audit_log: AuditLog
) -> None:
    job = queue_a_text(texting)
    code, out, err = run(texting, "outbox", "replay", str(job["id"]))
    assert code == 1
    assert out == ""
    assert f"matterline: not_dead: job {job['id']} is not a dead letter" in err
    code, out, _ = run(texting, "outbox", "list", "--json")
    assert json.loads(out) == [job]
    assert audit_log("replay") == []


@pytest.mark.parametrize("blank", ["", "   "])
def test_outbox_discard_with_a_blank_reason_exits_2_and_keeps_the_job(
    texting: dict[str, str], audit_log: AuditLog, blank: str
) -> None:
    job = queue_a_text(texting)
    code, out, err = run(texting, "outbox", "discard", str(job["id"]), "--reason", blank)
    assert code == 2
    assert "needs a reason" in err
    assert out == ""
    code, out, _ = run(texting, "outbox", "list", "--json")
    assert json.loads(out) == [job]
    assert audit_log("discard") == []
    code, out, _ = run(texting, "worker", "--once")
    assert "1 sent" in out


def test_intake_list_and_retry_from_the_command_line(texting: dict[str, str]) -> None:
    from connector.store import make_engine
    from tests.support.inbox import set_aside

    engine = make_engine(texting["MATTERLINE_DATABASE_URL"])
    held = set_aside(engine)
    engine.dispose()
    code, out, _ = run(texting, "intake", "list", "--json")
    assert code == 0
    assert [(r["id"], r["reason"]) for r in json.loads(out)] == [(held, "ValueError: boom")]
    assert run(texting, "intake", "retry")[0] == 2  # neither an id nor --all
    code, out, _ = run(texting, "intake", "retry", "--all")
    assert (code, out) == (0, "1 texts put back for intake\n")
    assert json.loads(run(texting, "intake", "list", "--json")[1]) == []
