"""manifest.json: valid against its schema, and every declared value equal to what the code does."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from connector import const
from connector.settings import Settings, setting_names
from connector.store import make_engine
from mappings import available_vendors, load_mapping
from tests.support.manifest_schema import MANIFEST_PATH, ManifestError, load_manifest, validate_manifest
from webhooks import create_app

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
DOCUMENT: dict[str, Any] = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
MANIFEST = load_manifest(package_version=PROJECT["version"])


def problems_of(document: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(ManifestError) as caught:
        validate_manifest(document, **kwargs)
    return dict(caught.value.problems)


def test_manifest_is_the_one_at_the_repository_root() -> None:
    assert MANIFEST_PATH == ROOT / "manifest.json"


def test_identity_and_documentation() -> None:
    assert MANIFEST.id == "matterline" == const.DOMAIN
    assert MANIFEST.integration_type == "cloud_push"
    assert MANIFEST.description == PROJECT["description"]
    assert (ROOT / MANIFEST.documentation).is_file()


def test_version_equals_pyproject() -> None:
    assert MANIFEST.version == PROJECT["version"]


def test_cms_vendors_equal_the_bundled_mappings() -> None:
    assert MANIFEST.cms_vendors == available_vendors()


def test_webhook_routes_equal_the_app_routes() -> None:
    engine = make_engine("sqlite://")
    try:
        app = create_app(Settings(database_url="sqlite://"), engine)
    finally:
        engine.dispose()
    served = {
        rule.rule: tuple(sorted(rule.methods - {"HEAD", "OPTIONS"}))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/webhooks/") and rule.methods is not None
    }
    declared = {route.path: tuple(sorted(route.methods)) for route in MANIFEST.webhook_routes}
    assert declared == served
    assert "/webhooks/cms/<vendor>" in declared


def test_settings_equal_the_settings_the_program_reads() -> None:
    declared = {entry.name: entry.secret for entry in MANIFEST.settings}
    assert declared == setting_names()
    assert declared["MATTERLINE_CMS_WEBHOOK_SECRET"] is True
    assert declared["TWILIO_AUTH_TOKEN"] is True


def test_cms_permissions_equal_each_mapping() -> None:
    assert set(MANIFEST.cms_permissions) == set(available_vendors())
    for vendor in available_vendors():
        assert MANIFEST.cms_permissions[vendor] == load_mapping(vendor).permissions, vendor
    assert MANIFEST.cms_permissions["clio"], "Clio's permissions must be listed"
    assert "webhooks: read and write" in MANIFEST.cms_permissions["clio"]


def test_requirements_equal_pyproject_runtime_dependencies() -> None:
    names = [re.split(r"[\[<>=!~;\s]", dependency, maxsplit=1)[0] for dependency in PROJECT["dependencies"]]
    assert "psycopg" in names
    assert list(MANIFEST.requirements) == names


def test_allowed_hosts_cover_every_host_the_connector_calls() -> None:
    expected: list[str] = []
    for vendor in available_vendors():
        mapping = load_mapping(vendor)
        urls = list(mapping.api.regions.values())
        # A token URL that is not relative to the API origin is another host the connector calls.
        if mapping.auth.token_url and not mapping.auth.token_url.startswith("{"):
            urls.append(mapping.auth.token_url)
        for url in urls:
            host = urlsplit(url).hostname
            assert host is not None
            if host not in expected:
                expected.append(host)
    expected.append(str(urlsplit(const.DEFAULT_TWILIO_API_URL).hostname))
    assert list(MANIFEST.allowed_hosts) == expected
    assert "app.clio.com" in MANIFEST.allowed_hosts
    assert "api.twilio.com" in MANIFEST.allowed_hosts


# --- the schema rejects what it must ---------------------------------------------------------------


def test_given_wrong_version_then_mismatch_named() -> None:
    document = {**DOCUMENT, "version": "9.9.9"}
    problems = problems_of(document, package_version=PROJECT["version"])
    assert set(problems) == {"$.version"}
    assert "9.9.9" in problems["$.version"]
    assert PROJECT["version"] in problems["$.version"]
    assert "pyproject.toml" in problems["$.version"]


@pytest.mark.parametrize("version", ["one", "1", "v0.1.0", "0.1.0-", ""])
def test_given_malformed_version_then_rejected(version: str) -> None:
    problems = problems_of({**DOCUMENT, "version": version})
    assert "$.version" in problems


def test_given_unknown_key_then_rejected_by_name() -> None:
    problems = problems_of({**DOCUMENT, "homepage": "https://example.com"})
    assert problems == {"$.homepage": "Unknown field."}


def test_given_unknown_key_in_a_nested_entry_then_rejected() -> None:
    document = copy.deepcopy(DOCUMENT)
    document["settings"][0]["default"] = "sqlite:///matterline.db"
    problems = problems_of(document)
    assert problems == {"$.settings.0.default": "Unknown field."}


def test_given_every_problem_then_all_reported_at_once() -> None:
    document = {k: v for k, v in DOCUMENT.items() if k != "name"}
    document.update(id="other", integration_type="polling", allowed_hosts=["https://app.clio.com"], extra=1)
    problems = problems_of(document)
    assert {"$.name", "$.id", "$.integration_type", "$.allowed_hosts.0", "$.extra"} <= set(problems)
    message = str(ManifestError("manifest.json", list(problems.items())))
    assert "$.allowed_hosts.0" in message


@pytest.mark.parametrize(
    ("key", "value", "path"),
    [
        ("settings", [{"name": "MATTERLINE_SECRET_KEY", "secret": "yes"}], "$.settings.0.secret"),
        ("requirements", ["flask>=3.0"], "$.requirements.0"),
        ("webhook_routes", [{"path": "/api/threads", "methods": ["GET"]}], "$.webhook_routes.0.path"),
        ("webhook_routes", [{"path": "/webhooks/x", "methods": ["FETCH"]}], "$.webhook_routes.0.methods.0"),
        ("cms_permissions", {"clio": ["contacts: read"]}, "$.cms_permissions"),
        ("cms_vendors", ["clio", "clio"], "$.cms_vendors"),
    ],
)
def test_given_bad_value_then_rejected_at_its_path(key: str, value: Any, path: str) -> None:
    assert path in problems_of({**DOCUMENT, key: value})


def test_given_unreadable_or_non_json_file_then_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read"):
        load_manifest(tmp_path / "missing.json")
    broken = tmp_path / "manifest.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(ManifestError, match="not JSON"):
        load_manifest(broken)


def test_twilio_console_urls_are_the_apps_twilio_routes() -> None:
    from webhooks.inbound.twilio import SMS_PATH, STATUS_PATH

    assert MANIFEST.twilio_console == {
        "phone_number.messaging.a_message_comes_in": SMS_PATH,
        "messaging_service.integration.incoming_messages": SMS_PATH,
        "messaging_service.integration.delivery_status_callback": STATUS_PATH,
    }
    routes = {route.path for route in MANIFEST.webhook_routes}
    assert set(MANIFEST.twilio_console.values()) <= routes
