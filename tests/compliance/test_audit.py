"""The audit log's hash chain: `audit verify` catches an edited, deleted or reordered entry and names the first
broken one, and a recorded head catches entries cut off the end. (Listing the log: tests/cli/test_compliance.py.)"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, delete, select, update

from connector.compliance import audit
from connector.store.tables import audit_log
from tests.support.audit_log import six_entries
from tests.support.command import run


@pytest.fixture
def log(engine: Engine) -> list[int]:
    """Six entries across two matters (and one about no matter), as the code paths append them."""
    return six_entries(engine)


def verify(env: dict[str, str]) -> tuple[int, dict[str, object], str]:
    code, out, err = run(env, "audit", "verify", "--json")
    return code, json.loads(out), err


def test_an_intact_log_verifies(env: dict[str, str], log: list[int]) -> None:
    code, out, _ = run(env, "audit", "verify")
    assert code == 0
    assert "intact: 6 entries" in out
    code, verdict, _ = verify(env)
    head = verdict.pop("head")
    assert (code, verdict) == (0, {"intact": True, "entries": 6, "broken_id": None, "reason": None})
    assert isinstance(head, str)
    assert f"head {head}" in out


def test_entries_cut_off_the_end_are_caught_against_a_recorded_head(
    env: dict[str, str], engine: Engine, log: list[int]
) -> None:
    _, verdict, _ = verify(env)
    recorded = str(verdict["head"])
    code, _, _ = run(env, "audit", "verify", "--expect-head", recorded)
    assert code == 0
    with engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.id.in_(log[4:])))
    code, verdict, _ = verify(env)
    assert code == 0  # the shorter chain is consistent in itself: only the recorded head can tell
    code, _, err = run(env, "audit", "verify", "--expect-head", recorded)
    assert code == 1
    assert f"the recorded head {recorded} is not in the log: entries were deleted" in err


def test_an_empty_log_verifies(env: dict[str, str], engine: Engine) -> None:
    code, verdict, _ = verify(env)
    assert (code, verdict["intact"], verdict["entries"]) == (0, True, 0)


def test_an_edited_entry_is_named(env: dict[str, str], engine: Engine, log: list[int]) -> None:
    with engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.id == log[2]).values(details={"n": 2, "to_matter": "999"}))
    code, verdict, err = verify(env)
    assert code == 1
    assert (verdict["intact"], verdict["broken_id"]) == (False, log[2])
    assert "edited" in str(verdict["reason"])
    assert f"entry {log[2]}" in err


def test_an_edit_that_recomputes_its_own_hash_is_caught_at_the_next_entry(
    env: dict[str, str], engine: Engine, log: list[int]
) -> None:
    with engine.begin() as conn:
        row = dict(conn.execute(select(audit_log).where(audit_log.c.id == log[2])).one()._mapping)
        row["actor"] = "someone-else"
        forged = audit._digest(audit._material(row))  # a careful forger recomputes the entry's hash
        conn.execute(update(audit_log).where(audit_log.c.id == log[2]).values(actor="someone-else", hash=forged))
    code, verdict, _ = verify(env)
    assert (code, verdict["broken_id"]) == (1, log[3])  # the next entry still points at the true hash
    assert "does not follow" in str(verdict["reason"])


def test_a_deleted_entry_is_caught_at_the_entry_after_it(env: dict[str, str], engine: Engine, log: list[int]) -> None:
    with engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.id == log[3]))
    code, verdict, err = verify(env)
    assert code == 1
    assert verdict["broken_id"] == log[4]
    assert "deleted or reordered" in str(verdict["reason"])
    assert f"entry {log[4]}" in err


def test_two_swapped_entries_are_caught_at_the_first(env: dict[str, str], engine: Engine, log: list[int]) -> None:
    first, second = log[1], log[2]
    with engine.begin() as conn:  # the rows trade places in the log's order
        conn.execute(update(audit_log).where(audit_log.c.id == first).values(id=-1))
        conn.execute(update(audit_log).where(audit_log.c.id == second).values(id=first))
        conn.execute(update(audit_log).where(audit_log.c.id == -1).values(id=second))
    code, verdict, _ = verify(env)
    assert code == 1
    assert verdict["broken_id"] == first
    assert "reordered" in str(verdict["reason"])
    code, out, _ = run(env, "audit", "verify")
    assert code == 1
    assert "intact" not in out
