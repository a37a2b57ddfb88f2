"""A message's delivery played through after the create answer, and the signed status callbacks each step queues."""

from __future__ import annotations

import random

import requests

from connector.sandbox.twilio.constants import API_VERSION, CALLBACK_TIMEOUT, DELIVERY_ERRORS, PRICE_PER_SEGMENT
from connector.sandbox.twilio.store import QueuedCallback, TwilioStore, _Message
from connector.sandbox.twilio.webhooks import post_signed, twilio_signature


class Delivery(TwilioStore):
    """Delivery steps (queued, sent, delivered / undelivered / failed) and `deliver_callbacks`, which posts them."""

    def _init_delivery(self) -> None:
        self._callbacks: list[QueuedCallback] = []
        self._sticky: dict[str, str] = {}
        self.callback_timeout = CALLBACK_TIMEOUT
        self.proxy_origins: dict[str, str] = {}

    def _sender(self, to: str) -> str:
        """Sticky sender: a recipient keeps the pool number it was first texted from."""
        pool = self.messaging_service_numbers
        if to not in self._sticky:
            self._sticky[to] = pool[len(self._sticky) % len(pool)]
        return self._sticky[to]

    def _deliver(self, message: _Message) -> None:
        """Play the message's delivery through, queuing one status callback per step (lock held)."""
        code = self.undeliverable.get(message.to)
        steps: list[tuple[str, int | None]] = [("queued", None)] if message.messaging_service_sid else []
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
