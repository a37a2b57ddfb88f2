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

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from connector.store import utcnow
from connector.store.tables import cms_webhooks, pending_refresh
from connector.sync import ingest, subscriptions
from connector.sync.records import RecordError, read_contact, read_matter, read_relationship
from mappings.fieldpath import FieldPath, compile_path
from mappings.model import ResourceSpec, WebhookSpec
from webhooks.app import ApiError, AppState, app_state

__all__ = ["WEBHOOK_ID_PATH", "blueprint", "decode_signature", "sign"]

LOGGER: Final = logging.getLogger("matterline.webhooks.cms")

blueprint = Blueprint("cms_webhooks", __name__)

# Where a Clio delivery names the subscription that sent it. The mapping has no key for it yet; it is
# only used when the matching secret does not already identify the subscription.
WEBHOOK_ID_PATH: Final[FieldPath] = compile_path("meta.webhook_id")

_DIGEST_SIZE: Final = hashlib.sha256().digest_size
_HEX_DIGEST: Final = re.compile(r"[0-9a-fA-F]{64}")
_PATH_HEAD: Final = re.compile(r"[.\[]")

Reader = Callable[[ResourceSpec, Any, str], ingest.Record]

_READERS: Final[dict[str, Reader]] = {
    "clients": read_contact,
    "matters": lambda spec, raw, _region: read_matter(spec, raw),
    "relationships": lambda spec, raw, _region: read_relationship(spec, raw),
}


@dataclass(frozen=True, slots=True)
class _Secret:
    """A secret a delivery may be signed with; `subscription_id` is its `cms_webhooks` row, if stored."""

    value: str = field(repr=False)
    subscription_id: int | None = None


@dataclass(frozen=True, slots=True)
class _Delivery:
    """What a verified body says: which event, about which record, from which subscription."""

    event: str
    record: dict[str, Any]
    webhook_id: str | None


def sign(secret: str, body: bytes) -> bytes:
    """HMAC-SHA256 of `body` keyed by `secret`: what the CMS puts in the signature header."""
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


def decode_signature(header: str, prefix: str | None = None) -> list[bytes]:
    """The digests a signature header may stand for: hex (any case) and/or base64 (standard or URL-safe).

    An optional `prefix` (e.g. `sha256=`) is stripped first. Only 32-byte results are kept, so a
    header that decodes to anything else matches nothing.
    """
    text = header.strip()
    if prefix and text.startswith(prefix):
        text = text[len(prefix) :].strip()
    found: list[bytes] = []
    if _HEX_DIGEST.fullmatch(text):
        found.append(bytes.fromhex(text))
    # URL-safe base64 differs only in two letters; padding is optional in the wild.
    standard = text.replace("-", "+").replace("_", "/")
    standard += "=" * (-len(standard) % 4)
    try:
        digest = base64.b64decode(standard.encode("ascii"), validate=True)
    except (binascii.Error, ValueError):
        return found
    if len(digest) == _DIGEST_SIZE and digest not in found:
        found.append(digest)
    return found


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _signed_by(secret: _Secret, body: bytes, digests: Sequence[bytes]) -> bool:
    expected = sign(secret.value, body)
    results = [hmac.compare_digest(expected, digest) for digest in digests]
    return any(results)


def _candidates(state: AppState, vendor: str) -> list[_Secret]:
    secrets: list[_Secret] = []
    if state.settings.cms_webhook_secret:
        secrets.append(_Secret(state.settings.cms_webhook_secret, None))
    for row_id, _status, secret in subscriptions.stored_secrets(state.engine, vendor, state.settings.secret_key):
        secrets.append(_Secret(secret, row_id))
    return secrets


def _match(secrets: Sequence[_Secret], accepts: Callable[[_Secret], bool]) -> _Secret | None:
    """The first secret `accepts`, after trying every one, so timing does not tell which one matched."""
    matched: _Secret | None = None
    for secret in secrets:
        if accepts(secret) and matched is None:
            matched = secret
    return matched


@blueprint.post("/webhooks/cms/<vendor>")
def receive(vendor: str) -> Response:
    """Verify one CMS delivery and apply it.

    Returns:
        200 with `{"status": "applied" | "queued" | "deleted" | "ignored"}`, or the echoed handshake.

    Raises:
        ApiError: 404 unknown vendor; 403 handshake_rejected, webhook_secret_missing or
            signature_invalid; 400 signature_missing or malformed_body; 422 unknown_model.
    """
    state = app_state()
    spec = state.mapping.webhooks
    if vendor != state.settings.cms or spec is None:
        raise ApiError(404, "unknown_vendor", "no CMS webhook endpoint for this vendor")
    # Read (and size-check) the body before any work; Werkzeug raises 413 past MAX_CONTENT_LENGTH.
    body = request.get_data(cache=True)
    secrets = _candidates(state, vendor)

    if spec.handshake_header is not None and spec.handshake_header in request.headers:
        return _handshake(state, vendor, spec.handshake_header, secrets)

    if not secrets:
        LOGGER.error("cms.webhook.secret_missing vendor=%s", vendor)
        raise ApiError(
            403,
            "webhook_secret_missing",
            "no webhook secret is configured: set MATTERLINE_CMS_WEBHOOK_SECRET or run `matterline webhooks renew`",
        )
    header = request.headers.get(spec.signature.header, "").strip()
    if not header:
        LOGGER.warning("cms.webhook.signature_missing vendor=%s", vendor)
        raise ApiError(400, "signature_missing", f"the {spec.signature.header} header is missing")
    digests = decode_signature(header, spec.signature.prefix)
    matched = _match(secrets, lambda secret: _signed_by(secret, body, digests))
    if matched is None:
        LOGGER.warning("cms.webhook.signature_invalid vendor=%s", vendor)
        raise ApiError(403, "signature_invalid", f"the {spec.signature.header} header does not match the body")

    delivery = _parse(body, spec)
    model = _model(state.engine, vendor, matched, delivery.webhook_id)
    resource = spec.models.get(model) if model is not None else None
    if resource is None or resource not in _READERS or resource not in state.mapping.resources:
        LOGGER.warning("cms.webhook.unknown_model vendor=%s model=%s", vendor, model)
        raise ApiError(
            422,
            "unknown_model",
            "cannot tell which kind of record this delivery is about; recreate the subscription with "
            "`matterline webhooks renew`",
            {"model": model},
        )
    return _apply(state, spec, resource, delivery)


def _handshake(state: AppState, vendor: str, header_name: str, secrets: Sequence[_Secret]) -> Response:
    """Confirm a new subscription by echoing its secret, but only a secret Matterline already knows.

    Raises:
        ApiError: 403 handshake_rejected when the offered secret is unknown.
    """
    offered = request.headers.get(header_name, "")
    matched = _match(secrets, lambda secret: _equal(offered, secret.value)) if offered else None
    if matched is None:
        LOGGER.warning("cms.webhook.handshake_rejected vendor=%s", vendor)
        raise ApiError(
            403, "handshake_rejected", f"the {header_name} secret is not one Matterline issued or configured"
        )
    if matched.subscription_id is not None:
        subscriptions.mark_enabled(state.engine, matched.subscription_id)
    LOGGER.info("cms.webhook.handshake_accepted vendor=%s subscription=%s", vendor, matched.subscription_id)
    response = jsonify({"status": "handshake_accepted"})
    response.headers[header_name] = offered
    response.headers["Cache-Control"] = "no-store"
    return response


def _malformed(message: str) -> ApiError:
    return ApiError(400, "malformed_body", message)


def _parse(body: bytes, spec: WebhookSpec) -> _Delivery:
    """The event, record and subscription id of a verified body.

    Raises:
        ApiError: 400 malformed_body when the body is not a JSON object with an event and a record.
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


def _model(engine: Engine, vendor: str, matched: _Secret, webhook_id: str | None) -> str | None:
    """The model a delivery is about: from the subscription whose secret signed it, else its webhook id."""
    with engine.connect() as conn:
        if matched.subscription_id is not None:
            model = conn.execute(
                select(cms_webhooks.c.model).where(cms_webhooks.c.id == matched.subscription_id)
            ).scalar_one_or_none()
            if model is not None:
                return str(model)
        if webhook_id is None:
            return None
        found = conn.execute(
            select(cms_webhooks.c.model).where(cms_webhooks.c.vendor == vendor, cms_webhooks.c.cms_id == webhook_id)
        ).scalar_one_or_none()
    return None if found is None else str(found)


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


def _apply(state: AppState, spec: WebhookSpec, resource: str, delivery: _Delivery) -> Response:
    """Apply one verified change in a single transaction.

    Raises:
        ApiError: 400 malformed_body when the record lacks its id or cannot be read.
    """
    event, record = delivery.event, delivery.record
    resource_spec = state.mapping.resources[resource]
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
        with state.engine.begin() as conn:
            ingest.mark_deleted(conn, resource, [cms_id], now)
            # A queued fetch of a record that no longer exists would only find nothing.
            conn.execute(
                delete(pending_refresh).where(
                    pending_refresh.c.resource == resource, pending_refresh.c.cms_id == cms_id
                )
            )
        LOGGER.info("cms.webhook.deleted resource=%s cms_id=%s", resource, cms_id)
        return _status("deleted")

    if not _required_keys(resource_spec) <= record.keys():
        with state.engine.begin() as conn:
            _queue_refresh(conn, resource, cms_id, event, now)
        LOGGER.info("cms.webhook.queued resource=%s cms_id=%s event=%s", resource, cms_id, event)
        return _status("queued")

    try:
        parsed = _READERS[resource](resource_spec, record, state.settings.default_region)
    except RecordError as exc:
        raise _malformed(str(exc)) from None
    _apply_record(state.engine, resource, parsed, now)
    LOGGER.info("cms.webhook.applied resource=%s cms_id=%s event=%s", resource, cms_id, event)
    return _status("applied")


def _apply_record(engine: Engine, resource: str, record: ingest.Record, now: datetime) -> None:
    """Upsert one record; if a concurrent writer inserted it first, apply again as an update.

    Clio can deliver `created` and `updated` for one record within milliseconds, and a sync page can
    carry it at the same moment; the loser of that race sees a unique-key violation, not a lost write.
    """
    try:
        with engine.begin() as conn:
            ingest.apply(conn, resource, [record], now=now)
    except IntegrityError:
        LOGGER.info("cms.webhook.insert_race resource=%s cms_id=%s", resource, record.cms_id)
        with engine.begin() as conn:
            ingest.apply(conn, resource, [record], now=now)


def _queue_refresh(conn: Connection, resource: str, cms_id: str, event: str, now: datetime) -> None:
    """Ask the worker to fetch the record; a row already waiting for it is kept as it is."""
    values = {"resource": resource, "cms_id": cms_id, "event": event[:32], "received_at": now}
    if conn.dialect.name == "postgresql":
        conn.execute(
            pg_insert(pending_refresh).values(values).on_conflict_do_nothing(index_elements=["resource", "cms_id"])
        )
    else:
        conn.execute(
            sqlite_insert(pending_refresh).values(values).on_conflict_do_nothing(index_elements=["resource", "cms_id"])
        )


def _status(status: str) -> Response:
    response = jsonify({"status": status})
    response.headers["Cache-Control"] = "no-store"
    return response
