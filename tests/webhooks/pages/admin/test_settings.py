"""The settings page: every setting in force with where it came from; secrets only as set or not set; a
database URL without its password."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from connector.settings import setting_names
from tests.support.admin_site import admin_site, sign_in_as
from tests.support.browser import assert_accessible
from tests.support.thread_site import SECRET, Site


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[Site]:
    with admin_site(sqlite_engine, MATTERLINE_FIRM_NAME="Ortiz & Lane") as served:
        yield served


def _row(page: Page, variable: str) -> list[str]:
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=variable, exact=True))
    return [cell.strip() for cell in row.get_by_role("cell").all_inner_texts()]


def test_every_setting_is_listed_with_its_source_and_no_secret_is_shown(page: Page, site: Site) -> None:
    sign_in_as(page, site, then="/admin/settings")
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()
    listed = page.get_by_role("rowheader").all_inner_texts()
    assert sorted(v.strip() for v in listed) == sorted(setting_names())
    assert _row(page, "MATTERLINE_FIRM_NAME") == ["Ortiz & Lane", "environment"]
    assert _row(page, "MATTERLINE_RETENTION_DAYS") == ["2555", "default"]
    assert _row(page, "MATTERLINE_SECRET_KEY") == ["set", "environment"]
    assert _row(page, "MATTERLINE_CMS_CLIENT_SECRET") == ["not set", "default"]
    text = page.content()
    assert SECRET not in text
    assert site.settings.twilio_auth_token
    assert site.settings.twilio_auth_token not in text
    assert_accessible(page)


def test_a_database_password_is_never_shown(page: Page, sqlite_engine: Engine) -> None:
    url = "postgresql://matterline:hunter2-db-pass@db.internal:5432/firm"
    with admin_site(sqlite_engine, MATTERLINE_DATABASE_URL=url) as site:
        sign_in_as(page, site, then="/admin/settings")
        shown = "postgresql://matterline:***@db.internal:5432/firm"
        assert _row(page, "MATTERLINE_DATABASE_URL") == [shown, "environment"]
        assert "hunter2-db-pass" not in page.content()
