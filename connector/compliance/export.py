"""Export one matter's texting record: for a court, a client file request or a bar complaint.

One directory holds the same record in the forms people ask for: `export.json` (everything, for
machines: messages with SIDs, statuses and their callback history, media references, filing decisions,
the consent and opt-out ledgers of the matter's phone numbers, the matter's audit entries, and the
write-back records without their bodies), `messages.csv` (one row per message, for a spreadsheet),
`transcript.html` (a printable, self-contained page, times in the firm's zone) and `manifest.json`
(the SHA-256 of each of those files, so a recipient can tell the export is whole and unaltered).

The export is written to a hidden directory beside the target and renamed into place, so a failure
leaves nothing half-written; it never mixes with an earlier export (a non-empty target is refused).
Nothing secret is read, so nothing secret can be written: no settings beyond the firm's name and
zone, no raw Twilio forms. A purged message exports with its metadata, `body: null`, its `purged_at`
and the `body_sha256` kept at the purge. The export itself is audited.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, or_, select

from connector.compliance import audit
from connector.compliance.retention import body_sha256
from connector.errors import conflict, not_found, unavailable
from connector.guardrails import consent
from connector.settings import Settings
from connector.store import dialect
from connector.store.engine import utcnow
from connector.store.tables import (
    audit_log,
    contact_phones,
    contacts,
    filing_decisions,
    matters,
    messages,
    opt_outs,
    status_events,
    threads,
    users,
    writebacks,
)

FORMAT: Final = "matterline-matter-export"
VERSION: Final = 1
JSON_FILE, CSV_FILE, HTML_FILE, MANIFEST_FILE = "export.json", "messages.csv", "transcript.html", "manifest.json"

CSV_COLUMNS: Final = (
    "id",
    "sid",
    "created_at_utc",
    "created_at_local",
    "direction",
    "kind",
    "from",
    "to",
    "author",
    "status",
    "error_code",
    "error_message",
    "num_media",
    "media_urls",
    "body",
    "body_sha256",
    "purged_at",
    "thread_id",
    "window_id",
)
# A spreadsheet runs a cell that starts with one of these as a formula; a client's text must never run.
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class ExportedFile:
    """One file of an export and its fingerprint."""

    name: str
    sha256: str
    bytes: int


@dataclass(frozen=True, slots=True)
class ExportResult:
    """Where the export went and what it holds."""

    matter_cms_id: str
    out_dir: Path
    messages: int
    files: tuple[ExportedFile, ...]
    audit_id: int


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    """A time as the firm reads it, with its zone: 2026-11-27 09:14 EST."""
    return "" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def export_matter(
    engine: Engine,
    settings: Settings,
    matter_cms_id: str,
    out_dir: str | os.PathLike[str],
    *,
    actor: str,
    request_id: str | None = None,
    now: datetime | None = None,
) -> ExportResult:
    """Write the matter's export to `out_dir` (new or empty) and audit it.

    Raises:
        MatterlineError: not found (the matter); conflict `bad_target` when `out_dir` exists and is not an
            empty directory; unavailable `export_failed` when the files cannot be written.
    """
    target = Path(out_dir).absolute()
    _check_target(target)
    moment = now or utcnow()
    with _snapshot(engine) as conn:
        record = _gather(conn, matter_cms_id, settings, moment, actor)
    if record is None:
        raise not_found(f"no matter {matter_cms_id} in the store (run `matterline sync`?)")
    rendered = {
        JSON_FILE: (json.dumps(record, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8"),
        CSV_FILE: _csv(record, settings.zone),
        HTML_FILE: _html(record, settings),
    }
    files = [ExportedFile(name, hashlib.sha256(data).hexdigest(), len(data)) for name, data in rendered.items()]
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "matter_cms_id": matter_cms_id,
        "exported_at": moment.isoformat(),
        "exported_by": actor,
        "files": [{"name": f.name, "sha256": f.sha256, "bytes": f.bytes} for f in files],
    }
    rendered[MANIFEST_FILE] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    files.append(
        ExportedFile(MANIFEST_FILE, hashlib.sha256(rendered[MANIFEST_FILE]).hexdigest(), len(rendered[MANIFEST_FILE]))
    )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    except OSError as exc:
        raise unavailable("export_failed", f"cannot write beside {target}: {exc.strerror or exc}") from exc
    try:
        for name, data in rendered.items():
            (staging / name).write_bytes(data)
        audit_id = _publish(
            engine, staging, target, matter_cms_id, files, len(record["messages"]), actor, request_id, moment
        )
    except OSError as exc:
        raise unavailable("export_failed", f"could not write the export to {target}: {exc.strerror or exc}") from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(matter_cms_id, target, len(record["messages"]), tuple(files), audit_id)


def _check_target(target: Path) -> None:
    if not target.exists():
        return
    if not target.is_dir():
        raise conflict("bad_target", f"{target} exists and is not a directory")
    if any(target.iterdir()):
        raise conflict("bad_target", f"{target} is not empty; export into a new or empty directory")


def _publish(
    engine: Engine,
    staging: Path,
    target: Path,
    matter_cms_id: str,
    files: Sequence[ExportedFile],
    count: int,
    actor: str,
    request_id: str | None,
    now: datetime,
) -> int:
    """Rename the finished export into place inside the transaction that audits it: both or neither."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            audit_id = audit.append(
                conn,
                actor=actor,
                action=audit.Action.EXPORT,
                subject_type="matter",
                subject_id=matter_cms_id,
                matter_cms_id=matter_cms_id,
                request_id=request_id,
                details={"messages": count, "out_dir": str(target), "files": {f.name: f.sha256 for f in files}},
                at=now,
            )
            _check_target(target)
            # rename(2) replaces an empty directory and refuses a non-empty one, so a concurrent export
            # to the same place fails here instead of mixing with ours.
            try:
                staging.rename(target)
            except OSError as exc:
                raise conflict("bad_target", f"could not move the export into {target}: {exc.strerror or exc}") from exc
        except BaseException:
            transaction.rollback()
            raise
        try:
            transaction.commit()
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)  # not audited, so not left behind
            raise
    return audit_id


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One consistent read of the store: REPEATABLE READ on PostgreSQL; SQLite's transaction already is one.

    The connection's transaction begins with the first read and is rolled back on close: nothing is written.
    """
    with engine.connect() as conn:
        yield dialect.repeatable_read(conn)


# -- gathering ---------------------------------------------------------------------------------------------


def _gather(
    conn: Connection, matter_cms_id: str, settings: Settings, now: datetime, actor: str
) -> dict[str, Any] | None:
    matter = conn.execute(select(matters).where(matters.c.cms_id == matter_cms_id)).first()
    if matter is None:
        return None
    client_name = None
    if matter.client_cms_id is not None:
        client_name = conn.execute(
            select(contacts.c.name).where(contacts.c.client_key == matter.client_cms_id).order_by(contacts.c.id)
        ).scalar()
    rows = conn.execute(
        select(messages, users.c.name.label("author_name"), threads.c.client_phone)
        .select_from(messages)
        .outerjoin(users, users.c.id == messages.c.author_id)
        .outerjoin(threads, threads.c.id == messages.c.thread_id)
        .where(messages.c.matter_cms_id == matter_cms_id)
        .order_by(messages.c.created_at, messages.c.id)
    ).all()
    ids = [r.id for r in rows]
    history = _status_history(conn, ids)
    phones = _phones(conn, matter.client_cms_id, [r.client_phone for r in rows])
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": now.isoformat(),
        "exported_by": actor,
        "firm": settings.firm_name,
        "time_zone": settings.timezone,
        "matter": {
            "cms_id": matter.cms_id,
            "display_number": matter.display_number,
            "description": matter.description,
            "status": matter.status,
            "client_cms_id": matter.client_cms_id,
            "client_name": client_name,
            "responsible_attorney": matter.responsible_attorney,
            "deleted_at": _iso(matter.deleted_at),
        },
        "phones": phones,
        "messages": [_message(r, history.get(r.id, [])) for r in rows],
        "filing_decisions": _decisions(conn, matter_cms_id, ids),
        "writebacks": _writebacks(conn, matter_cms_id),
        "consents": consent.for_phones(conn, phones),
        "opt_outs": _opt_outs(conn, phones),
        "audit": _audit(conn, matter_cms_id),
    }


def _in_chunks(ids: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _status_history(conn: Connection, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Every delivery callback, in arrival order, per message (never the raw form)."""
    found: dict[int, list[dict[str, Any]]] = {}
    for chunk in _in_chunks(ids):
        for row in conn.execute(
            select(status_events).where(status_events.c.message_id.in_(chunk)).order_by(status_events.c.id)
        ):
            found.setdefault(row.message_id, []).append(
                {"status": row.status, "error_code": row.error_code, "received_at": _iso(row.received_at)}
            )
    return found


def _phones(conn: Connection, client_cms_id: str | None, thread_phones: Iterable[str | None]) -> list[str]:
    """The matter's phone numbers: the client's readable numbers and every number its texts went to or came from."""
    phones = {p for p in thread_phones if p}
    if client_cms_id is not None:
        phones.update(
            conn.execute(
                select(contact_phones.c.e164)
                .join(contacts, contacts.c.id == contact_phones.c.contact_id)
                .where(contacts.c.client_key == client_cms_id, contact_phones.c.e164.is_not(None))
            ).scalars()
        )
    return sorted(phones)


def _message(row: Any, history: list[dict[str, Any]]) -> dict[str, Any]:
    purged = row.purged_at is not None
    return {
        "id": row.id,
        "sid": row.sid,
        "thread_id": row.thread_id,
        "window_id": row.window_id,
        "direction": row.direction,
        "kind": row.kind,
        "from": row.from_number,
        "to": row.to_number,
        "author": row.author_name,
        "body": None if purged else row.body,
        # Kept at the purge; for a live message, computed now so every message carries one.
        "body_sha256": row.body_sha256 if purged else body_sha256(row.body or ""),
        "purged_at": _iso(row.purged_at),
        "encoding": row.encoding,
        "num_segments": row.num_segments,
        "num_media": row.num_media,
        "media": None
        if row.media is None
        else [{"url": m.get("url"), "content_type": m.get("content_type")} for m in row.media],
        "status": row.status,
        "error_code": row.error_code,
        "error_message": row.error_message,
        "created_at": _iso(row.created_at),
        "sent_at": _iso(row.sent_at),
        "scheduled_for": _iso(row.scheduled_for),
        "status_history": history,
    }


def _decisions(conn: Connection, matter_cms_id: str, ids: Sequence[int]) -> list[dict[str, Any]]:
    """Why each text sits on this matter, and every decision that moved a text to or from it."""
    names = users.alias("actor_user")
    where = [
        filing_decisions.c.matter_cms_id == matter_cms_id,
        filing_decisions.c.previous_matter_cms_id == matter_cms_id,
    ]
    seen: dict[int, dict[str, Any]] = {}
    queries = [or_(*where)] + [filing_decisions.c.message_id.in_(chunk) for chunk in _in_chunks(ids)]
    for condition in queries:
        for row in conn.execute(
            select(filing_decisions, names.c.name.label("actor_name"))
            .outerjoin(names, names.c.id == filing_decisions.c.actor_id)
            .where(condition)
        ):
            seen[row.id] = {
                "id": row.id,
                "thread_id": row.thread_id,
                "message_id": row.message_id,
                "matter_cms_id": row.matter_cms_id,
                "previous_matter_cms_id": row.previous_matter_cms_id,
                "rule": row.rule,
                "detail": row.detail,
                "actor": row.actor_name,
                "created_at": _iso(row.created_at),
            }
    return [seen[key] for key in sorted(seen)]


def _writebacks(conn: Connection, matter_cms_id: str) -> list[dict[str, Any]]:
    """The records written to the CMS for the matter: where they are, not what they say (the CMS has that)."""
    rows = conn.execute(select(writebacks).where(writebacks.c.matter_cms_id == matter_cms_id).order_by(writebacks.c.id))
    return [
        {
            "id": r.id,
            "kind": r.kind,
            "window_id": r.window_id,
            "part": r.part,
            "subject": r.subject,
            "state": r.state,
            "cms_record_id": r.cms_record_id,
            "created_at": _iso(r.created_at),
            "written_at": _iso(r.written_at),
        }
        for r in rows
    ]


def _opt_outs(conn: Connection, phones: Sequence[str]) -> list[dict[str, Any]]:
    if not phones:
        return []
    rows = conn.execute(select(opt_outs).where(opt_outs.c.phone.in_(phones)).order_by(opt_outs.c.id))
    return [
        {
            "id": r.id,
            "phone": r.phone,
            "action": r.action,
            "source": r.source,
            "keyword": r.keyword,
            "message_sid": r.message_sid,
            "firm_number": r.firm_number,
            "created_at": _iso(r.created_at),
        }
        for r in rows
    ]


def _audit(conn: Connection, matter_cms_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(audit_log).where(audit_log.c.matter_cms_id == matter_cms_id).order_by(audit_log.c.id))
    return [
        {
            "id": r.id,
            "at": _iso(r.at),
            "actor": r.actor,
            "action": r.action,
            "subject_type": r.subject_type,
            "subject_id": r.subject_id,
            "request_id": r.request_id,
            "details": r.details,
            "hash": r.hash,
            "prev_hash": r.prev_hash,
        }
        for r in rows
    ]


# -- rendering ---------------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    """A value as a spreadsheet will show it, never run it: a leading formula character gets a quote.

    Every column, not only the free-text ones: a media URL, an author's name, Twilio's error text and
    whatever a later column holds all reach the sheet, and a safe column today is one edit from not.
    """
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def spreadsheet(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """CSV a firm opens in a spreadsheet: every field quoted, so a separator inside a text (`ok;=1+1` where `;`
    separates) never starts a cell; no cell read as a formula (`_cell`); UTF-8 with a byte-order mark, so
    spreadsheet programs read names, emoji and "más" as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _csv(record: dict[str, Any], zone: ZoneInfo) -> bytes:
    """A matter's messages, one row each, in the order they came."""
    return spreadsheet(CSV_COLUMNS, _message_rows(record, zone))


def _message_rows(record: dict[str, Any], zone: ZoneInfo) -> Iterator[tuple[Any, ...]]:
    for m in record["messages"]:
        created = datetime.fromisoformat(m["created_at"])
        row = (
            m["id"],
            m["sid"],
            m["created_at"],
            _local(created, zone),
            m["direction"],
            m["kind"],
            m["from"],
            m["to"],
            m["author"],
            m["status"],
            m["error_code"],
            m["error_message"],
            m["num_media"],
            " ".join(str(item["url"]) for item in m["media"] or []),
            m["body"],
            m["body_sha256"],
            m["purged_at"],
            m["thread_id"],
            m["window_id"],
        )
        yield row


_CSS: Final = """
body { font: 11pt/1.45 Georgia, "Times New Roman", serif; color: #111; margin: 2em auto; max-width: 48em; }
h1 { font-size: 16pt; margin: 0 0 .2em; }
.banner { font-weight: bold; text-transform: uppercase; letter-spacing: .05em; font-size: 9pt; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: .1em 1em; font-size: 10pt; }
dl.meta dt { font-weight: bold; }
dl.meta dd { margin: 0; }
ol.messages { list-style: none; padding: 0; margin: 1.5em 0 0; }
ol.messages li { border-top: 1px solid #bbb; padding: .5em 0; break-inside: avoid; page-break-inside: avoid; }
.head { font-size: 9.5pt; color: #333; }
.who { font-weight: bold; }
.body { white-space: pre-wrap; overflow-wrap: anywhere; margin: .25em 0 0; }
.purged, .note { font-style: italic; color: #555; }
.media { font-size: 9pt; overflow-wrap: anywhere; }
.mono { font-family: "Courier New", monospace; font-size: 8.5pt; overflow-wrap: anywhere; }
footer { margin-top: 2em; font-size: 9pt; color: #555; }
@page { margin: 2cm; @bottom-right { content: counter(page) " / " counter(pages); } }
@media print { body { margin: 0; max-width: none; } a { color: inherit; text-decoration: none; } }
"""


def _html(record: dict[str, Any], settings: Settings) -> bytes:
    """A page a paralegal can print: every value escaped, nothing loaded from anywhere (CSP: none)."""
    zone = settings.zone
    e = html.escape
    matter = record["matter"]
    client = matter["client_name"] or "the client"
    exported = datetime.fromisoformat(record["exported_at"])
    items = []
    for m in record["messages"]:
        created = datetime.fromisoformat(m["created_at"])
        who = client if m["direction"] == "inbound" else (m["author"] or settings.firm_name)
        arrow = "from" if m["direction"] == "inbound" else "to client, by"
        status = m["status"] + (f", error {m['error_code']}" if m["error_code"] is not None else "")
        if m["body"] is None:
            purged_at = datetime.fromisoformat(m["purged_at"])
            body = (
                f'<p class="purged">Text removed under the firm\'s retention policy on {e(_local(purged_at, zone))}. '
                f'SHA-256 of the original: <span class="mono">{e(m["body_sha256"] or "")}</span></p>'
            )
        else:
            body = f'<p class="body">{e(m["body"])}</p>' if m["body"] else '<p class="note">(no text)</p>'
        media = ""
        if m["media"]:
            refs = "".join(f"<li>{e(str(i['content_type'] or 'media'))}: {e(str(i['url']))}</li>" for i in m["media"])
            media = f'<ul class="media">{refs}</ul>'
        elif m["num_media"] and m["body"] is None:
            media = f'<p class="purged">{m["num_media"]} attachment(s) removed under the retention policy.</p>'
        items.append(
            f'<li id="m{m["id"]}"><div class="head"><time datetime="{e(m["created_at"])}">'
            f'{e(_local(created, zone))}</time> — {e(arrow)} <span class="who">{e(who)}</span>'
            f" · {e(m['direction'])} · {e(status)}"
            f"{' · SID ' + e(m['sid']) if m['sid'] else ''}</div>{body}{media}</li>"
        )
    meta = [
        ("Matter", f"{matter['display_number']} — {matter['description']}"),
        ("Client", matter["client_name"] or "—"),
        ("Responsible attorney", matter["responsible_attorney"] or "—"),
        ("Phone numbers", ", ".join(record["phones"]) or "—"),
        ("Messages", str(len(record["messages"]))),
        ("Times shown in", settings.timezone),
        ("Exported", f"{_local(exported, zone)} by {record['exported_by']}"),
    ]
    rows = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in meta)
    title = f"Text messages — {matter['display_number']}"
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<p class="banner">Privileged &amp; Confidential — Attorney–Client Communication</p>
<h1>{e(title)}</h1>
<p>{e(settings.firm_name)}</p>
<dl class="meta">{rows}</dl>
<ol class="messages">
{chr(10).join(items)}
</ol>
<footer>Exported by Matterline. The files of this export and their SHA-256 are listed in {MANIFEST_FILE}.</footer>
</body>
</html>
"""
    return page.encode("utf-8")
