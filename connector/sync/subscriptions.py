"""CMS webhook subscriptions: created once, kept enabled, renewed before they expire (Clio: ≤ 31 days).

Each round first asks the CMS which subscriptions it has, because the CMS is the judge of whether
one is alive: a subscription deleted or suspended there, or still `pending` long after creation (its
handshake was lost, e.g. it arrived before the creating call returned), is replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row, insert, select, update

from connector.cms.client import CmsClient
from connector.cms.errors import FatalError
from connector.const import HANDSHAKE_GRACE, SUBSCRIPTION_MARGIN
from connector.crypto import SecretBox
from connector.store.engine import utcnow
from connector.store.tables import cms_webhooks
from connector.sync.records import parse_timestamp
from mappings.model import Mapping, RequestSpec, WebhookSpec
from mappings.templates import render_request


@dataclass(frozen=True, slots=True)
class RenewalAction:
    """What renewal did for one model."""

    model: str
    action: str  # created | recreated | renewed | current
    cms_id: str
    expires_at: datetime | None


def webhook_url(public_url: str, vendor: str) -> str:
    """The URL the CMS posts changes to."""
    return f"{public_url.rstrip('/')}/webhooks/cms/{vendor}"


def _call(client: CmsClient, spec: RequestSpec, values: dict[str, Any]) -> Any:
    request = render_request(spec, values)
    return client.request(request.method, request.path, params=request.params or None, json=request.body).body


def _remote(client: CmsClient, spec: WebhookSpec, records_path: Any) -> dict[str, dict[str, Any]]:
    """The CMS's own subscriptions, by id."""
    body = _call(client, spec.list, {})
    path = spec.list.records_path or records_path
    items = path.get(body)
    return {str(item["id"]): item for item in items if isinstance(item, dict) and "id" in item} if items else {}


def _replace_reason(row: Row[Any] | None, hook: dict[str, Any] | None, now: datetime) -> str | None:
    if row is None:
        return None
    if hook is None:
        return "gone from the CMS"
    status = str(hook.get("status") or "")
    if status == "suspended":
        return "suspended by the CMS"
    if status == "pending" and now - row.created_at > HANDSHAKE_GRACE:
        return "handshake never completed"
    return None


def renew(
    engine: Engine,
    client: CmsClient,
    mapping: Mapping,
    *,
    public_url: str,
    secret_key: str | None,
    now: datetime | None = None,
) -> list[RenewalAction]:
    """Make sure each model the mapping watches has a live subscription expiring far enough ahead.

    Raises:
        FatalError: the mapping has no webhooks, or the CMS answered a create without an id.
    """
    spec = mapping.webhooks
    if spec is None:
        raise FatalError("webhooks", f"the {mapping.name} mapping defines no webhooks")
    now = now or utcnow()
    url = webhook_url(public_url, mapping.id)
    box = SecretBox(secret_key) if secret_key else None
    expires = now + timedelta(days=spec.max_lifetime_days) - SUBSCRIPTION_MARGIN
    remote = _remote(client, spec, mapping.api.records_path)
    actions: list[RenewalAction] = []
    for model, resource in spec.models.items():
        fields = str(mapping.resources[resource].params.get("fields", "id"))
        values = {"url": url, "model": model, "fields": fields, "expires_at": expires.isoformat(timespec="seconds")}
        with engine.connect() as conn:
            row = conn.execute(
                select(cms_webhooks).where(
                    cms_webhooks.c.vendor == mapping.id, cms_webhooks.c.model == model, cms_webhooks.c.url == url
                )
            ).first()
        hook = remote.get(row.cms_id) if row is not None else None
        reason = _replace_reason(row, hook, now)
        if row is not None and hook is not None and reason is None:
            status = str(hook.get("status") or row.status)
            remote_expiry = parse_timestamp(hook.get("expires_at")) or row.expires_at
            if remote_expiry is not None and remote_expiry - now > timedelta(days=spec.renew_before_days):
                _store_status(engine, row.id, status, remote_expiry, now)
                actions.append(RenewalAction(model, "current", row.cms_id, remote_expiry))
                continue
            if spec.renew is not None:
                _call(client, spec.renew, {**values, "webhook_id": row.cms_id})
                _store_status(engine, row.id, status, expires, now)
                actions.append(RenewalAction(model, "renewed", row.cms_id, expires))
                continue
        if row is not None and hook is not None and spec.delete is not None:
            _call(client, spec.delete, {**values, "webhook_id": row.cms_id})
        cms_id = _create(engine, client, spec, values, row, mapping.id, box, expires, now)
        actions.append(RenewalAction(model, "recreated" if row is not None else "created", cms_id, expires))
    return actions


def _store_status(engine: Engine, row_id: int, status: str, expires: datetime, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(cms_webhooks)
            .where(cms_webhooks.c.id == row_id)
            .values(status=status, expires_at=expires, updated_at=now)
        )


def _create(
    engine: Engine,
    client: CmsClient,
    spec: WebhookSpec,
    values: dict[str, Any],
    row: Row[Any] | None,
    vendor: str,
    box: SecretBox | None,
    expires: datetime,
    now: datetime,
) -> str:
    body = _call(client, spec.create, values)
    created = body.get("data", body) if isinstance(body, dict) else {}
    cms_id = spec.create.id_path.get(body) if spec.create.id_path is not None else created.get("id")
    if cms_id is None:
        raise FatalError(f"{spec.create.method} {spec.create.path}", "created a webhook but answered no id")
    secret = created.get("shared_secret") if isinstance(created, dict) else None
    columns = {
        "cms_id": str(cms_id),
        "status": str(created.get("status") or "pending"),
        "shared_secret": box.seal(secret) if (box and isinstance(secret, str)) else None,
        "expires_at": expires,
        "created_at": now,
        "updated_at": now,
    }
    with engine.begin() as conn:
        if row is not None:
            conn.execute(update(cms_webhooks).where(cms_webhooks.c.id == row.id).values(**columns))
        else:
            conn.execute(
                insert(cms_webhooks).values(vendor=vendor, model=values["model"], url=values["url"], **columns)
            )
    return str(cms_id)


def stored_secrets(engine: Engine, vendor: str, secret_key: str | None) -> list[tuple[int, str, str]]:
    """(row id, status, shared secret) of each stored subscription whose secret can be opened."""
    if not secret_key:
        return []
    box = SecretBox(secret_key)
    with engine.connect() as conn:
        rows = conn.execute(
            select(cms_webhooks.c.id, cms_webhooks.c.status, cms_webhooks.c.shared_secret).where(
                cms_webhooks.c.vendor == vendor, cms_webhooks.c.shared_secret.is_not(None)
            )
        ).all()
    secrets = []
    for row in rows:
        opened = box.open(row.shared_secret)
        if opened:
            secrets.append((row.id, row.status, opened))
    return secrets


def mark_enabled(engine: Engine, row_id: int) -> None:
    """The handshake for this subscription succeeded."""
    with engine.begin() as conn:
        conn.execute(
            update(cms_webhooks).where(cms_webhooks.c.id == row_id).values(status="enabled", updated_at=utcnow())
        )
