"""The kinds of outbox job and their idempotency keys: what may leave the building, each at most once.

A job's key is unique in the outbox, so enqueueing the same work twice (a retried transaction, a
second worker) stores one job. The keys are built here and only here, so every place that enqueues,
cancels or looks up a job agrees on them.
"""

from __future__ import annotations

from typing import Final

__all__ = ["SEND", "WRITE", "send_key", "write_key"]

# A text to Twilio (a staff reply, a confirmation, the emergency auto-reply).
SEND: Final = "sms_send"
# A record to the CMS (a transcript, a summary, a correction note, a task).
WRITE: Final = "cms_write"


def send_key(message_id: int) -> str:
    """The job that sends message `message_id`."""
    return f"sms:{message_id}"


def write_key(writeback_id: int) -> str:
    """The job that writes write-back record `writeback_id`."""
    return f"wb:{writeback_id}"
