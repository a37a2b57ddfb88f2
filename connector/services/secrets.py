"""Moving stored secrets to a new MATTERLINE_SECRET_KEY, so the previous key can be dropped.

CMS tokens (the firm's and each person's) and CMS webhook secrets are sealed under the secret key. After
an admin rotates it (the old key in MATTERLINE_PREVIOUS_SECRET_KEY), they still open, but stay sealed under
the old key until `reseal` seals each again under the new one, in one transaction with its audit entry.
A value neither key opens is left as it is and counted: it needs the CMS connection made again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, Table, select, update

from connector.compliance import audit
from connector.crypto import SecretBox
from connector.errors import invalid
from connector.settings import Settings
from connector.staff.users import Actor
from connector.store.tables import cms_user_tokens, cms_webhooks, oauth_tokens

__all__ = ["Resealed", "reseal"]

# Each table holding sealed values: the columns sealed under the secret key.
_SEALED: tuple[tuple[Table, tuple[str, ...]], ...] = (
    (oauth_tokens, ("access_token", "refresh_token")),
    (cms_user_tokens, ("access_token", "refresh_token")),
    (cms_webhooks, ("shared_secret",)),
)


@dataclass(frozen=True, slots=True)
class Resealed:
    """What `reseal` did: values now sealed under the current key, and values no key opens."""

    resealed: int
    unreadable: int


def reseal(engine: Engine, settings: Settings, actor: Actor) -> Resealed:
    """Seal every stored secret again under MATTERLINE_SECRET_KEY (audited as `secrets_resealed`).

    Raises:
        MatterlineError: invalid `no_secret_key` when MATTERLINE_SECRET_KEY is not set.
    """
    if not settings.secret_key:
        raise invalid("no_secret_key", "MATTERLINE_SECRET_KEY is not set: there is no key to seal under")
    box = SecretBox(settings.secret_key)
    resealed = unreadable = 0
    with engine.begin() as conn:
        for table, columns in _SEALED:
            keys = list(table.primary_key.columns)
            for row in conn.execute(select(*keys, *(table.c[name] for name in columns)).with_for_update()):
                changes: dict[str, str] = {}
                for name in columns:
                    sealed = row._mapping[name]
                    if not sealed:
                        continue
                    fresh = box.reseal(sealed)
                    if fresh is None:
                        unreadable += 1
                    else:
                        changes[name] = fresh
                if changes:
                    where = [key == row._mapping[key.name] for key in keys]
                    conn.execute(update(table).where(*where).values(**changes))
                    resealed += len(changes)
        audit.append(
            conn,
            actor=actor.label,
            action=audit.Action.SECRETS_RESEALED,
            subject_type="store",
            request_id=actor.request_id,
            details={"resealed": resealed, "unreadable": unreadable},
        )
    return Resealed(resealed, unreadable)
