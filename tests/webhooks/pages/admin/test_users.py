"""The people page: everyone with their role, sign-in, sessions, tokens and CMS link; adding a person with an
invite link that works; changing a role (in force at once); a reset link; ending a person's sessions;
disabling them; revoking a token; the last admin protected. Each change audited with the admin's name."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import Engine

from connector import queries, services
from tests.support.admin_site import admin_site, sign_in_as
from tests.support.browser import DESKTOP, assert_accessible
from tests.support.inbox import audit_rows
from tests.support.thread_site import OPERATOR, Site


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    """This page's browser tests run on SQLite; the services and queries behind it are tested on both stores."""
    return sqlite_engine


NEW = "a brand new passphrase"


@pytest.fixture
def site(engine: Engine) -> Iterator[Site]:
    with admin_site(engine) as served:
        yield served


@pytest.fixture
def other(browser: Browser) -> Iterator[Page]:
    """A second person's browser, beside the admin's."""
    context = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    yield context.new_page()
    context.close()


def _cells(page: Page, name: str) -> list[str]:
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name, exact=True))
    return [cell.strip() for cell in row.get_by_role("cell").all_inner_texts()]


def _open_link(page: Page, site: Site, url: str) -> None:
    """Open a one-time link (its path on this site) and set a password: the person lands signed in."""
    path = "/welcome/" + url.split("/welcome/", 1)[1]
    page.goto(site.url + path)
    page.get_by_label("New password").fill(NEW)
    page.get_by_label("Type it again").fill(NEW)
    page.get_by_role("button", name="Set password and sign in").click()
    expect(page).to_have_url(re.compile(r"/inbox$"))


def _sign_in(page: Page, site: Site, who: str, then: str = "/inbox") -> None:
    sign_in_as(page, site, who, then=then)


def _said(page: Page) -> Locator:
    """What the page says happened (the site's own live region, #notice, is another status)."""
    return page.locator("main p.ok[role=status]")


def _ada(site: Site) -> str:
    return site.people["ada"].actor


def test_everyone_is_listed_with_role_sign_in_sessions_tokens_and_cms_link(page: Page, site: Site) -> None:
    sign_in_as(page, site, then="/admin/users")
    expect(page.get_by_role("heading", name="Users", level=1)).to_be_visible()
    ada = _cells(page, "Ada Admin")
    assert ada[:3] == ["ada@firm.example", "Admin", "Active"]
    assert ada[3] != "Never"  # she just signed in
    assert ada[4:8] == ["1", "1", "Not linked", "Not installed: not linked"]
    assert _cells(page, "Pat Paralegal")[:8] == [
        "pat@firm.example",
        "Staff",
        "Active",
        "Never",
        "0",
        "1",
        "Not linked",
        "Not installed: not linked",
    ]
    assert _cells(page, "Avery Attorney")[1] == "Attorney"
    tokens = page.get_by_role("table").nth(1)
    assert len(tokens.get_by_role("button", name=re.compile(r"^Revoke token \d+$")).all()) == 4
    assert_accessible(page)


def test_an_added_person_gets_an_invite_link_that_signs_them_in(page: Page, other: Page, site: Site) -> None:
    sign_in_as(page, site, then="/admin/users")
    page.get_by_label("Name").fill("Casey Clerk")
    page.get_by_label("Email").fill("casey@firm.example")
    page.get_by_label("Role", exact=True).select_option("attorney")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Add and make invite link").click()
    assert posted.value.status == 201
    assert posted.value.headers["cache-control"] == "no-store"
    expect(page.get_by_role("heading", name="Invite link for Casey Clerk")).to_be_visible()
    expect(page.get_by_text("Matterline does not send email: copy this link")).to_be_visible()
    url = page.get_by_label("One-time invite link").input_value()
    assert url.startswith(site.url + "/welcome/")
    token = page.get_by_label("API token for Casey Clerk").input_value()
    assert token.startswith("ml_")
    assert _cells(page, "Casey Clerk")[:4] == ["casey@firm.example", "Attorney", "Active", "Never"]
    assert_accessible(page)
    [casey] = [u for u in queries.users.listing(site.engine) if u.email == "casey@firm.example"]
    assert casey.role == "attorney"
    [added] = audit_rows(site.engine, "user_added")[-1:]
    assert (added.actor, added.subject_id) == (_ada(site), str(casey.id))
    [issued] = audit_rows(site.engine, "link_issued")
    assert (issued.actor, issued.details["purpose"]) == (_ada(site), "invite")
    _open_link(other, site, url)
    expect(other.locator(".who .person")).to_have_text("Casey Clerk")
    page.goto(site.url + "/admin/users")
    assert _cells(page, "Casey Clerk")[3:5] != ["Never", "0"]


def test_a_person_who_cannot_be_added_is_refused_in_words_keeping_what_was_typed(page: Page, site: Site) -> None:
    sign_in_as(page, site, then="/admin/users")
    page.get_by_label("Name").fill("Pat Again")
    page.get_by_label("Email").fill("PAT@firm.example")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Add and make invite link").click()
    assert posted.value.status == 409
    expect(page.get_by_role("alert")).to_have_text("a user with email 'pat@firm.example' already exists")
    expect(page.get_by_label("Name")).to_have_value("Pat Again")
    expect(page.get_by_label("Email")).to_have_value("PAT@firm.example")
    assert [u.name for u in queries.users.listing(site.engine)].count("Pat Again") == 0
    assert_accessible(page)


def test_a_role_change_is_stored_audited_and_in_force_on_the_next_page(page: Page, other: Page, site: Site) -> None:
    _sign_in(other, site, "avery")
    assert other.request.get(site.url + "/admin", max_redirects=0).status == 403
    sign_in_as(page, site, then="/admin/users")
    page.get_by_label("Role for Avery Attorney").select_option("admin")
    page.get_by_role("button", name="Change role of Avery Attorney").click()
    expect(_said(page)).to_contain_text("Avery Attorney is now an admin.")
    assert _cells(page, "Avery Attorney")[1] == "Admin"
    assert_accessible(page)
    assert other.request.get(site.url + "/admin", max_redirects=0).status == 200
    page.get_by_label("Role for Avery Attorney").select_option("staff")
    page.get_by_role("button", name="Change role of Avery Attorney").click()
    expect(_said(page)).to_contain_text("Avery Attorney is now a staff member.")
    assert [u.role for u in queries.users.listing(site.engine) if u.email == "avery@firm.example"] == ["staff"]
    entries = audit_rows(site.engine, "role_changed")
    assert [(e.actor, e.details["from"], e.details["to"]) for e in entries] == [
        (_ada(site), "attorney", "admin"),
        (_ada(site), "admin", "staff"),
    ]
    other.goto(site.url + "/admin/users")
    expect(other.get_by_role("heading", name="Forbidden")).to_be_visible()


def test_the_last_admin_can_be_neither_disabled_nor_demoted(page: Page, site: Site) -> None:
    sign_in_as(page, site, then="/admin/users")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Disable Ada Admin").click()
    assert posted.value.status == 409
    expect(page.get_by_role("alert")).to_have_text("ada@firm.example is the last active admin; add another admin first")
    assert_accessible(page)
    page.get_by_label("Role for Ada Admin").select_option("attorney")
    page.get_by_role("button", name="Change role of Ada Admin").click()
    expect(page.get_by_role("alert")).to_have_text(
        "ada@firm.example is the last active admin; make someone else an admin first"
    )
    [ada] = [u for u in queries.users.listing(site.engine) if u.email == "ada@firm.example"]
    assert (ada.role, ada.disabled_at) == ("admin", None)
    assert audit_rows(site.engine, "user_disabled") == audit_rows(site.engine, "role_changed") == []


def test_a_disabled_persons_session_ends_at_once(page: Page, other: Page, site: Site) -> None:
    _sign_in(other, site, "pat")
    sign_in_as(page, site, then="/admin/users")
    assert _cells(page, "Pat Paralegal")[4] == "1"
    page.get_by_role("button", name="Disable Pat Paralegal").click()
    expect(_said(page)).to_contain_text("Pat Paralegal is disabled")
    pat = _cells(page, "Pat Paralegal")
    assert (pat[2], pat[4], pat[5]) == ("Disabled", "0", "0")
    expect(page.get_by_role("button", name="Disable Pat Paralegal")).to_have_count(0)
    assert_accessible(page)
    other.goto(site.url + "/inbox")
    expect(other).to_have_url(re.compile(r"/signin\?next="))
    [entry] = audit_rows(site.engine, "user_disabled")
    assert (entry.actor, entry.details["sessions_ended"]) == (_ada(site), 1)


def test_ending_a_persons_sessions_signs_them_out(page: Page, other: Page, site: Site) -> None:
    _sign_in(other, site, "sam")
    sign_in_as(page, site, then="/admin/users")
    page.get_by_role("button", name="End sessions of Sam Staff").click()
    expect(_said(page)).to_have_text("Sam Staff is signed out everywhere: 1 session ended.")
    assert _cells(page, "Sam Staff")[2] == "Active"
    assert _cells(page, "Sam Staff")[4] == "0"
    assert_accessible(page)
    other.goto(site.url + "/inbox")
    expect(other).to_have_url(re.compile(r"/signin\?next="))
    [entry] = audit_rows(site.engine, "sessions_ended")
    assert (entry.actor, entry.subject_id, entry.details["sessions_ended"]) == (
        _ada(site),
        str(site.people["sam"].id),
        1,
    )


def test_a_reset_link_sets_a_new_password(page: Page, other: Page, site: Site) -> None:
    sign_in_as(page, site, then="/admin/users")
    page.get_by_role("button", name="Reset password of Pat Paralegal").click()
    expect(page.get_by_role("heading", name="Password reset link for Pat Paralegal")).to_be_visible()
    expect(page.get_by_label("API token for Pat Paralegal")).to_have_count(0)
    assert_accessible(page)
    _open_link(other, site, page.get_by_label("One-time reset link").input_value())
    expect(other.locator(".who .person")).to_have_text("Pat Paralegal")
    [issued] = audit_rows(site.engine, "link_issued")
    assert (issued.actor, issued.details["purpose"]) == (_ada(site), "reset")


def test_a_revoked_token_is_refused_by_the_api(page: Page, site: Site) -> None:
    added = services.users.add(
        site.engine, name="Casey Clerk", email="casey@firm.example", role="staff", actor=OPERATOR
    )
    me = site.url + "/api/me"
    bearer = {"Authorization": "Bearer " + added.token}
    sign_in_as(page, site, then="/admin/users")
    assert page.request.get(me, headers=bearer).status == 200
    [token] = queries.users.tokens(site.engine, added.user.id)
    page.get_by_role("button", name=f"Revoke token {token.id}").click()
    expect(_said(page)).to_have_text(f"API token {token.id} is revoked: it no longer works.")
    expect(page.get_by_role("button", name=f"Revoke token {token.id}")).to_have_count(0)
    assert _cells(page, "Casey Clerk")[5] == "0"
    assert_accessible(page)
    assert page.request.get(me, headers=bearer).status == 401
    [entry] = audit_rows(site.engine, "token_revoked")
    assert (entry.actor, entry.subject_id) == (_ada(site), str(token.id))
