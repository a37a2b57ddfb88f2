"""The worker's round: each step runs on its own, so one that fails (a CMS that is down, a bug) never stops
texts from being taken in and sent."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from connector import services
from connector.jobs.worker import Worker
from connector.sandbox import TwilioServer, TwilioState
from connector.staff.users import Actor
from mappings import load_mapping
from tests.support.audit_log import SECRET_KEY
from tests.support.command import run
from tests.support.firm import FIRM_NUMBER, JANE, seed, via_twilio
from tests.support.people import add_user

CLIO = load_mapping("clio")


@pytest.fixture
def twilio() -> Iterator[TwilioServer]:
    with TwilioServer(TwilioState(incoming_numbers=(FIRM_NUMBER,))) as server:
        yield server


def test_a_failing_step_is_reported_and_the_others_still_run(engine: Engine, twilio: TwilioServer) -> None:
    seed(engine)
    settings = via_twilio(twilio, MATTERLINE_CMS_ACCESS_TOKEN="configured", MATTERLINE_QUIET_HOURS="off")

    def cms_down() -> object:
        raise ConnectionError("the CMS is unreachable")

    queued = services.messages.send(engine, settings, to=JANE, body="Your papers are ready", actor=Actor("test"))
    worker = Worker(engine, settings, cms_down)  # type: ignore[arg-type]
    result = worker.round()
    assert result.sends.sent == 1
    assert [m["body"] for m in twilio.state.messages(to=JANE)] == ["Your papers are ready"]
    # Named by step and kind only: an exception's own text can carry a client's text or number.
    assert any(error == "cms_write: ConnectionError" for error in result.errors), result.errors
    assert queued.id


def test_the_worker_signs_one_audit_checkpoint_a_day(env: dict[str, str], engine: Engine) -> None:
    keyed = {**env, "MATTERLINE_SECRET_KEY": SECRET_KEY}
    add_user(engine, name="Ada", email="ada@firm.example", role="admin")  # something to checkpoint
    for _ in range(2):
        code, _, err = run(keyed, "worker", "--once")
        assert code == 0, err
    code, out, _ = run(keyed, "audit", "verify", "--json")
    verdict = json.loads(out)
    assert (code, verdict["checkpoints"]) == (0, 1)
    log = json.loads(run(keyed, "audit", "--json")[1])
    signed = [e["action"] for e in log].index("audit_checkpoint")  # the entries before its own
    assert (verdict["last_checkpoint"]["entries"], verdict["last_checkpoint"]["entry_id"]) == (
        signed,
        log[signed - 1]["id"],
    )
