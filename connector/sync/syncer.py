"""Client, matter and calendar sync: full or incremental, resumable page by page, and polite to the CMS.

A run's bookmark (the `updated_since` of the next run) is the moment the run started, and it is
written only when the last page is committed. Each committed page also records where to resume, so a
run killed half way and started again finishes in the state an unbroken run would have reached.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from tqdm import tqdm

from connector import const
from connector.cms.client import CmsClient
from connector.cms.errors import FatalError
from connector.cms.pagination import paginator_for
from connector.redaction import describe
from connector.store.engine import utcnow
from connector.store.tables import pending_refresh, sync_state
from connector.sync.ingest import Counts, Record, apply, sweep_unseen
from connector.sync.records import READERS, ContactRecord, MatterRecord, RecordError
from mappings.model import Mapping, ResourceSpec

# Dependency order; calendar entries last, after the matters they belong to.
RESOURCE_ORDER = ("clients", "matters", "relationships", "calendar_entries")
# The label column of `lines()`: wide enough for the longest resource name.
_LABEL = max(len(name) for name in RESOURCE_ORDER)
_UNPARSEABLE_LISTED = 50


@dataclass
class SyncReport:
    """What one `matterline sync` did."""

    counts: dict[str, Counts] = field(default_factory=dict)
    phones_normalized: int = 0
    phones_unparseable: int = 0
    unparseable: list[tuple[str, str, str]] = field(default_factory=list)
    unknown_statuses: int = 0
    requests: int = 0
    rate_limited: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The `--json` shape fixed by the sync issue."""

        def block(name: str) -> dict[str, int]:
            c = self.counts.get(name, Counts())
            return {"fetched": c.fetched, "created": c.created, "updated": c.updated, "unchanged": c.unchanged}

        return {
            "clients": block("clients"),
            "matters": block("matters"),
            "relationships": block("relationships"),
            "calendar_entries": block("calendar_entries"),
            "deleted": {name: c.deleted for name, c in self.counts.items()},
            "phones": {"normalized": self.phones_normalized, "unparseable": self.phones_unparseable},
            "requests": self.requests,
            "rate_limited": self.rate_limited,
            "seconds": round(self.seconds, 3),
        }

    def lines(self, listed: int = 5) -> list[str]:
        """The report as `matterline sync` prints it, with up to `listed` unreadable numbers."""
        data = self.to_json()
        lines = []
        for name in RESOURCE_ORDER:
            c = data[name]
            lines.append(
                f"{name:>{_LABEL}}: {c['fetched']} fetched, {c['created']} new, {c['updated']} changed, "
                f"{c['unchanged']} unchanged, {data['deleted'].get(name, 0)} retired"
            )
        phones = data["phones"]
        lines.append(f"{'phones':>{_LABEL}}: {phones['normalized']} normalized, {phones['unparseable']} unparseable")
        indent = " " * (_LABEL + 2)
        lines.extend(f"{indent}contact {cms_id}: {raw!r} ({why})" for cms_id, raw, why in self.unparseable[:listed])
        if self.phones_unparseable > listed:
            lines.append(f"{indent}... all of them: `matterline clients --unparseable`")
        limited = f"{data['rate_limited']} rate limited"
        lines.append(f"{'requests':>{_LABEL}}: {data['requests']} ({limited}) in {data['seconds']:.2f}s")
        return lines


class Syncer:
    """Runs sync for one CMS mapping into one store."""

    def __init__(
        self,
        engine: Engine,
        client: CmsClient,
        mapping: Mapping,
        *,
        default_region: str = const.DEFAULT_REGION,
        progress: bool | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.client = client
        self.mapping = mapping
        self.region = default_region
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.clock = clock

    def resources(self) -> list[str]:
        """The resources this mapping syncs, in dependency order."""
        return [name for name in RESOURCE_ORDER if name in self.mapping.resources]

    def run(self, *, full: bool = False) -> SyncReport:
        """Sync every resource; `full` re-reads everything and retires what the CMS no longer lists."""
        report = SyncReport()
        started = time.monotonic()
        requests_before, limited_before = self.client.stats.requests, self.client.stats.rate_limited
        try:
            for name in self.resources():
                report.counts[name] = self._sync_resource(name, full=full, report=report)
        finally:
            report.requests = self.client.stats.requests - requests_before
            report.rate_limited = self.client.stats.rate_limited - limited_before
            report.seconds = time.monotonic() - started
        return report

    # -- one resource -------------------------------------------------------------------------------

    def _begin(self, name: str, full: bool) -> tuple[bool, int, datetime, datetime | None, str | None]:
        """Start a run or pick up the interrupted one: (full, run_seq, started, bookmark, resume token)."""
        now = self.clock()
        with self.engine.begin() as conn:
            row = conn.execute(select(sync_state).where(sync_state.c.resource == name)).first()
            if row is None:
                conn.execute(insert(sync_state).values(resource=name, run_seq=0, run_full=False))
                row = conn.execute(select(sync_state).where(sync_state.c.resource == name)).one()
            in_progress = row.run_started_at is not None
            if in_progress and (row.run_full or not full):
                return row.run_full, row.run_seq, row.run_started_at, row.bookmark, row.resume_url
            run_full = full or row.bookmark is None
            run_seq = row.run_seq + 1 if run_full else row.run_seq
            conn.execute(
                update(sync_state)
                .where(sync_state.c.resource == name)
                .values(run_started_at=now, run_full=run_full, run_seq=run_seq, resume_url=None, last_error=None)
            )
            return run_full, run_seq, now, row.bookmark, None

    def _sync_resource(self, name: str, *, full: bool, report: SyncReport) -> Counts:
        spec = self.mapping.resources[name]
        run_full, run_seq, started, bookmark, resume = self._begin(name, full)
        params: dict[str, Any] = dict(spec.params)
        pagination = self.mapping.pagination
        if pagination.size_param:
            params[pagination.size_param] = pagination.page_size
        if not run_full and bookmark is not None and spec.updated_since_param:
            params[spec.updated_since_param] = (bookmark - const.BOOKMARK_OVERLAP).isoformat(timespec="seconds")
        endpoint = f"GET {spec.path}"
        paginator = paginator_for(pagination, endpoint, resume)
        counts = Counts()
        bar = tqdm(desc=f"{name:>13}", unit=" rec", disable=not self.progress, leave=True, file=sys.stderr)
        try:
            with bar:
                while not paginator.finished:
                    path, query = paginator.request(spec.path, params)
                    fetched_at = self.clock()
                    response = self.client.get(path, query)
                    raw_records = self._records(spec, response.body, endpoint)
                    last_page = paginator.advance(response, raw_records)
                    records = self._read(name, spec, raw_records, report, counts)
                    with self.engine.begin() as conn:
                        page = apply(
                            conn,
                            name,
                            records,
                            now=self.clock(),
                            run_seq=run_seq if run_full else None,
                            fetched_at=fetched_at,
                        )
                        page.fetched = len(raw_records)
                        counts.add(page)
                        if last_page:
                            if run_full:
                                counts.deleted += sweep_unseen(conn, name, run_seq, self.clock())
                            self._finish(conn, name, started)
                        else:
                            conn.execute(
                                update(sync_state)
                                .where(sync_state.c.resource == name)
                                .values(resume_url=paginator.dump())
                            )
                    bar.update(len(raw_records))
        except Exception as exc:
            with self.engine.begin() as conn:
                failed = update(sync_state).where(sync_state.c.resource == name)
                conn.execute(failed.values(last_error=describe(exc)[:2000]))
            raise
        return counts

    def _finish(self, conn: Connection, name: str, started: datetime) -> None:
        conn.execute(
            update(sync_state)
            .where(sync_state.c.resource == name)
            .values(
                bookmark=started,
                run_started_at=None,
                resume_url=None,
                last_completed_at=self.clock(),
                last_error=None,
            )
        )

    def _records(self, spec: ResourceSpec, body: Any, endpoint: str) -> list[Any]:
        path = spec.records_path if spec.records_path is not None else self.mapping.api.records_path
        records = path.get(body)
        if not isinstance(records, list):
            raise FatalError(endpoint, f"answered JSON without a list of records at {str(path) or 'the top level'!r}")
        return records

    def _read(self, name: str, spec: ResourceSpec, raw: list[Any], report: SyncReport, counts: Counts) -> list[Record]:
        records: list[Record] = []
        for item in raw:
            try:
                record = READERS[name](spec, item, self.region)
            except RecordError as exc:
                counts.skipped += 1
                const.LOGGER.warning("%s: skipped a record: %s", name, exc)
                continue
            if isinstance(record, ContactRecord):
                for phone in record.phones:
                    if phone.e164 is None:
                        report.phones_unparseable += 1
                        if len(report.unparseable) < _UNPARSEABLE_LISTED:
                            report.unparseable.append((record.cms_id, phone.raw, phone.error or ""))
                    else:
                        report.phones_normalized += 1
            elif isinstance(record, MatterRecord):
                report.unknown_statuses += 0 if record.status_known else 1
            records.append(record)
        return records

    # -- changes announced by CMS webhooks ----------------------------------------------------------

    def refresh_pending(self, batch: int | None = None) -> Counts:
        """Fetch the records CMS webhooks announced without their data, a page of ids at a time."""
        total = Counts()
        size = batch or self.mapping.pagination.page_size
        for name in self.resources():
            spec = self.mapping.resources[name]
            if not spec.ids_param:
                continue
            while True:
                with self.engine.connect() as conn:
                    ids = list(
                        conn.execute(
                            select(pending_refresh.c.cms_id)
                            .where(pending_refresh.c.resource == name)
                            .order_by(pending_refresh.c.id)
                            .limit(size)
                        ).scalars()
                    )
                if not ids:
                    break
                params: dict[str, Any] = {**spec.params, spec.ids_param: ids}
                if self.mapping.pagination.size_param:
                    params[self.mapping.pagination.size_param] = min(len(ids), self.mapping.pagination.max_page_size)
                fetched_at = self.clock()
                response = self.client.get(spec.path, params)
                raw = self._records(spec, response.body, f"GET {spec.path}")
                records = self._read(name, spec, raw, SyncReport(), total)
                with self.engine.begin() as conn:
                    total.add(apply(conn, name, records, now=self.clock(), fetched_at=fetched_at))
                    conn.execute(
                        delete(pending_refresh).where(
                            pending_refresh.c.resource == name, pending_refresh.c.cms_id.in_(ids)
                        )
                    )
        return total
