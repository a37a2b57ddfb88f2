"""Settings from environment variables, validated once, so a typo stops the program before it acts.

Each setting is declared once, as a field of `Settings`: its environment variable, its default written
as an admin would write it, and the marshmallow field that reads it. The loader's schema is built from
those fields, and the dataclass's defaults are the same texts read through the same fields, so a
default cannot differ between the two. Values are kept parsed (a time zone, a quiet-hours window,
office hours), so a malformed one fails at start and nothing re-parses it on each send.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from dotenv import dotenv_values
from marshmallow import EXCLUDE, Schema, ValidationError, validate
from marshmallow import fields as mf
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from connector import const
from connector.guardrails import content, schedule
from connector.guardrails.quiet_hours import Window, parse_state_windows, parse_window
from mappings import available_vendors

__all__ = [
    "ENV_NAMES",
    "SECRET_FIELDS",
    "InForce",
    "Settings",
    "SettingsError",
    "in_force",
    "load_settings",
    "setting_names",
]

# Variables under the prefix that belong to the test harness, not to the program.
_NOT_SETTINGS_PREFIXES: Final = ("MATTERLINE_TEST_",)
_TWILIO_SID: Final = re.compile(r"^AC[0-9a-fA-F]{32}$")
_MESSAGING_SERVICE_SID: Final = re.compile(r"^MG[0-9a-fA-F]{32}$")
_LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")
_LOG_FORMATS: Final = ("keyvalue", "json")
_OFF: Final = "off"

T = TypeVar("T")


class SettingsError(Exception):
    """Every bad setting at once, each named by its environment variable."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(sorted(problems.items()))
        lines = [f"  {name}: {message}" for name, message in self.problems.items()]
        super().__init__("invalid settings:\n" + "\n".join(lines))


# -- how values are read ----------------------------------------------------------------------------------


def _check(test: Any, message: str) -> validate.Validator:
    """A validator from a predicate that raises ValueError (or returns False) with its own words."""

    class _Check(validate.Validator):
        def __call__(self, value: Any) -> Any:
            try:
                ok = test(value)
            except ValueError as exc:
                raise ValidationError(str(exc)) from exc
            if ok is False:
                raise ValidationError(message)
            return value

    return _Check()


class _Parsed(mf.Field[Any]):
    """A text read by one of the guardrails' parsers; its ValueError becomes the setting's message."""

    def __init__(self, parse: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._parse = parse

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str):
            raise ValidationError("must be text")
        try:
            return self._parse(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


def _url_check(https_only_remote: bool, *, base_only: bool = False) -> validate.Validator:
    def test(value: str) -> bool:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL with a host")
        local = parts.hostname in ("localhost", "127.0.0.1", "::1")
        if https_only_remote and parts.scheme != "https" and not local:
            raise ValueError("must use https (http is accepted only for localhost)")
        if base_only and parts.path not in ("", "/"):
            raise ValueError("must be the base URL only (scheme and host), without a path")
        return True

    return _check(test, "")


# An https origin: scheme, host and optional port, nothing a CSP source list could read as more.
_HTTPS_ORIGIN: Final = re.compile(r"https://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?")


def _https_origins(value: str) -> tuple[str, ...]:
    origins = _split(value)
    bad = [o for o in origins if not _HTTPS_ORIGIN.fullmatch(o)]
    if bad or not origins:
        raise ValueError("each must be an https origin (https://host or https://host:port), comma-separated")
    return tuple(origins)


def _database_url(value: str) -> bool:
    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError("is not a database URL (e.g. sqlite:///matterline.db)") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError("must be a sqlite:// or postgresql:// URL")
    return True


def _vendor(value: str) -> bool:
    vendors = available_vendors()
    if value not in vendors:
        raise ValueError(f"unknown CMS {value!r}; one of: {', '.join(vendors)}")
    return True


def _zone(value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. America/New_York)") from None


def _region(value: str) -> str:
    if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{value!r} is not a two-letter region phonenumbers knows (e.g. US, GB)")
    return value.upper()


def _is_e164(number: str) -> bool:
    if not number.startswith("+"):
        return False
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return False
    return (
        bool(phonenumbers.is_valid_number(parsed))
        and phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == number
    )


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _firm_numbers(value: str) -> tuple[str, ...]:
    numbers = _split(value)
    bad = [n for n in numbers if not _is_e164(n)]
    if bad:
        raise ValueError(f"not E.164 (+15551234567): {', '.join(bad)}")
    return tuple(numbers)


def _quiet_hours(value: str) -> Window | None:
    return None if value.strip().lower() == _OFF else parse_window(value)


def _state_windows(value: str) -> Mapping[str, Window]:
    return MappingProxyType(parse_state_windows(value))


def _networks(value: str) -> tuple[IPv4Network | IPv6Network, ...]:
    found = []
    for part in _split(value):
        try:
            found.append(ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{part!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/24)") from None
    return tuple(found)


def _day_end(value: str) -> time:
    if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", value):
        raise ValueError("must be HH:MM (24-hour), e.g. 18:00")
    return time.fromisoformat(value)


def _existing_file(value: str) -> bool:
    if not Path(value).is_file():
        raise ValueError(f"no such file: {value}")
    return True


def _content_rules(value: str) -> bool:
    try:
        content.load_rules(value)
    except content.RulesError as exc:
        raise ValidationError(exc.errors) from exc
    return True


def setting(
    env: str, default: str | None, field: mf.Field[Any] | None = None, *, secret: bool = False, empty: Any = None
) -> Any:
    """One setting: its environment variable, its default as text (None: unset), and how it is read.

    `empty` is the value when the variable is unset and has no default (an empty tuple, say).
    """
    reader = field if field is not None else mf.String()
    value = empty if default is None else reader.deserialize(default)
    metadata = {"env": env, "field": reader, "secret": secret, "text": default}
    if getattr(value, "__hash__", None) is None:  # a read-only mapping: shared, never changed
        return dataclasses.field(default_factory=lambda: value, metadata=metadata)
    return dataclasses.field(default=value, metadata=metadata)


def _secret(env: str, *validators: validate.Validator) -> Any:
    return setting(env, None, mf.String(validate=list(validators)), secret=True)


# -- the settings ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Settings:
    """Validated settings; secrets are excluded from `repr` so they never reach a log line."""

    database_url: str = setting(
        "MATTERLINE_DATABASE_URL", const.DEFAULT_DATABASE_URL, mf.String(validate=_check(_database_url, ""))
    )
    cms: str = setting("MATTERLINE_CMS", const.DEFAULT_CMS, mf.String(validate=_check(_vendor, "")))
    cms_region: str | None = setting("MATTERLINE_CMS_REGION", None)
    cms_base_url: str | None = setting("MATTERLINE_CMS_BASE_URL", None, mf.String(validate=_url_check(True)))
    cms_access_token: str | None = _secret("MATTERLINE_CMS_ACCESS_TOKEN")
    cms_client_id: str | None = setting("MATTERLINE_CMS_CLIENT_ID", None)
    cms_client_secret: str | None = _secret("MATTERLINE_CMS_CLIENT_SECRET")
    cms_refresh_token: str | None = _secret("MATTERLINE_CMS_REFRESH_TOKEN")
    cms_webhook_secret: str | None = _secret("MATTERLINE_CMS_WEBHOOK_SECRET")
    mapping_file: str | None = setting("MATTERLINE_MAPPING_FILE", None, mf.String(validate=_check(_existing_file, "")))
    twilio_account_sid: str | None = setting(
        "TWILIO_ACCOUNT_SID",
        None,
        mf.String(validate=validate.Regexp(_TWILIO_SID, error="must look like AC followed by 32 hex characters")),
    )
    twilio_auth_token: str | None = _secret("TWILIO_AUTH_TOKEN")
    # A second token webhook signatures are accepted under while the auth token is rotated (README "Rotating secrets").
    twilio_auth_token_secondary: str | None = _secret("TWILIO_AUTH_TOKEN_SECONDARY")
    twilio_messaging_service_sid: str | None = setting(
        "TWILIO_MESSAGING_SERVICE_SID",
        None,
        mf.String(
            validate=validate.Regexp(_MESSAGING_SERVICE_SID, error="must look like MG followed by 32 hex characters")
        ),
    )
    twilio_api_url: str = setting(
        "MATTERLINE_TWILIO_API_URL", const.DEFAULT_TWILIO_API_URL, mf.String(validate=_url_check(True))
    )
    firm_numbers: tuple[str, ...] = setting("MATTERLINE_FIRM_NUMBERS", None, _Parsed(_firm_numbers), empty=())
    public_url: str | None = setting(
        "MATTERLINE_PUBLIC_URL", None, mf.String(validate=_url_check(True, base_only=True))
    )
    # Who may show the pages in a frame (the CMS, e.g. https://app.clio.com); nobody when unset.
    frame_ancestors: tuple[str, ...] = setting("MATTERLINE_FRAME_ANCESTORS", None, _Parsed(_https_origins), empty=())
    default_region: str = setting("MATTERLINE_DEFAULT_REGION", const.DEFAULT_REGION, _Parsed(_region))
    zone: ZoneInfo = setting("MATTERLINE_TIMEZONE", const.DEFAULT_TIMEZONE, _Parsed(_zone))
    secret_key: str | None = _secret("MATTERLINE_SECRET_KEY", validate.Length(min=16))
    # Keys the audit chain instead of MATTERLINE_SECRET_KEY: set it to the old secret key before rotating that.
    audit_key: str | None = _secret("MATTERLINE_AUDIT_KEY", validate.Length(min=16))
    # The secret key before a rotation: stored secrets sealed under it still open until `matterline secrets
    # reseal` has moved them, and forms opened before the rotation still post (README "Rotating secrets").
    previous_secret_key: str | None = _secret("MATTERLINE_PREVIOUS_SECRET_KEY", validate.Length(min=16))
    log_level: str = setting("MATTERLINE_LOG_LEVEL", "INFO", mf.String(validate=validate.OneOf(_LOG_LEVELS)))
    # One line per event: key=value pairs for a person reading a journal, or one JSON object for a log shipper.
    log_format: str = setting("MATTERLINE_LOG_FORMAT", "keyvalue", mf.String(validate=validate.OneOf(_LOG_FORMATS)))
    # Who may read /metrics: a scraper sending this bearer token, or one calling from an allowed address.
    metrics_token: str | None = _secret("MATTERLINE_METRICS_TOKEN", validate.Length(min=16))
    metrics_allow: tuple[IPv4Network | IPv6Network, ...] = setting(
        "MATTERLINE_METRICS_ALLOW", None, _Parsed(_networks), empty=()
    )
    firm_name: str = setting("MATTERLINE_FIRM_NAME", "The firm", mf.String(validate=validate.Length(max=80)))
    help_text: str | None = setting("MATTERLINE_HELP_TEXT", None, mf.String(validate=validate.Length(max=320)))
    thread_active_days: int = setting(
        "MATTERLINE_THREAD_ACTIVE_DAYS", "14", mf.Integer(validate=validate.Range(min=0, max=365))
    )
    twilio_keyword_replies: bool = setting("MATTERLINE_TWILIO_KEYWORD_REPLIES", "true", mf.Boolean())
    proxy_hops: int = setting("MATTERLINE_PROXY_HOPS", "0", mf.Integer(validate=validate.Range(min=0, max=5)))
    window_idle_minutes: int = setting(
        "MATTERLINE_WINDOW_IDLE_MINUTES", "60", mf.Integer(validate=validate.Range(min=1, max=24 * 60))
    )
    session_idle_minutes: int = setting(
        "MATTERLINE_SESSION_IDLE_MINUTES", "30", mf.Integer(validate=validate.Range(min=1, max=24 * 60))
    )
    session_max_hours: int = setting(
        "MATTERLINE_SESSION_MAX_HOURS", "12", mf.Integer(validate=validate.Range(min=1, max=24 * 7))
    )
    # Open-office privacy: initials and matter numbers instead of names, no snippets, text blurred until revealed.
    privacy_mode: bool = setting("MATTERLINE_PRIVACY_MODE", "false", mf.Boolean())
    # Minutes without a key press or pointer move before the pages draw a curtain over client data; 0: never.
    idle_curtain_minutes: int = setting(
        "MATTERLINE_IDLE_CURTAIN_MINUTES", "5", mf.Integer(validate=validate.Range(min=0, max=24 * 60))
    )
    day_end: time = setting("MATTERLINE_DAY_END", "18:00", _Parsed(_day_end))
    summary_review: bool = setting("MATTERLINE_SUMMARY_REVIEW", "false", mf.Boolean())
    outbox_max_attempts: int = setting(
        "MATTERLINE_OUTBOX_MAX_ATTEMPTS", "20", mf.Integer(validate=validate.Range(min=1, max=100))
    )
    consent_inbound_days: int = setting(
        "MATTERLINE_CONSENT_INBOUND_DAYS", "30", mf.Integer(validate=validate.Range(min=0, max=365))
    )
    content_rules_file: str | None = setting(
        "MATTERLINE_CONTENT_RULES_FILE", None, mf.String(validate=_check(_content_rules, ""))
    )
    # The composer's canned replies (connector/messaging/reply_templates.py); unset: the built-in set.
    reply_templates_file: str | None = setting(
        "MATTERLINE_REPLY_TEMPLATES_FILE", None, mf.String(validate=_check(_existing_file, ""))
    )
    quiet_hours: Window | None = setting("MATTERLINE_QUIET_HOURS", "08:00-20:00", _Parsed(_quiet_hours))
    quiet_hours_by_state: Mapping[str, Window] = setting(
        "MATTERLINE_QUIET_HOURS_BY_STATE", None, _Parsed(_state_windows), empty=MappingProxyType({})
    )
    office_hours: schedule.OfficeHours = setting(
        "MATTERLINE_OFFICE_HOURS", "Mon-Fri 09:00-17:00", _Parsed(schedule.parse_office_hours)
    )
    office_closed: frozenset[date] = setting(
        "MATTERLINE_OFFICE_CLOSED", None, _Parsed(schedule.parse_closed_days), empty=frozenset()
    )
    # Same-day replies: business hours (office hours) a client text may wait for an answer before the thread's
    # assignee, or whoever covers for them, is alerted once.
    reply_within_hours: float = setting(
        "MATTERLINE_REPLY_WITHIN_HOURS", "4", mf.Float(validate=validate.Range(min=0.25, max=40))
    )
    emergency_reply: str | None = setting(
        "MATTERLINE_EMERGENCY_REPLY", None, mf.String(validate=validate.Length(min=1, max=480))
    )
    retention_days: int = setting(
        "MATTERLINE_RETENTION_DAYS", "2555", mf.Integer(validate=validate.Range(min=1, max=36500))
    )
    private_previews: bool = setting("MATTERLINE_PRIVATE_PREVIEWS", "false", mf.Boolean())
    # The web server's limits: nobody without credentials may hold it with big bodies or idle sockets.
    server_threads: int = setting("MATTERLINE_SERVER_THREADS", "8", mf.Integer(validate=validate.Range(min=1, max=64)))
    server_max_body_bytes: int = setting(
        "MATTERLINE_SERVER_MAX_BODY_BYTES",
        str(const.MAX_BODY_BYTES),
        mf.Integer(validate=validate.Range(min=1024, max=const.MAX_BODY_BYTES)),
    )
    server_connection_limit: int = setting(
        "MATTERLINE_SERVER_CONNECTION_LIMIT", "1000", mf.Integer(validate=validate.Range(min=10, max=10_000))
    )
    server_idle_seconds: int = setting(
        "MATTERLINE_SERVER_IDLE_SECONDS", "30", mf.Integer(validate=validate.Range(min=2, max=600))
    )

    # Where each variable's value came from ("environment" or ".env") and, unless a secret, its text as
    # written; a variable not named here has its default. Not a setting: the admin's settings page reads it.
    origins: Mapping[str, tuple[str, str]] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    def __repr__(self) -> str:
        shown = []
        for f in _setting_fields():
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS and value is not None:
                value = "***"
            shown.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    @property
    def timezone(self) -> str:
        """The firm's IANA time zone name."""
        return str(self.zone.key)

    @property
    def audit_secret(self) -> str | None:
        """What the audit chain's key is derived from: MATTERLINE_AUDIT_KEY, else MATTERLINE_SECRET_KEY."""
        return self.audit_key or self.secret_key

    @property
    def help_reply(self) -> str:
        """What a client who texts HELP gets back."""
        return self.help_text or f"{self.firm_name}: this number reaches our legal team. Reply STOP to stop texts."

    @property
    def sender(self) -> str | None:
        """What outbound texts are sent from and threads are keyed by: the Messaging Service, else a number."""
        if self.twilio_messaging_service_sid:
            return self.twilio_messaging_service_sid
        return self.firm_numbers[0] if self.firm_numbers else None

    @property
    def office(self) -> schedule.OfficeHours:
        """The firm's office hours with its closed days."""
        return dataclasses.replace(self.office_hours, closed=self.office_closed)

    def require(self, *names: str, why: str) -> None:
        """Stop with a settings error naming each of `names` that is unset.

        Raises:
            SettingsError: one or more of the named settings is missing.
        """
        missing = {ENV_NAMES[name]: f"required {why}" for name in names if getattr(self, name) in (None, "", ())}
        if missing:
            raise SettingsError(missing)


def _setting_fields() -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(Settings) if "env" in f.metadata]


_FIELDS: Final = {f.name: f for f in _setting_fields()}
ENV_NAMES: Final[dict[str, str]] = {name: str(f.metadata["env"]) for name, f in _FIELDS.items()}
SECRET_FIELDS: Final[frozenset[str]] = frozenset(name for name, f in _FIELDS.items() if f.metadata["secret"])


def _schema() -> Schema:
    """The loader: one marshmallow field per setting, keyed by its variable, defaulting to the dataclass's."""
    declared: dict[str, mf.Field[Any]] = {}
    for name, f in _FIELDS.items():
        reader: mf.Field[Any] = f.metadata["field"]
        reader.data_key = f.metadata["env"]
        reader.load_default = f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
        declared[name] = reader
    schema_class = Schema.from_dict(declared, name="SettingsSchema")
    return schema_class(unknown=EXCLUDE)  # unknown MATTERLINE_* names are reported by load_settings itself


_SCHEMA: Final = _schema()


def setting_names() -> dict[str, bool]:
    """Every environment variable Matterline reads, mapped to whether it holds a secret."""
    return {ENV_NAMES[name]: name in SECRET_FIELDS for name in _FIELDS}


def load_settings(environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> Settings:
    """Read and validate settings from `environ` (default: the process), under an optional `.env` file.

    Raises:
        SettingsError: naming every unknown, invalid or malformed setting at once.
    """
    source: dict[str, str] = {}
    origins: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        from_file = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
        source.update(from_file)
        origins.update(dict.fromkeys(from_file, ENV_FILE_ORIGIN))
    from_environment = os.environ if environ is None else environ
    source.update(from_environment)
    origins.update(dict.fromkeys(from_environment, ENVIRONMENT_ORIGIN))
    known = set(ENV_NAMES.values())
    problems: dict[str, str] = {}
    for name in source:
        if name.startswith(const.ENV_PREFIX) and name not in known and not name.startswith(_NOT_SETTINGS_PREFIXES):
            problems[name] = "unknown setting (check the spelling; see README 'Configuration')"
    relevant = {k: v for k, v in source.items() if k in known and v != ""}
    try:
        loaded: dict[str, Any] = _SCHEMA.load(relevant)
    except ValidationError as exc:
        found = exc.messages if isinstance(exc.messages, dict) else {"settings": exc.messages}
        for key, messages in found.items():
            text = messages if isinstance(messages, str) else "; ".join(str(m) for m in messages)
            problems[str(key)] = text
        raise SettingsError(problems) from None
    if problems:
        raise SettingsError(problems)
    secrets = {ENV_NAMES[name] for name in SECRET_FIELDS}
    written = {k: (origins[k], "" if k in secrets else v) for k, v in relevant.items()}
    return Settings(**loaded, origins=MappingProxyType(written))


ENVIRONMENT_ORIGIN: Final = "environment"
ENV_FILE_ORIGIN: Final = ".env"
DEFAULT_ORIGIN: Final = "default"


@dataclass(frozen=True, slots=True)
class InForce:
    """One setting as an admin may see it: a secret only as set or not, a database URL without its password."""

    variable: str
    value: str
    origin: str
    secret: bool


def in_force(settings: Settings) -> list[InForce]:
    """Every setting in force, in declaration order, with where its value came from."""
    shown: list[InForce] = []
    for name, f in _FIELDS.items():
        variable = ENV_NAMES[name]
        origin, text = settings.origins.get(variable, (DEFAULT_ORIGIN, f.metadata["text"] or ""))
        if name in SECRET_FIELDS:
            text = "set" if getattr(settings, name) not in (None, "") else "not set"
        elif name == "database_url":
            text = make_url(settings.database_url).render_as_string(hide_password=True)
        shown.append(InForce(variable, text or "not set", origin, name in SECRET_FIELDS))
    return shown
