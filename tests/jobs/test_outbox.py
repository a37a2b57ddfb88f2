"""The outbox's leases: a job being worked is one worker's, and a worker knows when it no longer is."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from connector.const import LEASE
from connector.jobs import outbox

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_a_renewed_lease_keeps_the_job_and_a_lapsed_one_taken_by_another_worker_is_lost(engine: Engine) -> None:
    with engine.begin() as conn:
        outbox.enqueue(conn, "send", "send:1", {"message_id": 1}, now=T0)
        outbox.enqueue(conn, "send", "send:2", {"message_id": 2}, now=T0)
    first, second = outbox.lease(engine, "a", now=T0)
    later = T0 + LEASE * 0.9
    with engine.begin() as conn:
        assert outbox.renew(conn, first, "a", now=later)  # still a's: renewed just before its call
    # Past the first lease: b may take what a did not renew, and only that.
    taken = outbox.lease(engine, "b", now=T0 + LEASE * 1.1)
    assert [job.key for job in taken] == ["send:2"]
    with engine.begin() as conn:
        assert not outbox.renew(conn, second, "a", now=T0 + LEASE * 1.2)  # a must not send it
        outbox.complete(conn, taken[0], "b", now=T0 + LEASE * 1.2)
        assert not outbox.renew(conn, taken[0], "b", now=T0 + LEASE * 1.3)  # done: nothing left to renew
