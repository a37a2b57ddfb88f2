"""Webhook subscriptions and their deliveries: the handshake, HMAC-signed events, and Clio's watched-field rule."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from connector.sandbox.clio.constants import (
    MATTER_ONLY_EVENTS,
    MAX_WEBHOOK_FIELDS_LENGTH,
    WEBHOOK_DEFAULT_TTL,
    WEBHOOK_EVENTS,
    WEBHOOK_MAX_TTL,
    WEBHOOK_MODELS,
    WEBHOOK_TIMEOUT,
)
from connector.sandbox.clio.errors import SandboxError
from connector.sandbox.clio.fields import _SCALAR_SETS, parse_fields
from connector.sandbox.clio.store import ClioStore, WebhookEvent
from connector.sandbox.clio.values import _enum, _is_id, _moment
from connector.sandbox.firm import Record, format_timestamp


@dataclass(slots=True)
class _HookState:
    """Delivery bookkeeping for one webhook: events after `since` reach it; watched-field rule state."""

    since: int
    fired_update: bool = False
    pending_handshake: bool = True


@dataclass(frozen=True, slots=True)
class _Delivery:
    hook_id: int
    url: str
    secret: str
    event: str
    body: bytes


def _webhook_model(value: Any) -> str:
    """A webhook model by name or by Clio's numeric id (1 = matter ... 10 = clio_payments_payment)."""
    if _is_id(value) and 1 <= int(value) <= len(WEBHOOK_MODELS):
        return WEBHOOK_MODELS[int(value) - 1]
    return _enum(value, WEBHOOK_MODELS, "model")


def _webhook_events(value: Any, model: str) -> list[str]:
    if value is None:
        return ["created", "updated", "deleted", *(sorted(MATTER_ONLY_EVENTS) if model == "matter" else [])]
    if not isinstance(value, list) or not value:
        raise SandboxError(422, "events must be a non-empty list")
    events = [_enum(event, WEBHOOK_EVENTS, "events") for event in value]
    if model != "matter" and MATTER_ONLY_EVENTS.intersection(events):
        raise SandboxError(422, "matter_opened, matter_pended and matter_closed are only valid for the matter model")
    if model == "clio_payments_payment" and "deleted" in events:
        raise SandboxError(422, "clio_payments_payment webhooks support only created and updated")
    return events


def _webhook_fields(value: Any, model: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SandboxError(422, "fields can't be blank")
    if len(value) > MAX_WEBHOOK_FIELDS_LENGTH:
        raise SandboxError(422, f"fields is limited to {MAX_WEBHOOK_FIELDS_LENGTH} characters")
    if model in _SCALAR_SETS:
        try:
            parse_fields(model, value)
        except SandboxError as exc:
            raise SandboxError(422, exc.message) from exc
    return value


def _sign(secret: str, body: bytes) -> str:
    """Clio's X-Hook-Signature: hex HMAC-SHA256 of the raw body, keyed by the webhook's shared secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _post(url: str, body: bytes, headers: Mapping[str, str]) -> requests.Response | None:
    try:
        return requests.post(url, data=body, headers=dict(headers), timeout=WEBHOOK_TIMEOUT)
    except requests.RequestException:
        return None


class Webhooks(ClioStore):
    """`/webhooks.json` subscriptions and `deliver_webhooks`, which runs handshakes and posts queued events."""

    def _init_webhooks(self) -> None:
        self.allow_http_webhooks = False
        self._hooks: dict[int, _HookState] = {}

    def _webhook_url(self, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise SandboxError(422, "url can't be blank")
        parts = urlsplit(value)
        allowed = ("https", "http") if self.allow_http_webhooks else ("https",)
        if parts.scheme not in allowed or not parts.netloc:
            raise SandboxError(422, "url must be a valid https URL")
        return value

    def _webhook_expiry(self, value: Any) -> str:
        now = self._clock()
        moment = now + WEBHOOK_DEFAULT_TTL if value is None else _moment(value, "expires_at")
        if moment <= now:
            raise SandboxError(422, "expires_at must be in the future")
        if moment > now + WEBHOOK_MAX_TTL:
            raise SandboxError(422, "expires_at cannot be more than 31 days in the future")
        return format_timestamp(moment)

    def create_webhook(self, data: Mapping[str, Any]) -> Record:
        """`POST /webhooks.json`: the webhook starts `pending` and a handshake is queued."""
        model = _webhook_model(data.get("model"))
        fields: Record = {
            "url": self._webhook_url(data.get("url")),
            "model": model,
            "fields": _webhook_fields(data.get("fields"), model),
            "events": _webhook_events(data.get("events"), model),
            "status": "pending",
            "shared_secret": secrets.token_hex(16),
        }
        with self._lock:
            fields["expires_at"] = self._webhook_expiry(data.get("expires_at"))
            fields["user"] = {"id": self.me["id"]}
            record = self._new_record("webhooks", fields)
            self._hooks[record["id"]] = _HookState(since=self._event_seq)
            return record

    def update_webhook(self, hook_id: int, data: Mapping[str, Any]) -> Record:
        """`PATCH /webhooks/{id}.json`: url, events, fields, expires_at; a new url needs a new handshake."""
        with self._lock:
            record = self._cols["webhooks"].by_id.get(hook_id)
            if record is None:
                raise SandboxError(404, f"Webhook {hook_id} not found")
            changes: Record = {}
            if "model" in data:
                changes["model"] = _webhook_model(data["model"])
            model = str(changes.get("model", record["model"]))
            if "url" in data:
                changes["url"] = self._webhook_url(data["url"])
            if "fields" in data:
                changes["fields"] = _webhook_fields(data["fields"], model)
            if "events" in data:
                changes["events"] = _webhook_events(data["events"], model)
            if "expires_at" in data:
                changes["expires_at"] = self._webhook_expiry(data["expires_at"])
            if changes.get("url", record["url"]) != record["url"]:
                changes["status"] = "pending"
                self._hooks[hook_id] = _HookState(since=self._event_seq)
            record.update(changes)
            self._stamp("webhooks", record)
            return record

    def delete_webhook(self, hook_id: int) -> None:
        """`DELETE /webhooks/{id}.json`."""
        with self._lock:
            if hook_id not in self._cols["webhooks"].by_id:
                raise SandboxError(404, f"Webhook {hook_id} not found")
            self._cols["webhooks"].remove(hook_id)
            self._hooks.pop(hook_id, None)

    def deliver_webhooks(self) -> list[tuple[int, str, int]]:
        """Run queued handshakes, then POST each queued event to each live webhook of its model.

        Synchronous and opt-in, so tests decide when deliveries happen. The state lock is not held
        during HTTP calls: a receiver may call back into the sandbox. Returns (webhook id, event or
        "handshake", HTTP status; 0 when the receiver could not be reached).
        """
        results = [self._handshake(*job) for job in self._handshake_jobs()]
        for delivery in self._delivery_jobs():
            response = _post(
                delivery.url,
                delivery.body,
                {
                    "Content-Type": "application/json",
                    "X-Hook-Signature": _sign(delivery.secret, delivery.body),
                },
            )
            status = response.status_code if response is not None else 0
            if status == 410:
                self._set_hook_status(delivery.hook_id, "suspended")
            results.append((delivery.hook_id, delivery.event, status))
        return results

    def _handshake_jobs(self) -> list[tuple[int, str, str]]:
        with self._lock:
            jobs = []
            for hook_id, hook in self._hooks.items():
                record = self._cols["webhooks"].by_id[hook_id]
                if hook.pending_handshake and record["status"] == "pending":
                    hook.pending_handshake = False
                    jobs.append((hook_id, str(record["url"]), str(record["shared_secret"])))
            return jobs

    def _handshake(self, hook_id: int, url: str, secret: str) -> tuple[int, str, int]:
        body = json.dumps({"data": {"id": hook_id}}).encode()
        response = _post(url, body, {"Content-Type": "application/json", "X-Hook-Secret": secret})
        if response is None:
            return hook_id, "handshake", 0
        if response.status_code == 200 and hmac.compare_digest(response.headers.get("X-Hook-Secret", ""), secret):
            self._set_hook_status(hook_id, "enabled")
        return hook_id, "handshake", response.status_code

    def confirm_handshake(self, hook_id: int) -> None:
        """Mark a pending webhook enabled, as a receiver echoing `X-Hook-Secret` would.

        For tests whose receiver is not running; `deliver_webhooks` does the real handshake.
        """
        with self._lock:
            self._require("webhooks", hook_id)
            hook = self._hooks.get(hook_id)
            if hook is not None:
                hook.pending_handshake = False
        self._set_hook_status(hook_id, "enabled")

    def _set_hook_status(self, hook_id: int, status: str) -> None:
        with self._lock:
            record = self._cols["webhooks"].by_id.get(hook_id)
            if record is not None:
                record["status"] = status
                self._stamp("webhooks", record)

    def _delivery_jobs(self) -> list[_Delivery]:
        with self._lock:
            events, self._events = self._events, []
            now = self._now_text()
            live = [
                record
                for record in self._cols["webhooks"].by_id.values()
                if record["status"] == "enabled" and record["expires_at"] > now
            ]
            return [job for event in events for record in live if (job := self._delivery(event, record))]

    def _delivery(self, event: WebhookEvent, hook: Record) -> _Delivery | None:
        state = self._hooks[hook["id"]]
        if hook["model"] != event.model or event.seq <= state.since or event.event not in hook["events"]:
            return None
        selection = parse_fields(event.model, hook["fields"])
        if event.event == "updated":
            if state.fired_update and not (selection.names & event.changed):
                return None
            state.fired_update = True
        data = {"id": event.record["id"]} if event.event == "deleted" else self.render(selection, event.record)
        payload = {"data": data, "meta": {"event": event.event, "webhook_id": hook["id"]}}
        body = json.dumps(payload, separators=(",", ":")).encode()
        return _Delivery(hook["id"], str(hook["url"]), str(hook["shared_secret"]), event.event, body)
