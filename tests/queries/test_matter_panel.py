"""A matter's panel as one read (`connector/queries/matter_panel.py`): the matter, its client and related
contacts with each number's opt-out and consent state, its threads, its write-backs with CMS links; and the
order the client's numbers are offered in to the composer (`recipient_choices`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, update

from connector.cms.links import links_for
from connector.guardrails import consent, optouts
from connector.queries.matter_panel import (
    ConsentState,
    MatterPanel,
    PhoneView,
    formatted,
    panel,
    recipient_choices,
)
from connector.store.tables import writebacks
from connector.sync.ingest import apply, mark_deleted
from connector.sync.records import read_contact, read_relationship
from tests.support.firm import CLIO, JANE, NOW, OMAR, seed, settings
from tests.support.matter_history import close_windows, confirm_written, text_in

SETTINGS = settings()
LINKS = links_for(SETTINGS, CLIO)
T0 = NOW + timedelta(days=1)
SAM, JANE_MOBILE, JANE_HOME = "+14155550142", "+14155550199", "+14155550123"


def contact(cms_id: int, name: str, *phones: tuple[str, str, bool], is_client: bool = True) -> Any:
    raw = {
        "id": cms_id,
        "name": name,
        "is_client": is_client,
        "phone_numbers": [{"number": n, "name": label, "primary": p} for n, label, p in phones],
    }
    return read_contact(CLIO.resources["clients"], raw, "US")


def relate(cms_id: int, matter: int, person: int, description: str) -> Any:
    raw = {"id": cms_id, "description": description, "matter": {"id": matter}, "contact": {"id": person}}
    return read_relationship(CLIO.resources["relationships"], raw)


@pytest.fixture
def store(engine: Engine) -> Engine:
    """The firm; Jane with a work, home and mobile number (and a fax that is no number), Sam her spouse on 101."""
    seed(engine)
    with engine.begin() as conn:
        apply(
            conn,
            "clients",
            [
                contact(
                    1,
                    "Jane Doe",
                    ("(415) 867-5309", "Work", True),
                    ("(415) 555-0123", "Home", False),
                    ("(415) 555-0199", "Mobile", False),
                    ("12", "Fax", False),
                ),
                contact(6, "Sam Doe", ("415-555-0142", "Mobile", True), is_client=False),
                contact(7, "Rae Roe", ("415-555-0177", "Work", True), is_client=False),
            ],
            now=NOW,
        )
        apply(
            conn,
            "relationships",
            [relate(9001, 101, 6, "Spouse"), relate(9002, 101, 1, "Petitioner"), relate(9003, 101, 7, "Witness")],
            now=NOW,
        )
        mark_deleted(conn, "relationships", ["9003"], NOW)
        optouts.record(conn, JANE_HOME, "opt_out", "inbound_keyword", keyword="STOP", at=NOW)
        consent.record(conn, JANE_MOBILE, action="grant", method="verbal", captured_by="t", region="US", now=NOW)
        consent.record(conn, JANE_MOBILE, action="revoke", method="verbal", captured_by="t", region="US", now=T0)
    return engine


def read(engine: Engine, cms_id: str = "101", now: datetime = T0) -> MatterPanel:
    found = panel(engine, SETTINGS, LINKS, cms_id, user_id=None, now=now)
    assert found is not None
    return found


def phone(found: MatterPanel, number: str) -> PhoneView:
    [match] = [p for party in (*found.clients, *found.related) for p in party.phones if p.number == number]
    return match


def test_the_matter_its_client_and_related_contacts_without_repeats_or_deleted_ones(store: Engine) -> None:
    found = read(store)
    assert (found.matter.display_number, found.matter.status, found.matter.description) == (
        "00101-Doe",
        "open",
        "Doe custody",
    )
    assert found.cms_url == "https://app.clio.com/nc/#/matters/101"
    assert [(p.name, p.role) for p in found.clients] == [("Jane Doe", "Client")]
    assert [(p.name, p.role) for p in found.related] == [("Sam Doe", "Spouse")]  # Jane once; Rae's link deleted
    assert [(p.number, p.display, p.label, p.primary, p.textable) for p in found.clients[0].phones] == [
        (JANE, "(415) 867-5309", "Work", True, True),
        (JANE_HOME, "(415) 555-0123", "Home", False, True),
        (JANE_MOBILE, "(415) 555-0199", "Mobile", False, True),
        ("12", "12", "Fax", False, False),
    ]
    assert phone(found, "12").problem


def test_each_number_has_its_opt_out_and_consent_state(store: Engine) -> None:
    found = read(store)
    work, home, mobile, sam = (phone(found, n) for n in (JANE, JANE_HOME, JANE_MOBILE, SAM))
    assert (work.opted_out, work.consent) == (False, ConsentState(True, "granted", "engagement_letter", NOW))
    assert (home.opted_out, home.opted_out_since) == (True, NOW)
    assert mobile.consent == ConsentState(False, "withdrawn", "verbal", T0)
    assert sam.consent == ConsentState(False, "none", None, None)
    assert phone(found, "12").consent is None


def test_a_client_who_texted_recently_may_be_answered_without_recorded_consent(store: Engine) -> None:
    text_in(store, SAM, "This is Sam, Jane's husband", T0)
    assert phone(read(store, now=T0 + timedelta(hours=1)), SAM).consent == ConsentState(True, "inbound", None, T0)
    stale = T0 + timedelta(days=SETTINGS.consent_inbound_days + 1)
    assert phone(read(store, now=stale), SAM).consent == ConsentState(False, "none", None, None)


def test_the_matters_threads_and_its_write_backs_with_links_once_written(store: Engine) -> None:
    text_in(store, JANE, "Did you get my documents?", T0)
    text_in(store, OMAR, "About the DUI", T0)  # Omar's matters are not 101's
    [window] = close_windows(store, T0 + timedelta(hours=2))[:1]
    confirm_written(store, T0 + timedelta(hours=3), window_ids=[window], kinds=["transcript"])
    with store.begin() as conn:
        conn.execute(
            update(writebacks)
            .where(writebacks.c.matter_cms_id == "101", writebacks.c.kind == "summary")
            .values(state="dead", last_error="the CMS refused it")
        )
    found = read(store)
    assert [t.client_phone for t in found.threads] == [JANE]
    assert not found.more_threads
    assert [(w.kind, w.state, w.cms_url, w.last_error) for w in found.writebacks] == [
        ("summary", "dead", None, "the CMS refused it"),
        ("transcript", "written", "https://app.clio.com/nc/#/communications/cms-1", None),
    ]
    assert found.writebacks[1].written_at == T0 + timedelta(hours=3)


def test_an_unknown_or_deleted_matter_has_no_panel(store: Engine) -> None:
    assert panel(store, SETTINGS, LINKS, "999", user_id=None) is None
    with store.begin() as conn:
        mark_deleted(conn, "matters", ["102"], NOW)
    assert panel(store, SETTINGS, LINKS, "102", user_id=None) is None


def test_the_panels_recipients_are_the_clients_numbers_only(store: Engine) -> None:
    numbers = [c.number for c in read(store).recipients]
    assert numbers == [JANE_MOBILE, JANE, JANE_HOME]
    assert SAM not in numbers


# -- recipient_choices: a pure function -------------------------------------------------------------------


def number(
    e164: str,
    label: str | None,
    *,
    primary: bool = False,
    opted_out: bool = False,
    allowed: bool = True,
    position: int = 0,
    textable: bool = True,
) -> PhoneView:
    state = ConsentState(allowed, "granted" if allowed else "none", None, None)
    return PhoneView(
        number=e164,
        display=formatted(e164, "US") if textable else e164,
        label=label,
        primary=primary,
        position=position,
        textable=textable,
        problem=None if textable else "not a phone number",
        opted_out=opted_out,
        opted_out_since=datetime(2026, 1, 1, tzinfo=UTC) if opted_out else None,
        consent=state if textable else None,
    )


def test_a_mobile_comes_first_then_the_primary_then_the_cms_order() -> None:
    choices = recipient_choices(
        [
            number("+14155550101", "Work", primary=True),
            number("+14155550102", "Home", position=1),
            number("+14155550103", "Cell", position=2),
        ]
    )
    assert [(c.number, c.label, c.preferred) for c in choices] == [
        ("+14155550103", "Cell", True),
        ("+14155550101", "Work", False),
        ("+14155550102", "Home", False),
    ]
    assert choices[0].display == "(415) 555-0103"


def test_opted_out_numbers_go_last_marked_and_never_preferred() -> None:
    choices = recipient_choices(
        [number("+14155550103", "Mobile", opted_out=True), number("+14155550101", "Work", primary=True)]
    )
    assert [(c.number, c.opted_out, c.preferred) for c in choices] == [
        ("+14155550101", False, True),
        ("+14155550103", True, False),
    ]
    only_stopped = recipient_choices([number("+14155550103", "Mobile", opted_out=True)])
    assert [(c.opted_out, c.preferred) for c in only_stopped] == [(True, False)]


def test_a_number_without_consent_keeps_its_place_and_is_marked() -> None:
    choices = recipient_choices([number("+14155550103", "Mobile", allowed=False), number("+14155550101", "Work")])
    assert [(c.number, c.consent_allowed, c.preferred) for c in choices] == [
        ("+14155550103", False, True),
        ("+14155550101", True, False),
    ]


def test_numbers_that_cannot_be_texted_and_repeats_are_left_out() -> None:
    choices = recipient_choices(
        [
            number("12", "Fax", textable=False),
            number("+14155550101", "Work"),
            number("+14155550101", "Mobile"),  # the same number on a second contact of the client
        ]
    )
    assert [(c.number, c.label) for c in choices] == [("+14155550101", "Work")]
    assert recipient_choices([]) == ()


def test_numbers_abroad_are_written_in_international_form() -> None:
    assert formatted("+14155550101", "US") == "(415) 555-0101"
    assert formatted("+442071838750", "US") == "+44 20 7183 8750"
