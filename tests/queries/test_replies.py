"""Reply alerts a person has yet to see (`connector/queries/replies.py`): their own, admins also those for nobody,
and none once the thread is answered."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from connector import queries, services
from connector.messaging import replies
from connector.staff.users import Actor, User
from tests.support.firm import JANE, NOW, seed
from tests.support.inbox import SETTINGS, stranger, text_in
from tests.support.people import add_user


def test_a_person_sees_their_alerts_an_admin_also_those_for_nobody_until_answered(engine: Engine) -> None:
    seed(engine)
    pat, _ = add_user(engine, name="Pat Paralegal", email="pat@firm.example", role="staff")
    ada, _ = add_user(engine, name="Ada Admin", email="ada@firm.example", role="admin")
    jane = text_in(engine, JANE, "Any news?", minutes=1).thread_id
    lost = text_in(engine, stranger(1), "Hello?", minutes=1).thread_id
    services.threads.assign(engine, jane, pat.id, actor=Actor.of(ada))
    assert replies.alert_overdue(engine, SETTINGS, now=NOW + timedelta(hours=5)) == 2

    def seen_by(user: User | None) -> list[int]:
        return [alert.thread_id for alert in queries.replies.unseen(engine, user)]

    assert seen_by(pat) == [jane]
    assert seen_by(ada) == [lost]  # Jane's is Pat's; the unassigned stranger's is nobody's, so every admin's
    [mine] = queries.replies.unseen(engine, pat)
    assert (mine.client_name, mine.waited_since, mine.via) == ("Jane Doe", NOW + timedelta(minutes=1), "in_app")
    services.messages.send(engine, SETTINGS, body="Not yet", thread_id=jane, actor=Actor.of(pat))
    assert seen_by(pat) == []
    assert seen_by(None) == [lost]
