"""A mapping tried on live records: the first page of each resource read through it, nothing stored.

An admin editing a field path wants to see what it reads before putting it in force: the same requests a
sync makes (its fields, its first page) and the same readers (records.py), so the preview is what the next
sync would store, record by record.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Final

from connector.cms.client import CmsClient
from connector.cms.pagination import paginator_for
from connector.sync.records import READERS, RecordError
from mappings.model import Mapping, ResourceSpec

__all__ = ["PREVIEW_RECORDS", "Previewed", "ResourcePreview", "preview"]

# Records shown per resource: enough to see a field read right or wrong, few enough to read.
PREVIEW_RECORDS: Final = 10
_NOT_SHOWN: Final = frozenset({"fingerprint"})


@dataclass(frozen=True, slots=True)
class Previewed:
    """One record as the mapping reads it: each stored field and its value as text, or why it was skipped."""

    cms_id: str
    fields: tuple[tuple[str, str], ...]
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class ResourcePreview:
    """The first records of one resource, or what went wrong fetching them."""

    resource: str
    path: str
    records: tuple[Previewed, ...]
    error: str | None = None


def preview(client: CmsClient, mapping: Mapping, *, default_region: str) -> list[ResourcePreview]:
    """Each resource's first page read through `mapping`; a resource that fails says why, the others still show."""
    shown = []
    for name, spec in mapping.resources.items():
        params: dict[str, Any] = dict(spec.params)
        if mapping.pagination.size_param:
            params[mapping.pagination.size_param] = min(PREVIEW_RECORDS, mapping.pagination.max_page_size)
        paginator = paginator_for(mapping.pagination, f"GET {spec.path}")
        try:
            path, query = paginator.request(spec.path, params)
            body = client.get(path, query).body
        except Exception as exc:  # the CMS's answer, in words: the preview shows it instead of failing
            shown.append(ResourcePreview(name, spec.path, (), str(exc) or type(exc).__name__))
            continue
        where = spec.records_path if spec.records_path is not None else mapping.api.records_path
        raw = where.get(body)
        if not isinstance(raw, list):
            shown.append(
                ResourcePreview(name, spec.path, (), f"no list of records at {str(where) or 'the top level'!r}")
            )
            continue
        shown.append(
            ResourcePreview(
                name, spec.path, tuple(_read(name, spec, item, default_region) for item in raw[:PREVIEW_RECORDS])
            )
        )
    return shown


def _read(name: str, spec: ResourceSpec, item: Any, region: str) -> Previewed:
    raw_id = str(item.get("id", "?")) if isinstance(item, dict) else "?"
    try:
        record = READERS[name](spec, item, region)
    except RecordError as exc:
        return Previewed(raw_id, (), str(exc))
    values = []
    for f in dataclasses.fields(record):
        if f.name in _NOT_SHOWN:
            continue
        value = getattr(record, f.name)
        if f.name == "phones":
            value = "; ".join(
                f"{p.raw} → {p.e164}" if p.e164 else f"{p.raw} → unreadable ({p.error or 'not a number'})"
                for p in value
            )
        values.append((f.name, "" if value is None else str(value)))
    return Previewed(str(getattr(record, "cms_id", raw_id)), tuple(values))
