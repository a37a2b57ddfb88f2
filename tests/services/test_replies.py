"""Dismissing a reply alert (`connector/services/replies.py`): the alert's person or an admin, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from connector import queries, services
from connector.errors import MatterlineError
from connector.messaging import replies
from connector.staff.users import Actor
from tests.support.firm import JANE, NOW, seed
from tests.support.inbox import SETTINGS, stranger, text_in
from tests.support.people import add_user


def test_only_the_alerts_person_or_an_admin_dismisses_it(engine: Engine) -> None:
    seed(engine)
    pat, _ = add_user(engine, name="Pat Paralegal", email="pat@firm.example", role="staff")
    sam, _ = add_user(engine, name="Sam Staff", email="sam@firm.example", role="staff")
    ada, _ = add_user(engine, name="Ada Admin", email="ada@firm.example", role="admin")
    jane = text_in(engine, JANE, "Any news?", minutes=1).thread_id
    text_in(engine, stranger(1), "Hello?", minutes=1)
    services.threads.assign(engine, jane, pat.id, actor=Actor.of(ada))
    replies.alert_overdue(engine, SETTINGS, now=NOW + timedelta(hours=5))
    [pats] = queries.replies.unseen(engine, pat)
    [nobodys] = queries.replies.unseen(engine, ada)

    for actor, alert_id in ((Actor.of(sam), pats.id), (Actor.of(pat), nobodys.id)):
        with pytest.raises(MatterlineError) as refused:
            services.replies.dismiss(engine, alert_id, actor)
        assert (refused.value.kind, refused.value.code) == ("forbidden", "not_your_alert")
    with pytest.raises(MatterlineError) as missing:
        services.replies.dismiss(engine, 9999, Actor.of(ada))
    assert missing.value.kind == "not_found"

    first = services.replies.dismiss(engine, pats.id, Actor.of(pat), now=NOW + timedelta(hours=6))
    assert first == NOW + timedelta(hours=6)
    assert services.replies.dismiss(engine, pats.id, Actor.of(ada), now=NOW + timedelta(hours=7)) == first
    assert queries.replies.unseen(engine, pat) == []
    services.replies.dismiss(engine, nobodys.id, Actor.of(ada))
    assert queries.replies.unseen(engine, ada) == []
    seen = queries.replies.get(engine, pats.id)
    assert seen is not None
    assert seen.seen_at == first
