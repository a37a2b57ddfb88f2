"""The field mapping in force: the bundled mapping with the firm's override, as saved on the admin page or
else as its file (MATTERLINE_MAPPING_FILE) says.

The app and every worker ask here at each use, so an admin's saved override is in force at their next
request or round without a restart; an override is checked before it is saved (services.documents), so a
broken one never gets here.
"""

from __future__ import annotations

import functools
import os
from typing import Final

from sqlalchemy import Connection, Engine

from connector.settings import Settings
from connector.store.documents import InForce
from mappings import load_mapping
from mappings.model import Mapping

__all__ = ["MAPPING_KIND", "mapping_in_force"]

# The firm_documents kind of the override edited on the admin pages.
MAPPING_KIND: Final = "mapping"


@functools.cache
def _stored(vendor: str) -> InForce[Mapping]:
    return InForce(MAPPING_KIND, lambda text: load_mapping(vendor, override_text=text, text_source="saved override"))


@functools.lru_cache(maxsize=16)
def _from_file(vendor: str, override_file: str | None, mtime: float | None) -> Mapping:
    return load_mapping(vendor, override_file)


def _mtime(path: str | None) -> float | None:
    try:
        return None if path is None else os.stat(path).st_mtime
    except OSError:
        return None


def mapping_in_force(settings: Settings, store: Engine | Connection) -> Mapping:
    """The mapping to speak to the CMS with, now.

    Raises:
        mappings.MappingError: the override file is broken (an override saved on the admin page never is).
    """
    saved = _stored(settings.cms).get(store)
    if saved is not None:
        return saved
    return _from_file(settings.cms, settings.mapping_file, _mtime(settings.mapping_file))
