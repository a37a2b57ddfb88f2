"""`POST /webhooks/cms/<vendor>`: CMS change notifications, verified before anything is read or written.

The order is fixed and fails closed (Sentry's GitHub endpoint): vendor → handshake → a secret exists →
signature header present → HMAC over the raw body matches → only then is the JSON parsed → the model
is identified → the change is applied in one transaction. Every rejection happens before the
transaction, so a rejected request changes nothing in the store.

Clio (mappings/clio.json) is the reference: the handshake carries `X-Hook-Secret`, which must be
echoed; deliveries carry `X-Hook-Signature`, an HMAC-SHA256 of the body keyed by the subscription's
shared secret. Whether Clio encodes that digest as hex or base64 is unconfirmed, so both are accepted.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from flask import Blueprint, Response, jsonify, request

from connector.errors import Kind, MatterlineError, forbidden, invalid, malformed
from connector.store import utcnow
from connector.sync import cms_webhooks, subscriptions
from connector.sync.records import READERS, RecordError
from mappings.fieldpath import FieldPath, compile_path
from mappings.model import ResourceSpec, WebhookSpec
from webhooks.inbound.signatures import Secret, decode_signature, equal, match, signed_by
from webhooks.state import AppState, app_state

__all__ = ["WEBHOOK_ID_PATH", "blueprint", "decode_signature"]

LOGGER: Final = logging.getLogger("matterline.webhooks.cms")

blueprint = Blueprint("cms_webhooks", __name__)

# Where a Clio delivery names the subscription that sent it. The mapping has no key for it yet; it is
# only used when the matching secret does not already identify the subscription.
WEBHOOK_ID_PATH: Final[FieldPath] = compile_path("meta.webhook_id")

_PATH_HEAD: Final = re.compile(r"[.\[]")


@dataclass(frozen=True, slots=True)
class _Delivery:
    """What a verified body says: which event, about which record, from which subscription."""

    event: str
    record: dict[str, Any]
    webhook_id: str | None


def _candidates(state: AppState, vendor: str) -> list[Secret]:
    secrets: list[Secret] = []
    if state.settings.cms_webhook_secret:
        secrets.append(Secret(state.settings.cms_webhook_secret, None))
    for row_id, _status, secret in subscriptions.stored_secrets(state.engine, vendor, state.settings.secret_key):
        secrets.append(Secret(secret, row_id))
    return secrets


@blueprint.post("/webhooks/cms/<vendor>")
def receive(vendor: str) -> Response:
    """Verify one CMS delivery and apply it.

    Returns:
        200 with `{"status": "applied" | "stale" | "queued" | "deleted" | "ignored"}`, or the echoed handshake.

    Raises:
        MatterlineError: 404 unknown vendor; 403 handshake_rejected, webhook_secret_missing or
            signature_invalid; 400 signature_missing or malformed_body; 422 unknown_model.
    """
    state = app_state()
    # The mapping in force, read once: one store read per delivery, and one version for all of it even
    # when an admin saves another while this delivery is being applied.
    mapping = state.mapping
    spec = mapping.webhooks
    if vendor != state.settings.cms or spec is None:
        raise MatterlineError(Kind.NOT_FOUND, "unknown_vendor", "no CMS webhook endpoint for this vendor")
    # Read (and size-check) the body before any work; Werkzeug raises 413 past MAX_CONTENT_LENGTH.
    body = request.get_data(cache=True)
    secrets = _candidates(state, vendor)

    if spec.handshake_header is not None and spec.handshake_header in request.headers:
        return _handshake(state, vendor, spec.handshake_header, secrets)

    if not secrets:
        LOGGER.error("cms.webhook.secret_missing vendor=%s", vendor)
        raise forbidden(
            "webhook_secret_missing",
            "no webhook secret is configured: set MATTERLINE_CMS_WEBHOOK_SECRET or run `matterline webhooks renew`",
        )
    header = request.headers.get(spec.signature.header, "").strip()
    if not header:
        LOGGER.warning("cms.webhook.signature_missing vendor=%s", vendor)
        raise malformed("signature_missing", f"the {spec.signature.header} header is missing")
    digests = decode_signature(header, spec.signature.prefix)
    matched = match(secrets, lambda secret: signed_by(secret, body, digests))
    if matched is None:
        LOGGER.warning("cms.webhook.signature_invalid vendor=%s", vendor)
        raise forbidden("signature_invalid", f"the {spec.signature.header} header does not match the body")

    delivery = _parse(body, spec)
    model = cms_webhooks.model_of(state.engine, vendor, matched.subscription_id, delivery.webhook_id)
    resource = spec.models.get(model) if model is not None else None
    if resource is None or resource not in READERS or resource not in mapping.resources:
        LOGGER.warning("cms.webhook.unknown_model vendor=%s model=%s", vendor, model)
        raise invalid(
            "unknown_model",
            "cannot tell which kind of record this delivery is about; recreate the subscription with "
            "`matterline webhooks renew`",
            {"model": model},
        )
    return _apply(state, spec, mapping.resources[resource], resource, delivery)


def _handshake(state: AppState, vendor: str, header_name: str, secrets: Sequence[Secret]) -> Response:
    """Confirm a new subscription by echoing its secret, but only a secret Matterline already knows.

    Raises:
        MatterlineError: 403 handshake_rejected when the offered secret is unknown.
    """
    offered = request.headers.get(header_name, "")
    matched = match(secrets, lambda secret: equal(offered, secret.value)) if offered else None
    if matched is None:
        LOGGER.warning("cms.webhook.handshake_rejected vendor=%s", vendor)
        raise forbidden("handshake_rejected", f"the {header_name} secret is not one Matterline issued or configured")
    if matched.subscription_id is not None:
        subscriptions.mark_enabled(state.engine, matched.subscription_id)
    LOGGER.info("cms.webhook.handshake_accepted vendor=%s subscription=%s", vendor, matched.subscription_id)
    response = jsonify({"status": "handshake_accepted"})
    response.headers[header_name] = offered
    response.headers["Cache-Control"] = "no-store"
    return response


def _malformed(message: str) -> MatterlineError:
    return malformed("malformed_body", message)


def _parse(body: bytes, spec: WebhookSpec) -> _Delivery:
    """The event, record and subscription id of a verified body.

    Raises:
        MatterlineError: 400 malformed_body when the body is not a JSON object with an event and a record.
    """
    try:
        payload = json.loads(body)
    except ValueError:
        raise _malformed("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise _malformed("the body is not a JSON object")
    event = spec.event_path.get(payload)
    if not isinstance(event, str) or not event:
        raise _malformed(f"the body has no event at {spec.event_path}")
    record = spec.record_path.get(payload)
    if not isinstance(record, dict):
        raise _malformed(f"the body has no record at {spec.record_path or '$'}")
    return _Delivery(event=event, record=record, webhook_id=_scalar_text(WEBHOOK_ID_PATH.get(payload)))


def _scalar_text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list | bool):
        return None
    text = str(value).strip()
    return text or None


def _subscribed_events(spec: WebhookSpec) -> frozenset[str] | None:
    """The events the subscription asks for, read from the mapping's create body; None when it names none."""

    def find(node: Any) -> list[str] | None:
        if isinstance(node, dict):
            events = node.get("events")
            if isinstance(events, list) and all(isinstance(e, str) for e in events):
                return events
            for value in node.values():
                found = find(value)
                if found is not None:
                    return found
        return None

    events = find(spec.create.body)
    return None if events is None else frozenset(events)


def _required_keys(spec: ResourceSpec) -> set[str]:
    """The top-level keys a record must carry for the mapping to read it whole (as a sync page would)."""
    paths: list[FieldPath] = list(spec.fields.values())
    phones = spec.phones
    if phones is not None:
        if phones.path is not None:
            paths.append(phones.path)
        paths.extend(phones.slots.values())
    keys: set[str] = set()
    for path in paths:
        for part in path.parts or (path,):
            head = _PATH_HEAD.split(part.text, maxsplit=1)[0].strip()
            if head and not head.isdigit():
                keys.add(head)
    return keys


def _apply(
    state: AppState, spec: WebhookSpec, resource_spec: ResourceSpec, resource: str, delivery: _Delivery
) -> Response:
    """Apply one verified change in a single transaction.

    Raises:
        MatterlineError: 400 malformed_body when the record lacks its id or cannot be read.
    """
    event, record = delivery.event, delivery.record
    subscribed = _subscribed_events(spec)
    deleted = event in spec.deleted_events
    if not deleted and subscribed is not None and event not in subscribed:
        LOGGER.info("cms.webhook.ignored event=%s resource=%s", event, resource)
        return _status("ignored")
    id_path = resource_spec.fields.get("id")
    cms_id = _scalar_text(id_path.get(record)) if id_path is not None else None
    if cms_id is None:
        raise _malformed(f"the record has no {id_path or 'id'}")
    now = utcnow()

    if deleted:
        cms_webhooks.retire(state.engine, resource, cms_id, now)
        LOGGER.info("cms.webhook.deleted resource=%s cms_id=%s", resource, cms_id)
        return _status("deleted")

    if not _required_keys(resource_spec) <= record.keys():
        cms_webhooks.queue_refresh(state.engine, resource, cms_id, event, now)
        LOGGER.info("cms.webhook.queued resource=%s cms_id=%s event=%s", resource, cms_id, event)
        return _status("queued")

    try:
        parsed = READERS[resource](resource_spec, record, state.settings.default_region)
    except RecordError as exc:
        raise _malformed(str(exc)) from None
    if not cms_webhooks.apply_record(state.engine, resource, parsed, now):
        # A retried or late delivery of an older version: acknowledged, so Clio stops retrying it.
        LOGGER.info("cms.webhook.stale resource=%s cms_id=%s event=%s", resource, cms_id, event)
        return _status("stale")
    LOGGER.info("cms.webhook.applied resource=%s cms_id=%s event=%s", resource, cms_id, event)
    return _status("applied")


def _status(status: str) -> Response:
    response = jsonify({"status": status})
    response.headers["Cache-Control"] = "no-store"
    return response
