"""Quiet hours: a non-urgent text goes out only between 8am and 8pm where the client is."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
import pytest

from connector.guardrails import quiet_hours as qh
from connector.guardrails.quiet_hours import (
    DEFAULT_WINDOW,
    Recipient,
    Window,
    next_allowed,
    parse_state_windows,
    parse_window,
    recipient,
    window_for,
)

NY = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
DENVER = ZoneInfo("America/Denver")
LA = ZoneInfo("America/Los_Angeles")
BOISE = ZoneInfo("America/Boise")
PHOENIX = ZoneInfo("America/Phoenix")
HONOLULU = ZoneInfo("Pacific/Honolulu")
FIRM = NY

SF_NUMBER = "+14155550123"
NYC_NUMBER = "+12125550123"
IDAHO_NUMBER = "+12085550100"


def in_zone(zone: ZoneInfo) -> Recipient:
    return Recipient((zone,), None, "contact_time_zone")


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def goes_out(now: datetime, who: Recipient, window: Window = DEFAULT_WINDOW) -> datetime:
    """When a text written at `now` actually leaves: at once, or when it is released."""
    return next_allowed(now, who, window) or now


# --- the everyday edges ---------------------------------------------------------------------------------------


def test_a_text_at_759pm_local_goes_now() -> None:
    assert next_allowed(datetime(2026, 6, 10, 19, 59, tzinfo=NY), in_zone(NY), DEFAULT_WINDOW) is None


def test_a_text_at_8pm_local_waits_until_8am_the_next_day() -> None:
    released = next_allowed(datetime(2026, 6, 10, 20, 0, tzinfo=NY), in_zone(NY), DEFAULT_WINDOW)
    assert released == datetime(2026, 6, 11, 8, 0, tzinfo=NY)
    assert released is not None
    assert released.utcoffset() == timedelta(0)  # handed back in UTC, ready to store


def test_a_text_at_2am_waits_until_8am_the_same_day() -> None:
    assert next_allowed(datetime(2026, 6, 10, 2, 0, tzinfo=NY), in_zone(NY), DEFAULT_WINDOW) == utc(2026, 6, 10, 12)


def test_a_text_at_exactly_8am_goes_now_and_a_moment_before_waits() -> None:
    assert next_allowed(datetime(2026, 6, 10, 8, 0, tzinfo=NY), in_zone(NY), DEFAULT_WINDOW) is None
    just_before = datetime(2026, 6, 10, 7, 59, 59, 999_999, tzinfo=NY)
    assert next_allowed(just_before, in_zone(NY), DEFAULT_WINDOW) == datetime(2026, 6, 10, 8, 0, tzinfo=NY)


def test_it_is_the_recipients_clock_not_the_firms_that_counts() -> None:
    # 9pm at a New York firm is 6pm in San Francisco: the text goes.
    firm_evening = datetime(2026, 6, 10, 21, 0, tzinfo=NY)
    assert next_allowed(firm_evening, in_zone(LA), DEFAULT_WINDOW) is None
    # 9am at the firm is 6am in San Francisco: held until 8am there, which is 11am at the firm.
    firm_morning = datetime(2026, 6, 10, 9, 0, tzinfo=NY)
    assert goes_out(firm_morning, in_zone(LA)) == datetime(2026, 6, 10, 11, 0, tzinfo=NY)


def test_now_without_a_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_allowed(datetime(2026, 6, 10, 12, 0), in_zone(NY), DEFAULT_WINDOW)


# --- daylight saving --------------------------------------------------------------------------------------------


def test_spring_forward_a_text_held_overnight_goes_at_8am_daylight_time() -> None:
    # 2026-03-08: New York clocks jump from 2:00 to 3:00; 8am is now 12:00 UTC, a day earlier it was 13:00 UTC.
    assert goes_out(datetime(2026, 3, 7, 23, 0, tzinfo=NY), in_zone(NY)) == utc(2026, 3, 8, 12)
    assert goes_out(datetime(2026, 3, 6, 23, 0, tzinfo=NY), in_zone(NY)) == utc(2026, 3, 7, 13)


def test_fall_back_a_text_held_overnight_goes_at_8am_standard_time() -> None:
    # 2026-11-01: New York clocks go back from 2:00 to 1:00; 8am is 13:00 UTC again (12:00 UTC the day before).
    assert goes_out(datetime(2026, 10, 31, 23, 0, tzinfo=NY), in_zone(NY)) == utc(2026, 11, 1, 13)
    assert goes_out(datetime(2026, 10, 30, 23, 0, tzinfo=NY), in_zone(NY)) == utc(2026, 10, 31, 12)


@pytest.mark.parametrize("fold", [0, 1])
def test_fall_back_a_text_written_during_the_repeated_hour_goes_at_8am(fold: int) -> None:
    written = datetime(2026, 11, 1, 1, 30, fold=fold, tzinfo=NY)
    assert goes_out(written, in_zone(NY)) == utc(2026, 11, 1, 13)


def test_a_window_opening_inside_the_spring_forward_gap_opens_when_the_clocks_jump() -> None:
    # 02:30 never happens on 2026-03-08 in New York; the first moment at or after it is 03:00 EDT (07:00 UTC).
    early = parse_window("02:30-20:00")
    assert goes_out(datetime(2026, 3, 8, 1, 0, tzinfo=NY), in_zone(NY), early) == utc(2026, 3, 8, 7)


def test_a_window_ending_inside_the_fall_back_fold_reopens_when_the_hour_repeats() -> None:
    # With a 00:00-01:30 window, 01:45 EDT is closed, but at 06:00 UTC the clocks read 01:00 EST: open again.
    night = parse_window("00:00-01:30")
    written = datetime(2026, 11, 1, 1, 45, tzinfo=NY)
    assert goes_out(written, in_zone(NY), night) == utc(2026, 11, 1, 6)


@pytest.mark.parametrize("day", [datetime(2026, 3, 7), datetime(2026, 3, 8), datetime(2026, 7, 1)])
def test_arizona_keeps_standard_time_all_year(day: datetime) -> None:
    # New York's clocks move on 2026-03-08; Phoenix's do not: 8am there is 15:00 UTC in winter and summer.
    written = day.replace(hour=1, tzinfo=PHOENIX)
    assert goes_out(written, in_zone(PHOENIX)) == day.replace(hour=15, tzinfo=UTC)


@pytest.mark.parametrize("day", [datetime(2026, 1, 15), datetime(2026, 3, 8), datetime(2026, 11, 1)])
def test_hawaii_keeps_standard_time_all_year(day: datetime) -> None:
    written = day.replace(hour=6, tzinfo=HONOLULU)
    assert goes_out(written, in_zone(HONOLULU)) == day.replace(hour=18, tzinfo=UTC)


def _brute_force(now: datetime, zones: tuple[ZoneInfo, ...], window: Window) -> datetime:
    """The first whole UTC minute (or `now`) at which every zone's clock reads inside the window."""

    def inside(instant: datetime) -> bool:
        return all(window.start <= instant.astimezone(zone).time() < window.end for zone in zones)

    if inside(now):
        return now
    instant = now.astimezone(UTC).replace(second=0, microsecond=0)
    while True:
        instant += timedelta(minutes=1)
        if inside(instant):
            return instant


@pytest.mark.parametrize(
    "zones",
    [
        ("America/New_York",),
        ("Australia/Lord_Howe",),  # moves its clocks by half an hour
        ("America/Boise", "America/Los_Angeles"),
        ("America/St_Johns", "America/Goose_Bay"),
    ],
)
@pytest.mark.parametrize("window", ["08:00-20:00", "09:00-21:00", "02:30-20:00", "00:00-01:30", "01:30-20:00"])
@pytest.mark.parametrize("around", [utc(2026, 3, 8, 5), utc(2026, 4, 5, 5), utc(2026, 11, 1, 5)])
def test_release_times_match_a_minute_by_minute_walk_across_clock_changes(
    zones: tuple[str, ...], window: str, around: datetime
) -> None:
    who = Recipient(tuple(ZoneInfo(name) for name in zones), None, "area_code")
    quiet = parse_window(window)
    for step in range(0, 48 * 60, 97):
        now = around - timedelta(hours=24) + timedelta(minutes=step)
        assert goes_out(now, who, quiet) == _brute_force(now, who.zones, quiet), now


# --- where the client is ----------------------------------------------------------------------------------------


def test_the_cms_time_zone_wins_over_address_and_area_code() -> None:
    who = recipient(SF_NUMBER, time_zone=" America/Denver ", state="NY", firm_zone=FIRM)
    assert who.zones == (DENVER,)
    assert who.source == "contact_time_zone"
    assert who.state == "NY"  # the address still says which state's rules apply


def test_the_address_state_wins_over_the_area_code() -> None:
    who = recipient(SF_NUMBER, time_zone=None, state="ny", firm_zone=FIRM)
    assert (who.zones, who.state, who.source) == ((NY,), "NY", "address")


def test_an_address_state_may_be_spelled_out() -> None:
    who = recipient(SF_NUMBER, time_zone=None, state="Illinois", firm_zone=FIRM)
    assert (who.zones, who.state, who.source) == ((CHICAGO,), "IL", "address")


def test_an_address_state_that_spans_zones_gives_each_of_them() -> None:
    who = recipient(NYC_NUMBER, time_zone=None, state="TX", firm_zone=FIRM)
    assert set(who.zones) == {CHICAGO, DENVER}
    assert who.state == "TX"


@pytest.mark.parametrize(
    ("phone", "zone", "state"),
    [
        (SF_NUMBER, LA, "CA"),
        (NYC_NUMBER, NY, "NY"),
        ("+13125550100", CHICAGO, "IL"),
        ("+18504320100", CHICAGO, "FL"),  # Pensacola, on Central time
        ("+19155320100", DENVER, "TX"),  # El Paso, on Mountain time
        ("+16025550100", PHOENIX, "AZ"),
        ("+18085550100", HONOLULU, "HI"),
        ("+14165550100", ZoneInfo("America/Toronto"), "ON"),
        ("+18762101234", ZoneInfo("America/Jamaica"), None),  # a Jamaican mobile: not the whole of +1
    ],
)
def test_without_cms_zone_or_address_the_area_code_decides(phone: str, zone: ZoneInfo, state: str | None) -> None:
    who = recipient(phone, time_zone=None, state=None, firm_zone=FIRM)
    assert (who.zones, who.state, who.source) == ((zone,), state, "area_code")


@pytest.mark.parametrize(
    "phone",
    [
        "+18005550123",  # toll-free
        "+18885550123",  # toll-free
        "+19005550123",  # premium rate
        "+15005550123",  # NANP personal-communications: no place
        "+15555550123",  # not a valid number
        "not a number",
        "",
    ],
)
def test_numbers_tied_to_no_place_fall_back_to_the_firms_zone(phone: str) -> None:
    who = recipient(phone, time_zone=None, state=None, firm_zone=PHOENIX)
    assert (who.zones, who.state, who.source) == ((PHOENIX,), None, "firm")


@pytest.mark.parametrize(
    "bad_zone", ["Mars/Olympus_Mons", "Eastern Standard Time", "", "   ", "../../etc/passwd", "/etc/localtime"]
)
def test_an_invalid_cms_time_zone_falls_back_to_the_next_source(bad_zone: str) -> None:
    who = recipient(SF_NUMBER, time_zone=bad_zone, state=None, firm_zone=FIRM)
    assert (who.zones, who.source) == ((LA,), "area_code")
    who = recipient(SF_NUMBER, time_zone=bad_zone, state="TX", firm_zone=FIRM)
    assert who.source == "address"


def test_an_unknown_address_state_falls_back_to_the_area_code() -> None:
    who = recipient(SF_NUMBER, time_zone=None, state="Ontario-ish", firm_zone=FIRM)
    assert (who.zones, who.state, who.source) == ((LA,), "CA", "area_code")


def test_a_recipient_needs_a_zone_and_a_known_source() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Recipient((), None, "firm")
    with pytest.raises(ValueError, match="'guess'"):
        Recipient((NY,), None, "guess")
    with pytest.raises(ValueError, match="'ZZ'"):
        Recipient((NY,), "ZZ", "firm")


# --- a number whose area code spans two zones --------------------------------------------------------------------


def test_a_number_spanning_two_zones_waits_until_it_is_morning_in_both() -> None:
    idaho = recipient(IDAHO_NUMBER, time_zone=None, state=None, firm_zone=FIRM)
    assert set(idaho.zones) == {BOISE, LA}
    # 8:30am in Boise is 7:30am in the Idaho panhandle: held until 8am there (15:00 UTC).
    written = datetime(2026, 7, 15, 8, 30, tzinfo=BOISE)
    assert next_allowed(written, in_zone(BOISE), DEFAULT_WINDOW) is None
    assert goes_out(written, idaho) == utc(2026, 7, 15, 15)


def test_a_number_spanning_two_zones_stops_when_it_is_evening_in_either() -> None:
    idaho = recipient(IDAHO_NUMBER, time_zone=None, state=None, firm_zone=FIRM)
    # 7:30pm in the panhandle is 8:30pm in Boise: held until 8am in the panhandle the next day.
    written = datetime(2026, 7, 15, 19, 30, tzinfo=LA)
    assert next_allowed(written, in_zone(LA), DEFAULT_WINDOW) is None
    assert goes_out(written, idaho) == datetime(2026, 7, 16, 8, 0, tzinfo=LA)


def test_zones_that_never_share_an_open_moment_are_an_error_not_a_night_text() -> None:
    far_apart = Recipient((ZoneInfo("Asia/Tokyo"), NY), None, "area_code")
    with pytest.raises(ValueError, match="never open"):
        next_allowed(datetime(2026, 7, 15, 12, 0, tzinfo=NY), far_apart, parse_window("09:00-17:00"))


# --- configuration --------------------------------------------------------------------------------------------


def test_the_default_window_is_8am_to_8pm() -> None:
    assert (DEFAULT_WINDOW.start, DEFAULT_WINDOW.end) == (time(8, 0), time(20, 0))
    assert str(DEFAULT_WINDOW) == "08:00-20:00"
    assert parse_window(str(DEFAULT_WINDOW)) == DEFAULT_WINDOW


@pytest.mark.parametrize(
    ("text", "expected"),
    [("09:00-21:00", Window(time(9), time(21))), (" 8:30 - 19:45 ", Window(time(8, 30), time(19, 45)))],
)
def test_parse_window_reads_hh_mm_ranges(text: str, expected: Window) -> None:
    assert parse_window(text) == expected


@pytest.mark.parametrize(
    "text", ["8am-8pm", "08:00", "08:00-", "0800-2000", "24:00-25:00", "08:60-20:00", "20:00-08:00", "08:00-08:00"]
)
def test_a_bad_window_names_itself_in_the_error(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_window(text)


def test_a_window_that_ends_before_it_starts_says_so() -> None:
    with pytest.raises(ValueError, match="not after its start"):
        parse_window("20:00-08:00")
    with pytest.raises(ValueError, match="not after its start"):
        Window(time(20), time(8))
    with pytest.raises(ValueError, match="whole minutes"):
        Window(time(8, 0, 30), time(20))


def test_state_windows_are_read_with_upper_cased_codes() -> None:
    windows = parse_state_windows(" FL=08:00-20:00, tx=09:00-21:00 ,")
    assert windows == {"FL": Window(time(8), time(20)), "TX": Window(time(9), time(21))}
    assert parse_state_windows("") == {}
    assert parse_state_windows("ON=09:00-20:00")["ON"] == Window(time(9), time(20))


@pytest.mark.parametrize(
    ("text", "offending"),
    [
        ("Texas=09:00-21:00", "Texas=09:00-21:00"),
        ("ZZ=09:00-21:00", "ZZ=09:00-21:00"),
        ("FL=08:00-20:00,TX09:00-21:00", "TX09:00-21:00"),
        ("=09:00-21:00", "=09:00-21:00"),
        ("TX=9am-9pm", "9am-9pm"),
        ("TX=21:00-09:00", "TX=21:00-09:00"),
        ("TX=09:00-21:00,tx=08:00-20:00", "tx=08:00-20:00"),
    ],
)
def test_a_bad_state_window_names_the_bad_part(text: str, offending: str) -> None:
    with pytest.raises(ValueError, match=re.escape(offending)):
        parse_state_windows(text)


def test_a_configured_state_window_applies_to_that_states_clients_only() -> None:
    by_state = parse_state_windows("TX=09:00-21:00")
    texan = recipient(NYC_NUMBER, time_zone="America/Chicago", state="TX", firm_zone=FIRM)
    new_yorker = recipient(NYC_NUMBER, time_zone=None, state=None, firm_zone=FIRM)
    unknown = recipient("+18005550123", time_zone=None, state=None, firm_zone=FIRM)
    assert window_for(texan, DEFAULT_WINDOW, by_state) == Window(time(9), time(21))
    assert window_for(new_yorker, DEFAULT_WINDOW, by_state) == DEFAULT_WINDOW
    assert window_for(unknown, DEFAULT_WINDOW, by_state) == DEFAULT_WINDOW

    # 8:30am local: the New Yorker gets the text now, the Texan at 9am.
    new_yorker_morning = datetime(2026, 6, 10, 8, 30, tzinfo=NY)
    assert next_allowed(new_yorker_morning, new_yorker, window_for(new_yorker, DEFAULT_WINDOW, by_state)) is None
    texan_morning = datetime(2026, 6, 10, 8, 30, tzinfo=CHICAGO)
    texan_window = window_for(texan, DEFAULT_WINDOW, by_state)
    assert goes_out(texan_morning, texan, texan_window) == datetime(2026, 6, 10, 9, 0, tzinfo=CHICAGO)
    # and 8:30pm, closed for the New Yorker, is still open for the Texan.
    assert next_allowed(datetime(2026, 6, 10, 20, 30, tzinfo=CHICAGO), texan, texan_window) is None


def test_an_area_code_state_also_picks_the_state_window() -> None:
    el_paso = recipient("+19155320100", time_zone=None, state=None, firm_zone=FIRM)
    assert window_for(el_paso, DEFAULT_WINDOW, {"TX": Window(time(9), time(21))}) == Window(time(9), time(21))


_EXCHANGES = (200, 212, 234, 310, 345, 415, 456, 520, 555, 610, 777, 888, 910)


def _geocoder_states(npa: int) -> set[str]:
    """What phonenumbers' geocoder says about a few numbers of one area code, as state codes."""
    from phonenumbers import geocoder

    found: set[str] = set()
    for nxx in _EXCHANGES:
        parsed = phonenumbers.parse(f"+1{npa}{nxx}0100")
        if not phonenumbers.is_valid_number(parsed):
            continue
        description = geocoder.description_for_number(parsed, "en")
        _, comma, tail = description.rpartition(", ")
        state = tail if comma and tail in qh.STATE_CODES else qh._STATE_NAMES.get(description.strip().casefold())
        if state:
            found.add(state)
    return found


def test_the_area_code_table_agrees_with_phonenumbers_geocoder() -> None:
    """The shipped table stands in for the geocoder (which costs ~100 MB to load); it must say the same."""
    table = qh._area_codes()
    assert len(table) > 400
    disagree = []
    for npa in range(200, 1000):
        states = _geocoder_states(npa)
        expected = next(iter(states)) if len(states) == 1 else None
        if table.get(str(npa)) != expected:
            disagree.append((npa, table.get(str(npa)), sorted(states)))
    assert disagree == []
