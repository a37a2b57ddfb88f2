"""The media files of messages, what `MediaUrl{N}` points at, kept until a client deletes them."""

from __future__ import annotations

import itertools
from typing import Any

from connector.sandbox.twilio.constants import DEFAULT_PAGE_SIZE
from connector.sandbox.twilio.formats import make_sid, rfc2822
from connector.sandbox.twilio.responses import TwilioApiError
from connector.sandbox.twilio.store import MediaItem, TwilioStore


class MediaFiles(TwilioStore):
    """`.../Messages/{Sid}/Media` and the files behind each message's media URLs."""

    def _init_media(self) -> None:
        self._media: dict[str, MediaItem] = {}
        self._media_seq = itertools.count(1)

    def _add_media(self, parent_sid: str, content_type: str, content: bytes) -> MediaItem:
        item = MediaItem(
            sid=make_sid("ME", next(self._media_seq), self.account_sid),
            parent_sid=parent_sid,
            content_type=content_type,
            content=content,
            date_created=self.now(),
        )
        self._media[item.sid] = item
        return item

    def media(self, message_sid: str, media_sid: str) -> MediaItem:
        """One media file of a message (raises `TwilioApiError` 404 / 20404 when unknown)."""
        with self._lock:
            item = self._media.get(media_sid)
            if item is None or item.parent_sid != message_sid:
                path = self.account_path(f"/Messages/{message_sid}/Media/{media_sid}.json")
                raise TwilioApiError(404, 20404, f"The requested resource {path} was not found")
            return item

    def media_url(self, item: MediaItem) -> str:
        """The absolute URL Twilio puts in `MediaUrl{N}` (Basic auth required to fetch it)."""
        return f"{self.api_origin}{self.account_path(f'/Messages/{item.parent_sid}/Media/{item.sid}')}"

    def render_media(self, item: MediaItem) -> dict[str, Any]:
        """The media file as `api.v2010.account.message.media` JSON."""
        stamp = rfc2822(item.date_created)
        return {
            "account_sid": self.account_sid,
            "content_type": item.content_type,
            "date_created": stamp,
            "date_updated": stamp,
            "parent_sid": item.parent_sid,
            "sid": item.sid,
            "uri": self.account_path(f"/Messages/{item.parent_sid}/Media/{item.sid}.json"),
        }

    def media_list(self, message_sid: str) -> dict[str, Any]:
        """`GET .../Messages/{Sid}/Media.json`: one page holding every media file of the message."""
        with self._lock:
            message = self._require_message(message_sid)
            items = [self.render_media(self._media[s]) for s in message.media if s in self._media]
        uri = self.account_path(f"/Messages/{message_sid}/Media.json?PageSize={DEFAULT_PAGE_SIZE}&Page=0")
        return {
            "end": max(len(items) - 1, 0),
            "first_page_uri": uri,
            "media_list": items,
            "next_page_uri": None,
            "page": 0,
            "page_size": DEFAULT_PAGE_SIZE,
            "previous_page_uri": None,
            "start": 0,
            "uri": uri,
        }

    def delete_media(self, message_sid: str, media_sid: str) -> None:
        """`DELETE .../Media/{Sid}.json`: Twilio keeps media until this is called."""
        with self._lock:
            self.media(message_sid, media_sid)
            del self._media[media_sid]
            message = self._messages.get(message_sid)
            if message is not None:
                message.media.remove(media_sid)
