"""A matter as its panel shows it: the matter, its people and their numbers, its threads and its write-backs.

One read for the page at `/matters/<CMS matter id>`. Each number carries the two states that decide
whether the firm may text it (the opt-out ledger's, and consent as a send would judge it now), so the
panel says why a number cannot be texted before anyone tries. `recipient_choices` orders the client's
numbers for the panel's composer: the mobile first, the opted-out ones last and marked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import phonenumbers
from sqlalchemy import Connection, Engine, select

from connector.cms.links import CmsLinks
from connector.guardrails import consent, optouts
from connector.queries.matters import MatterView
from connector.queries.threads import ThreadView
from connector.queries.threads import listing as thread_listing
from connector.settings import Settings
from connector.store.engine import utcnow
from connector.store.tables import contact_phones, contacts, matter_contacts, matters, threads, writebacks

__all__ = [
    "THREADS_SHOWN",
    "ConsentState",
    "MatterPanel",
    "Party",
    "PhoneView",
    "RecipientChoice",
    "WritebackLine",
    "formatted",
    "panel",
    "recipient_choices",
    "threads_of",
]

# The panel lists a matter's most recent threads; the inbox has the rest.
THREADS_SHOWN: Final = 50
# Phone labels that mean a mobile (a text reaches it); compared lower-cased.
MOBILE_LABELS: Final = frozenset({"mobile", "cell", "cellular", "cell phone", "mobile phone", "sms", "text"})


@dataclass(frozen=True, slots=True)
class ConsentState:
    """Whether a text may go to the number now as far as consent goes, and on what basis.

    `state`: `granted` (a grant is the ledger's newest row), `inbound` (no grant, but the client texted
    the firm recently enough to be answered), `withdrawn` (the newest row is a withdrawal), `none`.
    `since` is when the grant, withdrawal or last inbound text happened.
    """

    allowed: bool
    state: str
    method: str | None
    since: datetime | None


@dataclass(frozen=True, slots=True)
class PhoneView:
    """One of a contact's numbers: as E.164 when it can be texted, else as it was typed and why not."""

    number: str
    display: str
    label: str | None
    primary: bool
    position: int
    textable: bool
    problem: str | None
    opted_out: bool
    opted_out_since: datetime | None
    consent: ConsentState | None

    @property
    def mobile(self) -> bool:
        """Whether the CMS labels it a mobile."""
        return (self.label or "").strip().lower() in MOBILE_LABELS


@dataclass(frozen=True, slots=True)
class Party:
    """A person on the matter: its client, or a related contact with their role (the relationship's description)."""

    cms_id: str
    name: str
    role: str | None
    phones: tuple[PhoneView, ...]


@dataclass(frozen=True, slots=True)
class WritebackLine:
    """One record for the CMS in the matter's history, with its CMS page once it is written."""

    id: int
    kind: str
    thread_id: int
    state: str
    subject: str
    cms_record_id: str | None
    cms_url: str | None
    created_at: datetime
    written_at: datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class RecipientChoice:
    """A number the panel's composer may send to, in preference order."""

    number: str
    display: str
    label: str | None
    opted_out: bool
    consent_allowed: bool
    preferred: bool


@dataclass(frozen=True, slots=True)
class MatterPanel:
    """Everything the matter's panel shows."""

    matter: MatterView
    cms_url: str | None
    clients: tuple[Party, ...]
    related: tuple[Party, ...]
    threads: tuple[ThreadView, ...]
    more_threads: bool
    writebacks: tuple[WritebackLine, ...]

    @property
    def recipients(self) -> tuple[RecipientChoice, ...]:
        """The client's numbers for the composer, best first."""
        return recipient_choices(phone for party in self.clients for phone in party.phones)


def formatted(e164: str, region: str) -> str:
    """A number as a person in `region` writes it: national form at home, international otherwise."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    home = phonenumbers.region_code_for_number(parsed) == region.upper()
    style = phonenumbers.PhoneNumberFormat.NATIONAL if home else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(parsed, style)


def recipient_choices(phones: Iterable[PhoneView]) -> tuple[RecipientChoice, ...]:
    """The textable numbers in the order a person would pick them, each number once.

    A mobile first (a text reaches it), then the primary number, then the CMS's own order; opted-out
    numbers last, still listed and marked so staff see why they cannot be picked. The first number not
    opted out is `preferred` (the composer's default). Consent does not reorder: a number without it
    is marked instead, because staff can record consent and the send checks it again anyway.
    """
    seen: set[str] = set()
    usable: list[PhoneView] = []
    for phone in phones:
        if phone.textable and phone.number not in seen:
            seen.add(phone.number)
            usable.append(phone)
    ordered = sorted(usable, key=lambda p: (p.opted_out, not p.mobile, not p.primary))  # stable: CMS order kept
    preferred = next((p.number for p in ordered if not p.opted_out), None)
    return tuple(
        RecipientChoice(
            number=p.number,
            display=p.display,
            label=p.label,
            opted_out=p.opted_out,
            consent_allowed=p.consent is not None and p.consent.allowed,
            preferred=p.number == preferred,
        )
        for p in ordered
    )


def _consent_state(conn: Connection, settings: Settings, phone: str, now: datetime) -> ConsentState:
    """Consent as a send from the firm's sender would judge it now (the ledger alone without a sender)."""
    newest = consent.latest(conn, phone)
    if settings.sender is not None:
        verdict = consent.check(conn, phone, settings.sender, inbound_days=settings.consent_inbound_days, now=now)
        if verdict.allowed and verdict.basis == "inbound_text":
            return ConsentState(True, "inbound", None, _last_inbound(conn, settings.sender, phone))
    if newest is None:
        return ConsentState(False, "none", None, None)
    granted = newest.action == consent.GRANT
    return ConsentState(granted, "granted" if granted else "withdrawn", newest.method, newest.captured_at)


def _last_inbound(conn: Connection, sender: str, phone: str) -> datetime | None:
    value = conn.execute(
        select(threads.c.last_inbound_at).where(threads.c.firm_number == sender, threads.c.client_phone == phone)
    ).scalar()
    return value if isinstance(value, datetime) else None


def _phones(
    conn: Connection, settings: Settings, contact_ids: Sequence[int], now: datetime
) -> dict[int, tuple[PhoneView, ...]]:
    """Each contact's numbers in the CMS's order, with their opt-out and consent states."""
    found: dict[int, list[PhoneView]] = {contact_id: [] for contact_id in contact_ids}
    if not contact_ids:
        return {}
    rows = conn.execute(
        select(contact_phones)
        .where(contact_phones.c.contact_id.in_(list(contact_ids)))
        .order_by(contact_phones.c.contact_id, contact_phones.c.position)
    ).all()
    region = settings.default_region
    for row in rows:
        if row.e164 is None:
            view = PhoneView(
                number=row.raw,
                display=row.raw,
                label=row.label,
                primary=bool(row.is_primary),
                position=row.position,
                textable=False,
                problem=row.parse_error or "not a phone number",
                opted_out=False,
                opted_out_since=None,
                consent=None,
            )
        else:
            stop = optouts.state_of(conn, row.e164)
            view = PhoneView(
                number=row.e164,
                display=formatted(row.e164, region),
                label=row.label,
                primary=bool(row.is_primary),
                position=row.position,
                textable=True,
                problem=None,
                opted_out=stop.opted_out,
                opted_out_since=stop.since if stop.opted_out else None,
                consent=_consent_state(conn, settings, row.e164, now),
            )
        found[row.contact_id].append(view)
    return {contact_id: tuple(views) for contact_id, views in found.items()}


def _people(conn: Connection, settings: Settings, matter: MatterView, now: datetime) -> tuple[list[Party], list[Party]]:
    """The matter's client (every contact of its client key) and its related contacts, without repeats."""
    client_rows = (
        conn.execute(
            select(contacts.c.id, contacts.c.cms_id, contacts.c.name)
            .where(contacts.c.client_key == matter.client_cms_id, contacts.c.deleted_at.is_(None))
            .order_by(contacts.c.is_client.desc(), contacts.c.id)
        ).all()
        if matter.client_cms_id is not None
        else []
    )
    related_rows = conn.execute(
        select(contacts.c.id, contacts.c.cms_id, contacts.c.name, matter_contacts.c.description)
        .join(matter_contacts, matter_contacts.c.contact_cms_id == contacts.c.cms_id)
        .where(
            matter_contacts.c.matter_cms_id == matter.cms_id,
            matter_contacts.c.deleted_at.is_(None),
            contacts.c.deleted_at.is_(None),
        )
        .order_by(matter_contacts.c.id)
    ).all()
    clients_seen = {row.id for row in client_rows}
    related_rows = [row for row in related_rows if row.id not in clients_seen]
    phones = _phones(conn, settings, [row.id for row in [*client_rows, *related_rows]], now)
    clients = [Party(row.cms_id, row.name, "Client", phones.get(row.id, ())) for row in client_rows]
    seen: set[int] = set()
    related: list[Party] = []
    for row in related_rows:
        if row.id in seen:
            continue
        seen.add(row.id)
        related.append(Party(row.cms_id, row.name, row.description, phones.get(row.id, ())))
    return clients, related


def _writebacks(conn: Connection, links: CmsLinks, matter_cms_id: str) -> tuple[WritebackLine, ...]:
    """The matter's records for the CMS, newest first, each with its CMS page once written."""
    rows = conn.execute(
        select(writebacks).where(writebacks.c.matter_cms_id == matter_cms_id).order_by(writebacks.c.id.desc())
    ).all()
    return tuple(
        WritebackLine(
            id=row.id,
            kind=row.kind,
            thread_id=row.thread_id,
            state=row.state,
            subject=row.subject,
            cms_record_id=row.cms_record_id,
            cms_url=links.record(row.kind, row.cms_record_id) if row.state == "written" else None,
            created_at=row.created_at,
            written_at=row.written_at,
            last_error=row.last_error,
        )
        for row in rows
    )


def _matter(conn: Connection, cms_id: str) -> MatterView | None:
    row = conn.execute(select(matters).where(matters.c.cms_id == cms_id, matters.c.deleted_at.is_(None))).first()
    if row is None:
        return None
    return MatterView(
        id=row.id,
        cms_id=row.cms_id,
        display_number=row.display_number,
        description=row.description,
        status=row.status,
        client_cms_id=row.client_cms_id,
        responsible_attorney=row.responsible_attorney,
    )


def panel(
    engine: Engine,
    settings: Settings,
    links: CmsLinks,
    cms_id: str,
    *,
    user_id: int | None,
    now: datetime | None = None,
) -> MatterPanel | None:
    """The matter's panel for `user_id` (whose unread counts the threads carry); None for a matter not held."""
    moment = now or utcnow()
    with engine.connect() as conn:
        matter = _matter(conn, cms_id)
        if matter is None:
            return None
        clients, related = _people(conn, settings, matter, moment)
        history = _writebacks(conn, links, cms_id)
    listed, more = threads_of(engine, cms_id, user_id=user_id)
    return MatterPanel(
        matter=matter,
        cms_url=links.matter(cms_id),
        clients=tuple(clients),
        related=tuple(related),
        threads=listed,
        more_threads=more,
        writebacks=history,
    )


def threads_of(engine: Engine, cms_id: str, *, user_id: int | None) -> tuple[tuple[ThreadView, ...], bool]:
    """Only the matter's threads (the panel's live refresh), and whether there are more than shown."""
    rows, cursor = thread_listing(engine, user_id=user_id, matter_cms_id=cms_id, limit=THREADS_SHOWN)
    return tuple(rows), cursor is not None
