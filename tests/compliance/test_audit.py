"""The audit log's hash chain: `audit verify` catches an edited, deleted or reordered entry and names the first
broken one, and a recorded head catches entries cut off the end. Keyed by the secret key, the chain cannot be
recomputed by someone who can only edit the database, and signed checkpoints catch a cut-off tail.
(Listing the log: tests/cli/test_compliance.py.)"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, delete, func, select, text, update

from connector.compliance import audit
from connector.store import make_engine, upgrade
from connector.store.tables import audit_log
from tests.support.audit_log import SECRET_KEY, old_entries, rechain_plain, six_entries
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
    head = verdict["head"]
    assert (code, verdict["intact"], verdict["entries"], verdict["broken_id"], verdict["reason"]) == (
        0,
        True,
        6,
        None,
        None,
    )
    assert (verdict["keyed_from"], verdict["checkpoints"], verdict["last_checkpoint"]) == (None, 0, None)
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


# -- the keyed chain and its checkpoints ----------------------------------------------------------------------


@pytest.fixture
def keyed(env: dict[str, str]) -> dict[str, str]:
    """The CLI's settings with a secret key, as every real installation has one."""
    return {**env, "MATTERLINE_SECRET_KEY": SECRET_KEY}


def audited_actions(env: dict[str, str], count: int, *, first: int = 0) -> None:
    """`count` audited actions from the command line: people added to the team."""
    for n in range(first, first + count):
        code, _, err = run(
            env, "users", "add", "--name", f"Person {n}", "--email", f"p{n}@firm.example", "--role", "staff"
        )
        assert code == 0, err


def ids(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(select(audit_log.c.id).order_by(audit_log.c.id)).scalars())


def test_an_edit_with_every_hash_recomputed_by_plain_sha256_is_caught(keyed: dict[str, str], engine: Engine) -> None:
    audited_actions(keyed, 4)
    assert verify(keyed)[0] == 0
    second = ids(engine)[1]
    with engine.begin() as conn:  # someone with database access rewrites who was added, then re-chains
        conn.execute(update(audit_log).where(audit_log.c.id == second).values(details={"email": "x@else.example"}))
    rechain_plain(engine)
    code, verdict, err = verify(keyed)
    assert (code, verdict["intact"]) == (1, False)
    assert "key" in str(verdict["reason"])
    assert "audit log broken" in err


def test_an_edit_recomputed_up_to_itself_is_caught_where_the_keyed_entries_resume(
    keyed: dict[str, str], engine: Engine
) -> None:
    audited_actions(keyed, 4)
    log = ids(engine)
    with engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.id == log[1]).values(actor="someone-else"))
    rechain_plain(engine, through=log[1])
    code, verdict, _ = verify(keyed)
    assert (code, verdict["broken_id"]) == (1, log[2])  # the first entry left keyed no longer fits


def test_entries_cut_off_the_end_are_caught_against_the_last_checkpoint(keyed: dict[str, str], engine: Engine) -> None:
    audited_actions(keyed, 3)
    code, _, err = run(keyed, "audit", "checkpoint")
    assert code == 0, err
    audited_actions(keyed, 2, first=3)
    assert verify(keyed)[0] == 0
    log = ids(engine)
    with engine.begin() as conn:  # the last four: one the checkpoint covers, its own entry and two after
        conn.execute(delete(audit_log).where(audit_log.c.id.in_(log[-4:])))
    code, verdict, err = verify(keyed)
    assert (code, verdict["intact"]) == (1, False)
    assert "fewer entries than the last checkpoint" in str(verdict["reason"])
    assert verdict["last_checkpoint"]["entries"] == 3


def test_a_cut_that_spares_the_checkpointed_entries_is_caught_by_the_checkpoint_entry(
    keyed: dict[str, str], engine: Engine
) -> None:
    audited_actions(keyed, 3)
    assert run(keyed, "audit", "checkpoint")[0] == 0
    audited_actions(keyed, 1, first=3)
    log = ids(engine)
    with engine.begin() as conn:  # the checkpoint's own entry and the one after it
        conn.execute(delete(audit_log).where(audit_log.c.id.in_(log[-2:])))
    code, verdict, _ = verify(keyed)
    assert code == 1
    assert "entries after it were deleted" in str(verdict["reason"])


def test_a_printed_checkpoint_catches_a_cut_that_took_the_checkpoints_with_it(
    keyed: dict[str, str], engine: Engine
) -> None:
    audited_actions(keyed, 3)
    code, out, _ = run(keyed, "audit", "checkpoint", "--json")
    printed = json.loads(out)["checkpoint"]
    audited_actions(keyed, 2, first=3)
    assert run(keyed, "audit", "verify", "--checkpoint", printed)[0] == 0
    log = ids(engine)
    with engine.begin() as conn:  # the whole tail from the third entry, and every checkpoint
        conn.execute(delete(audit_log).where(audit_log.c.id.in_(log[2:])))
        conn.execute(text("DELETE FROM audit_checkpoints"))
    assert verify(keyed)[0] == 0  # what is left is consistent in itself: only the printed checkpoint can tell
    code, _, err = run(keyed, "audit", "verify", "--checkpoint", printed)
    assert code == 1
    assert "fewer entries than the checkpoint" in err


def test_a_forged_checkpoint_is_reported(keyed: dict[str, str], engine: Engine) -> None:
    audited_actions(keyed, 2)
    code, out, _ = run(keyed, "audit", "checkpoint", "--json")
    printed = json.loads(out)["checkpoint"]
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_checkpoints SET entries = entries + 5"))
    code, verdict, err = verify(keyed)
    assert (code, verdict["intact"], verdict["broken_id"]) == (1, False, None)
    assert "signature does not match" in str(verdict["reason"])
    parts = printed.split(".")
    parts[2] = str(int(parts[2]) + 5)  # the count of entries, raised
    forged = ".".join(parts)
    code, _, err = run(keyed, "audit", "verify", "--checkpoint", forged)
    assert code == 1
    assert "signature does not match" in err


def test_a_store_kept_by_the_unkeyed_log_is_keyed_by_init_and_verifies(db_url: str, keyed: dict[str, str]) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0006")  # the store as the unkeyed log left it, with its plain-SHA-256 entries
    old_entries(engine, 4)
    code, out, err = run(keyed, "init")
    assert code == 0, err
    code, verdict, _ = verify(keyed)
    assert (code, verdict["intact"], verdict["entries"]) == (0, True, 5)
    code, out, _ = run(keyed, "audit", "--json")
    rekeyed = json.loads(out)[-1]
    assert rekeyed["action"] == "chain_rekeyed"
    assert rekeyed["details"]["plain_entries"] == 4
    audited_actions(keyed, 1)
    assert verify(keyed)[0] == 0
    assert run(keyed, "init")[0] == 0  # again: nothing more to do
    with engine.begin() as conn:
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 6
        conn.execute(update(audit_log).where(audit_log.c.id == 2).values(actor="someone-else"))
    rechain_plain(engine, through=4)  # the old, plain part re-chained: the first keyed entry no longer fits
    code, verdict, _ = verify(keyed)
    assert (code, verdict["broken_id"]) == (1, 5)
    engine.dispose()


def test_without_the_key_a_keyed_log_refuses_the_action_it_would_record(
    keyed: dict[str, str], env: dict[str, str], engine: Engine
) -> None:
    audited_actions(keyed, 1)
    code, _, err = run(env, "users", "add", "--name", "Nokey", "--email", "nokey@firm.example", "--role", "staff")
    assert code == 1
    assert "MATTERLINE_SECRET_KEY" in err
    code, out, _ = run(keyed, "users", "list", "--json")
    assert [u["email"] for u in json.loads(out)] == ["p0@firm.example"]
    code, verdict, _ = verify(keyed)
    assert (code, verdict["intact"], verdict["entries"]) == (0, True, 1)


def test_the_audit_key_keeps_the_log_verifiable_across_a_new_secret_key(keyed: dict[str, str], engine: Engine) -> None:
    audited_actions(keyed, 2)
    rotated = {**keyed, "MATTERLINE_SECRET_KEY": "a-brand-new-secret-key-after-rotation"}
    code, verdict, _ = verify(rotated)
    assert (code, verdict["broken_id"]) == (1, ids(engine)[0])  # a new secret key alone cannot check the log
    rotated["MATTERLINE_AUDIT_KEY"] = SECRET_KEY  # the secret key the log was keyed with
    audited_actions(rotated, 1, first=2)
    code, verdict, _ = verify(rotated)
    assert (code, verdict["intact"], verdict["entries"]) == (0, True, 3)
