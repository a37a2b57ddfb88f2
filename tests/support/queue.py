"""Moving a test's queue forward in time without sleeping through the waits the product keeps."""

from __future__ import annotations

from sqlalchemy import Engine, update

from connector.store.tables import outbox, send_attempts


def make_due(engine: Engine) -> None:
    """Every job due now and unleased, and every unanswered Twilio call past its claim (SEND_CLAIM, LOOK_UP_SETTLE).

    After a call ends without an answer the sender waits out the claim before it looks the text up at
    Twilio; a test that means "later" moves the claim into the past instead of waiting two minutes.
    """
    with engine.begin() as conn:
        conn.execute(update(outbox).values(next_attempt_at=outbox.c.created_at, leased_until=None))
        conn.execute(
            update(send_attempts)
            .where(send_attempts.c.outcome.in_(("started", "ambiguous")))
            .values(claimed_until=send_attempts.c.started_at)
        )
