"""The custody conversation the transcript and summary tests both read: one realistic window, defined once."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from connector.messaging.twilio_errors import meaning
from connector.writeback.transcripts import WindowMessage

NY = ZoneInfo("America/New_York")
AVERY = "Avery Counsel"
SECRET = "PRIVILEGED-DRAFT do not send: tell him to call the police"
PHOTO = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"


def msg(
    id: int,
    at: datetime,
    direction: str,
    body: str,
    *,
    kind: str = "message",
    status: str = "delivered",
    error_code: int | None = None,
    error_message: str | None = None,
    author: str | None = None,
    media: tuple[tuple[str, str], ...] = (),
    blocked: bool = False,
) -> WindowMessage:
    return WindowMessage(
        id=id,
        direction="inbound" if direction == "in" else "outbound",
        kind=kind,
        body=body,
        status=status,
        error_code=error_code,
        error_message=error_message,
        author=author,
        media=media,
        created_at=at,
        blocked=blocked,
    )


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 11, 27, hour, minute, second, tzinfo=UTC)


CUSTODY = (
    msg(
        1,
        at(14, 14),
        "in",
        "Hi Avery, is the custody hearing still on for Dec 3? I need to know if I should take off work.",
    ),
    msg(2, at(14, 16), "in", "Here is the notice they mailed me.", media=(("image/jpeg", PHOTO),)),
    msg(
        3,
        at(14, 20),
        "out",
        "Yes, the hearing is still set for Dec 3 at 9:30 AM. I'll call you tomorrow at 3pm to go over what to bring.",
        author=AVERY,
    ),
    msg(
        4,
        at(14, 22),
        "out",
        "Please bring the school records too.",
        status="undelivered",
        error_code=30007,
        error_message=meaning(30007),  # stored with the code by the status callback, as the store holds it
        author=AVERY,
    ),
    msg(5, at(14, 28), "in", "My ex is refusing to bring the kids back tonight. What do I do?", kind="urgent"),
    msg(6, at(14, 30), "in", "STOP"),
    msg(
        7,
        at(14, 30, 5),
        "out",
        "You have been unsubscribed from Doe Family Law texts. Reply START to resubscribe.",
        kind="confirmation",
    ),
    msg(
        8, at(14, 40), "out", SECRET, status="blocked", error_message="recipient opted out", author=AVERY, blocked=True
    ),
)
