"""`matterline alerts` and `alerts dismiss`: the reply alerts not yet dismissed, and who may dismiss one."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from connector.messaging import replies
from tests.support.command import run
from tests.support.firm import JANE, NOW
from tests.support.inbox import SETTINGS, text_in


def test_alerts_lists_and_dismisses(texting: dict[str, str], store: Engine, user: Callable[..., Any]) -> None:
    user("Sam Staff", "sam@firm.example", "staff")
    texted = text_in(store, JANE, "Any news?", minutes=1)
    assert replies.alert_overdue(store, SETTINGS, now=NOW + timedelta(hours=5)) == 1

    code, out, err = run(texting, "alerts", "--json")
    assert code == 0, err
    [alert] = json.loads(out)
    assert (alert["thread_id"], alert["client_name"], alert["user_id"], alert["via"]) == (
        texted.thread_id,
        "Jane Doe",
        None,
        "in_app",
    )
    assert run(texting, "alerts", "--as", "sam@firm.example", "--json")[1].strip() == "[]"  # nobody's: admins'

    code, _, err = run(texting, "alerts", "dismiss", str(alert["id"]), "--as", "sam@firm.example")
    assert (code, err.strip()) == (
        1,
        "matterline: not_your_alert: only the person an alert is for, or an admin, may dismiss it",
    )
    code, out, err = run(texting, "alerts", "dismiss", str(alert["id"]))
    assert code == 0, err
    assert out.startswith(f"alert {alert['id']}: dismissed at ")
    assert run(texting, "alerts")[1] == "0 alerts\n"
