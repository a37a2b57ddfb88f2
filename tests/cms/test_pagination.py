"""Paginators: each mechanism walks to the end and refuses a token it already followed."""

from __future__ import annotations

from typing import Any

import pytest

from connector.cms.client import CmsResponse
from connector.cms.errors import PaginationLoopError
from connector.cms.pagination import (
    LinkHeaderPaginator,
    NextUrlPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    paginator_for,
)
from mappings.fieldpath import compile_path
from mappings.model import PaginationSpec

BASE = "https://app.clio.com/api/v4/contacts.json"


def answer(body: Any, url: str = BASE, links: dict[str, dict[str, str]] | None = None) -> CmsResponse:
    return CmsResponse(200, body, {}, url, links or {})


def test_next_url_walks_until_no_next() -> None:
    pager = NextUrlPaginator("GET /contacts.json", compile_path("meta.paging.next"))
    assert pager.request("/contacts.json", {"limit": 200}) == ("/contacts.json", {"limit": 200})
    pager.advance(answer({"data": [1], "meta": {"paging": {"next": f"{BASE}?limit=200&page_token=A"}}}), [1])
    assert pager.request("/contacts.json", {"limit": 200}) == (f"{BASE}?limit=200&page_token=A", None)
    pager.advance(answer({"data": [2], "meta": {"paging": {}}}, f"{BASE}?limit=200&page_token=A"), [2])
    assert pager.finished


def test_next_url_refuses_a_repeated_token_even_reordered() -> None:
    pager = NextUrlPaginator("GET /contacts.json", compile_path("meta.paging.next"))
    pager.advance(answer({"meta": {"paging": {"next": f"{BASE}?page_token=A&limit=2"}}}), [1, 2])
    first_page_again = answer({"meta": {"paging": {"next": f"{BASE}?limit=2&page_token=A"}}}, f"{BASE}?page_token=A")
    with pytest.raises(PaginationLoopError, match=r"GET /contacts\.json"):
        pager.advance(first_page_again, [3, 4])


def test_next_url_refuses_a_page_pointing_at_itself() -> None:
    pager = NextUrlPaginator("GET /contacts.json", compile_path("meta.paging.next"))
    url = f"{BASE}?limit=2&order=id%28asc%29"
    with pytest.raises(PaginationLoopError):
        pager.advance(answer({"meta": {"paging": {"next": url}}}, url), [1, 2])


def test_link_header_walks_and_refuses_repeats() -> None:
    pager = LinkHeaderPaginator("GET /v1/clients")
    nxt = {"next": {"url": "https://x.mycase.com/v1/clients?page_token=B", "rel": "next"}}
    pager.advance(answer([1], "https://x.mycase.com/v1/clients", nxt), [1])
    assert pager.request("/clients", {})[0] == "https://x.mycase.com/v1/clients?page_token=B"
    with pytest.raises(PaginationLoopError):
        pager.advance(answer([2], "https://x.mycase.com/v1/clients?page_token=B", nxt), [2])
    done = LinkHeaderPaginator("GET /v1/clients")
    done.advance(answer([1]), [1])
    assert done.finished


def test_offset_steps_by_records_and_stops_on_short_page() -> None:
    pager = OffsetPaginator("GET /Contacts", offset_param="offset", page_size=2)
    assert pager.request("/Contacts", {"limit": 2}) == ("/Contacts", {"limit": 2, "offset": 0})
    pager.advance(answer({"Items": [1, 2]}), [1, 2])
    assert pager.request("/Contacts", {"limit": 2})[1] == {"limit": 2, "offset": 2}
    pager.advance(answer({"Items": [3]}), [3])
    assert pager.finished


def test_offset_honours_has_more_and_refuses_an_echoed_offset_that_does_not_move() -> None:
    pager = OffsetPaginator(
        "GET /Contacts",
        offset_param="offset",
        page_size=2,
        has_more_path=compile_path("HasMore"),
        offset_path=compile_path("Offset"),
    )
    pager.advance(answer({"Items": [1, 2], "HasMore": True, "Offset": 0}), [1, 2])
    with pytest.raises(PaginationLoopError):
        pager.advance(answer({"Items": [1, 2], "HasMore": True, "Offset": 0}), [1, 2])
    stop = OffsetPaginator("GET /Contacts", offset_param="offset", page_size=2, has_more_path=compile_path("HasMore"))
    stop.advance(answer({"Items": [1, 2], "HasMore": False}), [1, 2])
    assert stop.finished


def test_page_number_counts_up_and_refuses_a_repeated_page() -> None:
    pager = PageNumberPaginator("GET /participants", page_param="page", page_size=2)
    assert pager.request("/p", {})[1] == {"page": 1}
    pager.advance(answer({}), [1, 2])
    assert pager.request("/p", {})[1] == {"page": 2}
    named = PageNumberPaginator("GET /p", page_param="page", page_size=2, next_page_path=compile_path("meta.next"))
    named.advance(answer({"meta": {"next": 2}}), [1, 2])
    with pytest.raises(PaginationLoopError):
        named.advance(answer({"meta": {"next": 2}}), [3, 4])


def test_dump_and_resume_continue_from_the_same_page() -> None:
    spec = PaginationSpec(
        style="next_url",
        size_param="limit",
        page_size=200,
        max_page_size=200,
        next_path=compile_path("meta.paging.next"),
        offset_param=None,
        offset_path=None,
        has_more_path=None,
        page_param=None,
        first_page=1,
        next_page_path=None,
    )
    pager = paginator_for(spec, "GET /contacts.json")
    pager.advance(answer({"meta": {"paging": {"next": f"{BASE}?page_token=C"}}}), [1])
    resumed = paginator_for(spec, "GET /contacts.json", pager.dump())
    assert resumed.request("/contacts.json", {}) == (f"{BASE}?page_token=C", None)
    with pytest.raises(PaginationLoopError):
        resumed.advance(answer({"meta": {"paging": {"next": f"{BASE}?page_token=C"}}}, f"{BASE}?page_token=C"), [1])
