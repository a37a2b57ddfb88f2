"""Segment counting: the GSM-7/UCS-2 split, the concatenation limits, and the indivisible pairs."""

from __future__ import annotations

import random

import pytest

from connector.messaging.segments import MAX_BODY_CHARS, Segments, measure, too_long, twilio_length

EURO = "€"
EMOJI = "😀"  # U+1F600, a surrogate pair in UTF-16
HAN = "中"  # U+4E2D, one UTF-16 code unit, not GSM-7


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("", Segments("GSM-7", 0, 0, 160)),
        ("a", Segments("GSM-7", 1, 1, 160)),
        ("a" * 160, Segments("GSM-7", 1, 160, 160)),
        ("a" * 161, Segments("GSM-7", 2, 161, 153)),
        ("a" * 306, Segments("GSM-7", 2, 306, 153)),  # 2 x 153 = 306
        ("a" * 307, Segments("GSM-7", 3, 307, 153)),
        ("a" * 159 + EURO, Segments("GSM-7", 2, 161, 153)),  # 159 + 2 = 161 > 160
        ("a" * 158 + EURO, Segments("GSM-7", 1, 160, 160)),  # 158 + 2 = 160 fits exactly
        (HAN * 70, Segments("UCS-2", 1, 70, 70)),
        (HAN * 71, Segments("UCS-2", 2, 71, 67)),
        (EMOJI * 35, Segments("UCS-2", 1, 70, 70)),  # 35 x 2 = 70
        (EMOJI * 36, Segments("UCS-2", 2, 72, 67)),
    ],
)
def test_given_a_body_when_measured_then_the_documented_counts(body: str, expected: Segments) -> None:
    assert measure(body) == expected


def test_given_curly_quotes_when_measured_then_the_whole_body_is_ucs2() -> None:
    straight = 'She said "call me" and it\'s fine'
    curly = "She said “call me” and it’s fine"
    assert measure(straight).encoding == "GSM-7"
    result = measure(curly)
    assert result == Segments("UCS-2", 1, len(curly), 70)


@pytest.mark.parametrize("char", list("@£$¥èéùìòÇ"))
def test_given_the_first_gsm7_row_when_measured_then_each_costs_one_septet(char: str) -> None:
    assert measure(char * 160) == Segments("GSM-7", 1, 160, 160)


def test_given_the_whole_basic_set_when_measured_then_gsm7() -> None:
    basic = (
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
        " !\"#¤%&'()*+,-./0123456789:;<=>?"
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    )
    assert len(basic) == 127  # 128 table positions less the escape
    assert measure(basic) == Segments("GSM-7", 1, 127, 160)


@pytest.mark.parametrize("char", ["^", "{", "}", "\\", "[", "~", "]", "|", "€", "\f"])
def test_given_an_extension_character_when_measured_then_it_costs_two_septets(char: str) -> None:
    assert measure(char) == Segments("GSM-7", 1, 2, 160)
    assert measure(char * 80) == Segments("GSM-7", 1, 160, 160)  # 80 x 2 = 160


@pytest.mark.parametrize(
    "char",
    ["ç", "á", "í", "ó", "ú", "Á", "ê", "`", "\t", "—", "…", "•", "\u00a0", "\x1b", "ﬁ"],
)
def test_given_a_near_miss_character_when_measured_then_ucs2(char: str) -> None:
    # Lower-case ç, Spanish acute vowels other than é, the backtick, tab, dashes, ellipsis, NBSP,
    # a bare escape and ligatures are not in GSM 03.38; any one of them forces UCS-2.
    assert measure("Hola " + char).encoding == "UCS-2"


def test_given_an_escape_pair_across_the_first_boundary_when_measured_then_it_moves_on() -> None:
    # 152 + 2 + 152 = 306 septets, which naive division would fit in 2 x 153.
    # Segment 1: 152 septets; the € would make 154 > 153, so it moves (1 septet wasted).
    # Segment 2: € (2) + 151 a = 153. Segment 3: the last a = 1. Total 3.
    body = "a" * 152 + EURO + "a" * 152
    assert measure(body) == Segments("GSM-7", 3, 306, 153)


def test_given_an_escape_pair_ending_exactly_on_the_boundary_when_measured_then_no_waste() -> None:
    # 151 + 2 = 153 fills segment 1 exactly; the next 153 a fill segment 2. 306 septets, 2 segments.
    body = "a" * 151 + EURO + "a" * 153
    assert measure(body) == Segments("GSM-7", 2, 306, 153)


def test_given_escape_pairs_only_when_concatenated_then_76_per_segment() -> None:
    # 81 x 2 = 162 > 160, so concatenated: 76 pairs = 152 septets per segment (77 would be 154).
    assert measure(EURO * 81) == Segments("GSM-7", 2, 162, 153)
    # 153 x 2 = 306 septets: naive 306 / 153 = 2, but 76 + 76 + 1 pairs need 3 segments.
    assert measure(EURO * 153) == Segments("GSM-7", 3, 306, 153)
    # 152 pairs = 76 + 76 exactly.
    assert measure(EURO * 152) == Segments("GSM-7", 2, 304, 153)


def test_given_a_surrogate_pair_across_the_first_boundary_when_measured_then_it_moves_on() -> None:
    # 66 + 2 + 66 = 134 code units, which naive division would fit in 2 x 67.
    # Segment 1: 66 units; the emoji would make 68 > 67, so it moves (1 unit wasted).
    # Segment 2: emoji (2) + 65 中 = 67. Segment 3: the last 中 = 1. Total 3.
    body = HAN * 66 + EMOJI + HAN * 66
    assert measure(body) == Segments("UCS-2", 3, 134, 67)


def test_given_a_surrogate_pair_ending_exactly_on_the_boundary_when_measured_then_no_waste() -> None:
    # 65 + 2 = 67 fills segment 1; 67 中 fill segment 2. 134 units, 2 segments.
    body = HAN * 65 + EMOJI + HAN * 67
    assert measure(body) == Segments("UCS-2", 2, 134, 67)


def test_given_emoji_only_when_concatenated_then_33_per_segment() -> None:
    # 33 emoji = 66 units per segment (34 would be 68 > 67).
    # 66 emoji = 132 units = 33 + 33 -> 2 segments; 67 emoji = 134 units -> 33 + 33 + 1 -> 3.
    assert measure(EMOJI * 66) == Segments("UCS-2", 2, 132, 67)
    assert measure(EMOJI * 67) == Segments("UCS-2", 3, 134, 67)


def test_given_gsm_text_with_one_emoji_when_measured_then_ucs2_counts_every_character() -> None:
    # 68 a (68 units) + 1 emoji (2 units) = 70: one UCS-2 segment; one more a makes 71 -> 2.
    assert measure("a" * 68 + EMOJI) == Segments("UCS-2", 1, 70, 70)
    assert measure("a" * 69 + EMOJI) == Segments("UCS-2", 2, 71, 67)


def test_given_extension_chars_in_a_ucs2_body_when_measured_then_they_cost_one_unit() -> None:
    # The escape is a GSM-7 mechanism; in UCS-2 € is a single code unit.
    assert measure(EURO * 69 + HAN) == Segments("UCS-2", 1, 70, 70)


def _random_body(rng: random.Random) -> str:
    alphabets = [
        "abcdefghij ABC.,?!0123",
        "abc^{}\\[~]|€\f",
        "abc中文ñ“”",
        "ab😀🙏👍🏽\U00020000",
        "aé€😀中\n",
    ]
    pool = rng.choice(alphabets)
    return "".join(rng.choice(pool) for _ in range(rng.randint(0, 700)))


def test_given_random_bodies_when_measured_then_the_segments_always_hold_the_units() -> None:
    rng = random.Random(20240404)
    for _ in range(3000):
        body = _random_body(rng)
        result = measure(body)
        assert result.segments * result.per_segment >= result.units, body
        assert (result.segments == 0) == (body == "")
        if result.encoding == "UCS-2":
            assert result.units == len(body.encode("utf-16-le")) // 2
        single = 160 if result.encoding == "GSM-7" else 70
        if result.units <= single:
            assert result.segments <= 1
        else:
            # Never fewer segments than naive division, and at most one wasted unit per segment.
            naive = -(-result.units // result.per_segment)
            assert naive <= result.segments
            assert result.units + result.segments - 1 >= (result.segments - 1) * result.per_segment


def test_given_the_limit_when_checked_then_characters_are_utf16_units() -> None:
    assert MAX_BODY_CHARS == 1600
    assert not too_long("a" * 1600)
    assert too_long("a" * 1601)
    assert not too_long(EURO * 1600)  # one character each to Twilio, though two septets
    assert not too_long(HAN * 1600)
    assert not too_long(EMOJI * 800)  # 800 x 2 = 1600 units
    assert too_long(EMOJI * 801)
    assert too_long("a" * 1599 + EMOJI)  # 1599 + 2 = 1601
    assert twilio_length("a😀中") == 4
