"""One resource's records by id, with the ascending id list and cached counts that keep cursor paging cheap."""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Iterable
from typing import Any

from connector.sandbox.clio.constants import COUNT_CACHE_SIZE
from connector.sandbox.clio.queries import Cursor, ListQuery
from connector.sandbox.firm import Record


class Collection:
    """Records of one resource by id, plus the ascending id list cursor paging bisects."""

    __slots__ = ("by_id", "counts", "ids", "last_id", "version")

    def __init__(self, records: Iterable[Record], id_base: int) -> None:
        self.by_id: dict[int, Record] = {record["id"]: record for record in records}
        self.ids: list[int] = sorted(self.by_id)
        self.last_id = self.ids[-1] if self.ids else id_base
        self.version = 0
        self.counts: dict[tuple[Any, ...], int] = {}

    def allocate(self) -> int:
        self.last_id += 1
        return self.last_id

    def insert(self, record: Record) -> None:
        self.by_id[record["id"]] = record
        self.ids.insert(bisect_right(self.ids, record["id"]), record["id"])
        self.changed()

    def remove(self, record_id: int) -> Record:
        record = self.by_id.pop(record_id)
        del self.ids[bisect_right(self.ids, record_id) - 1]
        self.changed()
        return record

    def changed(self) -> None:
        self.version += 1
        self.counts.clear()

    def candidates(self, only_ids: tuple[int, ...] | None) -> list[int]:
        if only_ids is None:
            return self.ids
        return sorted({record_id for record_id in only_ids if record_id in self.by_id})

    def count(self, query: ListQuery) -> int:
        cached = self.counts.get(query.signature)
        if cached is not None:
            return cached
        candidates = self.candidates(query.only_ids)
        if query.predicates:
            total = sum(1 for record_id in candidates if query.matches(self.by_id[record_id]))
        else:
            total = len(candidates)
        if len(self.counts) >= COUNT_CACHE_SIZE:
            self.counts.clear()
        self.counts[query.signature] = total
        return total

    def scan(self, query: ListQuery, after: Cursor, limit: int) -> tuple[list[Record], bool]:
        """Records after the cursor in id order, up to `limit`, and whether more follow."""
        candidates = self.candidates(query.only_ids)
        found: list[Record] = []
        for record_id in itertools.islice(candidates, bisect_right(candidates, after.record_id), None):
            record = self.by_id[record_id]
            if not query.predicates or query.matches(record):
                if len(found) == limit:
                    return found, True
                found.append(record)
        return found, False

    def scan_by_date(self, query: ListQuery, after: Cursor, limit: int) -> tuple[list[Record], bool]:
        """Same as `scan`, ordered by (date, id): Clio's default order for communications."""
        rows = sorted(
            (str(record.get("date") or ""), record["id"], record)
            for record in (self.by_id[record_id] for record_id in self.candidates(query.only_ids))
            if query.matches(record)
        )
        keys = [(key, record_id) for key, record_id, _ in rows]
        start = bisect_right(keys, (after.key, after.record_id))
        chosen = [record for _, _, record in rows[start : start + limit]]
        return chosen, start + limit < len(rows)
