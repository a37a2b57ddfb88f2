"""A firm's texting history built through the real paths: webhook + intake, a staff reply, delivery callbacks,
conversation windows, and the CMS confirming the transcripts. Shared by the retention and export tests.

Only two steps stand in for the outside world: Twilio accepting the reply (its SID and "queued" status are
set as the sender would set them) and the CMS confirming a write-back (`state='written'`, `written_at`).
Both are tested on their own elsewhere.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update

from connector import services
from connector.messaging import delivery, intake, reception
from connector.settings import Settings
from connector.staff.users import Actor
from connector.store.tables import messages, writebacks
from connector.writeback.windows import close_due
from tests.support.firm import OMAR, TWILIO_SID, inbound_form, new_sid, settings

MEDIA_URL = f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_SID}/Messages/MM{'0' * 32}/Media/ME{'1' * 32}"


def text_in(
    engine: Engine, from_: str, body: str, at: datetime, *, media: bool = False, media_url: str = MEDIA_URL
) -> int:
    """A client's text through the webhook's store and the worker's intake; the stored message id."""
    s = settings()
    extra = {"NumMedia": "1", "MediaUrl0": media_url, "MediaContentType0": "image/jpeg"} if media else {}
    with engine.begin() as conn:
        received = reception.receive(conn, reception.parse(inbound_form(from_, body, **extra), s), s, at)
    intake.drain(engine, s)
    assert received.message_id is not None
    return received.message_id


def reply(
    engine: Engine,
    matter_cms_id: str,
    body: str,
    at: datetime,
    s: Settings | None = None,
    *,
    actor: Actor | None = None,
    outcome: dict[str, str] | None = None,
) -> int:
    """A staff reply from the matter, accepted by Twilio and then reported sent and delivered (or, with
    `outcome`, the callback form fields of how it ended instead, e.g. undelivered with an error)."""
    queued = services.messages.send(
        engine,
        s or settings(),
        matter_cms_id=matter_cms_id,
        body=body,
        actor=actor or Actor("user:1:ann@firm.example"),
    )
    sid = new_sid()
    with engine.begin() as conn:
        conn.execute(
            update(messages)
            .where(messages.c.id == queued.id)
            .values(sid=sid, status="queued", sent_at=at, created_at=at, scheduled_for=None)
        )
        ending = outcome or {"MessageStatus": "delivered"}
        for offset, fields in enumerate(({"MessageStatus": "sent"}, ending), start=1):
            delivery.apply(conn, {"MessageSid": sid, **fields}, at + timedelta(seconds=offset))
    return queued.id


def file_omar_to(engine: Engine, matter_cms_id: str, at: datetime) -> None:
    """Omar has two open matters, so his texts wait in needs filing until staff file the thread."""
    with engine.connect() as conn:
        thread_id = conn.execute(
            select(messages.c.thread_id).where(messages.c.from_number == OMAR).order_by(messages.c.id)
        ).scalar()
    assert thread_id is not None
    services.threads.refile(
        engine, settings(), thread_id, matter_cms_id, actor=Actor("user:1:ann@firm.example"), now=at
    )


def close_windows(engine: Engine, at: datetime) -> list[int]:
    """Close every open window now; the new window ids."""
    return [c.window_id for c in close_due(engine, settings(), now=at, force=True)]


def confirm_written(engine: Engine, at: datetime, *, window_ids: list[int] | None = None, kinds: Any = None) -> None:
    """The CMS confirmed these windows' write-backs (all kinds unless `kinds` says which)."""
    query = update(writebacks).where(writebacks.c.state == "pending")
    if window_ids is not None:
        query = query.where(writebacks.c.window_id.in_(window_ids))
    if kinds is not None:
        query = query.where(writebacks.c.kind.in_(kinds))
    with engine.begin() as conn:
        conn.execute(query.values(state="written", written_at=at, cms_record_id="cms-1"))


def message(engine: Engine, message_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(messages).where(messages.c.id == message_id)).one()
