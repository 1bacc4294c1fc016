"""Incremental pull from a SQL table, one page at a time, resumable after a restart.

Two steps per page, so nothing is ever skipped::

    page = source.fetch_page(now_ms)      # rows after the committed cursor
    ... produce page.records to Kafka, flush, dead-letter page.bad ...
    source.commit(page)                   # only now does the cursor advance (durably)

A crash between the two re-reads the same page on the next run: delivery is at-least-once,
and the records carry the row key, so the warehouse upsert makes the repeat harmless.

Ordering is keyset pagination on (cursor column, key column) with a row-value comparison
``(cursor, key) > (last cursor, last key)``: rows sharing a cursor value (many rows updated in
the same millisecond) are neither skipped nor repeated at a page boundary. Rows with a NULL
cursor are never read. As with every cursor-based pull, a row committed later with a cursor
value lower than one already delivered (a long transaction stamping ``updated_at`` early) is
missed: use a cursor the database assigns at commit order, or one that only grows.
"""
from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from ..warehouse.identifiers import quote
from .cursor_store import Cursor, CursorMoved, CursorStore
from .records import BadRecord, RecordError, SourceRecord, epoch_ms, key_of, make_record
from .sql_config import SqlSourceConfig


class SourceError(Exception):
    """A source fault a retry will not fix (a missing table or column, bad credentials)."""


class SourceUnavailable(SourceError):
    """Retry-worthy: the source database cannot be reached right now."""


class StaleCursor(SourceError):
    """The committed cursor moved since the page was fetched (another runner, or out of order)."""


class RowReader(Protocol):
    """Reads rows of the configured table after a cursor (the SQL source's only I/O)."""

    def rows_after(self, after: Cursor | None, limit: int) -> list[dict[str, object]]:
        """Up to ``limit`` rows ordered by (cursor, key), strictly after ``after`` (all if None)."""
        ...

    def close(self) -> None: ...


def page_queries(config: SqlSourceConfig, placeholder: str) -> tuple[str, str]:
    """(first-page query, next-page query) in a dialect whose parameter marker is ``placeholder``.

    The first takes ``limit``; the next takes ``cursor, key, limit``. Both skip NULL cursors,
    which no ``>`` comparison could ever move past.
    """
    select = ", ".join(quote(column) for column in config.selected) or "*"
    cursor, key = quote(config.cursor_column, "cursor_column"), quote(config.key_column, "key_column")
    source = f"SELECT {select} FROM {quote(config.table, 'table')}"
    tail = f"ORDER BY {cursor}, {key} LIMIT {placeholder}"
    first = f"{source} WHERE {cursor} IS NOT NULL AND {key} IS NOT NULL {tail}"
    after = f"{source} WHERE ({cursor}, {key}) > ({placeholder}, {placeholder}) {tail}"
    return first, after


def json_safe(value: object) -> object:
    """A database value as a JSON value (dates as ISO 8601, decimals as numbers, bytes as base64)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return str(value)


@dataclass(frozen=True)
class Page:
    """One fetched page: its records and bad rows, the cursor it was read after, and the cursor
    to commit once it is delivered. ``full`` means more rows may be waiting right now."""

    records: tuple[SourceRecord, ...]
    bad: tuple[BadRecord, ...]
    after: Cursor | None
    end: Cursor | None
    full: bool

    def origin(self, source: str) -> str:
        """What this page read, as the origin of its batch ids: the source and the cursor range.
        A page read again (a crash before its commit) has the same range, so the same ids."""
        return f"sql:{source}:{self.after!r}..{self.end!r}"


def page_from_rows(config: SqlSourceConfig, rows: list[dict[str, object]], after: Cursor | None, now_ms: int) -> Page:
    """Turn fetched rows into a page (pure): records, bad rows, and the cursor to commit."""
    records: list[SourceRecord] = []
    bad: list[BadRecord] = []
    for position, row in enumerate(rows, start=1):
        value = {str(name): json_safe(cell) for name, cell in row.items()}
        try:
            key = key_of(value, config.key_column)
            event_time = epoch_ms(row[config.time_column]) if config.time_column else now_ms
        except (RecordError, KeyError) as error:
            bad.append(BadRecord(config.source, position, f"row: {error}", json.dumps(value, sort_keys=True)))
            continue
        records.append(make_record(value, source=config.source, key=key, event_time_ms=event_time))
    end = Cursor(rows[-1][config.cursor_column], rows[-1][config.key_column]) if rows else after
    return Page(tuple(records), tuple(bad), after, end, full=len(rows) >= config.page_size)


class SqlSource:
    """Fetch a page after the committed cursor; commit it once the caller delivered it.

    The cursor store is read on every fetch, so a new `SqlSource` (a restarted replica, or
    another one) resumes exactly where the last commit left off. One pull of a source at a time
    is the lease's job (`~.cursor_store.SourceLeases`); should two pulls still read the same
    page, ``commit`` is a compare-and-set in the store and refuses the page of the second
    (`StaleCursor`) rather than move the cursor backwards or past unseen rows.
    """

    def __init__(self, config: SqlSourceConfig, reader: RowReader, store: CursorStore) -> None:
        self.config = config
        self._reader = reader
        self._store = store

    @property
    def committed(self) -> Cursor | None:
        """The cursor of the last delivered row (None before the first commit)."""
        return self._store.get(self.config.source)

    def fetch_page(self, now_ms: int) -> Page:
        """The next page after the committed cursor; ``now_ms`` is the event time without a time column."""
        after = self.committed
        rows = self._reader.rows_after(after, self.config.page_size)
        return page_from_rows(self.config, rows, after, now_ms)

    def commit(self, page: Page) -> None:
        """Advance the committed cursor past ``page``; call only after its records were delivered."""
        if page.end is None or page.end == page.after:
            return  # nothing read: nothing to move
        try:
            self._store.advance(self.config.source, page.after, page.end)
        except CursorMoved:
            raise StaleCursor(
                f"source {self.config.source!r}: the cursor moved from {page.after} to "
                f"{self.committed} since this page was fetched; fetch again"
            ) from None

    def close(self) -> None:
        self._reader.close()
