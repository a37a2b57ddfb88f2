"""An MMS image as the thread page shows it: fetched from Twilio by the app, with the account's credentials.

The page links to the app's own `/media/<message>/<n>`, never to Twilio: a Twilio media URL opens
with the account's credentials, and the browser must neither hold them nor learn the URL.
"""

from __future__ import annotations

from sqlalchemy import Engine

from connector.errors import not_found
from connector.messaging import media
from connector.queries import messages as messages_query
from connector.settings import Settings

__all__ = ["fetch"]


def fetch(engine: Engine, settings: Settings, message_id: int, index: int) -> media.Media:
    """The `index`-th media item (from 0) of message `message_id`, fetched from Twilio now.

    Raises:
        MatterlineError: not found (no such message or item, or its media was purged).
        MediaError: the URL is not Twilio's, or the fetch failed.
    """
    view = messages_query.get(engine, message_id)
    if view is None or view.purged_at is not None or not 0 <= index < len(view.media):
        raise not_found(f"no media {index} on message {message_id}")
    return media.fetch(view.media[index].get("url", ""), settings)
