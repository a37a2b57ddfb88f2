"""Matterline texts clients about their matters: no promotions, no blasts.

A law firm's texting number carries client operations (a hearing moved, a document needed, a reminder).
Marketing by text needs its own opt-in list and its own rules (and a bar's advertising rules), so it
belongs in a marketing tool: a text that reads as a promotion (an offer or discount, a referral ask, a
review request, a marketing link, a newsletter) is refused, and so is one body sent to many people.

This stance is the product's, not a firm setting: the firm's editable content rules
(guardrails/content.py) cannot turn it off, which is why it lives in code and not in content_rules.json.

The patterns are written to keep ordinary client work out: "your settlement offer came in", "the court
will review your file", "please refer to the letter", "50% of the fee is due" and "feel free to call me"
all go (tests/fixtures/operational/ has the lists the tests hold the patterns to).
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from sqlalchemy import Connection, select

from connector.const import BULK_MIN_CHARS, BULK_OTHER_NUMBERS, BULK_SCAN, BULK_WINDOW
from connector.guardrails.content import Finding
from connector.store.tables import messages

__all__ = [
    "MARKETING_RULE",
    "MARKETING_TOOL",
    "bulk",
    "from_template",
    "normalized",
    "promotion",
    "recipients_named",
]

# The rule id a promotion finding carries (in a draft's findings and the audit entry's rules).
MARKETING_RULE: Final = "marketing"
# Where every refusal points the sender.
MARKETING_TOOL: Final = "belongs in your marketing tool (with its own opt-in list)"
# The most characters one merge field may fill in a notice (a name, a matter number).
MERGED_MAX: Final = 80
# A reminder's purpose (messaging.purpose.REMINDER; messaging is a layer above guardrails, so it is not
# imported): reminders never count toward a blast.
REMINDER: Final = "reminder"
# Only staff texts count toward a blast; Matterline's own (a STOP confirmation) say the same to everyone.
_STAFF_KIND: Final = "message"

# What each kind of promotion is called in the sentence staff read, and the patterns that find it.
_KINDS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    (
        "an offer or discount",
        (
            # "20% off" and "20 percent off"; not a billing adjustment ("10% off your invoice") nor a figure in
            # the matter ("they took 20% off the estimate").
            r"(?<!took )(?<!take )(?<!takes )(?<!knocked )(?<!cut )(?<!shaved )"
            r"\b\d{1,3}(?:\.\d+)?\s?(?:%|percent)\s+off\b"
            r"(?!\s+(?:your|the|their|his|her|our)\s+(?:bill|invoice|balance|statement|sentence|estimate|claim"
            r"|settlement|award|judgment|verdict|damages|offer|demand|price|value|rent))",
            r"\b\d{1,3}\s?(?:%|percent)\s+discount\b",
            # "coupon code", "use this coupon" (not a class action's "coupon settlement")
            r"\bcoupons?\s+(?:codes?|for|inside|below|attached)\b",
            r"\b(?:use|redeem|clip)\s+(?:this\s+|the\s+|our\s+)?coupons?\b",
            r"\b(?:promo|promotional|discount)\s+codes?\b",
            r"\bpromo\b",
            r"\b(?:special|exclusive|limited[- ]time)\s+(?:offers?|deals?|discounts?|pricing|rates?)\b",
            r"\blimited[- ]time\s+only\b",
            # A free consultation as an offer, not the one a prospective client has booked.
            r"\b(?:get|claim|enjoy|call\s+(?:now|today)\s+for|(?:we\s+)?offer(?:ing)?|now\s+offering)\s+"
            r"(?:a\s+|your\s+|our\s+)?free\s+(?:initial\s+)?(?:consultation|consult|case\s+(?:review|evaluation))s?\b",
            r"\bfree\s+(?:initial\s+)?(?:consultation|consult|case\s+(?:review|evaluation))s?\s+(?:for|to)\s+"
            r"(?:you|your|all|new|anyone|friends|family|everyone)\b",
            r"\b(?:holiday|black\s+friday|cyber\s+monday|summer|spring|winter|year[- ]end|flash|clearance)\s+sale\b",
            r"\bsale\s+(?:ends|starts)\b",
            r"\bon\s+sale\s+(?:now|today|this\s+week)\b",
            r"\bsave\s+up\s+to\s+(?:\$|\d{1,3}\s?%)",
            r"\bsave\s+\d{1,3}\s?%",
            r"\bbuy\s+one,?\s+get\s+one\b",
            r"\b(?:giveaway|sweepstakes)\b",
            r"\b(?:chance|enter)\s+to\s+win\b",
        ),
    ),
    (
        "a referral request",
        (
            r"\brefer\s+(?:a\s+|your\s+|any\s+|us\s+to\s+(?:a\s+|your\s+)?)?"
            r"(?:friends?|family(?:\s+members?)?|colleagues?|co-?workers?|neighbou?rs?|loved\s+ones?)\b",
            r"\brefer(?:ring)?\s+(?:someone|anyone|others|people)\b",
            r"\breferral\s+(?:bonus|bonuses|program|programme|rewards?|credits?|gifts?|gift\s+cards?)\b",
            r"\b(?:send|sending)\s+(?:us|me)\s+(?:your\s+|any\s+|more\s+|a\s+few\s+)?referrals?\b",
            r"\b(?:welcome|appreciate|love)\s+(?:your\s+|any\s+)?referrals\b",
            r"\breferrals?\s+(?:are|is)\s+(?:always\s+)?(?:welcome|appreciated)\b",
            # Not "don't tell your friends about the accident": telling them about the firm.
            r"\btell\s+(?:your\s+|all\s+your\s+)?(?:friends|family)(?:\s+(?:and|&)\s+(?:friends|family))?\s+"
            r"about\s+(?:us|our\s+(?:firm|office|services))\b",
            r"\bspread\s+the\s+word\b",
            r"\bknow\s+(?:someone|anyone)\s+who\s+(?:needs|could\s+use|might\s+need)\s+(?:a\s+|an\s+)?"
            r"(?:lawyer|attorney|legal\s+help)\b",
        ),
    ),
    (
        "a review request",
        (
            r"\b(?:leave|write|post|give)\s+(?:us\s+)?(?:a\s+|an\s+)?"
            r"(?:quick\s+|short\s+|honest\s+|positive\s+|great\s+|5[- ]star\s+|five[- ]star\s+)?"
            r"(?:google\s+|yelp\s+|online\s+|facebook\s+|avvo\s+)?reviews?\b",
            r"\b(?:rate|review)\s+us\b",
            r"\b(?:google|yelp|avvo|facebook|trustpilot)\s+reviews?\b",
            r"\b(?:5|five)[- ]star\s+(?:reviews?|ratings?)\b",
        ),
    ),
    (
        "a marketing link",
        (
            r"[?&]utm_[a-z]+=",
            r"(?<![\w.-])(?:https?://)?(?:www\.)?"
            r"(?:bit\.ly|tinyurl\.com|ow\.ly|t\.co|goo\.gl|buff\.ly|rebrand\.ly|is\.gd|tiny\.cc|shorturl\.at"
            r"|cutt\.ly|rb\.gy|t\.ly|lnkd\.in|bl\.ink|s\.id)/\S+",
        ),
    ),
    (
        "a newsletter or promotion",
        (
            r"\bnewsletters?\b",
            r"\bunsubscribe\b",
            r"\bpromotional\b",
            r"\b(?:our|this\s+month'?s|monthly|weekly|seasonal)\s+(?:promotions?|specials|deals)\b",
            r"\bfollow\s+us\s+on\b",
            r"\blike\s+us\s+on\s+facebook\b",
        ),
    ),
)
_PATTERNS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE)) for kind, patterns in _KINDS for pattern in patterns
)
# Numbers in one `to`: separated by commas or semicolons (a list pasted from a spreadsheet).
_SEPARATORS: Final = re.compile(r"[,;]")
_DIGIT: Final = re.compile(r"\d")


def promotion(body: str) -> Finding | None:
    """The first span of `body` that reads as a promotion, as a blocking finding; None for client work.

    A finding (not an exception) so a draft check shows it beside the content rules' findings while the
    person types; the send refuses it as `marketing_refused`.
    """
    hits = [(found.start(), found.end(), kind) for kind, pattern in _PATTERNS if (found := pattern.search(body))]
    if not hits:
        return None
    start, end, kind = min(hits)
    return Finding(
        rule_id=MARKETING_RULE,
        action="block",
        start=start,
        end=end,
        match=body[start:end],
        message=f"Matterline texts clients about their matters only: this reads as {kind}.",
        suggestion=f"Promotions, referral and review requests {MARKETING_TOOL}.",
    )


def recipients_named(to: str | Sequence[str] | None) -> int:
    """How many recipients a request names: a list counts its entries, a string its comma or semicolon
    separated parts that hold a digit (so "+1 415 867 5309" is one and "+14155550101, +14155550102" two)."""
    if to is None:
        return 0
    parts = [to] if isinstance(to, str) else list(to)
    named = sum(1 for part in parts for piece in _SEPARATORS.split(str(part)) if _DIGIT.search(piece))
    return max(named, 1) if parts else 0


def normalized(body: str) -> str:
    """A body as a blast compares it: case and whitespace do not make two texts different."""
    return " ".join(body.casefold().split())


def bulk(conn: Connection, body: str, to_phone: str, now: datetime) -> bool:
    """Whether sending `body` to `to_phone` now would be a blast done one text at a time: staff sent the same
    body (as a conversation or a notice; reminders are exempt) to BULK_OTHER_NUMBERS or more other numbers
    within BULK_WINDOW. A body under BULK_MIN_CHARS never is (everyday short replies go to many clients)."""
    wanted = normalized(body)
    if len(wanted) < BULK_MIN_CHARS:
        return False
    # The store's newest messages only: the window is minutes long, and this read stays bounded on a big store.
    recent = (
        select(
            messages.c.to_number,
            messages.c.body,
            messages.c.direction,
            messages.c.kind,
            messages.c.purpose,
            messages.c.status,
            messages.c.created_at,
        )
        .order_by(messages.c.id.desc())
        .limit(BULK_SCAN)
        .subquery()
    )
    rows = conn.execute(
        select(recent.c.to_number, recent.c.body).where(
            recent.c.direction == "outbound",
            recent.c.kind == _STAFF_KIND,
            recent.c.purpose.is_distinct_from(REMINDER),
            recent.c.status != "canceled",
            recent.c.to_number != to_phone,
            recent.c.created_at >= now - BULK_WINDOW,
        )
    )
    others = {row.to_number for row in rows if normalized(row.body or "") == wanted}
    return len(others) >= BULK_OTHER_NUMBERS


def from_template(template_body: str, body: str) -> bool:
    """Whether `body` is a reply template's text with its merge fields filled in (each with one line of at most
    MERGED_MAX characters), case and whitespace aside: a notice goes only as a template wrote it, whoever filled the
    fields (the composer for a thread, the matter panel without one, a script through the API)."""
    pieces: list[str] = []
    for literal, field, _, _ in string.Formatter().parse(template_body):
        words = literal.casefold().split()
        pieces.append(r"\s*" + r"\s+".join(re.escape(word) for word in words) + r"\s*")
        if field is not None:
            pieces.append(f".{{1,{MERGED_MAX}}}?")
    return re.fullmatch("".join(pieces), normalized(body)) is not None
