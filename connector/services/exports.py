"""A matter's texts for a litigation hold or a client request: JSON, CSV and a printable transcript, audited.

Written into a new or empty folder the caller names (the CLI), or returned with each file's text (the
API and the pages, which have no folder of the caller's to write to). Either way it is the same
export, checksummed in the same manifest and recorded by the same audit entry, and refused to staff
here, so the API, the pages and the CLI's `--as` agree on who may export.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from connector.compliance import export
from connector.errors import forbidden
from connector.settings import Settings
from connector.staff.users import COUNSEL_ROLES, Actor

__all__ = ["ExportFile", "MatterExport", "export_matter"]


@dataclass(frozen=True, slots=True)
class ExportFile:
    """One file of a matter's export; `sha256` is of its bytes, as the manifest records it.

    `content` is the file's text when the export was returned rather than written to a folder.
    """

    name: str
    sha256: str
    bytes: int
    content: str | None


@dataclass(frozen=True, slots=True)
class MatterExport:
    """What an export holds and where it went (`out_dir` None: returned inline)."""

    matter_cms_id: str
    messages: int
    audit_id: int
    out_dir: str | None
    files: tuple[ExportFile, ...]


def export_matter(
    engine: Engine,
    settings: Settings,
    matter_cms_id: str,
    *,
    actor: Actor,
    out_dir: str | os.PathLike[str] | None = None,
) -> MatterExport:
    """Export the matter's texts into `out_dir` (new or empty), or inline when it is None; audited as `export`.

    Attorneys, admins and operators only: a matter's whole history leaves the system with it.

    Raises:
        MatterlineError: forbidden `forbidden_role` (staff); not found (the matter); conflict `bad_target`;
            unavailable `export_failed`.
    """
    if not actor.counsel:
        raise forbidden(
            "forbidden_role",
            "only attorneys and admins may export a matter",
            {"role": actor.user.role if actor.user else None, "allowed": list(COUNSEL_ROLES)},
        )
    if out_dir is not None:
        result = export.export_matter(
            engine, settings, matter_cms_id, out_dir, actor=actor.label, request_id=actor.request_id
        )
        files = tuple(ExportFile(f.name, f.sha256, f.bytes, None) for f in result.files)
        return MatterExport(matter_cms_id, result.messages, result.audit_id, str(result.out_dir), files)
    with tempfile.TemporaryDirectory(prefix="matterline-export-") as scratch:
        target = Path(scratch) / "export"
        result = export.export_matter(
            engine, settings, matter_cms_id, target, actor=actor.label, request_id=actor.request_id
        )
        files = tuple(
            ExportFile(f.name, f.sha256, f.bytes, (target / f.name).read_bytes().decode("utf-8")) for f in result.files
        )
    return MatterExport(matter_cms_id, result.messages, result.audit_id, None, files)
