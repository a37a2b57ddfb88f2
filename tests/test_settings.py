"""Settings: every bad value named at once, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.settings import SettingsError, load_settings, setting_names

SECRET = "s3cr3t-value-that-must-not-leak"


def test_given_nothing_when_loaded_then_embedded_defaults() -> None:
    settings = load_settings({}, env_file=None)
    assert settings.database_url == "sqlite:///matterline.db"
    assert settings.cms == "clio"
    assert settings.default_region == "US"
    assert settings.timezone == "America/New_York"
    assert settings.twilio_api_url == "https://api.twilio.com"
    assert settings.firm_numbers == ()


def test_given_several_bad_values_when_loaded_then_one_error_names_each() -> None:
    env = {
        "MATTERLINE_TIMEZONE": "Mars/Olympus",
        "MATTERLINE_DATABASE_URL": "mysql://db/x",
        "MATTERLINE_FIRM_NUMBERS": "+14158675309, 555-1234",
        "MATTERLINE_CMS": "lexisnexis",
        "MATTERLINE_PUBLIC_URL": "http://firm.example.com",
        "MATTERLINE_DEFALT_REGION": "US",
    }
    with pytest.raises(SettingsError) as caught:
        load_settings(env, env_file=None)
    problems = caught.value.problems
    assert set(problems) == {
        "MATTERLINE_TIMEZONE",
        "MATTERLINE_DATABASE_URL",
        "MATTERLINE_FIRM_NUMBERS",
        "MATTERLINE_CMS",
        "MATTERLINE_PUBLIC_URL",
        "MATTERLINE_DEFALT_REGION",
    }
    assert "555-1234" in problems["MATTERLINE_FIRM_NUMBERS"]
    assert "unknown setting" in problems["MATTERLINE_DEFALT_REGION"]
    assert "https" in problems["MATTERLINE_PUBLIC_URL"]
    text = str(caught.value)
    assert text.count("\n") == len(problems)


def test_given_test_harness_variables_when_loaded_then_not_reported_as_unknown() -> None:
    settings = load_settings({"MATTERLINE_TEST_DATABASE_URL": "postgresql://x/y"}, env_file=None)
    assert settings.cms == "clio"


def test_given_secrets_when_repr_then_hidden() -> None:
    settings = load_settings(
        {"MATTERLINE_SECRET_KEY": SECRET, "MATTERLINE_CMS_ACCESS_TOKEN": SECRET, "TWILIO_AUTH_TOKEN": SECRET},
        env_file=None,
    )
    assert SECRET not in repr(settings)
    assert settings.secret_key == SECRET


def test_given_a_short_secret_key_when_loaded_then_refused_without_echoing_it() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"MATTERLINE_SECRET_KEY": "short"}, env_file=None)
    assert "MATTERLINE_SECRET_KEY" in caught.value.problems
    assert "short" not in str(caught.value).replace("shorter", "")


def test_given_a_dotenv_file_when_loaded_then_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("MATTERLINE_TIMEZONE=America/Chicago\nMATTERLINE_DEFAULT_REGION=gb\n")
    settings = load_settings({"MATTERLINE_TIMEZONE": "America/Denver"}, env_file=env_file)
    assert settings.timezone == "America/Denver"
    assert settings.default_region == "GB"


def test_given_valid_firm_numbers_when_loaded_then_split() -> None:
    settings = load_settings({"MATTERLINE_FIRM_NUMBERS": "+14158675309, +12128675309"}, env_file=None)
    assert settings.firm_numbers == ("+14158675309", "+12128675309")


def test_given_require_when_missing_then_named() -> None:
    settings = load_settings({}, env_file=None)
    with pytest.raises(SettingsError) as caught:
        settings.require("secret_key", "public_url", why="by serve")
    assert set(caught.value.problems) == {"MATTERLINE_SECRET_KEY", "MATTERLINE_PUBLIC_URL"}


def test_setting_names_mark_secrets() -> None:
    names = setting_names()
    assert names["MATTERLINE_SECRET_KEY"] is True
    assert names["TWILIO_AUTH_TOKEN"] is True
    assert names["MATTERLINE_CMS_CLIENT_SECRET"] is True
    assert names["MATTERLINE_DATABASE_URL"] is False
    assert "MATTERLINE_PUBLIC_URL" in names


@pytest.mark.parametrize(
    ("text", "origins"),
    [
        ("https://app.clio.com", ("https://app.clio.com",)),
        (
            "https://eu.app.clio.com, https://app.clio.com:8443",
            ("https://eu.app.clio.com", "https://app.clio.com:8443"),
        ),
    ],
)
def test_given_https_origins_to_frame_the_pages_then_each_is_kept(text: str, origins: tuple[str, ...]) -> None:
    assert load_settings({"MATTERLINE_FRAME_ANCESTORS": text}, env_file=None).frame_ancestors == origins
    assert load_settings({}, env_file=None).frame_ancestors == ()


@pytest.mark.parametrize(
    "text",
    [
        "http://app.clio.com",
        "https://app.clio.com/nc/",
        "*",
        "'self'",
        "https://app.clio.com; script-src *",
        "https://user@app.clio.com",
        "app.clio.com",
    ],
)
def test_given_a_frame_ancestor_that_is_not_an_https_origin_then_refused(text: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"MATTERLINE_FRAME_ANCESTORS": text}, env_file=None)
    assert "https origin" in caught.value.problems["MATTERLINE_FRAME_ANCESTORS"]
