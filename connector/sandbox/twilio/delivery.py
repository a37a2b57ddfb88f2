"""A message's delivery played through after the create answer, and the signed status callbacks each step queues."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import requests

from connector.sandbox.twilio.constants import API_VERSION, CALLBACK_TIMEOUT, DELIVERY_ERRORS, PRICE_PER_SEGMENT
from connector.sandbox.twilio.store import QueuedCallback, TwilioStore, _Message
from connector.sandbox.twilio.webhooks import post_signed, twilio_signature


class Delivery(TwilioStore):
    """Delivery steps (queued, sent, delivered / undelivered / failed) and `deliver_callbacks`, which posts them.

    Each sender number sends at `send_rate` messages a second (None: at once), as a long code's 1 MPS does:
    a message waits `queued`, with no `date_sent`, until its turn, which comes when the state is next read
    at or after that moment.
    """

    def _init_delivery(self) -> None:
        self._callbacks: list[QueuedCallback] = []
        self._sticky: dict[str, str] = {}
        self.callback_timeout = CALLBACK_TIMEOUT
        self.proxy_origins: dict[str, str] = {}
        self.send_rate: float | None = None
        self._queue: list[tuple[datetime, _Message]] = []
        self._free_at: dict[str, datetime] = {}

    def _sender(self, to: str) -> str:
        """Sticky sender: a recipient keeps the pool number it was first texted from."""
        pool = self.messaging_service_numbers
        if to not in self._sticky:
            self._sticky[to] = pool[len(self._sticky) % len(pool)]
        return self._sticky[to]

    def _deliver(self, message: _Message) -> None:
        """Queue the message behind its sender number's earlier ones; it goes when its turn comes (lock held)."""
        if message.messaging_service_sid:
            self._advance(message, "queued", None)
        sender = message.from_ or self._sender(message.to)
        moment = self._clock()
        turn = max(moment, self._free_at.get(sender, moment))
        if self.send_rate:
            self._free_at[sender] = turn + timedelta(seconds=1 / self.send_rate)
        self._queue.append((turn, message))
        self._send_queued()

    def _send_queued(self) -> None:
        """Send every queued message whose turn has come, in turn order (lock held)."""
        moment = self._clock()
        due = [entry for entry in self._queue if entry[0] <= moment]
        if due:
            self._queue = [entry for entry in self._queue if entry[0] > moment]
            for _, message in sorted(due, key=lambda entry: (entry[0], entry[1].seq)):
                self._play(message)

    def _play(self, message: _Message) -> None:
        """Play the message's delivery through, queuing one status callback per step (lock held)."""
        code = self.undeliverable.get(message.to)
        steps: list[tuple[str, int | None]] = []
        if code is None:
            steps += [("sent", None), ("delivered", None)]
        elif DELIVERY_ERRORS.get(code, ("", False))[1]:
            steps += [("failed", code)]
        else:
            steps += [("sent", None), ("undelivered", code)]
        for status, error in steps:
            self._advance(message, status, error)

    def _advance(self, message: _Message, status: str, error: int | None) -> None:
        now = self.now()
        if message.from_ is None:
            message.from_ = self._sender(message.to)
        if message.messaging_service_sid and message.num_segments == 0:
            message.num_segments = self._segments(message.body, message.num_media)
        message.status, message.date_updated = status, now
        if status in {"sent", "failed"}:
            message.date_sent = now
        if status == "sent":
            message.price = f"-{PRICE_PER_SEGMENT * message.num_segments:.5f}"
        if error is not None:
            message.error_code = error
            message.error_message = DELIVERY_ERRORS.get(error, ("Unknown error", False))[0]
        if message.status_callback:
            form = self._status_form(message)
            self._callbacks.append(QueuedCallback(message.sid, status, message.status_callback, form))

    def _status_form(self, message: _Message) -> dict[str, str]:
        params = {
            "SmsSid": message.sid,
            "SmsStatus": message.status,
            "MessageStatus": message.status,
            "To": message.to,
        }
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        params.update(
            {
                "MessageSid": message.sid,
                "AccountSid": self.account_sid,
                "From": message.from_ or "",
                "ApiVersion": API_VERSION,
            }
        )
        if message.status in {"failed", "undelivered"} and message.error_code is not None:
            params["ErrorCode"] = str(message.error_code)
            params["ErrorMessage"] = message.error_message or ""
        return params

    # -- status callbacks ----------------------------------------------------------------------------

    def pending_callbacks(self) -> list[QueuedCallback]:
        """Status callbacks queued and not yet delivered, in the order Twilio would send them."""
        with self._lock:
            self._send_queued()
            return list(self._callbacks)

    def _target(self, url: str) -> str:
        """Where a webhook signed for `url` is actually POSTed (`proxy_origins` maps public origins)."""
        for public, local in self.proxy_origins.items():
            if url == public or url.startswith(f"{public.rstrip('/')}/"):
                return f"{local.rstrip('/')}{url[len(public.rstrip('/')) :]}"
        return url

    def deliver_callbacks(self, shuffle: bool = False, seed: int | None = None) -> list[tuple[str, str, int]]:
        """POST every queued status callback, signed, and return (MessageSid, status, HTTP status).

        Synchronous and opt-in, so a test decides when callbacks arrive; `shuffle=True` sends them in a
        seeded random order, as Twilio's do arrive. The lock is not held while posting: a receiver may
        call back into the stand-in. HTTP status 0 means the receiver could not be reached; like
        Twilio, the stand-in does not retry.
        """
        with self._lock:
            self._send_queued()
            jobs, self._callbacks = self._callbacks, []
        if shuffle:
            random.Random(seed).shuffle(jobs)
        results: list[tuple[str, str, int]] = []
        with requests.Session() as session:
            for job in jobs:
                signature = twilio_signature(self.auth_token, job.url, job.params)
                try:
                    response = post_signed(
                        self._target(job.url), job.params, signature, session=session, timeout=self.callback_timeout
                    )
                    status = response.status_code
                except requests.RequestException:
                    status = 0
                self.stats.bump("callbacks_sent")
                if not 200 <= status < 300:
                    self.stats.bump("callbacks_failed")
                results.append((job.sid, job.status, status))
        return results
