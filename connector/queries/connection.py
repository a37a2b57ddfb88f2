"""What the connection page shows: the state of the CMS and Twilio connections, read from settings and the store.

Nothing here holds a token or secret: credentials are reported as configured or not, stored tokens by
their timestamps only. Outcomes of actions (the last check, the last requested sync, the rate-limit
window last seen) come from their audit entries, which every process writes and every process can read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Engine, func, select

from connector.compliance import audit
from connector.jobs import kinds
from connector.settings import Settings
from connector.store.engine import utcnow
from connector.store.tables import audit_log, cms_webhooks, contact_phones, contacts, oauth_tokens, outbox, sync_state
from connector.sync.subscriptions import webhook_url
from connector.sync.syncer import RESOURCE_ORDER
from mappings.model import Mapping

__all__ = [
    "CheckView",
    "PauseView",
    "RateLimitView",
    "ResourceView",
    "SubscriptionView",
    "SyncRequestView",
    "TokenView",
    "TwilioView",
    "UnreadablePhone",
    "last_check",
    "queue_pause",
    "rate_limit",
    "resources",
    "subscriptions",
    "sync_request",
    "tokens",
    "twilio",
    "unreadable_phones",
]

# How many recent sync runs are read to find each resource's latest counts.
_RECENT_RUNS: Final = 20
# Where Twilio posts inbound texts and delivery statuses (webhooks/inbound).
SMS_PATH: Final = "/webhooks/twilio/sms"
STATUS_PATH: Final = "/webhooks/twilio/status"


@dataclass(frozen=True, slots=True)
class CheckView:
    """The last "Check the connection": what the CMS answered, when, and who asked."""

    status: str
    reason: str
    at: datetime
    actor: str


def last_check(engine: Engine) -> CheckView | None:
    """The newest recorded connection check, or None when nobody has checked yet."""
    with engine.connect() as conn:
        row = conn.execute(
            select(audit_log.c.at, audit_log.c.actor, audit_log.c.details)
            .where(audit_log.c.action == str(audit.Action.CMS_CHECK))
            .order_by(audit_log.c.id.desc())
            .limit(1)
        ).first()
    if row is None:
        return None
    details = dict(row.details or {})
    return CheckView(str(details.get("status", "")), str(details.get("reason", "")), row.at, row.actor)


@dataclass(frozen=True, slots=True)
class TokenView:
    """How Matterline authenticates to the CMS, without any token: what is configured, what is stored."""

    method: str  # "oauth" | "access_token" | "none"
    access_token_set: bool
    refresh_token_set: bool
    client_id_set: bool
    client_secret_set: bool
    secret_key_set: bool
    stored: bool
    stored_access: bool
    stored_refresh: bool
    refreshed_at: datetime | None
    expires_at: datetime | None

    @property
    def expired(self) -> bool:
        """Whether the stored access token's announced lifetime is over (the next call refreshes it)."""
        return self.expires_at is not None and self.expires_at <= utcnow()


def tokens(engine: Engine, settings: Settings, mapping: Mapping) -> TokenView:
    """The configured credentials (set or not) and the stored OAuth tokens' refresh and expiry times."""
    oauth = mapping.auth.kind == "oauth2" and bool(settings.cms_refresh_token and settings.cms_client_id)
    method = "oauth" if oauth else "access_token" if settings.cms_access_token else "none"
    with engine.connect() as conn:
        row = conn.execute(
            select(
                oauth_tokens.c.access_token.is_not(None).label("has_access"),
                oauth_tokens.c.refresh_token.is_not(None).label("has_refresh"),
                oauth_tokens.c.updated_at,
                oauth_tokens.c.expires_at,
            ).where(oauth_tokens.c.vendor == mapping.id)
        ).first()
    return TokenView(
        method=method,
        access_token_set=bool(settings.cms_access_token),
        refresh_token_set=bool(settings.cms_refresh_token),
        client_id_set=bool(settings.cms_client_id),
        client_secret_set=bool(settings.cms_client_secret),
        secret_key_set=bool(settings.secret_key),
        stored=row is not None,
        stored_access=bool(row and row.has_access),
        stored_refresh=bool(row and row.has_refresh),
        refreshed_at=row.updated_at if row else None,
        expires_at=row.expires_at if row else None,
    )


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    """One model the CMS should tell Matterline about, and its subscription (status "none" when there is none)."""

    model: str
    resource: str
    status: str
    cms_id: str | None
    expires_at: datetime | None
    renewed_at: datetime | None
    url: str | None
    current_url: bool  # it points at this server's public URL

    @property
    def expired(self) -> bool:
        """Whether the subscription's expiry has passed (the CMS has stopped sending)."""
        return self.expires_at is not None and self.expires_at <= utcnow()


def subscriptions(engine: Engine, settings: Settings, mapping: Mapping) -> list[SubscriptionView]:
    """Each model the mapping watches with its stored subscription (the one at the public URL first)."""
    spec = mapping.webhooks
    if spec is None:
        return []
    url = webhook_url(settings.public_url, mapping.id) if settings.public_url else None
    with engine.connect() as conn:
        rows = conn.execute(
            select(cms_webhooks).where(cms_webhooks.c.vendor == mapping.id).order_by(cms_webhooks.c.id.desc())
        ).all()
    found = []
    for model, resource in spec.models.items():
        mine = [r for r in rows if r.model == model]
        mine.sort(key=lambda r: r.url != url)  # the one at this server's URL first, else the newest
        row = mine[0] if mine else None
        found.append(
            SubscriptionView(
                model=model,
                resource=resource,
                status=row.status if row else "none",
                cms_id=row.cms_id if row else None,
                expires_at=row.expires_at if row else None,
                renewed_at=row.updated_at if row else None,
                url=row.url if row else None,
                current_url=bool(row and row.url == url),
            )
        )
    return found


@dataclass(frozen=True, slots=True)
class ResourceView:
    """One synced resource: its bookmark, last completed run, a run in progress, and its last counted run."""

    resource: str
    last_completed_at: datetime | None
    bookmark: datetime | None
    running_since: datetime | None
    last_error: str | None
    counts: dict[str, int] | None  # fetched, created, updated, unchanged, deleted of the last counted run
    counted_at: datetime | None


def _recent_runs(engine: Engine, limit: int = _RECENT_RUNS) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(audit_log.c.at, audit_log.c.subject_id, audit_log.c.details)
                .where(audit_log.c.action == str(audit.Action.SYNC_RUN))
                .order_by(audit_log.c.id.desc())
                .limit(limit)
            ).all()
        )


def resources(engine: Engine, mapping: Mapping) -> list[ResourceView]:
    """Each resource the mapping syncs, in sync order, with its sync state and its latest recorded counts.

    Counts are recorded by the worker's requested syncs (`matterline sync` prints its own); a resource
    synced only from the command line since shows its completion time with the older counts' time.
    """
    names = [name for name in RESOURCE_ORDER if name in mapping.resources]
    with engine.connect() as conn:
        states = {row.resource: row for row in conn.execute(select(sync_state)).all()}
    counted: dict[str, tuple[dict[str, int], datetime]] = {}
    for run in _recent_runs(engine):
        details = dict(run.details or {})
        if details.get("outcome") != "done":
            continue
        for name, numbers in dict(details.get("resources") or {}).items():
            counted.setdefault(name, ({k: int(v) for k, v in dict(numbers).items()}, run.at))
    views = []
    for name in names:
        state = states.get(name)
        counts, at = counted.get(name, (None, None))
        views.append(
            ResourceView(
                resource=name,
                last_completed_at=state.last_completed_at if state else None,
                bookmark=state.bookmark if state else None,
                running_since=state.run_started_at if state else None,
                last_error=state.last_error if state else None,
                counts=counts,
                counted_at=at,
            )
        )
    return views


@dataclass(frozen=True, slots=True)
class SyncRequestView:
    """The latest "Sync now" and where it stands: queued, running, retrying, done, failed or discarded."""

    job_id: int
    state: str
    requested_by: str
    requested_at: datetime
    full: bool
    attempts: int
    error: str | None
    next_attempt_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        """Whether the worker has yet to finish it (the page keeps polling)."""
        return self.state in ("queued", "running", "retrying")

    @property
    def fetched(self) -> int:
        """Records fetched in all, once done."""
        return sum(int(dict(c).get("fetched", 0)) for c in dict(self.result.get("resources") or {}).values())


def sync_request(engine: Engine) -> SyncRequestView | None:
    """The newest requested sync with its state, and what it did once done (its audit entry)."""
    now = utcnow()
    with engine.connect() as conn:
        job = conn.execute(
            select(outbox).where(outbox.c.kind == kinds.SYNC).order_by(outbox.c.id.desc()).limit(1)
        ).first()
        if job is None:
            return None
        entry = conn.execute(
            select(audit_log.c.at, audit_log.c.details)
            .where(audit_log.c.action == str(audit.Action.SYNC_RUN), audit_log.c.subject_id == str(job.id))
            .order_by(audit_log.c.id.desc())
            .limit(1)
        ).first()
    payload = dict(job.payload or {})
    if job.state == "done":
        state = "done"
    elif job.state == "dead":
        state = "failed"
    elif job.state == "discarded":
        state = "discarded"
    elif job.leased_until is not None and job.leased_until > now:
        state = "running"
    elif job.attempts and job.last_error:
        state = "retrying"
    else:
        state = "queued"
    return SyncRequestView(
        job_id=job.id,
        state=state,
        requested_by=str(payload.get("requested_by") or ""),
        requested_at=job.created_at,
        full=bool(payload.get("full")),
        attempts=job.attempts,
        error=job.last_error if state != "done" else None,
        next_attempt_at=job.next_attempt_at if state == "retrying" else None,
        finished_at=entry.at if entry is not None else None,
        result=dict(entry.details or {}) if entry is not None else {},
    )


@dataclass(frozen=True, slots=True)
class UnreadablePhone:
    """A phone number the sync kept as typed because it could not be read: the firm fixes it in the CMS."""

    contact_cms_id: str
    name: str
    raw: str
    label: str | None
    error: str | None


def unreadable_phones(engine: Engine, *, limit: int = 100) -> tuple[list[UnreadablePhone], int]:
    """Up to `limit` unreadable numbers of contacts not deleted in the CMS, by contact, and how many there are."""
    where = (contact_phones.c.e164.is_(None), contacts.c.deleted_at.is_(None))
    joined = contact_phones.join(contacts, contacts.c.id == contact_phones.c.contact_id)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(joined).where(*where)).scalar_one()
        rows = conn.execute(
            select(
                contacts.c.cms_id,
                contacts.c.name,
                contact_phones.c.raw,
                contact_phones.c.label,
                contact_phones.c.parse_error,
            )
            .select_from(joined)
            .where(*where)
            .order_by(contacts.c.name, contacts.c.id, contact_phones.c.position)
            .limit(limit)
        ).all()
    return [UnreadablePhone(r.cms_id, r.name, r.raw, r.label, r.parse_error) for r in rows], int(total)


@dataclass(frozen=True, slots=True)
class RateLimitView:
    """The CMS's rate-limit window as last seen by a check or a requested sync (the worker's own client may
    have seen a later one; this is what was recorded)."""

    seen_at: datetime
    source: str  # "check" | "sync"
    limit: int | None
    remaining: int | None
    reset_at: datetime | None
    rate_limited: int  # 429 answers during that sync or check


def rate_limit(engine: Engine) -> RateLimitView | None:
    """The newest recorded rate-limit window, or None when no check or sync has recorded one."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.at, audit_log.c.action, audit_log.c.details)
            .where(audit_log.c.action.in_((str(audit.Action.CMS_CHECK), str(audit.Action.SYNC_RUN))))
            .order_by(audit_log.c.id.desc())
            .limit(_RECENT_RUNS)
        ).all()
    for row in rows:
        seen = dict(dict(row.details or {}).get("rate_limit") or {})
        if not seen:
            continue
        reset = seen.get("reset_at")
        return RateLimitView(
            seen_at=row.at,
            source="check" if row.action == str(audit.Action.CMS_CHECK) else "sync",
            limit=seen.get("limit"),
            remaining=seen.get("remaining"),
            reset_at=datetime.fromisoformat(reset) if isinstance(reset, str) else None,
            rate_limited=int(seen.get("rate_limited") or 0),
        )
    return None


@dataclass(frozen=True, slots=True)
class PauseView:
    """The CMS write queue held back: how many jobs, why (the CMS's refusal), since and until when."""

    jobs: int
    reason: str
    credentials: bool  # paused because the CMS refused the credentials (invalid_auth)
    first_paused_at: datetime
    last_paused_at: datetime
    next_try_at: datetime


def queue_pause(engine: Engine) -> PauseView | None:
    """The pause of the CMS write-back queue, or None when no write-back job is held.

    The writer puts every job back with a reason starting "paused:" after a refused login (`invalid_auth`)
    or a long wait the CMS asked for; each pause is retried after a while, so "since" is the earliest pause
    still on record, not necessarily the first refusal.
    """
    paused = (outbox.c.kind == kinds.WRITE, outbox.c.state == "pending", outbox.c.last_error.like("paused:%"))
    with engine.connect() as conn:
        summary = conn.execute(
            select(
                func.count(),
                func.min(outbox.c.updated_at),
                func.max(outbox.c.updated_at),
                func.min(outbox.c.next_attempt_at),
            ).where(*paused)
        ).one()
        if not summary[0]:
            return None
        reason = conn.execute(
            select(outbox.c.last_error).where(*paused).order_by(outbox.c.updated_at.desc()).limit(1)
        ).scalar_one()
    text = str(reason).removeprefix("paused:").strip()
    credentials = "invalid_auth" in text or "refused the credentials" in text
    return PauseView(int(summary[0]), text, credentials, summary[1], summary[2], summary[3])


@dataclass(frozen=True, slots=True)
class TwilioView:
    """The Twilio side: what texts are sent from, the account (the auth token only as set or not), and the
    URLs to paste into the Twilio console and where the CMS posts changes."""

    firm_numbers: tuple[str, ...]
    messaging_service_sid: str | None
    account_sid: str | None
    auth_token_set: bool
    public_url: str | None
    sms_url: str | None
    status_url: str | None
    cms_webhook_url: str | None


def twilio(settings: Settings, mapping: Mapping) -> TwilioView:
    """The Twilio settings and the webhook URLs from MATTERLINE_PUBLIC_URL (None while it is unset)."""
    base = settings.public_url.rstrip("/") if settings.public_url else None
    return TwilioView(
        firm_numbers=settings.firm_numbers,
        messaging_service_sid=settings.twilio_messaging_service_sid,
        account_sid=settings.twilio_account_sid,
        auth_token_set=bool(settings.twilio_auth_token),
        public_url=base,
        sms_url=base + SMS_PATH if base else None,
        status_url=base + STATUS_PATH if base else None,
        cms_webhook_url=webhook_url(base, mapping.id) if base else None,
    )
