"""A deterministic, realistic law firm of any size, shaped like Clio Manage v4 records.

The sandbox CMS serves these records; the tests and benchmarks need the same firm for the same
seed, numbers typed the way real staff type them, and enough size (100,000 contacts) to make a
sync honest. Records are plain dicts holding only the keys that have values, so a large firm stays
lean in memory; absent keys render as null.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from connector.sandbox.vocabulary import (
    CALENDAR_ALL_DAY,
    CALENDAR_EVENT_TYPES,
    CALENDAR_TIMED,
    CITIES,
    COMPANY_SUFFIXES,
    COMPANY_TRADES,
    DESCRIPTIONS,
    FIRST_NAMES,
    FOREIGN_NUMBERS,
    HOSPITALS,
    JUNK_NUMBERS,
    LAST_NAMES,
    PLACES,
    PRACTICE_AREAS,
    RELATIONSHIP_DESCRIPTIONS,
    ROLES_BY_RANK,
    STREET_NAMES,
    STREET_SUFFIXES,
)

Record = dict[str, Any]

USER_ID_BASE: Final = 3_400_000
CONTACT_ID_BASE: Final = 10_000_000
MATTER_ID_BASE: Final = 20_000_000
RELATIONSHIP_ID_BASE: Final = 30_000_000
PHONE_ID_BASE: Final = 40_000_000
ADDRESS_ID_BASE: Final = 50_000_000
PRACTICE_AREA_ID_BASE: Final = 60_000
CALENDAR_ENTRY_ID_BASE: Final = 36_000_000
CALENDAR_ID_BASE: Final = 3_600_000
EVENT_TYPE_ID_BASE: Final = 62_000

FIRM_START: Final = datetime(2019, 1, 7, 9, 0, tzinfo=UTC)
GENERATED_AT: Final = datetime(2026, 3, 2, 17, 30, tzinfo=UTC)
FIRM_DOMAIN: Final = "morganreyes.law"

PERSON_SHARE: Final = 0.85
CLIENT_SHARE: Final = 0.60
ADDRESS_SHARE: Final = 0.85
FAMILY_SHARE: Final = 0.03
JUNK_SHARE: Final = 0.01
FOREIGN_SHARE: Final = 0.02
RELATED_SHARE: Final = 0.30
REPEAT_CLIENT_SHARE: Final = 0.25
CALENDAR_SHARE: Final = 0.15  # of open matters with something on the calendar in the coming two weeks
ALL_DAY_SHARE: Final = 0.10

PHONE_LABELS: Final = ("Mobile", "Work", "Home", "Personal", "Other")
US_STYLES: Final = ("paren", "dash", "dot", "plain", "plus_spaced", "one_dash", "e164", "paren_tight", "ext")
US_STYLE_WEIGHTS: Final = (25, 20, 8, 10, 8, 5, 15, 5, 4)

_FIRM_SPAN: Final = GENERATED_AT.timestamp() - FIRM_START.timestamp()
_ISO_FORMAT: Final = "%Y-%m-%dT%H:%M:%S+00:00"
_DAY: Final = 86_400.0


@dataclass(frozen=True, slots=True)
class Firm:
    """Everything a generated firm holds, each list ordered by ascending id."""

    seed: int
    users: list[Record]
    practice_areas: list[Record]
    contacts: list[Record]
    matters: list[Record]
    relationships: list[Record]
    # Hearings and appointments on open matters, in the days after GENERATED_AT (see `calendar_from`).
    calendar_entries: list[Record] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class UsNumber:
    """The digits of one North American number, kept so a family can share it in another format."""

    area: int
    exchange: int
    line: int


def format_timestamp(moment: datetime) -> str:
    """Render a moment the way Clio does (`2026-03-04T15:22:10+00:00`), in UTC, to the second.

    A naive moment is taken to be UTC already (an injected test clock may be naive).
    """
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime(_ISO_FORMAT)


def _epoch_text(seconds: float) -> str:
    return time.strftime(_ISO_FORMAT, time.gmtime(seconds))


def _epoch_date(seconds: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(seconds))


def format_us_number(number: UsNumber, style: str) -> str:
    """Write a US number in one of the shapes firm staff actually type."""
    a, e, n = number.area, number.exchange, f"{number.line:04d}"
    shapes = {
        "paren": f"({a}) {e}-{n}",
        "dash": f"{a}-{e}-{n}",
        "dot": f"{a}.{e}.{n}",
        "plain": f"{a}{e}{n}",
        "plus_spaced": f"+1 {a} {e} {n}",
        "one_dash": f"1-{a}-{e}-{n}",
        "e164": f"+1{a}{e}{n}",
        "paren_tight": f"({a}){e}{n}",
        "ext": f"{a}-{e}-{n} x{(number.line % 89) + 10}",
    }
    return shapes[style]


class _Generator:
    """Holds the random stream and id counters while one firm is built."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.phone_id = PHONE_ID_BASE
        self.address_id = ADDRESS_ID_BASE
        self.family: dict[str, UsNumber] = {}

    def etag(self) -> str:
        return f'"{self.rng.getrandbits(128):032x}"'

    def us_number(self, area_codes: Sequence[int]) -> UsNumber:
        rng = self.rng
        area = area_codes[rng.randrange(len(area_codes))] if rng.random() < 0.8 else _any_area_code(rng)
        exchange = rng.randrange(201, 1000)
        while exchange % 100 == 11 or exchange in (555, 950, 958, 959, 976):
            exchange = rng.randrange(201, 1000)
        return UsNumber(area, exchange, rng.randrange(10_000))

    def us_style(self) -> str:
        return self.rng.choices(US_STYLES, US_STYLE_WEIGHTS)[0]

    def phone(self, number: str, label: str, primary: bool, stamp: str) -> Record:
        self.phone_id += 1
        return {
            "id": self.phone_id,
            "etag": self.etag(),
            "number": number,
            "name": label,
            "primary": primary,
            "created_at": stamp,
            "updated_at": stamp,
        }

    def address(self, city: tuple[str, str, str, tuple[int, ...]], label: str, stamp: str) -> Record:
        rng = self.rng
        self.address_id += 1
        street = f"{rng.randrange(1, 9900)} {rng.choice(STREET_NAMES)} {rng.choice(STREET_SUFFIXES)}"
        if rng.random() < 0.15:
            street += f", Apt {rng.randrange(1, 40)}"
        return {
            "id": self.address_id,
            "etag": self.etag(),
            "name": label,
            "street": street,
            "city": city[0],
            "province": city[1],
            "postal_code": f"{city[2]}{rng.randrange(100):02d}",
            "country": "US",
            "primary": True,
            "created_at": stamp,
            "updated_at": stamp,
        }


def _any_area_code(rng: random.Random) -> int:
    city = CITIES[rng.randrange(len(CITIES))]
    return city[3][rng.randrange(len(city[3]))]


def _phone_count(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.07:
        return 0
    if roll < 0.82:
        return 1
    return 2 if roll < 0.96 else 3


def _phone_label(rng: random.Random, is_person: bool, index: int) -> str:
    if not is_person:
        return "Work" if rng.random() < 0.8 else "Other"
    roll = rng.random()
    if index == 0:
        return "Mobile" if roll < 0.6 else ("Work" if roll < 0.8 else ("Home" if roll < 0.92 else "Personal"))
    return ("Work", "Home", "Mobile", "Other", "Personal")[min(int(roll * 5), 4)]


def _number_text(gen: _Generator, area_codes: Sequence[int]) -> tuple[str, UsNumber | None]:
    rng = gen.rng
    roll = rng.random()
    if roll < JUNK_SHARE:
        return rng.choice(JUNK_NUMBERS), None
    if roll < JUNK_SHARE + FOREIGN_SHARE:
        return rng.choice(FOREIGN_NUMBERS), None
    number = gen.us_number(area_codes)
    return format_us_number(number, gen.us_style()), number


def _phones(gen: _Generator, is_person: bool, last: str | None, area_codes: Sequence[int], stamp: str) -> list[Record]:
    rng = gen.rng
    texts: list[tuple[str, str]] = []
    first_us: UsNumber | None = None
    for index in range(_phone_count(rng)):
        text, number = _number_text(gen, area_codes)
        first_us = first_us or number
        texts.append((text, _phone_label(rng, is_person, index)))
    if last is not None:
        shared = gen.family.get(last)
        if shared is not None and rng.random() < FAMILY_SHARE:
            texts.append((format_us_number(shared, gen.us_style()), "Home"))
        elif first_us is not None:
            gen.family[last] = first_us
    return [gen.phone(text, label, index == 0, stamp) for index, (text, label) in enumerate(texts)]


def _company_name(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.5:
        return f"{rng.choice(LAST_NAMES)} {rng.choice(COMPANY_TRADES)} {rng.choice(COMPANY_SUFFIXES)}"
    if roll < 0.8:
        return f"{rng.choice(STREET_NAMES)} {rng.choice(COMPANY_TRADES)} {rng.choice(COMPANY_SUFFIXES)}"
    return f"{rng.choice(LAST_NAMES)} & {rng.choice(LAST_NAMES)} {rng.choice(COMPANY_SUFFIXES)}"


def _email(rng: random.Random, first: str, last: str) -> str:
    local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
    domain = rng.choice(("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "aol.com"))
    return f"{local}{rng.randrange(100) if rng.random() < 0.4 else ''}@{domain}"


def _stamps(rng: random.Random, index: int, total: int) -> tuple[float, float]:
    """Creation times rise with the id; most records were last touched soon after creation."""
    created = FIRM_START.timestamp() + (index + rng.random()) * _FIRM_SPAN / max(total, 1)
    remaining = GENERATED_AT.timestamp() - created
    if rng.random() < 0.7:
        return created, created + min(rng.random() * 3_600.0, remaining)
    return created, created + rng.random() * remaining


def _contact(gen: _Generator, index: int, total: int) -> Record:
    rng = gen.rng
    created, updated = _stamps(rng, index, total)
    created_text, updated_text = _epoch_text(created), _epoch_text(updated)
    city = CITIES[rng.randrange(len(CITIES))]
    record: Record = {"id": CONTACT_ID_BASE + index + 1, "etag": gen.etag()}
    if rng.random() < PERSON_SHARE:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        record.update(name=f"{first} {last}", first_name=first, last_name=last, type="Person")
        if rng.random() < 0.8:
            record["primary_email_address"] = _email(rng, first, last)
        phones = _phones(gen, True, last, city[3], created_text)
    else:
        name = _company_name(rng)
        record.update(name=name, type="Company")
        if rng.random() < 0.6:
            slug = "".join(ch for ch in name.split(" ")[0].lower() if ch.isalnum())
            record["primary_email_address"] = f"info@{slug}.com"
        phones = _phones(gen, False, None, city[3], created_text)
    record["is_client"] = rng.random() < CLIENT_SHARE
    record["phone_numbers"] = phones
    if phones:
        record["primary_phone_number"] = phones[0]["number"]
    if len(phones) > 1:
        record["secondary_phone_number"] = phones[1]["number"]
    if rng.random() < ADDRESS_SHARE:
        address = gen.address(city, "Home" if record["type"] == "Person" else "Work", created_text)
        record["primary_address"] = address
        record["addresses"] = [address]
    record["created_at"], record["updated_at"] = created_text, updated_text
    return record


def _users(gen: _Generator, count: int) -> list[Record]:
    rng = gen.rng
    users: list[Record] = []
    stamp = format_timestamp(FIRM_START)
    for index in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        roles = ROLES_BY_RANK[min(index, len(ROLES_BY_RANK) - 1)] if index < 3 else rng.choice(ROLES_BY_RANK[1:])
        users.append(
            {
                "id": USER_ID_BASE + index + 1,
                "etag": gen.etag(),
                "name": f"{first} {last}",
                "first_name": first,
                "last_name": last,
                "initials": f"{first[0]}{last[0]}",
                "email": f"{first}.{last}".lower().replace(" ", "").replace("'", "") + f"@{FIRM_DOMAIN}",
                "enabled": not (count > 3 and index == count - 1),
                "roles": list(roles),
                "subscription_type": "Attorney" if "Attorney" in roles else "NonAttorney",
                "time_zone": "Pacific Time (US & Canada)",
                "default_calendar_id": CALENDAR_ID_BASE + index + 1,
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
    return users


def _practice_areas(gen: _Generator) -> list[Record]:
    stamp = format_timestamp(FIRM_START)
    return [
        {
            "id": PRACTICE_AREA_ID_BASE + index + 1,
            "etag": gen.etag(),
            "name": name,
            "code": code,
            "category": "Litigation" if code in ("FAM", "CRIM", "PI", "EMP") else "Transactional",
            "created_at": stamp,
            "updated_at": stamp,
        }
        for index, (name, code) in enumerate(PRACTICE_AREAS)
    ]


def _client_label(client: Record) -> str:
    if client.get("type") == "Person":
        return str(client.get("last_name") or client["name"]).replace(" ", "")
    return str(client["name"]).split(" ")[0].rstrip(",&")


def _description(rng: random.Random, area: str, client: Record) -> str:
    template = rng.choice(DESCRIPTIONS[area])
    street = f"{rng.randrange(1, 9900)} {rng.choice(STREET_NAMES)} {rng.choice(STREET_SUFFIXES)}"
    return template.format(
        a=client.get("last_name") or client["name"],
        b=rng.choice(LAST_NAMES),
        full=client["name"],
        place=rng.choice(PLACES),
        street=street,
        hospital=rng.choice(HOSPITALS),
        company=_company_name(rng),
    )


def _pick_client(rng: random.Random, clients: Sequence[Record], regulars: Sequence[Record], share: float) -> Record:
    """A regular client (several matters) or any client already on the books when the matter opened."""
    if regulars and rng.random() < REPEAT_CLIENT_SHARE:
        return regulars[rng.randrange(len(regulars))]
    known = max(1, min(len(clients), int(len(clients) * share) + 1))
    return clients[rng.randrange(known)]


def _matter(gen: _Generator, index: int, total: int, pools: tuple[Sequence[Record], ...]) -> Record:
    rng = gen.rng
    clients, regulars, attorneys, areas = pools
    client = _pick_client(rng, clients, regulars, (index + 1) / max(total, 1))
    area = areas[rng.randrange(len(areas))]
    attorney = attorneys[rng.randrange(len(attorneys))]
    created, updated = _stamps(rng, index, total)
    roll = rng.random()
    status = "Open" if roll < 0.65 else ("Pending" if roll < 0.75 else "Closed")
    number = index + 1
    record: Record = {
        "id": MATTER_ID_BASE + number,
        "etag": gen.etag(),
        "number": number,
        "display_number": f"{number:05d}-{_client_label(client)}",
        "description": _description(rng, area["name"], client),
        "status": status,
        "client": {"id": client["id"], "name": client["name"]},
        "client_id": client["id"],
        "responsible_attorney": {"id": attorney["id"], "name": attorney["name"]},
        "practice_area": {"id": area["id"], "name": area["name"]},
        "billable": True,
        "open_date": _epoch_date(created),
    }
    if status == "Closed":
        closed = min(created + rng.uniform(30, 700) * _DAY, GENERATED_AT.timestamp() - _DAY)
        record["close_date"] = _epoch_date(max(closed, created))
        updated = max(updated, closed)
    elif status == "Pending":
        record["pending_date"] = _epoch_date(created)
    record["created_at"], record["updated_at"] = _epoch_text(created), _epoch_text(updated)
    return record


def _relationships(gen: _Generator, matters: Sequence[Record], contacts: Sequence[Record]) -> list[Record]:
    rng = gen.rng
    rows: list[Record] = []
    if len(contacts) < 2:
        return rows
    for matter in matters:
        if rng.random() >= RELATED_SHARE:
            continue
        for _ in range(1 if rng.random() < 0.7 else 2):
            contact = contacts[rng.randrange(len(contacts))]
            if contact["id"] == matter["client"]["id"]:
                continue
            rows.append(
                {
                    "id": RELATIONSHIP_ID_BASE + len(rows) + 1,
                    "etag": gen.etag(),
                    "description": rng.choice(RELATIONSHIP_DESCRIPTIONS),
                    "matter": {"id": matter["id"]},
                    "contact": {"id": contact["id"]},
                    "created_at": matter["created_at"],
                    "updated_at": matter["created_at"],
                }
            )
    return rows


def _calendar_entry(gen: _Generator, index: int, matter: Record, owner: Record, client: str) -> Record:
    """One entry a few days after GENERATED_AT; the first of a firm is all-day, so every firm has one."""
    rng = gen.rng
    day = GENERATED_AT.replace(hour=0, minute=0) + timedelta(days=rng.randrange(1, 15))
    made = _epoch_text(GENERATED_AT.timestamp() - rng.uniform(1, 30) * _DAY)
    record: Record = {"id": CALENDAR_ENTRY_ID_BASE + index + 1, "etag": gen.etag()}
    if index == 0 or rng.random() < ALL_DAY_SHARE:
        kind, summary, where = rng.choice(CALENDAR_ALL_DAY)
        # Clio gives an all-day entry a date, not a moment.
        record.update(all_day=True, start_at=day.strftime("%Y-%m-%d"), end_at=day.strftime("%Y-%m-%d"))
    else:
        kind, summary, where, minutes = rng.choice(CALENDAR_TIMED)
        # 9:00 to 16:00 Pacific (the firm's users' zone), written in UTC as Clio does.
        start = day + timedelta(hours=17 + rng.randrange(0, 15) / 2)
        record.update(all_day=False, start_at=format_timestamp(start))
        record["end_at"] = format_timestamp(start + timedelta(minutes=minutes))
    record.update(
        summary=summary.format(a=client),
        description=f"Matter {matter['display_number']}",
        matter={"id": matter["id"]},
        calendar_owner={"id": owner["default_calendar_id"], "name": owner["name"], "type": "UserCalendar"},
        calendar_owner_id=owner["default_calendar_id"],
        calendar_entry_event_type={
            "id": EVENT_TYPE_ID_BASE + CALENDAR_EVENT_TYPES.index(kind) + 1,
            "name": kind,
        },
        created_at=made,
        updated_at=made,
    )
    if where is not None:
        record["location"] = where
    return record


def _calendar(
    gen: _Generator, matters: Sequence[Record], users: Sequence[Record], count: int | None = None
) -> list[Record]:
    """Entries on about CALENDAR_SHARE of the open matters; or exactly `count`, spread over the open matters
    in turn (a benchmark's calendar of a given size)."""
    rng = gen.rng
    by_id = {user["id"]: user for user in users}
    entries: list[Record] = []

    def add(matter: Record) -> None:
        owner = by_id[matter["responsible_attorney"]["id"]]
        client = str(matter["display_number"]).split("-", 1)[-1]
        entries.append(_calendar_entry(gen, len(entries), matter, owner, client))

    if count is not None:
        open_matters = [matter for matter in matters if matter["status"] == "Open"]
        for index in range(count if open_matters else 0):
            add(open_matters[index % len(open_matters)])
        return entries
    for matter in matters:
        if matter["status"] != "Open" or rng.random() >= CALENDAR_SHARE:
            continue
        for _ in range(1 if rng.random() < 0.8 else 2):
            add(matter)
    return entries


def calendar_from(entries: Sequence[Record], today: datetime) -> list[Record]:
    """Copies of a firm's calendar moved by whole days so GENERATED_AT's date becomes `today`'s.

    The firm is generated once for all time, but its hearings must stay "in the coming days" whenever the
    sandbox runs: the sandbox serves its calendar through this, keeping each entry's time of day.
    """
    shift = (today.date() if today.tzinfo is None else today.astimezone(UTC).date()) - GENERATED_AT.date()
    moved: list[Record] = []
    for entry in entries:
        copy = dict(entry)
        for key in ("start_at", "end_at", "created_at", "updated_at"):
            value = copy.get(key)
            if isinstance(value, str) and len(value) == 10:
                copy[key] = (datetime.fromisoformat(value) + shift).strftime("%Y-%m-%d")
            elif isinstance(value, str):
                copy[key] = format_timestamp(datetime.fromisoformat(value) + shift)
        moved.append(copy)
    return moved


def generate_firm(
    contacts: int, matters: int, seed: int = 7, users: int = 12, calendar_entries: int | None = None
) -> Firm:
    """Build a firm: the same seed and sizes always give the same records. `calendar_entries` asks for exactly
    that many entries on the open matters (by default, some of the open matters have one or two).

    Raises:
        ValueError: on negative sizes, no users, or matters requested without any contacts.
    """
    if contacts < 0 or matters < 0 or users < 1:
        raise ValueError("contacts and matters must be >= 0 and users >= 1")
    if matters and not contacts:
        raise ValueError("matters need at least one contact to be their client")
    gen = _Generator(seed)
    staff = _users(gen, users)
    areas = _practice_areas(gen)
    people = [_contact(gen, index, contacts) for index in range(contacts)]
    clients = [contact for contact in people if contact["is_client"]]
    if people and not clients:
        people[0]["is_client"] = True
        clients = [people[0]]
    regulars = clients[: max(1, len(clients) // 30)]
    attorneys = [user for user in staff if "Attorney" in user["roles"] and user["enabled"]] or staff[:1]
    pools = (clients, regulars, attorneys, areas)
    cases = [_matter(gen, index, matters, pools) for index in range(matters)]
    links = _relationships(gen, cases, people)
    return Firm(
        seed=seed,
        users=staff,
        practice_areas=areas,
        contacts=people,
        matters=cases,
        relationships=links,
        calendar_entries=_calendar(gen, cases, staff, calendar_entries),
    )


def today_text(moment: datetime) -> str:
    """The calendar date (UTC) of a moment, as Clio writes dates."""
    return format_timestamp(moment)[:10]
