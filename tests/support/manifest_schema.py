"""The plugin manifest (`manifest.json`): what Matterline declares to a host and to a firm's admin.

The manifest is read by people deciding whether to install Matterline (which hosts it talks to, which
CMS permissions it needs, which settings hold secrets), so it must never drift from the code. This
module holds its schema; `tests/test_manifest.py` checks each declared value against the code.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates, validates_schema

__all__ = [
    "INTEGRATION_TYPES",
    "MANIFEST_PATH",
    "Manifest",
    "ManifestError",
    "ManifestSchema",
    "Route",
    "SettingEntry",
    "Version",
    "load_manifest",
    "validate_manifest",
]

MANIFEST_PATH: Final = Path(__file__).resolve().parents[2] / "manifest.json"
INTEGRATION_TYPES: Final = ("cloud_push", "cloud_polling", "local_push", "local_polling")
HTTP_METHODS: Final = ("GET", "POST", "PUT", "PATCH", "DELETE")

# A PEP 440 public version, as pyproject.toml holds it (1.2.3, 1.2.3rc1, 1.2.3.post1, 1.2.3.dev4).
_VERSION: Final = re.compile(r"\d+(\.\d+){1,3}((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?")
# marshmallow's Regexp validator anchors only the start, hence the explicit \Z.
_LABEL: Final = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME: Final = re.compile(rf"(?=.{{1,253}}\Z){_LABEL}(\.{_LABEL})+\Z")
_PACKAGE_NAME: Final = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?\Z")
_SETTING_NAME: Final = re.compile(r"[A-Z][A-Z0-9_]*\Z")


class ManifestError(Exception):
    """Every problem of a manifest at once, each with its JSON path (`$.settings.3.secret`)."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = [f"  {path}: {message}" for path, message in problems]
        super().__init__(f"{source} is invalid:\n" + "\n".join(lines))


@dataclass(frozen=True, slots=True)
class Route:
    """A webhook route the app serves and a host must forward to it."""

    path: str
    methods: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SettingEntry:
    """One environment variable; `secret` ones are never shown back to an admin or logged."""

    name: str
    secret: bool


@dataclass(frozen=True, slots=True)
class Manifest:
    """A validated manifest."""

    id: str
    name: str
    version: str
    description: str
    documentation: str
    integration_type: str
    cms_vendors: tuple[str, ...]
    webhook_routes: tuple[Route, ...]
    settings: tuple[SettingEntry, ...]
    cms_permissions: dict[str, tuple[str, ...]]
    requirements: tuple[str, ...]
    allowed_hosts: tuple[str, ...]
    twilio_console: dict[str, str]


TWILIO_CONSOLE_FIELDS: Final = (
    "phone_number.messaging.a_message_comes_in",
    "messaging_service.integration.incoming_messages",
    "messaging_service.integration.delivery_status_callback",
)


class Version(fields.String):
    """A version string in PEP 440's public form, the form `[project].version` uses."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not _VERSION.fullmatch(text):
            raise ValidationError(f"{text!r} is not a version (expected e.g. 1.2.3 or 1.2.3rc1)")
        return text


def _strict_bool() -> fields.Boolean:
    # JSON true/false only: a string "false" would otherwise read as a secret-less setting.
    return fields.Boolean(required=True, truthy={True}, falsy={False})


def _names(regex: re.Pattern[str], what: str) -> fields.List[str]:
    return fields.List(
        fields.String(validate=validate.Regexp(regex, error=f"{{input!r}} is not {what}")),
        required=True,
        validate=validate.Length(min=1),
    )


class _RouteSchema(Schema):
    class Meta:
        unknown = RAISE

    path = fields.String(
        required=True, validate=validate.Regexp(r"^/webhooks/", error="must be a path under /webhooks/")
    )
    methods = fields.List(
        fields.String(validate=validate.OneOf(HTTP_METHODS)), required=True, validate=validate.Length(min=1)
    )

    @post_load
    def _build(self, data: dict[str, Any], **_: Any) -> Route:
        return Route(path=data["path"], methods=tuple(data["methods"]))


class _SettingSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(
        required=True,
        validate=validate.Regexp(_SETTING_NAME, error="{input!r} is not an environment variable name"),
    )
    secret = _strict_bool()

    @post_load
    def _build(self, data: dict[str, Any], **_: Any) -> SettingEntry:
        return SettingEntry(name=data["name"], secret=data["secret"])


class ManifestSchema(Schema):
    """The shape of `manifest.json`; unknown keys are errors, so a typo never passes silently.

    Args:
        package_version: when given, `version` must equal it (pass pyproject's `[project].version`).
    """

    class Meta:
        unknown = RAISE

    id = fields.String(required=True, validate=validate.Equal("matterline", error="must be 'matterline'"))
    name = fields.String(required=True, validate=validate.Length(min=1))
    version = Version(required=True)
    description = fields.String(required=True, validate=validate.Length(min=1))
    documentation = fields.String(required=True, validate=validate.Length(min=1))
    integration_type = fields.String(required=True, validate=validate.OneOf(INTEGRATION_TYPES))
    cms_vendors = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    webhook_routes = fields.List(fields.Nested(_RouteSchema), required=True)
    settings = fields.List(fields.Nested(_SettingSchema), required=True, validate=validate.Length(min=1))
    cms_permissions = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)
    requirements = _names(_PACKAGE_NAME, "a package name (without a version specifier)")
    allowed_hosts = _names(_HOSTNAME, "a lower-case host name (no scheme, port or path)")
    # Where, in the Twilio console, an admin points each webhook: a path under MATTERLINE_PUBLIC_URL.
    twilio_console = fields.Dict(
        keys=fields.String(validate=validate.OneOf(TWILIO_CONSOLE_FIELDS)),
        values=fields.String(validate=validate.Regexp(r"^/webhooks/twilio/[a-z]+$")),
        required=True,
    )

    def __init__(self, *, package_version: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.package_version = package_version

    @validates("version")
    def _matches_package(self, value: str, **_: Any) -> None:
        if self.package_version is not None and value != self.package_version:
            raise ValidationError(
                f"{value!r} does not match the package version {self.package_version!r} "
                "(pyproject.toml [project].version); the two are released together"
            )

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, list[str]] = {}
        vendors = data.get("cms_vendors", [])
        permissions = data.get("cms_permissions", {})
        missing = [v for v in vendors if v not in permissions]
        extra = [v for v in permissions if v not in vendors]
        if missing:
            errors.setdefault("cms_permissions", []).append(f"no permissions listed for: {', '.join(missing)}")
        if extra:
            errors.setdefault("cms_permissions", []).append(f"not a declared CMS vendor: {', '.join(extra)}")
        for key, values in (
            ("cms_vendors", vendors),
            ("webhook_routes", [route.path for route in data.get("webhook_routes", [])]),
            ("settings", [entry.name for entry in data.get("settings", [])]),
            ("requirements", data.get("requirements", [])),
            ("allowed_hosts", data.get("allowed_hosts", [])),
        ):
            duplicates = sorted({v for v in values if values.count(v) > 1})
            if duplicates:
                errors.setdefault(key, []).append(f"listed more than once: {', '.join(duplicates)}")
        if errors:
            raise ValidationError(errors)

    @post_load
    def _build(self, data: dict[str, Any], **_: Any) -> Manifest:
        return Manifest(
            id=data["id"],
            name=data["name"],
            version=data["version"],
            description=data["description"],
            documentation=data["documentation"],
            integration_type=data["integration_type"],
            cms_vendors=tuple(data["cms_vendors"]),
            webhook_routes=tuple(data["webhook_routes"]),
            settings=tuple(data["settings"]),
            cms_permissions={vendor: tuple(p) for vendor, p in data["cms_permissions"].items()},
            requirements=tuple(data["requirements"]),
            allowed_hosts=tuple(data["allowed_hosts"]),
            twilio_console=dict(data["twilio_console"]),
        )


def _flatten(messages: Any, path: str, found: list[tuple[str, str]]) -> None:
    if isinstance(messages, dict):
        for key, value in messages.items():
            _flatten(value, path if key == "_schema" else f"{path}.{key}", found)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        found.extend((path, message) for message in messages)
    elif isinstance(messages, list):
        for message in messages:
            _flatten(message, path, found)
    else:
        found.append((path, str(messages)))


def validate_manifest(document: Any, *, source: str = "manifest.json", package_version: str | None = None) -> Manifest:
    """Validate a parsed manifest document.

    Raises:
        ManifestError: listing every problem with its JSON path.
    """
    if not isinstance(document, dict):
        raise ManifestError(source, [("$", "must be a JSON object")])
    try:
        manifest: Manifest = ManifestSchema(package_version=package_version).load(document)
    except ValidationError as exc:
        problems: list[tuple[str, str]] = []
        _flatten(exc.messages, "$", problems)
        raise ManifestError(source, problems) from None
    return manifest


def load_manifest(path: Path = MANIFEST_PATH, *, package_version: str | None = None) -> Manifest:
    """Read and validate the manifest file at `path`.

    Raises:
        ManifestError: the file is unreadable, not JSON, or invalid (every problem at once).
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ManifestError(str(path), [("$", f"cannot read the file: {exc.strerror}")]) from None
    except ValueError as exc:
        raise ManifestError(str(path), [("$", f"not JSON: {exc}")]) from None
    return validate_manifest(document, source=str(path), package_version=package_version)
