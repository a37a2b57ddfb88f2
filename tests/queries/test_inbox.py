"""The inbox page's list (`connector/queries/inbox.py`): one filter at a time, the search, and consent per row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from connector import queries
from connector.errors import MatterlineError
from connector.guardrails import consent
from tests.support.firm import JANE, NOW, OMAR, seed
from tests.support.inbox import SETTINGS, at_fault, stranger, text_in
from tests.support.people import add_user


def test_consent_is_decided_for_each_row(engine: Engine) -> None:
    seed(engine)
    user, _ = add_user(engine, name="Sam Staff", email="sam@firm.example", role="staff")
    jane = text_in(engine, JANE, minutes=1).thread_id  # consent recorded in the engagement letter
    recent = text_in(engine, stranger(1), minutes=2).thread_id  # no consent, but texted the firm
    withdrawn = text_in(engine, stranger(2), minutes=3).thread_id
    with engine.begin() as conn:
        consent.record(
            conn,
            stranger(2),
            action="revoke",
            method="verbal",
            captured_by="t",
            region="US",
            now=NOW + timedelta(hours=1),
        )

    def consented(now_days: int) -> dict[int, bool]:
        listing = queries.inbox.page(engine, SETTINGS, user_id=user.id, now=NOW + timedelta(days=now_days))
        return {row.thread.id: row.consented for row in listing.rows}

    assert consented(1) == {jane: True, recent: True, withdrawn: False}
    assert consented(SETTINGS.consent_inbound_days + 1) == {jane: True, recent: False, withdrawn: False}


def test_one_filter_and_the_search(engine: Engine) -> None:
    seed(engine)
    user, _ = add_user(engine, name="Sam Staff", email="sam@firm.example", role="staff")
    jane = text_in(engine, JANE, "hearing", minutes=1).thread_id
    omar = text_in(engine, OMAR, "lease", minutes=2).thread_id
    listing = queries.inbox.page(engine, SETTINGS, user_id=user.id, filter="needs_filing", now=NOW)
    assert [row.thread.id for row in listing.rows] == [omar]
    found = queries.inbox.page(engine, SETTINGS, user_id=user.id, q="  hearing ", now=NOW)
    assert ([row.thread.id for row in found.rows], found.q, found.filter) == ([jane], "hearing", "all")
    assert queries.inbox.page(engine, SETTINGS, user_id=user.id, filter="unread", now=NOW).next_cursor is None


@pytest.mark.parametrize(("given", "parameter"), [({"filter": "bogus"}, "filter"), ({"q": "x" * 10_000}, "q")])
def test_refusals_name_what_is_wrong(engine: Engine, given: dict[str, str], parameter: str) -> None:
    user, _ = add_user(engine, name="Sam Staff", email="sam@firm.example", role="staff")
    with pytest.raises(MatterlineError) as caught:
        queries.inbox.page(engine, SETTINGS, user_id=user.id, now=NOW, **given)  # type: ignore[arg-type]
    assert at_fault(caught.value) == parameter


def test_each_waiting_row_says_how_long_and_when_it_is_overdue(engine: Engine) -> None:
    seed(engine)
    user, _ = add_user(engine, name="Sam Staff", email="sam@firm.example", role="staff")
    jane = text_in(engine, JANE, "Is my hearing still on?", minutes=1).thread_id  # Friday 10:01 in New York
    stopped = text_in(engine, stranger(1), "STOP", minutes=1).thread_id

    def rows(after: timedelta) -> dict[int, tuple[str | None, bool]]:
        listing = queries.inbox.page(engine, SETTINGS, user_id=user.id, now=NOW + timedelta(minutes=1) + after)
        return {row.thread.id: (row.waited, row.overdue) for row in listing.rows}

    assert rows(timedelta(hours=3, minutes=10)) == {jane: ("3h 10m", False), stopped: (None, False)}
    assert rows(timedelta(hours=4))[jane] == ("4h 0m", True)
    # The limit counts office hours: by Monday morning Friday's afternoon was 7 of them; the age is the clock's.
    assert rows(timedelta(days=3))[jane] == ("3d 0h", True)
