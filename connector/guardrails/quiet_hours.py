"""Quiet hours: a non-urgent text goes out only while it is daytime where the client is.

A firm that texts a client at 6am or 10pm annoys them and, in several states, breaks the law (telemarketing
rules such as Florida's set 8am–8pm in the called person's time zone). The client's local time is what counts,
not the firm's, so this module first works out where the client probably is (`recipient`), then when a text
may go (`next_allowed`). When the place is uncertain (an area code or a state that spans time zones), every
candidate zone must be inside the window: sending an hour late is harmless, an hour early is not.

Pure functions over the standard library's zoneinfo and phonenumbers' bundled data; no database, no network.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_time_zones


@dataclass(frozen=True, slots=True)
class Window:
    """The daily span, in the recipient's wall-clock time, when texts may go: `start` inclusive, `end` exclusive.

    A window never spans midnight: quiet hours are for the night, so the allowed part is one daytime stretch.
    Whole minutes only, so that `str(window)` reads back through `parse_window` unchanged.
    """

    start: time
    end: time

    def __post_init__(self) -> None:
        for part in (self.start, self.end):
            if part.tzinfo is not None:
                raise ValueError(f"quiet-hours times are local to each recipient; got {part} with a time zone")
            if part.second or part.microsecond:
                raise ValueError(f"quiet-hours times are whole minutes; got {part}")
        if self.end <= self.start:
            raise ValueError(
                f"the window ends at {self.end:%H:%M}, not after its start {self.start:%H:%M}; "
                "it must end later the same day (e.g. 08:00-20:00)"
            )

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class Recipient:
    """Where a client probably is, and how that was decided (so a held text can say why it was held).

    `zones` holds one zone normally; several when the best evidence (an area code, a state) spans zones.
    """

    zones: tuple[ZoneInfo, ...]
    state: str | None
    source: str

    def __post_init__(self) -> None:
        if not self.zones:
            raise ValueError("a recipient needs at least one time zone")
        if self.source not in SOURCES:
            raise ValueError(f"unknown recipient source {self.source!r}; one of: {', '.join(SOURCES)}")
        if self.state is not None and self.state not in STATE_CODES:
            raise ValueError(f"{self.state!r} is not a two-letter US state or Canadian province code")


# ---------------------------------------------------------------------------------------------------------------
# Constants and reference data, in one place.

DEFAULT_WINDOW: Final = Window(time(8, 0), time(20, 0))

# How `recipient` decided, best evidence first.
SOURCE_CONTACT_TIME_ZONE: Final = "contact_time_zone"
SOURCE_ADDRESS: Final = "address"
SOURCE_AREA_CODE: Final = "area_code"
SOURCE_FIRM: Final = "firm"
SOURCES: Final = (SOURCE_CONTACT_TIME_ZONE, SOURCE_ADDRESS, SOURCE_AREA_CODE, SOURCE_FIRM)

# How far ahead `next_allowed` looks. Any window that is open somewhere in all of a recipient's zones is open
# within two days; a week leaves room for daylight-saving changes and still bounds the work.
_SEARCH_HORIZON: Final = timedelta(days=8)
# Zone offsets are sampled this often to find daylight-saving changes; no zone changes twice within an hour.
_TRANSITION_PROBE: Final = timedelta(hours=1)

_WINDOW_TEXT: Final = re.compile(r"^(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})$")

# Numbers that belong to no place (toll-free, premium, VoIP, NANP 5XX "personal" numbers...): their zones,
# if any, are a whole country's (for +1, everything from Guam to Newfoundland), which says nothing.
_PLACED_TYPES: Final = frozenset(
    {
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
)
_NANP: Final = 1
AREA_CODES_PATH: Final = Path(__file__).with_name("area_codes.json")
# The NANP regions whose area codes name a US state, territory or Canadian province.
_NANP_STATE_REGIONS: Final = frozenset({"US", "CA", "PR", "VI", "GU", "MP", "AS"})

# State/province -> every distinct local clock used in part of it, per the IANA tz database (zone1970.tab
# comments such as "Mountain - ID (south), OR (east)") and the federal/provincial time-zone boundaries.
# Where two zone names have kept the same clock since 2007 the larger one is named. Single towns that keep a
# neighbour's time (West Wendover NV, and unofficially Kenton OK and Phenix City AL) are not modelled.
_STATE_ZONES: Final[Mapping[str, tuple[str, ...]]] = {
    # United States
    "AL": ("America/Chicago",),
    "AK": ("America/Anchorage", "America/Adak"),  # Adak: the western Aleutians
    "AZ": ("America/Phoenix", "America/Denver"),  # Denver: the Navajo Nation keeps daylight saving
    "AR": ("America/Chicago",),
    "CA": ("America/Los_Angeles",),
    "CO": ("America/Denver",),
    "CT": ("America/New_York",),
    "DE": ("America/New_York",),
    "DC": ("America/New_York",),
    "FL": ("America/New_York", "America/Chicago"),  # Chicago: the western panhandle
    "GA": ("America/New_York",),
    "HI": ("Pacific/Honolulu",),
    "ID": ("America/Boise", "America/Los_Angeles"),  # Los Angeles: the northern panhandle
    "IL": ("America/Chicago",),
    "IN": ("America/New_York", "America/Chicago"),  # Chicago: the north-west and south-west corners
    "IA": ("America/Chicago",),
    "KS": ("America/Chicago", "America/Denver"),  # Denver: four western counties
    "KY": ("America/New_York", "America/Chicago"),  # Chicago: the western half
    "LA": ("America/Chicago",),
    "ME": ("America/New_York",),
    "MD": ("America/New_York",),
    "MA": ("America/New_York",),
    "MI": ("America/New_York", "America/Chicago"),  # Chicago: counties on the Wisconsin border
    "MN": ("America/Chicago",),
    "MS": ("America/Chicago",),
    "MO": ("America/Chicago",),
    "MT": ("America/Denver",),
    "NE": ("America/Chicago", "America/Denver"),  # Denver: the western part
    "NV": ("America/Los_Angeles",),
    "NH": ("America/New_York",),
    "NJ": ("America/New_York",),
    "NM": ("America/Denver",),
    "NY": ("America/New_York",),
    "NC": ("America/New_York",),
    "ND": ("America/Chicago", "America/Denver"),  # Denver: the south-west
    "OH": ("America/New_York",),
    "OK": ("America/Chicago",),
    "OR": ("America/Los_Angeles", "America/Boise"),  # Boise: most of Malheur County
    "PA": ("America/New_York",),
    "RI": ("America/New_York",),
    "SC": ("America/New_York",),
    "SD": ("America/Chicago", "America/Denver"),  # Denver: the western half
    "TN": ("America/New_York", "America/Chicago"),  # New York: East Tennessee
    "TX": ("America/Chicago", "America/Denver"),  # Denver: El Paso and Hudspeth counties
    "UT": ("America/Denver",),
    "VT": ("America/New_York",),
    "VA": ("America/New_York",),
    "WA": ("America/Los_Angeles",),
    "WV": ("America/New_York",),
    "WI": ("America/Chicago",),
    "WY": ("America/Denver",),
    # US territories with their own NANP area codes
    "PR": ("America/Puerto_Rico",),
    "VI": ("America/St_Thomas",),
    "GU": ("Pacific/Guam",),
    "MP": ("Pacific/Saipan",),
    "AS": ("Pacific/Pago_Pago",),
    # Canada
    "AB": ("America/Edmonton",),
    "BC": ("America/Vancouver", "America/Edmonton", "America/Dawson_Creek"),  # East Kootenay; the north-east
    "MB": ("America/Winnipeg",),
    "NB": ("America/Moncton",),
    "NL": ("America/St_Johns", "America/Goose_Bay"),  # Goose Bay: most of Labrador
    "NS": ("America/Halifax",),
    "NT": ("America/Edmonton",),
    "NU": ("America/Iqaluit", "America/Rankin_Inlet", "America/Cambridge_Bay"),
    "ON": ("America/Toronto", "America/Winnipeg", "America/Atikokan"),  # the north-west; Atikokan (EST)
    "PE": ("America/Halifax",),
    "QC": ("America/Toronto", "America/Blanc-Sablon"),  # Blanc-Sablon: the Lower North Shore (AST)
    "SK": ("America/Regina", "America/Edmonton"),  # Edmonton: Lloydminster
    "YT": ("America/Whitehorse",),
}
STATE_CODES: Final = frozenset(_STATE_ZONES)

# Full names -> codes, for addresses typed in full and for phonenumbers' geocoder, which answers either
# "San Francisco, CA" or a bare name ("Texas", "Washington State", and its own spelling "British Colombia").
# Descriptions that name several provinces ("Nova Scotia/Prince Edward Island") are deliberately absent.
_STATE_NAMES: Final[Mapping[str, str]] = {
    "alabama": "AL",
    "alaska": "AK",
    "arizona": "AZ",
    "arkansas": "AR",
    "california": "CA",
    "colorado": "CO",
    "connecticut": "CT",
    "delaware": "DE",
    "district of columbia": "DC",
    "washington d.c.": "DC",
    "washington dc": "DC",
    "florida": "FL",
    "georgia": "GA",
    "hawaii": "HI",
    "idaho": "ID",
    "illinois": "IL",
    "indiana": "IN",
    "iowa": "IA",
    "kansas": "KS",
    "kentucky": "KY",
    "louisiana": "LA",
    "maine": "ME",
    "maryland": "MD",
    "massachusetts": "MA",
    "michigan": "MI",
    "minnesota": "MN",
    "mississippi": "MS",
    "missouri": "MO",
    "montana": "MT",
    "nebraska": "NE",
    "nevada": "NV",
    "new hampshire": "NH",
    "new jersey": "NJ",
    "new mexico": "NM",
    "new york": "NY",
    "north carolina": "NC",
    "north dakota": "ND",
    "ohio": "OH",
    "oklahoma": "OK",
    "oregon": "OR",
    "pennsylvania": "PA",
    "rhode island": "RI",
    "south carolina": "SC",
    "south dakota": "SD",
    "tennessee": "TN",
    "texas": "TX",
    "utah": "UT",
    "vermont": "VT",
    "virginia": "VA",
    "washington": "WA",
    "washington state": "WA",
    "west virginia": "WV",
    "wisconsin": "WI",
    "wyoming": "WY",
    "puerto rico": "PR",
    "u.s. virgin islands": "VI",
    "us virgin islands": "VI",
    "guam": "GU",
    "northern mariana islands": "MP",
    "american samoa": "AS",
    "alberta": "AB",
    "british columbia": "BC",
    "british colombia": "BC",
    "manitoba": "MB",
    "new brunswick": "NB",
    "newfoundland and labrador": "NL",
    "nova scotia": "NS",
    "northwest territories": "NT",
    "nunavut": "NU",
    "ontario": "ON",
    "prince edward island": "PE",
    "quebec": "QC",
    "québec": "QC",
    "saskatchewan": "SK",
    "yukon": "YT",
}

# ---------------------------------------------------------------------------------------------------------------
# Configuration


def parse_window(text: str) -> Window:
    """Read a window such as "08:00-20:00" (24-hour), so that a typo in configuration stops the program."""
    match = _WINDOW_TEXT.match(text.strip())
    if match is None:
        raise ValueError(f"quiet-hours window {text!r} is not HH:MM-HH:MM (24-hour), e.g. 08:00-20:00")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    try:
        return Window(time(start_h, start_m), time(end_h, end_m))
    except ValueError as exc:
        raise ValueError(f"quiet-hours window {text!r}: {exc}") from None


def parse_state_windows(text: str) -> dict[str, Window]:
    """Read per-state windows such as "FL=08:00-20:00,TX=09:00-21:00"; an empty text configures none.

    Keys are US state, territory or Canadian province codes, upper-cased, so that "tx" and "TX" agree.
    """
    windows: dict[str, Window] = {}
    for part in (piece.strip() for piece in text.split(",")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"quiet-hours state window {part!r} is not STATE=HH:MM-HH:MM, e.g. TX=09:00-21:00")
        code = key.upper()
        if code not in STATE_CODES:
            raise ValueError(
                f"quiet-hours state window {part!r}: {key!r} is not a two-letter US state or Canadian province code"
            )
        if code in windows:
            raise ValueError(f"quiet-hours state window {part!r}: {code} is given more than once")
        try:
            windows[code] = parse_window(value)
        except ValueError as exc:
            raise ValueError(f"quiet-hours state window {part!r}: {exc}") from None
    return windows


# ---------------------------------------------------------------------------------------------------------------
# Where the client is


def recipient(phone: str, *, time_zone: str | None, state: str | None, firm_zone: ZoneInfo) -> Recipient:
    """Where the client behind `phone` probably is, from the best evidence at hand.

    Order: the client's own time zone in the CMS; else their address's state or province; else the number's
    area code; else the firm's zone. Bad evidence (a time zone the tz database does not know, a state that is
    not a US or Canadian code, a toll-free number) is skipped, never an error: a text must still be scheduled.
    """
    parsed = _parse(phone)
    address_state = _state_code(state)
    known_state = address_state or (_area_code_state(parsed) if parsed is not None else None)

    contact_zone = _load_zone(time_zone.strip()) if time_zone else None
    if contact_zone is not None:
        return Recipient((contact_zone,), known_state, SOURCE_CONTACT_TIME_ZONE)
    if address_state is not None:
        zones = _load_zones(_STATE_ZONES[address_state])
        if zones:
            return Recipient(zones, known_state, SOURCE_ADDRESS)
    if parsed is not None:
        zones = _load_zones(_area_code_zone_names(parsed))
        if zones:
            return Recipient(zones, known_state, SOURCE_AREA_CODE)
    return Recipient((firm_zone,), known_state, SOURCE_FIRM)


def window_for(recipient: Recipient, default: Window, by_state: Mapping[str, Window]) -> Window:
    """The firm's window for the recipient's state when it configured one (some states are stricter), else
    `default`."""
    if recipient.state is None:
        return default
    return by_state.get(recipient.state, default)


def _parse(phone: str) -> phonenumbers.PhoneNumber | None:
    try:
        parsed: phonenumbers.PhoneNumber = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None
    return parsed if phonenumbers.is_valid_number(parsed) else None


def _area_code_zone_names(parsed: phonenumbers.PhoneNumber) -> tuple[str, ...]:
    """The zones phonenumbers gives for a number tied to a place; none for toll-free and other placeless numbers.

    Within +1 every area code is geographic, mobile or not, so the prefix table is read directly; asked through
    `time_zones_for_number`, a Jamaican or Bermudian mobile would get the whole of North America.
    """
    if phonenumbers.number_type(parsed) not in _PLACED_TYPES:
        return ()
    if parsed.country_code == _NANP:
        names: tuple[str, ...] = tuple(phone_time_zones.time_zones_for_geographical_number(parsed))
    else:
        names = tuple(phone_time_zones.time_zones_for_number(parsed))
    return tuple(name for name in names if name != phone_time_zones.UNKNOWN_TIMEZONE)


@functools.cache
def _area_codes() -> dict[str, str]:
    """Area code -> state or province, from `area_codes.json`.

    The table is phonenumbers' geocoder data reduced to what quiet hours need: loading the geocoder itself
    costs about 100 MB in every process that sends. NANP area codes do not cross state or province lines;
    the few shared by provinces (867, 902) are left out, so they read as unknown.
    tests/test_guardrails_quiet_hours.py checks the table against the geocoder.
    """
    table: dict[str, str] = json.loads(AREA_CODES_PATH.read_text(encoding="utf-8"))
    return table


def _area_code_state(parsed: phonenumbers.PhoneNumber) -> str | None:
    """The state or province of a US/Canadian number's area code."""
    if parsed.country_code != _NANP or phonenumbers.region_code_for_number(parsed) not in _NANP_STATE_REGIONS:
        return None
    return _area_codes().get(str(parsed.national_number)[:3])


def _state_code(text: str | None) -> str | None:
    """A two-letter code for an address's state as the CMS holds it ("tx", "TX", "Texas"), or None."""
    if text is None:
        return None
    cleaned = text.strip()
    if cleaned.upper() in STATE_CODES:
        return cleaned.upper()
    return _STATE_NAMES.get(cleaned.casefold())


def _load_zone(name: str) -> ZoneInfo | None:
    """The zone called `name`, or None when the tz database does not know it (CMS data is free text)."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _load_zones(names: tuple[str, ...]) -> tuple[ZoneInfo, ...]:
    """The zones that load, in order and without repeats; an older tz database may lack a newer name."""
    zones = (_load_zone(name) for name in dict.fromkeys(names))
    return tuple(zone for zone in zones if zone is not None)


# ---------------------------------------------------------------------------------------------------------------
# When a text may go


def next_allowed(now: datetime, recipient: Recipient, window: Window) -> datetime | None:
    """None when a text may go at `now`; else the earliest UTC instant after it when it may.

    "May go" means the wall clock reads inside `window` in every one of the recipient's zones. Local times are
    built with zoneinfo and converted, never reached by adding hours, so daylight-saving changes come out right:
    a window opening inside a spring-forward gap opens when the clocks jump past its start, and a fall-back
    fold is read as the clocks read it.

    Raises ValueError when the zones never share an open moment (zones far apart and a short window); sending
    at a time that is night for one of them is not this function's call to make.
    """
    if now.utcoffset() is None:
        raise ValueError("next_allowed needs an aware datetime for `now`")
    if _inside_everywhere(now, recipient.zones, window):
        return None
    start = now.astimezone(UTC)
    horizon = start + _SEARCH_HORIZON
    candidates = {
        instant for zone in recipient.zones for instant in _openings(zone, window, start, horizon) if start < instant
    }
    for instant in sorted(candidates):
        if _inside_everywhere(instant, recipient.zones, window):
            return instant
    zone_names = ", ".join(str(zone) for zone in recipient.zones)
    raise ValueError(
        f"quiet hours {window} never open at the same time in all of {zone_names} "
        f"within {_SEARCH_HORIZON.days} days of {now.isoformat()}"
    )


def _inside(instant: datetime, zone: ZoneInfo, window: Window) -> bool:
    return window.start <= instant.astimezone(zone).time() < window.end


def _inside_everywhere(instant: datetime, zones: tuple[ZoneInfo, ...], window: Window) -> bool:
    return all(_inside(instant, zone, window) for zone in zones)


def _openings(zone: ZoneInfo, window: Window, now: datetime, horizon: datetime) -> Iterator[datetime]:
    """Every UTC instant from `now` to `horizon` (both UTC) at which `zone`'s wall clock may enter the window.

    The clock enters the window either by ticking onto its start (zero, one or two instants a day: none in a
    spring-forward gap, two in a fall-back fold) or by jumping at a change of offset. The moment the window
    opens in all zones at once is the latest of the zones' entries, so it is one of these instants.
    """
    day = now.astimezone(zone).date() - timedelta(days=1)
    last = horizon.astimezone(zone).date() + timedelta(days=1)
    while day <= last:
        yield from _wall_instants(zone, day, window.start)
        day += timedelta(days=1)
    yield from _transitions(zone, now, horizon)


def _wall_instants(zone: ZoneInfo, day: date, at: time) -> Iterator[datetime]:
    """The UTC instants at which `zone`'s clock reads `day` `at`: none in a gap, two in a fold."""
    for fold in (0, 1):
        instant = datetime.combine(day, at, tzinfo=zone).replace(fold=fold).astimezone(UTC)
        local = instant.astimezone(zone)
        if local.date() == day and local.time() == at:
            yield instant


def _transitions(zone: ZoneInfo, start: datetime, end: datetime) -> Iterator[datetime]:
    """The UTC instants in (start, end] at which `zone` changes its offset from UTC (its clock jumps)."""
    before = start.astimezone(UTC)
    offset = before.astimezone(zone).utcoffset()
    while before < end:
        after = min(before + _TRANSITION_PROBE, end.astimezone(UTC))
        next_offset = after.astimezone(zone).utcoffset()
        if next_offset != offset:
            yield _first_with_new_offset(zone, before, after)
        before, offset = after, next_offset


def _first_with_new_offset(zone: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """Bisect, to the second (offsets change on whole seconds), for the instant the offset at `before` ends."""
    old = before.astimezone(zone).utcoffset()
    low, high = math.floor(before.timestamp()), math.ceil(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).utcoffset() == old:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)
