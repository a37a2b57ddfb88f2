"""Clio custom actions: the per-person buttons on matter and contact pages, and the click that lands here.

Install: each person's buttons are created with their own token (Clio scopes custom actions to the
user who creates them), found again by `ui_reference` and label so a second install changes nothing
and a moved target is updated in place.

Landing: the click's query string is forgeable, so nothing in it is trusted until the CMS answers a
read of `subject_url` carrying `custom_action_nonce`, made with the token of the person whose Clio
user id the click names. The nonce is single use and short lived, so the check is made once, at
once, and never retried; `subject_url` must be exactly `/api/v4/matters/<digits>` or
`/api/v4/contacts/<digits>` (optionally `.json`) and is only ever joined to the configured CMS base.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Engine

from connector import queries
from connector.cms.auth import TokenGrant
from connector.cms.client import CmsClient
from connector.cms.connect import OAuthApp, person_client
from connector.cms.errors import CmsError
from connector.compliance import audit
from connector.errors import Kind, MatterlineError, forbidden, invalid
from connector.retry import RetryPolicy
from connector.staff import cms_accounts
from connector.staff.users import User
from connector.store.engine import utcnow

__all__ = ["ACTIONS", "LANDING_PATH", "InstallReport", "Landing", "install", "install_all", "land"]

LOGGER: Final = logging.getLogger("matterline.custom_actions")
# The app's page a click opens (the custom actions' target).
LANDING_PATH: Final = "/cms/clio/action"
# (ui_reference, label) of each button Matterline puts in Clio.
ACTIONS: Final = (("matters/show", "Text with Matterline"), ("contacts/show", "Text with Matterline"))
_FIELDS: Final = "id,label,target_url,ui_reference"
_SUBJECT: Final = re.compile(r"/api/v4/(matters|contacts)/([0-9]{1,18})(?:\.json)?")
# A nonce is spent by the first request that carries it: a retry could only be refused.
_ONCE: Final = RetryPolicy(max_attempts=1)


@dataclass(frozen=True, slots=True)
class InstallReport:
    """What one person's install did: how many buttons it created, updated, or found as they should be."""

    user: User
    created: int
    updated: int
    unchanged: int


@dataclass(frozen=True, slots=True)
class Landing:
    """A verified click: the record it was on (`matters` or `contacts`, with its CMS id) and who clicked."""

    kind: str
    cms_id: str
    user: User


def _client(engine: Engine, app: OAuthApp, secret_key: str | None, user_id: int, *, once: bool = False) -> CmsClient:
    """A client calling the CMS as person `user_id`, or refused when they have no stored token."""
    grant = cms_accounts.load_tokens(engine, secret_key, user_id)
    if grant is None:
        raise forbidden("cms_not_linked", "sign in with Clio first, so Matterline holds your Clio token")

    def save(fresh: TokenGrant) -> None:
        with engine.begin() as conn:
            cms_accounts.save_tokens(conn, secret_key, user_id, fresh, utcnow())

    return person_client(app, grant, save, policy=_ONCE) if once else person_client(app, grant, save)


def install(engine: Engine, app: OAuthApp, secret_key: str | None, user: User, public_url: str) -> InstallReport:
    """Make person `user`'s buttons in the CMS point at this Matterline: create, update, or leave each.

    Raises:
        MatterlineError: forbidden `cms_not_linked` (no stored token); unavailable `cms_failed` when the CMS refuses.
    """
    target = public_url.rstrip("/") + LANDING_PATH
    client = _client(engine, app, secret_key, user.id)
    created = updated = unchanged = 0
    try:
        existing = client.get("custom_actions.json", {"fields": _FIELDS}).body.get("data", [])
        for ui_reference, label in ACTIONS:
            found = next(
                (a for a in existing if (a.get("ui_reference"), a.get("label")) == (ui_reference, label)), None
            )
            if found is None:
                body = {"data": {"label": label, "target_url": target, "ui_reference": ui_reference}}
                client.request("POST", "custom_actions.json", params={"fields": "id"}, json=body)
                created += 1
            elif found.get("target_url") != target:
                body = {"data": {"target_url": target}}
                client.request("PATCH", f"custom_actions/{int(found['id'])}.json", params={"fields": "id"}, json=body)
                updated += 1
            else:
                unchanged += 1
    except CmsError as exc:
        raise MatterlineError(Kind.UNAVAILABLE, "cms_failed", f"Clio refused the custom actions: {exc}") from None
    if created or updated:
        with engine.begin() as conn:
            audit.append(
                conn,
                actor=user.actor,
                action=audit.Action.CUSTOM_ACTIONS,
                subject_type="user",
                subject_id=user.id,
                details={"created": created, "updated": updated, "target": target},
            )
    return InstallReport(user, created, updated, unchanged)


def install_all(engine: Engine, app: OAuthApp, secret_key: str | None, public_url: str) -> list[InstallReport]:
    """Install for everyone who signed in with Clio and is enabled.

    Raises:
        MatterlineError: what `install` raises, for the first person it fails for.
    """
    return [install(engine, app, secret_key, user, public_url) for user in queries.users.linked_to_cms(engine)]


def parse_subject(subject_url: str) -> tuple[str, str]:
    """(`matters` or `contacts`, id) of a click's `subject_url`.

    Raises:
        MatterlineError: invalid `bad_subject` for anything but the exact expected shape.
    """
    match = _SUBJECT.fullmatch(subject_url)
    if match is None:
        raise invalid("bad_subject", "the link from Clio is not one Matterline makes")
    return match.group(1), match.group(2)


def land(
    engine: Engine,
    app: OAuthApp,
    secret_key: str | None,
    *,
    subject_url: str,
    nonce: str,
    cms_user_id: str,
    signed_in: User | None,
) -> Landing:
    """Check a click once with the CMS, before anything else happens; what it was on and who clicked.

    Raises:
        MatterlineError: invalid `bad_subject` / `bad_click` (malformed, nothing asked of the CMS);
            forbidden `cms_not_linked` (the clicking Clio user is no enabled person here, or holds no token),
            `click_refused` (the CMS refused the nonce: reused, expired, or another's),
            `other_person` (this browser is signed in as someone else).
    """
    kind, cms_id = parse_subject(subject_url)
    if not nonce or len(nonce) > 256 or not cms_user_id.isdigit() or len(cms_user_id) > 18:
        raise invalid("bad_click", "the link from Clio is incomplete")
    with engine.connect() as conn:
        person = cms_accounts.find_by_cms_user(conn, cms_user_id)
    if person is None or not person.enabled:
        raise forbidden("cms_not_linked", "this Clio account is not linked to a Matterline person")
    client = _client(engine, app, secret_key, person.user.id, once=True)
    try:
        client.get(f"{kind}/{cms_id}.json", {"fields": "id", "custom_action_nonce": nonce})
    except CmsError as exc:
        LOGGER.info("custom_action.refused user=%s status=%s", person.user.id, exc.status)
        raise forbidden("click_refused", "Clio did not confirm this click") from None
    if signed_in is not None and signed_in.id != person.user.id:
        raise forbidden("other_person", "this browser is signed in as someone else")
    return Landing(kind, cms_id, person.user)
