"""The firm's reminder rules: which calendar entries get a reminder text, when, and what it says.

A missed hearing can cost a client their case, so a firm texts reminders ("two days before, and the morning
of"). Which entries (by the CMS's event type or calendar), when, and the wording are the firm's call, kept as
a document like the content rules: shipped in ``reminder_rules.json``, edited as JSON on the admin's rules page
(firm_documents kind ``reminder_rules``), and checked before it is saved, every problem at its JSON path::

    {"version": 1, "rules": [
        {"name": "hearing", "event_types": ["Hearing"], "calendars": [],
         "moments": [{"days_before": 2, "at": "09:00"}, {"hours_before": 3}],
         "template": "{firm}: reminder of your court date on {date} at {time}, {place}. {bring}",
         "bring": "Please bring a photo ID."}
    ]}

A template is neutral on purpose: it may only say the firm, the date, the time, the place and what to bring.
The entry's summary and description are case details written for staff; they never go into a text, so a
template has no way to name them. Every text fits two SMS segments (320 characters) however long the firm's
name, the date or the place, so a reminder never arrives in pieces.
"""

from __future__ import annotations

import functools
import json
import re
import string
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validates_schema
from marshmallow.validate import Equal, Length, Range, Regexp
from sqlalchemy import Connection, Engine, update

from connector.settings import Settings
from connector.store.documents import InForce
from connector.store.workflow_tables import calendar_entries
from mappings import DuplicateKeyError, reject_duplicate_keys

__all__ = [
    "KIND",
    "MAX_CHARS",
    "PLACEHOLDERS",
    "SHIPPED_PATH",
    "Moment",
    "ReminderRule",
    "ReminderRules",
    "ReminderRulesError",
    "in_force",
    "parse",
    "replan_all",
    "sample_render",
    "shipped",
]

KIND: Final = "reminder_rules"
PLACEHOLDERS: Final = ("firm", "date", "time", "place", "bring")
SHIPPED_PATH: Final = Path(__file__).resolve().with_name("reminder_rules.json")
FORMAT_VERSION: Final = 1
# Two SMS segments: a longer reminder would arrive in pieces, or cost three texts per client.
MAX_CHARS: Final = 320
MAX_DAYS_BEFORE: Final = 30
MAX_HOURS_BEFORE: Final = 168
# A location longer than this is cut (a CMS location field can hold a paragraph); with the firm's name at its
# longest (MATTERLINE_FIRM_NAME, 80) it bounds every rendering, which the check of a template relies on.
MAX_PLACE: Final = 80
MAX_FIRM: Final = 80
NO_PLACE: Final = "at the place on your notice"
ALL_DAY: Final = "during the day"
_WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# "on Tuesday at {time}" reads "during the day" for an all-day entry, not "at during the day".
_AT_TIME: Final = re.compile(r"\bat\s+\{time\}")
_SPACES: Final = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE_STOP: Final = re.compile(r"[ \t]+([.,;:!?])")
_ROOT: Final = "$"


@dataclass(frozen=True, slots=True)
class Moment:
    """When, before an entry starts, a reminder goes: `days_before` calendar days at local time `at`, or
    `hours_before` hours (elapsed time), never both.

    `label` is how the moment is stored (reminders.moment) and shown: "2 days before at 09:00", "the day of at
    07:30", "24 hours before".
    """

    label: str
    days_before: int | None
    at: time | None
    hours_before: int | None

    def due(self, starts_at: datetime, zone: ZoneInfo, *, all_day: bool = False) -> datetime:
        """When the reminder is due, aware UTC.

        `days_before` counts calendar days in `zone` (the recipient's), so "2 days before at 09:00" is 9 in the
        morning there across a daylight-saving change; `hours_before` is elapsed time. An all-day entry's
        `starts_at` is midnight UTC of its date (as the sync stores it): its date is that date, and its start is
        midnight in `zone` on it.
        """
        start = _local_start(starts_at, zone, all_day=all_day)
        if self.hours_before is not None:
            return (start - timedelta(hours=self.hours_before)).astimezone(UTC)
        if self.days_before is None or self.at is None:  # pragma: no cover - the schema refuses it
            raise ValueError(f"moment {self.label!r} has neither hours_before nor days_before with at")
        day = start.date() - timedelta(days=self.days_before)
        return datetime.combine(day, self.at, tzinfo=zone).astimezone(UTC)


def _label(days_before: int | None, at: time | None, hours_before: int | None) -> str:
    if hours_before is not None:
        return f"{hours_before} hour{'s' if hours_before != 1 else ''} before"
    clock = at.strftime("%H:%M") if at is not None else "?"
    if days_before == 0:
        return f"the day of at {clock}"
    return f"{days_before} day{'s' if days_before != 1 else ''} before at {clock}"


@dataclass(frozen=True, slots=True)
class ReminderRule:
    """One rule: the entries it covers, the moments of its reminders and their neutral wording."""

    name: str
    event_types: tuple[str, ...]
    calendars: tuple[str, ...]
    moments: tuple[Moment, ...]
    template: str
    bring: str

    def matches(self, calendar: str | None, event_type: str | None) -> bool:
        """Whether an entry on `calendar` of `event_type` gets this rule's reminders (case-insensitive; an empty
        list accepts anything, an entry without the value does not match a list that names some)."""
        return _within(self.event_types, event_type) and _within(self.calendars, calendar)

    def render(self, *, firm: str, starts_at: datetime, all_day: bool, location: str | None, zone: ZoneInfo) -> str:
        """The text a client gets for an entry: the firm, the date and time in `zone`, the place, what to bring.

        Takes no other field of the entry on purpose: its summary and description are case details.
        """
        local = _local_start(starts_at, zone, all_day=all_day)
        place = " ".join((location or "").split())
        if len(place) > MAX_PLACE:
            place = place[: MAX_PLACE - 3].rstrip() + "..."
        return _fill(
            self.template,
            firm=" ".join(firm.split())[:MAX_FIRM],
            day=_date_text(local.date()),
            clock=ALL_DAY if all_day else _time_text(local.time()),
            place=place or NO_PLACE,
            bring=self.bring,
            all_day=all_day,
        )


def _within(names: tuple[str, ...], value: str | None) -> bool:
    if not names:
        return True
    return value is not None and value.strip().casefold() in {name.strip().casefold() for name in names}


def _local_start(starts_at: datetime, zone: ZoneInfo, *, all_day: bool) -> datetime:
    aware = starts_at if starts_at.tzinfo is not None else starts_at.replace(tzinfo=UTC)
    if all_day:
        return datetime.combine(aware.astimezone(UTC).date(), time(0), tzinfo=zone)
    return aware.astimezone(zone)


def _date_text(day: date) -> str:
    return f"{_WEEKDAYS[day.weekday()]}, {_MONTHS[day.month - 1]} {day.day}"


def _time_text(clock: time) -> str:
    hour = clock.hour % 12 or 12
    return f"{hour}:{clock.minute:02d} {'AM' if clock.hour < 12 else 'PM'}"


def _fill(template: str, *, firm: str, day: str, clock: str, place: str, bring: str, all_day: bool) -> str:
    if all_day:
        template = _AT_TIME.sub("{time}", template)
    text = template.format_map({"firm": firm, "date": day, "time": clock, "place": place, "bring": bring})
    text = _SPACE_BEFORE_STOP.sub(r"\1", _SPACES.sub(" ", text))
    return text.strip()


def _longest(template: str, bring: str) -> int:
    """The length of the longest text `template` can render: the longest firm name, date, time and place."""
    day = "Wednesday, September 30"
    longest = 0
    for all_day in (False, True):
        for place in ("W" * MAX_PLACE, NO_PLACE):
            clock = ALL_DAY if all_day else "12:30 PM"
            text = _fill(template, firm="W" * MAX_FIRM, day=day, clock=clock, place=place, bring=bring, all_day=all_day)
            longest = max(longest, len(text))
    return longest


def sample_render(rule: ReminderRule, *, firm: str, now: datetime, zone: ZoneInfo) -> str:
    """What `rule` texts for a sample entry: tomorrow at 9:30 AM in `zone`, at "Courtroom 4B, 100 Main St".

    The admin's preview shows it, and the content rules in force are run over it before a version is saved.
    """
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    starts_at = datetime.combine(tomorrow, time(9, 30), tzinfo=zone)
    return rule.render(firm=firm, starts_at=starts_at, all_day=False, location=SAMPLE_PLACE, zone=zone)


SAMPLE_PLACE: Final = "Courtroom 4B, 100 Main St"


@dataclass(frozen=True, slots=True)
class ReminderRules:
    """The rules in force, in file order."""

    rules: tuple[ReminderRule, ...]

    def for_entry(self, calendar: str | None, event_type: str | None) -> tuple[ReminderRule, ...]:
        """The rules whose reminders an entry gets (several may match; each plans its own moments)."""
        return tuple(rule for rule in self.rules if rule.matches(calendar, event_type))


class ReminderRulesError(ValueError):
    """Every problem in a reminder rules document, each `rules[0].template: unknown placeholder {matter}`."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(errors)

    def __str__(self) -> str:
        return "invalid reminder rules:\n" + "\n".join(f"  {error}" for error in self.errors)


# --- schemas --------------------------------------------------------------------------------------


class _Strict(Schema):
    """Unknown keys are errors: a misspelt key would otherwise silently drop a reminder."""

    class Meta:
        unknown = RAISE


class _MomentSchema(_Strict):
    days_before = fields.Integer(
        strict=True,
        load_default=None,
        validate=Range(0, MAX_DAYS_BEFORE, error=f"must be 0 (the day of) to {MAX_DAYS_BEFORE}"),
    )
    at = fields.String(
        load_default=None,
        validate=Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="must be a 24-hour local time like 09:00"),
    )
    hours_before = fields.Integer(
        strict=True,
        load_default=None,
        validate=Range(1, MAX_HOURS_BEFORE, error=f"must be 1 to {MAX_HOURS_BEFORE}"),
    )

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_kind(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        """Either days_before with at, or hours_before alone; read from the input so every mistake shows."""
        given = original if isinstance(original, dict) else {}
        days, at, hours = (given.get(key) is not None for key in ("days_before", "at", "hours_before"))
        if hours and (days or at):
            raise ValidationError({"hours_before": ["cannot be combined with days_before or at; use one or the other"]})
        if days and not at:
            raise ValidationError({"at": ["is required with days_before (the local time of day, like 09:00)"]})
        if at and not days:
            raise ValidationError({"days_before": ["is required with at (0 for the day of)"]})
        if not (days or at or hours):
            raise ValidationError("needs days_before with at, or hours_before")

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> Moment:
        at = time.fromisoformat(data["at"]) if data["at"] is not None else None
        days, hours = data["days_before"], data["hours_before"]
        return Moment(_label(days, at, hours), days, at, hours)


def _names(limit: int) -> fields.List[str]:
    return fields.List(
        fields.String(validate=Length(min=1, max=limit, error=f"must be 1 to {limit} characters")),
        load_default=list,
    )


class _RuleSchema(_Strict):
    name = fields.String(
        required=True,
        validate=Regexp(r"^[a-z0-9_]{1,64}$", error="must be 1-64 lowercase letters, digits or '_'"),
    )
    event_types = _names(256)
    calendars = _names(256)
    moments = fields.List(
        fields.Nested(_MomentSchema),
        required=True,
        validate=Length(min=1, error="needs at least one moment (when the reminder goes)"),
    )
    template = fields.String(required=True, validate=Length(min=1, max=1000))
    bring = fields.String(load_default="", validate=Length(max=MAX_CHARS))

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_rule(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        """Placeholders, length, what the rule matches and duplicate moments, each at its own path."""
        given = original if isinstance(original, dict) else {}
        errors: dict[str, Any] = {}
        template, bring = given.get("template"), given.get("bring", "")
        if isinstance(template, str) and template:
            problem = _template_problem(template, bring if isinstance(bring, str) else "")
            if problem is not None:
                errors["template"] = [problem]
        if not given.get("event_types") and not given.get("calendars"):
            errors["_schema"] = ["matches every calendar entry; name its event_types or calendars"]
        labels: dict[str, int] = {}
        for index, moment in enumerate(data.get("moments") or []):
            if isinstance(moment, Moment) and moment.label in labels:
                errors.setdefault("moments", {})[index] = [
                    f"{moment.label!r} is already moments[{labels[moment.label]}]"
                ]
            elif isinstance(moment, Moment):
                labels[moment.label] = index
        if errors:
            raise ValidationError(errors)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> ReminderRule:
        return ReminderRule(
            name=data["name"],
            event_types=tuple(data["event_types"]),
            calendars=tuple(data["calendars"]),
            moments=tuple(data["moments"]),
            template=data["template"],
            bring=data["bring"],
        )


def _template_problem(template: str, bring: str) -> str | None:
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        return f"braces do not parse ({exc}); write {{{{ and }}}} for a brace"
    known = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            return f"unknown placeholder {{{name}}}; a reminder may only say {known}"
        if spec or conversion:
            return f"placeholder {{{name}}} takes no format or conversion; write {{{name}}}"
    longest = _longest(template, bring)
    if longest > MAX_CHARS:
        return (
            f"can render {longest} characters with a long firm name and place; at most {MAX_CHARS} "
            "(two text segments), so shorten the template or what to bring"
        )
    return None


class _FileSchema(_Strict):
    version = fields.Integer(
        required=True, strict=True, validate=Equal(FORMAT_VERSION, error=f"must be {FORMAT_VERSION}")
    )
    rules = fields.List(fields.Nested(_RuleSchema), required=True)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_unique(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        """Two rules with one name would plan the same reminders twice; name both places."""
        items = original.get("rules") if isinstance(original, dict) else None
        seen: dict[str, int] = {}
        errors: dict[int, dict[str, list[str]]] = {}
        for index, item in enumerate(items if isinstance(items, list) else []):
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str) and name in seen:
                errors[index] = {"name": [f"duplicate rule name {name!r} (first used by rules[{seen[name]}])"]}
            elif isinstance(name, str):
                seen[name] = index
        if errors:
            raise ValidationError({"rules": errors})


def _lines(messages: Any, path: str = "") -> list[str]:
    """marshmallow's nested messages as `rules[2].moments[0].at: ...` lines."""
    if isinstance(messages, dict):
        out: list[str] = []
        for key in sorted(messages, key=lambda k: (1, k) if isinstance(k, int) else (0, 0)):
            child = path if key == "_schema" else f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"
            out += _lines(messages[key], child.lstrip("."))
        return out
    if isinstance(messages, list):
        return [line for item in messages for line in _lines(item, path)]
    return [f"{path or _ROOT}: {messages}"]


# --- loading --------------------------------------------------------------------------------------


def parse(text: str) -> ReminderRules:
    """Reminder rules from `text` (the shipped file, or an admin's edit).

    Raises:
        ReminderRulesError: listing every problem at its JSON path.
    """
    try:
        document = json.loads(text, object_pairs_hook=reject_duplicate_keys)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ReminderRulesError([f"{_ROOT}: not valid JSON: {exc.msg} at {where}"]) from None
    except DuplicateKeyError as exc:
        raise ReminderRulesError([f"{_ROOT}: not valid JSON: {exc}"]) from None
    if not isinstance(document, dict):
        raise ReminderRulesError([f'{_ROOT}: must be a JSON object {{"version": 1, "rules": [...]}}'])
    try:
        loaded = _FileSchema().load(document)
    except ValidationError as exc:
        raise ReminderRulesError(_lines(exc.messages)) from None
    return ReminderRules(tuple(loaded["rules"]))


@functools.cache
def shipped() -> ReminderRules:
    """The rules shipped with Matterline (hearings and appointments)."""
    return parse(SHIPPED_PATH.read_text(encoding="utf-8"))


_STORED: InForce[ReminderRules] = InForce(KIND, parse)


def in_force(settings: Settings, store: Engine | Connection) -> ReminderRules:
    """The firm's saved version, else the shipped rules (there is no file setting for them)."""
    saved = _STORED.get(store)
    return saved if saved is not None else shipped()


def replan_all(conn: Connection, now: datetime) -> int:
    """Mark every live entry still ahead for planning again, so new rules re-plan their reminders.

    Called in the transaction that saves a version of the rules; returns how many entries were marked.
    """
    result = conn.execute(
        update(calendar_entries)
        .where(calendar_entries.c.deleted_at.is_(None), calendar_entries.c.starts_at > now)
        .values(needs_plan=True)
    )
    return int(result.rowcount or 0)
