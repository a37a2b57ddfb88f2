"""The CMS connection as an admin works it: check it, renew its webhook subscriptions, ask for a sync.

Each is the same operation the CLI runs (`mappings check`, `webhooks renew`, `sync`), with the client built
the way the CLI builds it, checked for the admin role, and audited with who did it. A sync is not run
here: it is queued for the worker (`connector.sync.requested`), so a page never waits on a whole CMS.
Nothing these return or raise holds a token or secret: the CMS's own words are scrubbed of every
configured credential before they are kept or shown.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Engine, select

from connector.cms.client import CmsClient
from connector.cms.connect import build_client, check_connection
from connector.cms.errors import CmsError, ConfigError
from connector.compliance import audit
from connector.errors import conflict, invalid, unavailable
from connector.jobs import kinds, outbox
from connector.settings import Settings, SettingsError
from connector.staff.users import Actor
from connector.store.engine import utcnow
from connector.store.tables import outbox as outbox_table
from connector.sync.requested import rate_limit_seen
from connector.sync.subscriptions import RenewalAction, renew
from mappings.model import Mapping

__all__ = ["CheckOutcome", "SyncRequest", "check", "renew_webhooks", "request_sync"]


# Shorter values are not scrubbed: no real credential is this short, and replacing one would garble the text.
_SECRET_MIN: Final = 6


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """What "Check the connection" found: ok, invalid_auth or cannot_connect, why, and the CMS's rate limit."""

    status: str
    reason: str
    rate_limit: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SyncRequest:
    """A queued "Sync now": the outbox job the worker will run."""

    job_id: int
    full: bool
    requested_by: str


def scrub(text: str, settings: Settings) -> str:
    """`text` with every configured credential replaced by `***`: a CMS may echo what it was sent."""
    for value in (
        settings.cms_access_token,
        settings.cms_refresh_token,
        settings.cms_client_secret,
        settings.cms_webhook_secret,
        settings.secret_key,
        settings.twilio_auth_token,
    ):
        if value and len(value) >= _SECRET_MIN:  # a one-letter test token would blank every "t" in the text
            text = text.replace(value, "***")
    return text


def check(
    engine: Engine, settings: Settings, mapping: Mapping, *, actor: Actor, client: CmsClient | None = None
) -> CheckOutcome:
    """Make the one authenticated call `matterline mappings check` makes, and record its answer.

    The answer is audited (who checked, what the CMS said) so the page can show the last check after its
    redirect, and every admin sees the same one. A configuration the client cannot even be built from
    (an unknown region) is `cannot_connect` with the setting's message.

    Raises:
        MatterlineError: forbidden `forbidden_role`.
    """
    actor.require_admin("check the CMS connection")
    seen: dict[str, Any] = {}
    try:
        cms = client or build_client(settings, mapping, engine)
        result = check_connection(cms, mapping)
        status, reason = result.status, result.reason
        seen = rate_limit_seen(cms)
    except SettingsError as exc:
        status, reason = "cannot_connect", str(exc)
    except CmsError as exc:  # a token refresh that failed outside the check's own handling
        status = exc.code if isinstance(exc, ConfigError) else "cannot_connect"
        reason = str(exc)
    outcome = CheckOutcome(status, scrub(reason, settings)[:1000], seen)
    with engine.begin() as conn:
        audit.append(
            conn,
            actor=actor.label,
            action=audit.Action.CMS_CHECK,
            subject_type="cms",
            subject_id=mapping.id,
            request_id=actor.request_id,
            details={"status": outcome.status, "reason": outcome.reason, "rate_limit": seen},
        )
    return outcome


def renew_webhooks(
    engine: Engine, settings: Settings, mapping: Mapping, *, actor: Actor, client: CmsClient | None = None
) -> list[RenewalAction]:
    """Create missing CMS webhook subscriptions and extend those that expire soon (`webhooks renew`).

    Raises:
        MatterlineError: forbidden `forbidden_role`; invalid `public_url_unset` (the CMS would have nowhere
            to send changes) or `no_webhooks` (the mapping defines none); unavailable `invalid_auth` or
            `cannot_connect` when the CMS refused or could not be reached (nothing is audited then).
    """
    actor.require_admin("renew the CMS webhook subscriptions")
    if not settings.public_url:
        raise invalid(
            "public_url_unset",
            "MATTERLINE_PUBLIC_URL is not set, so the CMS has no address to send changes to: set it to the "
            "address this server is reached at from the internet, restart, then renew",
        )
    if mapping.webhooks is None:
        raise invalid("no_webhooks", f"the {mapping.name} mapping defines no webhooks")
    try:
        cms = client or build_client(settings, mapping, engine)
        actions = renew(engine, cms, mapping, public_url=settings.public_url, secret_key=settings.secret_key)
    except SettingsError as exc:
        raise unavailable("cannot_connect", scrub(str(exc), settings)) from None
    except CmsError as exc:
        code = "invalid_auth" if isinstance(exc, ConfigError) and exc.code == "invalid_auth" else "cannot_connect"
        raise unavailable(code, f"the CMS did not renew the subscriptions: {scrub(str(exc), settings)}") from None
    with engine.begin() as conn:
        audit.append(
            conn,
            actor=actor.label,
            action=audit.Action.WEBHOOKS_RENEWED,
            subject_type="cms",
            subject_id=mapping.id,
            request_id=actor.request_id,
            details={
                "actions": [
                    {
                        "model": a.model,
                        "action": a.action,
                        "cms_id": a.cms_id,
                        "expires_at": a.expires_at.isoformat(timespec="seconds") if a.expires_at else None,
                    }
                    for a in actions
                ]
            },
        )
    return actions


def request_sync(engine: Engine, *, actor: Actor, full: bool = False) -> SyncRequest:
    """Queue a sync from the CMS for the worker's next round ("Sync now"), audited as who asked.

    One at a time: while a requested sync waits or runs, another is refused rather than queued behind it
    (it would fetch what the first one just fetched).

    Raises:
        MatterlineError: forbidden `forbidden_role`; conflict `sync_already_queued`.
    """
    actor.require_admin("ask for a CMS sync")
    now = utcnow()
    key = kinds.sync_key(secrets.token_hex(8))
    with engine.begin() as conn:
        waiting = conn.execute(
            select(outbox_table.c.id, outbox_table.c.payload)
            .where(outbox_table.c.kind == kinds.SYNC, outbox_table.c.state == "pending")
            .order_by(outbox_table.c.id)
            .limit(1)
        ).first()
        if waiting is not None:
            asked = dict(waiting.payload).get("requested_by", "someone")
            raise conflict(
                "sync_already_queued",
                f"a sync asked for by {asked} is already queued or running; its progress is shown below",
                {"job_id": waiting.id},
            )
        outbox.enqueue(conn, kinds.SYNC, key, {"full": full, "requested_by": actor.label}, now=now)
        job_id = int(conn.execute(select(outbox_table.c.id).where(outbox_table.c.idempotency_key == key)).scalar_one())
        audit.append(
            conn,
            actor=actor.label,
            action=audit.Action.SYNC_REQUESTED,
            subject_type="sync",
            subject_id=job_id,
            request_id=actor.request_id,
            details={"full": full},
            at=now,
        )
    return SyncRequest(job_id, full, actor.label)
