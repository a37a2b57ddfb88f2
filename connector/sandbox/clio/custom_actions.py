"""Custom actions: the per-user buttons an app puts on Clio's pages, and the nonce a click hands the app.

Clio scopes a custom action to the user whose token created it (unique per user, `ui_reference` and
label), opens its `target_url` with `custom_action_id`, `user_id`, `subject_url` and
`custom_action_nonce` when clicked, and answers the app's next request for `subject_url` carrying that
nonce only when the token is the clicker's. The sandbox also makes a nonce single use and short lived
(60 seconds, on the state's clock), which is what the reference brief records from community code.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from connector.sandbox.clio.constants import (
    API_PREFIX,
    CUSTOM_ACTION_NONCE_TTL,
    CUSTOM_ACTION_SUBJECTS,
    CUSTOM_ACTION_UI_REFERENCES,
)
from connector.sandbox.clio.errors import RecordNotFound, SandboxError
from connector.sandbox.clio.oauth import OAuthTokens
from connector.sandbox.clio.values import _enum, _require_text
from connector.sandbox.firm import Record

_OWNER = "_user_id"  # kept on the record, never a readable field


@dataclass(frozen=True, slots=True)
class _Nonce:
    """What one click vouches for: who clicked, on which record, until when."""

    user_id: int
    collection: str
    record_id: int
    expires_at: datetime


class CustomActions(OAuthTokens):
    """`/custom_actions.json` per token's user, the simulated click, and nonce redemption."""

    def _init_custom_actions(self) -> None:
        self._nonces: dict[str, _Nonce] = {}

    def _owned(self, user_id: int, action_id: int) -> Record:
        record = self._cols["custom_actions"].by_id.get(action_id)
        if record is None or record[_OWNER] != user_id:
            raise SandboxError(404, f"Custom action {action_id} not found")
        return record

    def _action_values(self, data: Mapping[str, Any], user_id: int, skip: int | None = None) -> dict[str, Any]:
        label = _require_text(data, "label")
        target = _require_text(data, "target_url")
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SandboxError(422, "target_url must be a valid URL")
        ui_reference = _enum(data.get("ui_reference"), CUSTOM_ACTION_UI_REFERENCES, "ui_reference")
        for other in self._cols["custom_actions"].by_id.values():
            same = (other[_OWNER], other["ui_reference"], other["label"]) == (user_id, ui_reference, label)
            if same and other["id"] != skip:
                raise SandboxError(422, "Label has already been taken for this ui_reference")
        return {"label": label, "target_url": target, "ui_reference": ui_reference}

    def custom_actions_of(self, user_id: int) -> list[Record]:
        """The user's custom actions, ascending by id (the index shows only the token's user's)."""
        with self._lock:
            collection = self._cols["custom_actions"]
            return [collection.by_id[i] for i in collection.ids if collection.by_id[i][_OWNER] == user_id]

    def create_custom_action(self, user_id: int, data: Mapping[str, Any]) -> Record:
        """`POST /custom_actions.json` for the token's user; 422 on a missing field or a duplicate."""
        with self._lock:
            values = self._action_values(data, user_id)
            return self._new_record("custom_actions", {**values, _OWNER: user_id})

    def custom_action(self, user_id: int, action_id: int) -> Record:
        """One of the user's custom actions; 404 for another user's."""
        with self._lock:
            return self._owned(user_id, action_id)

    def update_custom_action(self, user_id: int, action_id: int, data: Mapping[str, Any]) -> Record:
        """`PATCH /custom_actions/{id}.json`: fields not sent keep their value."""
        with self._lock:
            record = self._owned(user_id, action_id)
            merged = {key: data.get(key, record[key]) for key in ("label", "target_url", "ui_reference")}
            record.update(self._action_values(merged, user_id, skip=action_id))
            self._stamp("custom_actions", record)
            return record

    def delete_custom_action(self, user_id: int, action_id: int) -> None:
        """`DELETE /custom_actions/{id}.json`."""
        with self._lock:
            self._owned(user_id, action_id)
            self._cols["custom_actions"].remove(action_id)

    # -- the click -------------------------------------------------------------------------------------

    def click_custom_action(self, action_id: int, subject_id: int) -> dict[str, Any]:
        """What Clio opens when the action's owner clicks it on record `subject_id`: the URL and its nonce.

        Raises:
            RecordNotFound: no such action, or no such record.
            ValueError: the action is on a page whose record the sandbox does not keep.
        """
        with self._lock:
            action = self._cols["custom_actions"].by_id.get(action_id)
            if action is None:
                raise RecordNotFound(f"custom_actions has no record {action_id}")
            collection = CUSTOM_ACTION_SUBJECTS.get(action["ui_reference"])
            if collection is None:
                raise ValueError(f"the sandbox cannot click an action on {action['ui_reference']}")
            self._require(collection, subject_id)
            nonce = secrets.token_urlsafe(24)
            user_id = int(action[_OWNER])
            self._nonces[nonce] = _Nonce(user_id, collection, subject_id, self.now() + CUSTOM_ACTION_NONCE_TTL)
            query = {
                "custom_action_id": action_id,
                "user_id": user_id,
                "subject_url": f"{API_PREFIX}/{collection}/{subject_id}",
                "custom_action_nonce": nonce,
            }
            separator = "&" if urlsplit(action["target_url"]).query else "?"
            return {"url": f"{action['target_url']}{separator}{urlencode(query)}", "nonce": nonce, **query}

    def redeem_nonce(self, nonce: str, token: str | None, collection: str, record_id: int) -> None:
        """Spend a click's nonce on a read of its record by the clicker's token.

        Raises:
            SandboxError: 403 for an unknown, spent or expired nonce, another user's token, or another record.
        """
        with self._lock:
            found = self._nonces.pop(nonce, None)  # spent by its first use, right or wrong
            user_id = self.token_user(token)
            if found is None or found.expires_at <= self.now():
                raise SandboxError(403, "The custom action nonce is invalid or has expired")
            if found.user_id != user_id or (found.collection, found.record_id) != (collection, record_id):
                raise SandboxError(403, "The custom action nonce does not match this user or record")
