"""CMS webhook subscriptions: created once, renewed before they expire (Clio: at most 31 days ahead)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update

from connector.cms.client import CmsClient
from connector.cms.errors import FatalError
from connector.cms.templates import render_request
from connector.crypto import SecretBox
from connector.store.engine import utcnow
from connector.store.tables import cms_webhooks
from mappings.model import Mapping, RequestSpec

# Ask for a little less than the maximum so clock skew never makes the CMS refuse the date.
_LIFETIME_MARGIN = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class RenewalAction:
    """What renewal did for one model."""

    model: str
    action: str  # created | renewed | current
    cms_id: str
    expires_at: datetime | None


def webhook_url(public_url: str, vendor: str) -> str:
    """The URL the CMS posts changes to."""
    return f"{public_url.rstrip('/')}/webhooks/cms/{vendor}"


def _call(client: CmsClient, spec: RequestSpec, values: dict[str, Any]) -> Any:
    request = render_request(spec, values)
    return client.request(request.method, request.path, params=request.params or None, json=request.body).body


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
        FatalError: the mapping has no webhooks, or the CMS answered without an id.
    """
    spec = mapping.webhooks
    if spec is None:
        raise FatalError("webhooks", f"the {mapping.name} mapping defines no webhooks")
    now = now or utcnow()
    url = webhook_url(public_url, mapping.id)
    box = SecretBox(secret_key) if secret_key else None
    expires = now + timedelta(days=spec.max_lifetime_days) - _LIFETIME_MARGIN
    actions: list[RenewalAction] = []
    for model, resource in spec.models.items():
        fields = str(mapping.resources[resource].params.get("fields", "id"))
        with engine.connect() as conn:
            row = conn.execute(
                select(cms_webhooks).where(
                    cms_webhooks.c.vendor == mapping.id, cms_webhooks.c.model == model, cms_webhooks.c.url == url
                )
            ).first()
        if (
            row is not None
            and row.expires_at is not None
            and row.expires_at - now > timedelta(days=spec.renew_before_days)
        ):
            actions.append(RenewalAction(model, "current", row.cms_id, row.expires_at))
            continue
        values = {"url": url, "model": model, "fields": fields, "expires_at": expires.isoformat(timespec="seconds")}
        if row is not None and spec.renew is not None:
            try:
                _call(client, spec.renew, {**values, "webhook_id": row.cms_id})
            except FatalError as exc:
                if exc.status != 404:
                    raise
            else:
                with engine.begin() as conn:
                    conn.execute(
                        update(cms_webhooks)
                        .where(cms_webhooks.c.id == row.id)
                        .values(expires_at=expires, updated_at=now)
                    )
                actions.append(RenewalAction(model, "renewed", row.cms_id, expires))
                continue
        body = _call(client, spec.create, values)
        created = body.get("data", body) if isinstance(body, dict) else {}
        cms_id = spec.create.id_path.get(body) if spec.create.id_path is not None else created.get("id")
        if cms_id is None:
            raise FatalError(f"{spec.create.method} {spec.create.path}", "created a webhook but answered no id")
        secret = created.get("shared_secret") if isinstance(created, dict) else None
        sealed = box.seal(secret) if (box and isinstance(secret, str)) else None
        with engine.begin() as conn:
            if row is not None:
                conn.execute(
                    update(cms_webhooks)
                    .where(cms_webhooks.c.id == row.id)
                    .values(
                        cms_id=str(cms_id), status="pending", shared_secret=sealed, expires_at=expires, updated_at=now
                    )
                )
            else:
                conn.execute(
                    insert(cms_webhooks).values(
                        vendor=mapping.id,
                        cms_id=str(cms_id),
                        model=model,
                        url=url,
                        status=str(created.get("status") or "pending"),
                        shared_secret=sealed,
                        expires_at=expires,
                        created_at=now,
                        updated_at=now,
                    )
                )
        actions.append(RenewalAction(model, "created", str(cms_id), expires))
    return actions


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
