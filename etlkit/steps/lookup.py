"""Lookup tables for the ``enrich`` step: where rows come from, and how long a copy is kept.

Two narrow Protocols keep test doubles to a few lines:

* :class:`LookupSource` loads the whole table: ``load() -> {key text: row}``. The file-backed
  source is :class:`~.file_lookup.FileLookupSource`; a warehouse-backed one implements the same.
* :class:`Lookup` answers ``table(now_ms)`` for a batch. :class:`CachedLookup` wraps a source
  with a refresh period; the clock is passed in (``now_ms``), never read, so refresh behaviour is
  tested without sleeping.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Protocol

from .failures import RecordError
from .values import type_name

Table = Mapping[str, Mapping[str, Any]]


class LookupSource(Protocol):
    def load(self) -> Table:
        """The whole table, keyed by the join key as text (see :func:`join_text`)."""
        ...


class Lookup(Protocol):
    def table(self, now_ms: int) -> Table:
        """The table to use for a batch processed at ``now_ms`` (epoch milliseconds)."""
        ...


class LookupUnavailable(Exception):
    """No table can be served: the step function should answer 5xx so the event is retried."""


def join_text(value: Any, where: str) -> str | None:
    """The text form under which a join key value is looked up (None for null).

    Lookup files are text, records are JSON: ``42``, ``42.0`` and ``"42"`` all find row ``"42"``.
    """
    kind = type(value)
    if value is None or kind is str:
        return value
    if kind is int:
        return str(value)
    if kind is float:
        return str(int(value)) if value.is_integer() else repr(value)
    if kind is bool:
        return "true" if value else "false"
    raise RecordError(f"{where}: a join key must be text or a number, got {type_name(value)}")


@dataclass(frozen=True)
class StaticLookup:
    """A fixed table (tests, small inline tables)."""

    rows: Table

    def table(self, now_ms: int) -> Table:
        return self.rows


@dataclass(frozen=True)
class LookupStatus:
    loaded_at_ms: int | None
    rows: int
    last_error: str | None


class CachedLookup:
    """A :class:`LookupSource` loaded once and reloaded every ``refresh_ms``.

    A failed reload keeps serving the previous table (a lookup outage must not stop the
    pipeline), retried every ``retry_ms``; once the table is older than ``max_stale_ms`` (if
    set) :class:`LookupUnavailable` is raised instead. A failed *first* load raises at once.
    """

    def __init__(self, source: LookupSource, *, refresh_ms: int, retry_ms: int | None = None,
                 max_stale_ms: int | None = None) -> None:
        if refresh_ms <= 0:
            raise ValueError("refresh_ms: must be positive")
        self._source = source
        self._refresh_ms = refresh_ms
        self._retry_ms = min(refresh_ms, 30_000) if retry_ms is None else retry_ms
        self._max_stale_ms = max_stale_ms
        self._table: Table | None = None
        self._loaded_at: int | None = None
        self._next_attempt = 0
        self._last_error: str | None = None

    def table(self, now_ms: int) -> Table:
        """The cached table, reloaded first when it is due."""
        if self._table is None or self._loaded_at is None:
            return self._load(now_ms)
        due = now_ms - self._loaded_at >= self._refresh_ms
        if due and now_ms >= self._next_attempt:
            try:
                return self._load(now_ms)
            except LookupUnavailable:
                self._next_attempt = now_ms + self._retry_ms
        if self._max_stale_ms is not None and now_ms - self._loaded_at > self._max_stale_ms:
            raise LookupUnavailable(f"lookup table is {now_ms - self._loaded_at} ms old, over "
                                    f"the {self._max_stale_ms} ms limit; last error: {self._last_error}")
        return self._table

    def _load(self, now_ms: int) -> Table:
        try:
            table = self._source.load()
        except Exception as exc:  # noqa: BLE001 - any source failure means "no fresh table"
            self._last_error = f"{type(exc).__name__}: {exc}"
            raise LookupUnavailable(f"loading the lookup table failed: {self._last_error}") from exc
        self._table, self._loaded_at, self._last_error = table, now_ms, None
        return table

    @property
    def status(self) -> LookupStatus:
        """When the table was loaded, its size and the last reload error (for health output)."""
        rows = 0 if self._table is None else len(self._table)
        return LookupStatus(self._loaded_at, rows, self._last_error)
