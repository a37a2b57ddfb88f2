"""The Messages list's filters and page size, read as Twilio reads them, so a bad query fails as it would there."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

from connector.sandbox.twilio.constants import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from connector.sandbox.twilio.responses import TwilioApiError
from connector.sandbox.twilio.store import _Message


def _filter_bound(text: str) -> datetime | date:
    """A DateSent filter value: a GMT date (`YYYY-MM-DD`), an ISO timestamp, or an RFC 2822 date."""
    value = text.strip()
    if len(value) == 10:
        return date.fromisoformat(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(value) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def _date_filter(name: str, text: str) -> Callable[[datetime], bool]:
    """The predicate for `DateSent` (same day or second), `DateSent>` (on/after) or `DateSent<` (on/before).

    A plain date compares by GMT calendar day, a timestamp by the second; both bounds are inclusive.
    """
    try:
        bound = _filter_bound(text)
    except ValueError as exc:
        raise TwilioApiError(400, 20001, f"Invalid {name}: {text}") from exc
    op = name[len("DateSent") :]

    def key(sent: datetime) -> datetime | date:
        return sent if isinstance(bound, datetime) else sent.date()

    def check(sent: datetime) -> bool:
        value = key(sent)
        if op == ">":
            return value >= bound
        if op == "<":
            return value <= bound
        return value == bound

    return check


def _equals(attribute: str, wanted: str) -> Callable[[_Message], bool]:
    return lambda message: getattr(message, attribute) == wanted


def _sent_where(test: Callable[[datetime], bool]) -> Callable[[_Message], bool]:
    return lambda message: message.date_sent is not None and test(message.date_sent)


def _page_size(args: Mapping[str, str]) -> int:
    raw = args.get("PageSize", str(DEFAULT_PAGE_SIZE))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise TwilioApiError(400, 20001, f"PageSize must be between 1 and {MAX_PAGE_SIZE}")
    return int(raw)
