"""The sandbox CMS's whole state, composed from its concerns, so one object serves every server thread."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from connector.sandbox.clio.constants import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    DEFAULT_TOKEN,
)
from connector.sandbox.clio.custom_actions import CustomActions
from connector.sandbox.clio.records import StaffEdits
from connector.sandbox.clio.webhooks import Webhooks
from connector.sandbox.clio.writebacks import WriteBacks
from connector.sandbox.firm import Firm, generate_firm


class ClioState(StaffEdits, WriteBacks, Webhooks, CustomActions):
    """The sandbox firm's data, tokens, limits and fault plan; shared by every server thread.

    Python-side mutations (`update_contact`, `close_matter`, ...) stand in for staff editing Clio:
    each bumps `updated_at` to the state's clock, changes the `etag`, and queues webhook events.
    """

    def __init__(
        self,
        firm: Firm | None = None,
        *,
        tokens: Iterable[str] = (DEFAULT_TOKEN,),
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        refresh_token: str = DEFAULT_REFRESH_TOKEN,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        firm = firm if firm is not None else generate_firm(40, 25)
        super().__init__(firm, clock)
        self._init_tokens(tokens, client_id, client_secret, refresh_token)
        self._init_webhooks()
        self._init_custom_actions()
