"""Settings from environment variables, validated once, so a typo stops the program before it acts."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from dotenv import dotenv_values
from marshmallow import EXCLUDE, Schema, ValidationError, post_load, validate, validates
from marshmallow import fields as mf
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from connector import const

# Variables under the prefix that belong to the test harness, not to the program.
_NOT_SETTINGS_PREFIXES = ("MATTERLINE_TEST_",)
_TWILIO_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_MESSAGING_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class SettingsError(Exception):
    """Every bad setting at once, each named by its environment variable."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(sorted(problems.items()))
        lines = [f"  {name}: {message}" for name, message in self.problems.items()]
        super().__init__("invalid settings:\n" + "\n".join(lines))


def _secret(**kwargs: Any) -> mf.String:
    return mf.String(load_default=None, metadata={"secret": True}, **kwargs)


def _check_url(value: str, *, https_only_remote: bool) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("must be an http(s) URL with a host")
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if https_only_remote and parts.scheme != "https" and not local:
        raise ValidationError("must use https (http is accepted only for localhost)")


class SettingsSchema(Schema):
    """The contract table of DESIGN.md; `data_key` is the environment variable."""

    class Meta:
        unknown = EXCLUDE  # unknown MATTERLINE_* names are reported by load_settings itself

    database_url = mf.String(data_key="MATTERLINE_DATABASE_URL", load_default=const.DEFAULT_DATABASE_URL)
    cms = mf.String(data_key="MATTERLINE_CMS", load_default=const.DEFAULT_CMS)
    cms_region = mf.String(data_key="MATTERLINE_CMS_REGION", load_default=None)
    cms_base_url = mf.String(data_key="MATTERLINE_CMS_BASE_URL", load_default=None)
    cms_access_token = _secret(data_key="MATTERLINE_CMS_ACCESS_TOKEN")
    cms_client_id = mf.String(data_key="MATTERLINE_CMS_CLIENT_ID", load_default=None)
    cms_client_secret = _secret(data_key="MATTERLINE_CMS_CLIENT_SECRET")
    cms_refresh_token = _secret(data_key="MATTERLINE_CMS_REFRESH_TOKEN")
    cms_webhook_secret = _secret(data_key="MATTERLINE_CMS_WEBHOOK_SECRET")
    mapping_file = mf.String(data_key="MATTERLINE_MAPPING_FILE", load_default=None)
    twilio_account_sid = mf.String(data_key="TWILIO_ACCOUNT_SID", load_default=None)
    twilio_auth_token = _secret(data_key="TWILIO_AUTH_TOKEN")
    twilio_messaging_service_sid = mf.String(data_key="TWILIO_MESSAGING_SERVICE_SID", load_default=None)
    twilio_api_url = mf.String(data_key="MATTERLINE_TWILIO_API_URL", load_default=const.DEFAULT_TWILIO_API_URL)
    firm_numbers = mf.String(data_key="MATTERLINE_FIRM_NUMBERS", load_default="")
    public_url = mf.String(data_key="MATTERLINE_PUBLIC_URL", load_default=None)
    default_region = mf.String(data_key="MATTERLINE_DEFAULT_REGION", load_default=const.DEFAULT_REGION)
    timezone = mf.String(data_key="MATTERLINE_TIMEZONE", load_default=const.DEFAULT_TIMEZONE)
    secret_key = _secret(data_key="MATTERLINE_SECRET_KEY", validate=validate.Length(min=16))
    log_level = mf.String(data_key="MATTERLINE_LOG_LEVEL", load_default="INFO", validate=validate.OneOf(_LOG_LEVELS))
    firm_name = mf.String(data_key="MATTERLINE_FIRM_NAME", load_default="The firm", validate=validate.Length(max=80))
    help_text = mf.String(data_key="MATTERLINE_HELP_TEXT", load_default=None, validate=validate.Length(max=320))
    thread_active_days = mf.Integer(
        data_key="MATTERLINE_THREAD_ACTIVE_DAYS", load_default=14, validate=validate.Range(min=0, max=365)
    )
    twilio_keyword_replies = mf.Boolean(data_key="MATTERLINE_TWILIO_KEYWORD_REPLIES", load_default=True)
    proxy_hops = mf.Integer(data_key="MATTERLINE_PROXY_HOPS", load_default=0, validate=validate.Range(min=0, max=5))
    window_idle_minutes = mf.Integer(
        data_key="MATTERLINE_WINDOW_IDLE_MINUTES", load_default=60, validate=validate.Range(min=1, max=24 * 60)
    )
    summary_review = mf.Boolean(data_key="MATTERLINE_SUMMARY_REVIEW", load_default=False)
    outbox_max_attempts = mf.Integer(
        data_key="MATTERLINE_OUTBOX_MAX_ATTEMPTS", load_default=8, validate=validate.Range(min=1, max=100)
    )
    consent_inbound_days = mf.Integer(
        data_key="MATTERLINE_CONSENT_INBOUND_DAYS", load_default=30, validate=validate.Range(min=0, max=365)
    )
    content_rules_file = mf.String(data_key="MATTERLINE_CONTENT_RULES_FILE", load_default=None)
    quiet_hours = mf.String(data_key="MATTERLINE_QUIET_HOURS", load_default="08:00-20:00")
    quiet_hours_by_state = mf.String(data_key="MATTERLINE_QUIET_HOURS_BY_STATE", load_default="")
    office_hours = mf.String(data_key="MATTERLINE_OFFICE_HOURS", load_default="Mon-Fri 09:00-17:00")
    office_closed = mf.String(data_key="MATTERLINE_OFFICE_CLOSED", load_default="")
    emergency_reply = mf.String(
        data_key="MATTERLINE_EMERGENCY_REPLY", load_default=None, validate=validate.Length(min=1, max=480)
    )
    retention_days = mf.Integer(
        data_key="MATTERLINE_RETENTION_DAYS", load_default=2555, validate=validate.Range(min=1, max=36500)
    )
    private_previews = mf.Boolean(data_key="MATTERLINE_PRIVATE_PREVIEWS", load_default=False)
    day_end = mf.String(
        data_key="MATTERLINE_DAY_END",
        load_default="18:00",
        validate=validate.Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", error="must be HH:MM (24-hour), e.g. 18:00"),
    )

    @validates("database_url")
    def _database_url(self, value: str, **_: Any) -> None:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValidationError("is not a database URL (e.g. sqlite:///matterline.db)") from exc
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValidationError("must be a sqlite:// or postgresql:// URL")

    @validates("cms")
    def _cms(self, value: str, **_: Any) -> None:
        from mappings import available_vendors

        vendors = available_vendors()
        if value not in vendors:
            raise ValidationError(f"unknown CMS {value!r}; one of: {', '.join(vendors)}")

    @validates("cms_base_url")
    def _cms_base_url(self, value: str | None, **_: Any) -> None:
        if value is not None:
            _check_url(value, https_only_remote=True)

    @validates("public_url")
    def _public_url(self, value: str | None, **_: Any) -> None:
        if value is not None:
            _check_url(value, https_only_remote=True)
            if urlsplit(value).path not in ("", "/"):
                raise ValidationError("must be the base URL only (scheme and host), without a path")

    @validates("twilio_api_url")
    def _twilio_api_url(self, value: str, **_: Any) -> None:
        _check_url(value, https_only_remote=True)

    @validates("mapping_file")
    def _mapping_file(self, value: str | None, **_: Any) -> None:
        if value is not None and not Path(value).is_file():
            raise ValidationError(f"no such file: {value}")

    @validates("twilio_account_sid")
    def _account_sid(self, value: str | None, **_: Any) -> None:
        if value is not None and not _TWILIO_SID.match(value):
            raise ValidationError("must look like AC followed by 32 hex characters")

    @validates("twilio_messaging_service_sid")
    def _service_sid(self, value: str | None, **_: Any) -> None:
        if value is not None and not _MESSAGING_SERVICE_SID.match(value):
            raise ValidationError("must look like MG followed by 32 hex characters")

    @validates("default_region")
    def _region(self, value: str, **_: Any) -> None:
        if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValidationError(f"{value!r} is not a two-letter region phonenumbers knows (e.g. US, GB)")

    @validates("timezone")
    def _timezone(self, value: str, **_: Any) -> None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError(f"{value!r} is not an IANA time zone (e.g. America/New_York)") from exc

    @validates("firm_numbers")
    def _firm_numbers(self, value: str, **_: Any) -> None:
        bad = [n for n in _split(value) if not _is_e164(n)]
        if bad:
            raise ValidationError(f"not E.164 (+15551234567): {', '.join(bad)}")

    @validates("quiet_hours")
    def _quiet_hours(self, value: str, **_: Any) -> None:
        from connector.guardrails.quiet_hours import parse_window

        if value.strip().lower() != "off":
            _parsed(parse_window, value)

    @validates("quiet_hours_by_state")
    def _quiet_hours_by_state(self, value: str, **_: Any) -> None:
        from connector.guardrails.quiet_hours import parse_state_windows

        if value.strip():
            _parsed(parse_state_windows, value)

    @validates("office_hours")
    def _office_hours(self, value: str, **_: Any) -> None:
        from connector.guardrails.policy import parse_office_hours

        _parsed(parse_office_hours, value)

    @validates("office_closed")
    def _office_closed(self, value: str, **_: Any) -> None:
        from connector.guardrails.policy import parse_closed_days

        _parsed(parse_closed_days, value)

    @validates("content_rules_file")
    def _content_rules_file(self, value: str | None, **_: Any) -> None:
        from connector.guardrails.content import RulesError, load_rules

        if value is not None:
            try:
                load_rules(value)
            except RulesError as exc:
                raise ValidationError(exc.errors) from exc

    @post_load
    def _build(self, data: dict[str, Any], **_: Any) -> Settings:
        data["firm_numbers"] = tuple(_split(data["firm_numbers"]))
        data["default_region"] = data["default_region"].upper()
        return Settings(**data)


def _parsed(parse: Any, value: str) -> None:
    """Run one of the guardrails' parsers on a setting; its ValueError becomes this setting's error."""
    try:
        parse(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


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


@dataclass(frozen=True, slots=True)
class Settings:
    """Validated settings; secrets are excluded from `repr` so they never reach a log line."""

    database_url: str = const.DEFAULT_DATABASE_URL
    cms: str = const.DEFAULT_CMS
    cms_region: str | None = None
    cms_base_url: str | None = None
    cms_access_token: str | None = None
    cms_client_id: str | None = None
    cms_client_secret: str | None = None
    cms_refresh_token: str | None = None
    cms_webhook_secret: str | None = None
    mapping_file: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_url: str = const.DEFAULT_TWILIO_API_URL
    firm_numbers: tuple[str, ...] = ()
    public_url: str | None = None
    default_region: str = const.DEFAULT_REGION
    timezone: str = const.DEFAULT_TIMEZONE
    secret_key: str | None = None
    log_level: str = "INFO"
    firm_name: str = "The firm"
    help_text: str | None = None
    thread_active_days: int = 14
    twilio_keyword_replies: bool = True
    proxy_hops: int = 0
    window_idle_minutes: int = 60
    day_end: str = "18:00"
    summary_review: bool = False
    outbox_max_attempts: int = 8
    consent_inbound_days: int = 30
    content_rules_file: str | None = None
    quiet_hours: str = "08:00-20:00"
    quiet_hours_by_state: str = ""
    office_hours: str = "Mon-Fri 09:00-17:00"
    office_closed: str = ""
    emergency_reply: str | None = None
    retention_days: int = 2555
    private_previews: bool = False

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS and value is not None:
                value = "***"
            shown.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(shown)})"

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
    def zone(self) -> ZoneInfo:
        """The firm's time zone."""
        return ZoneInfo(self.timezone)

    def require(self, *names: str, why: str) -> None:
        """Stop with a settings error naming each of `names` that is unset.

        Raises:
            SettingsError: one or more of the named settings is missing.
        """
        missing = {ENV_NAMES[name]: f"required {why}" for name in names if getattr(self, name) in (None, "", ())}
        if missing:
            raise SettingsError(missing)


_SCHEMA_FIELDS = SettingsSchema().fields
ENV_NAMES: dict[str, str] = {name: str(field.data_key) for name, field in _SCHEMA_FIELDS.items()}
SECRET_FIELDS: frozenset[str] = frozenset(
    name for name, field in _SCHEMA_FIELDS.items() if field.metadata.get("secret")
)


def setting_names() -> dict[str, bool]:
    """Every environment variable Matterline reads, mapped to whether it holds a secret."""
    return {ENV_NAMES[name]: name in SECRET_FIELDS for name in _SCHEMA_FIELDS}


def load_settings(environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> Settings:
    """Read and validate settings from `environ` (default: the process), under an optional `.env` file.

    Raises:
        SettingsError: naming every unknown, invalid or malformed setting at once.
    """
    source: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        source.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    source.update(os.environ if environ is None else environ)
    known = set(ENV_NAMES.values())
    problems: dict[str, str] = {}
    for name in source:
        if name.startswith(const.ENV_PREFIX) and name not in known and not name.startswith(_NOT_SETTINGS_PREFIXES):
            problems[name] = "unknown setting (check the spelling; see README 'Configuration')"
    relevant = {k: v for k, v in source.items() if k in known and v != ""}
    try:
        settings: Settings = SettingsSchema().load(relevant)
    except ValidationError as exc:
        found = exc.messages if isinstance(exc.messages, dict) else {"settings": exc.messages}
        for key, messages in found.items():
            text = messages if isinstance(messages, str) else "; ".join(str(m) for m in messages)
            problems[str(key)] = text
        raise SettingsError(problems) from None
    if problems:
        raise SettingsError(problems)
    return settings
