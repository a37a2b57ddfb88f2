"""A matter's texts for a litigation hold or a client request: JSON, CSV and a printable transcript, audited.

`export_matter` writes the files into a new or empty folder (the CLI); `export_inline` returns their
text (the API and the pages, which have no folder of the caller's to write to). Both are the same
export, checksummed in the same manifest and recorded by the same audit entry.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from connector.compliance import export
from connector.settings import Settings
from connector.staff.users import Actor

__all__ = ["ExportFile", "InlineExport", "export_inline", "export_matter"]


@dataclass(frozen=True, slots=True)
class ExportFile:
    """One file of a matter's export; `sha256` is of its UTF-8 bytes, as the manifest records it."""

    name: str
    sha256: str
    bytes: int
    content: str


@dataclass(frozen=True, slots=True)
class InlineExport:
    """A matter's export with each file's text."""

    matter_cms_id: str
    messages: int
    audit_id: int
    files: tuple[ExportFile, ...]


def export_matter(
    engine: Engine, settings: Settings, matter_cms_id: str, out_dir: str | os.PathLike[str], *, actor: Actor
) -> export.ExportResult:
    """Write the matter's export to `out_dir` (new or empty); audited as `export`.

    Raises:
        MatterlineError: not found (the matter); conflict `bad_target`; unavailable `export_failed`.
    """
    return export.export_matter(
        engine, settings, matter_cms_id, out_dir, actor=actor.label, request_id=actor.request_id
    )


def export_inline(engine: Engine, settings: Settings, matter_cms_id: str, *, actor: Actor) -> InlineExport:
    """The matter's export with each file's text inline; audited as `export`.

    Raises:
        MatterlineError: not found (the matter); unavailable `export_failed`.
    """
    with tempfile.TemporaryDirectory(prefix="matterline-export-") as scratch:
        target = Path(scratch) / "export"
        result = export_matter(engine, settings, matter_cms_id, target, actor=actor)
        files = tuple(
            ExportFile(f.name, f.sha256, f.bytes, (target / f.name).read_bytes().decode("utf-8")) for f in result.files
        )
    return InlineExport(matter_cms_id, result.messages, result.audit_id, files)
