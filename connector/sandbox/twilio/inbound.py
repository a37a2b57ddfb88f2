"""Incoming messages: stored as Twilio stores them, then posted to a receiver as Twilio's signed webhook."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import requests

from connector.sandbox.twilio.constants import OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS
from connector.sandbox.twilio.delivery import Delivery
from connector.sandbox.twilio.media import MediaFiles
from connector.sandbox.twilio.segments import count_segments
from connector.sandbox.twilio.store import _Message
from connector.sandbox.twilio.webhooks import build_inbound, post_signed


class Inbound(MediaFiles, Delivery):
    """`build_inbound`, `inbound` and `post_inbound`: what a client texting the firm looks like to a receiver."""

    def build_inbound(
        self,
        url: str,
        from_: str,
        to: str,
        body: str = "",
        media: Sequence[tuple[str, str | bytes]] = (),
        messaging_service_sid: str | None = None,
        opt_out_type: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> tuple[dict[str, str], str]:
        """Record an incoming message (and its media) and build its signed webhook form.

        `media` is (content type, content) pairs; their `MediaUrl{N}` point back at this stand-in.
        A single-word STOP/START keyword toggles `opted_out`, as Twilio's default handling does.
        """
        with self._lock:
            now = self.now()
            sid, seq = self._new_sid("MM" if media else "SM")
            message = _Message(
                sid=sid,
                seq=seq,
                direction="inbound",
                to=to,
                from_=from_,
                body=body,
                status="received",
                date_created=now,
                date_updated=now,
                date_sent=now,
                num_media=len(media),
                num_segments=count_segments(body),
                messaging_service_sid=messaging_service_sid,
            )
            items = [
                self._add_media(sid, content_type, content.encode() if isinstance(content, str) else content)
                for content_type, content in media
            ]
            message.media = [item.sid for item in items]
            self._store(message)
            keyword = body.strip().upper()
            if self.builtin_opt_out and keyword in OPT_OUT_KEYWORDS:
                self.opted_out.add(from_)
            elif self.builtin_opt_out and keyword in OPT_IN_KEYWORDS:
                self.opted_out.discard(from_)
            media_refs = [(self.media_url(item), item.content_type) for item in items]
        return build_inbound(
            url,
            auth_token=self.auth_token,
            account_sid=self.account_sid,
            message_sid=sid,
            from_=from_,
            to=to,
            body=body,
            media=media_refs,
            messaging_service_sid=messaging_service_sid,
            opt_out_type=opt_out_type,
            extra=extra,
        )

    def inbound(
        self,
        url: str,
        from_: str,
        to: str,
        body: str = "",
        media: Sequence[tuple[str, str | bytes]] = (),
        messaging_service_sid: str | None = None,
        opt_out_type: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Simulate an incoming SMS/MMS: build, sign for `url`, and POST it as Twilio would."""
        params, signature = self.build_inbound(url, from_, to, body, media, messaging_service_sid, opt_out_type, extra)
        return self.post_inbound(url, params, signature)

    def post_inbound(self, url: str, params: Mapping[str, str], signature: str) -> requests.Response:
        """POST an already built webhook form (e.g. the same MessageSid twice, as a Twilio retry does)."""
        self.stats.bump("inbound_sent")
        return post_signed(self._target(url), params, signature, timeout=self.callback_timeout)
