"""Paginators, one per mechanism a CMS uses; each refuses a token it has already followed."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from connector.cms.client import CmsResponse
from connector.cms.errors import PaginationLoopError
from mappings.fieldpath import FieldPath, compile_path
from mappings.model import PaginationSpec

T = TypeVar("T")


class Paginator(ABC, Generic[T]):
    """Walks a list endpoint. `token` is what the next request needs; None means the first page."""

    def __init__(self, endpoint: str, token: T | None = None) -> None:
        self.endpoint = endpoint
        self.token: T | None = token
        self.finished = False
        self._seen: set[str] = set()
        if token is not None:
            self._seen.add(self.key(token))

    @abstractmethod
    def next_token(self, response: CmsResponse, records: list[Any]) -> T | None:
        """The token for the page after `response`, or None on the last page."""

    @abstractmethod
    def request(self, path: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None]:
        """The (path or URL, query parameters) for the current page."""

    def key(self, token: T) -> str:
        """What makes two tokens the same page."""
        return json.dumps(token, sort_keys=True)

    def advance(self, response: CmsResponse, records: list[Any]) -> bool:
        """Move to the next page; True when there is none.

        Raises:
            PaginationLoopError: the next token was followed before in this walk.
        """
        token = self.next_token(response, records)
        if token is None:
            self.finished = True
            return True
        key = self.key(token)
        if key in self._seen:
            raise PaginationLoopError(self.endpoint, "a page repeated a paging token already followed")
        self._seen.add(key)
        self.token = token
        return False

    def dump(self) -> str | None:
        """The current token as text, to resume a walk after a crash."""
        return None if self.token is None else json.dumps(self.token)

    @classmethod
    def load_token(cls, text: str | None) -> Any:
        """The inverse of `dump`."""
        return None if text is None else json.loads(text)


def _canonical_url(url: str) -> str:
    parts = urlsplit(url)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


class NextUrlPaginator(Paginator[str]):
    """The next page's full URL in the body (Clio `meta.paging.next`)."""

    def __init__(self, endpoint: str, next_path: FieldPath, token: str | None = None) -> None:
        super().__init__(endpoint, token)
        self._next_path = next_path

    def key(self, token: str) -> str:
        """URLs that differ only in parameter order are the same page."""
        return _canonical_url(token)

    def next_token(self, response: CmsResponse, records: list[Any]) -> str | None:
        """Read the next URL from the body; the URL just fetched counts as followed."""
        self._seen.add(_canonical_url(response.url))
        value = self._next_path.get(response.body)
        return value if isinstance(value, str) and value else None

    def request(self, path: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None]:
        """The first page is built from params; later ones are the URL the CMS gave."""
        return (path, dict(params)) if self.token is None else (self.token, None)


class LinkHeaderPaginator(NextUrlPaginator):
    """The next page's URL in the `Link: <...>; rel="next"` header (MyCase)."""

    def __init__(self, endpoint: str, token: str | None = None) -> None:
        super().__init__(endpoint, compile_path(""), token)

    def next_token(self, response: CmsResponse, records: list[Any]) -> str | None:
        """Read `rel="next"` from the Link header."""
        self._seen.add(_canonical_url(response.url))
        link = response.links.get("next", {})
        url = link.get("url")
        return url or None


class OffsetPaginator(Paginator[int]):
    """`offset` + `limit` (Filevine; PracticePanther's OData `$skip`/`$top`)."""

    def __init__(
        self,
        endpoint: str,
        *,
        offset_param: str,
        page_size: int,
        has_more_path: FieldPath | None = None,
        offset_path: FieldPath | None = None,
        token: int | None = None,
    ) -> None:
        super().__init__(endpoint, token)
        self._offset_param = offset_param
        self._page_size = page_size
        self._has_more = has_more_path
        self._offset_path = offset_path

    def next_token(self, response: CmsResponse, records: list[Any]) -> int | None:
        """Stop on a short page or an explicit has-more flag of false; else step past what was read."""
        if self._has_more is not None:
            more = self._has_more.get(response.body)
            if more is not None and not more:
                return None
        elif len(records) < self._page_size:
            return None
        if not records:
            return None
        echoed = self._offset_path.get(response.body) if self._offset_path is not None else None
        current = int(echoed) if isinstance(echoed, int | str) and str(echoed).isdigit() else (self.token or 0)
        return current + len(records)

    def request(self, path: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None]:
        """Add the offset to the parameters."""
        return path, {**params, self._offset_param: self.token or 0}


class PageNumberPaginator(Paginator[int]):
    """`page=N` (Actionstep, Lawmatics)."""

    def __init__(
        self,
        endpoint: str,
        *,
        page_param: str,
        page_size: int,
        first_page: int = 1,
        next_page_path: FieldPath | None = None,
        token: int | None = None,
    ) -> None:
        super().__init__(endpoint, token)
        self._page_param = page_param
        self._page_size = page_size
        self._first = first_page
        self._next_page = next_page_path

    def next_token(self, response: CmsResponse, records: list[Any]) -> int | None:
        """The page number the CMS names, else the next one while pages come back full."""
        if self._next_page is not None:
            value = self._next_page.get(response.body)
            return int(value) if isinstance(value, int | str) and str(value).isdigit() else None
        if len(records) < self._page_size or not records:
            return None
        return (self.token if self.token is not None else self._first) + 1

    def request(self, path: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None]:
        """Add the page number to the parameters."""
        return path, {**params, self._page_param: self.token if self.token is not None else self._first}


def paginator_for(spec: PaginationSpec, endpoint: str, resume: str | None = None) -> Paginator[Any]:
    """The paginator a mapping asks for, optionally resuming from a dumped token."""
    token = Paginator.load_token(resume)
    if spec.style == "next_url":
        if spec.next_path is None:
            raise ValueError("next_url pagination needs next_path")
        return NextUrlPaginator(endpoint, spec.next_path, token)
    if spec.style == "link_header":
        return LinkHeaderPaginator(endpoint, token)
    if spec.style == "offset":
        return OffsetPaginator(
            endpoint,
            offset_param=spec.offset_param or "offset",
            page_size=spec.page_size,
            has_more_path=spec.has_more_path,
            offset_path=spec.offset_path,
            token=token,
        )
    return PageNumberPaginator(
        endpoint,
        page_param=spec.page_param or "page",
        page_size=spec.page_size,
        first_page=spec.first_page,
        next_page_path=spec.next_page_path,
        token=token,
    )
