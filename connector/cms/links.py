"""Links from Matterline's pages into the CMS's own web app: the matter, and each record written to it.

The store keeps only the CMS's ids (a matter's, and the id the CMS gave each written record); the web
address is built from the configured API base (its scheme and host are the web app's, as with Clio's
`https://app.clio.com/api/v4` and `https://app.clio.com`) and the vendor's page patterns. A vendor whose
patterns are not known here gets no links rather than guessed ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final
from urllib.parse import quote, urlsplit

from connector.cms.connect import base_url_for
from connector.settings import Settings, SettingsError
from mappings.model import Mapping

__all__ = ["WEB_PAGES", "CmsLinks", "links_for"]

# The CMS web app's page for each kind of record, by mapping id; `{id}` is the CMS's id of the record.
# Keys: "matter", then the mapping's write names (what `write_targets` maps a write-back kind to).
WEB_PAGES: Final[dict[str, dict[str, str]]] = {
    "clio": {
        "matter": "/nc/#/matters/{id}",
        "communication": "/nc/#/communications/{id}",
        "note": "/nc/#/notes/{id}",
        "task": "/nc/#/tasks/{id}",
    },
}


@dataclass(frozen=True, slots=True)
class CmsLinks:
    """The CMS web app's origin and page patterns; every method answers None where no link can be made."""

    origin: str | None
    pages: dict[str, str] = field(default_factory=dict)
    write_targets: dict[str, str] = field(default_factory=dict)

    def _page(self, name: str, record_id: str | None) -> str | None:
        pattern = self.pages.get(name)
        if self.origin is None or pattern is None or not record_id:
            return None
        return self.origin + pattern.format(id=quote(record_id, safe=""))

    def matter(self, cms_id: str) -> str | None:
        """The matter's page in the CMS."""
        return self._page("matter", cms_id)

    def record(self, kind: str, record_id: str | None) -> str | None:
        """The page of a written record (a transcript, summary, correction or task) by its CMS id."""
        target = self.write_targets.get(kind)
        return None if target is None else self._page(target, record_id)


def _origin(base_url: str) -> str | None:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def links_for(settings: Settings, mapping: Mapping) -> CmsLinks:
    """The links for the configured CMS; none when its vendor's pages are unknown or its base cannot be read."""
    pages = WEB_PAGES.get(mapping.id)
    if pages is None:
        return CmsLinks(None)
    try:
        origin = _origin(base_url_for(settings, mapping))
    except SettingsError:
        origin = None
    return CmsLinks(origin, dict(pages), dict(mapping.write_targets))
