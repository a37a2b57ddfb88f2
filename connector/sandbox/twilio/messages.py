"""The Messages resource's creates, deletes and lists, refused and paged where Twilio refuses and pages them."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from connector.sandbox.twilio.constants import CREATE_PARAMS, MAX_BODY, MAX_MEDIA, MESSAGES_PATH
from connector.sandbox.twilio.delivery import Delivery
from connector.sandbox.twilio.formats import _valid_callback_url, _valid_number
from connector.sandbox.twilio.listing import _date_filter, _equals, _page_size, _sent_where
from connector.sandbox.twilio.media import MediaFiles
from connector.sandbox.twilio.responses import TwilioApiError
from connector.sandbox.twilio.segments import utf16_length
from connector.sandbox.twilio.store import _Message


class Messages(MediaFiles, Delivery):
    """`POST`, `GET` and `DELETE` on `.../Messages`; a create plays its delivery through at once."""

    def _init_messages(self) -> None:
        self.unknown_params_seen: list[str] = []

    def create_message(self, form: Iterable[tuple[str, str]]) -> dict[str, Any]:
        """`POST .../Messages.json`: validate as Twilio does, store, answer the initial JSON.

        After the answer is rendered, the message moves through its delivery (queued, sent, then
        delivered / undelivered / failed) and each step's status callback is queued. Parameters
        outside `CreateMessageRequest` are recorded in `unknown_params_seen`, not refused.
        """
        pairs = list(form)
        values: dict[str, list[str]] = {}
        for key, value in pairs:
            values.setdefault(key, []).append(value)
        with self._lock:
            self.unknown_params_seen.extend(key for key in values if key not in CREATE_PARAMS)

        def one(name: str) -> str:
            return values.get(name, [""])[-1]

        to, sender, service = one("To").strip(), one("From").strip(), one("MessagingServiceSid").strip()
        body, media_urls, callback = one("Body"), [u for u in values.get("MediaUrl", []) if u], one("StatusCallback")
        self._validate(to, sender, service, body, media_urls, one("ContentSid"), callback)
        with self._lock:
            now = self.now()
            sid, seq = self._new_sid("MM" if media_urls else "SM")
            message = _Message(
                sid=sid,
                seq=seq,
                direction="outbound-api",
                to=to,
                from_=sender or None,
                body=body,
                status="accepted" if service else "queued",
                date_created=now,
                date_updated=now,
                num_media=len(media_urls),
                num_segments=0 if service else self._segments(body, len(media_urls)),
                messaging_service_sid=service or None,
                status_callback=callback or None,
            )
            for url in media_urls:
                content_type = mimetypes.guess_type(urlsplit(url).path)[0] or "application/octet-stream"
                message.media.append(self._add_media(sid, content_type, f"sandbox copy of {url}\n".encode()).sid)
            self._store(message)
            answer = self.render(message)
            self._deliver(message)
            return answer

    def _validate(
        self, to: str, sender: str, service: str, body: str, media: list[str], content_sid: str, callback: str
    ) -> None:
        if not to:
            raise TwilioApiError(400, 21604, "'To' phone number is required")
        if not sender and not service:
            raise TwilioApiError(400, 21603, "A 'From' phone number is required")
        if not body and not media and not content_sid:
            raise TwilioApiError(400, 21602, "Message body is required")
        if utf16_length(body) > MAX_BODY:
            raise TwilioApiError(400, 21617, f"The concatenated message body exceeds the {MAX_BODY} character limit")
        if len(media) > MAX_MEDIA:
            raise TwilioApiError(400, 21623, "Number of media files exceeds allowed limit")
        if any(urlsplit(url).scheme not in {"http", "https"} for url in media):
            raise TwilioApiError(400, 21620, "Invalid media URL(s)")
        if service and service != self.messaging_service_sid:
            raise TwilioApiError(400, 21701, f"The Messaging Service Sid {service} is invalid.")
        allowed = self.messaging_service_numbers if service else self.numbers
        if sender and sender not in allowed:
            raise TwilioApiError(
                400,
                21606,
                f"The From phone number {sender} is not a valid, SMS-capable inbound phone number or short code "
                "for your account.",
            )
        if callback and not _valid_callback_url(callback):
            raise TwilioApiError(400, 21609, f"Invalid StatusCallback url: {callback}")
        if not _valid_number(to, self.strict_numbers):
            raise TwilioApiError(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if to == sender:
            raise TwilioApiError(400, 21266, "'To' and 'From' number cannot be the same")
        if to in self.landlines:
            raise TwilioApiError(400, 21614, f"'To' number {to} is not a valid mobile number")
        if to in self.opted_out:
            raise TwilioApiError(400, 21610, "Attempt to send to unsubscribed recipient")

    def delete_message(self, sid: str) -> None:
        """`DELETE .../Messages/{Sid}.json`: the message and its media are gone."""
        with self._lock:
            message = self._require_message(sid)
            for media_sid in message.media:
                self._media.pop(media_sid, None)
            del self._messages[sid]

    def list_messages(self, args: Mapping[str, str]) -> dict[str, Any]:
        """`GET .../Messages.json`: Twilio's list envelope, newest first, filtered and paged.

        Paging is by token (`PageToken=PA<sid>` continues after that message), so a message created
        between two pages never shifts the second page.
        """
        filters: list[Callable[[_Message], bool]] = []
        if "To" in args:
            filters.append(_equals("to", args["To"]))
        if "From" in args:
            filters.append(_equals("from_", args["From"]))
        dated = [name for name in ("DateSent", "DateSent>", "DateSent<") if name in args]
        filters.extend(_sent_where(_date_filter(name, args[name])) for name in dated)
        size = _page_size(args)
        page_raw = args.get("Page", "0")
        page = int(page_raw) if page_raw.isdigit() else 0
        with self._lock:
            self._send_queued()
            rows = [m for m in self._newest_first() if all(check(m) for check in filters)]
            start = self._page_start(rows, args.get("PageToken"), page, size)
            chunk = rows[start : start + size]
            rendered = [self.render(m) for m in chunk]
        base = [(k, v) for k, v in args.items() if k in {"To", "From", "DateSent", "DateSent<", "DateSent>"}]
        path = self.account_path(MESSAGES_PATH)

        def uri(page_number: int, token: str | None) -> str:
            query = [*base, ("PageSize", str(size)), ("Page", str(page_number))]
            if token is not None:
                query.append(("PageToken", token))
            return f"{path}?{urlencode(query)}"

        has_more = start + size < len(rows)
        return {
            "end": start + max(len(chunk) - 1, 0),
            "first_page_uri": uri(0, None),
            "messages": rendered,
            "next_page_uri": uri(page + 1, f"PA{chunk[-1].sid}") if has_more and chunk else None,
            "page": page,
            "page_size": size,
            "previous_page_uri": uri(page - 1, f"PB{chunk[0].sid}") if page > 0 and chunk else None,
            "start": start,
            "uri": uri(page, args.get("PageToken")),
        }

    @staticmethod
    def _page_start(rows: list[_Message], token: str | None, page: int, size: int) -> int:
        """Where a page begins: after (`PA`) or a page before (`PB`) the token's message, else by index."""
        if token and token[:2] in {"PA", "PB"}:
            positions = {m.sid: index for index, m in enumerate(rows)}
            anchor = positions.get(token[2:])
            if anchor is None:
                raise TwilioApiError(400, 20001, f"Invalid PageToken: {token}")
            return anchor + 1 if token[:2] == "PA" else max(anchor - size, 0)
        return page * size
