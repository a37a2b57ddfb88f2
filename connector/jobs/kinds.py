"""The kinds of outbox job and their idempotency keys: what may leave the building, each at most once.

A job's key is unique in the outbox, so enqueueing the same work twice (a retried transaction, a
second worker) stores one job. The keys are built here and only here, so every place that enqueues,
cancels or looks up a job agrees on them.
"""

from __future__ import annotations

from typing import Final

__all__ = ["SEND", "SYNC", "WRITE", "send_key", "sync_key", "write_key"]

# A text to Twilio (a staff reply, a confirmation, the emergency auto-reply).
SEND: Final = "sms_send"
# A record to the CMS (a transcript, a summary, a correction note, a task).
WRITE: Final = "cms_write"
# A sync from the CMS an admin asked for ("Sync now" on the connection page), run by the worker.
SYNC: Final = "cms_sync"


def send_key(message_id: int) -> str:
    """The job that sends message `message_id`."""
    return f"sms:{message_id}"


def write_key(writeback_id: int) -> str:
    """The job that writes write-back record `writeback_id`."""
    return f"wb:{writeback_id}"


def sync_key(request: str) -> str:
    """The job that runs sync request `request` (unique per request: each "Sync now" is its own run)."""
    return f"sync:{request}"
