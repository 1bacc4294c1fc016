"""The SQL source's typed, validated configuration."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..warehouse.identifiers import InvalidIdentifier, check_identifier
from .config import SourceConfigError, bounded_int, optional_text, reject_unknown, require_text
from .cursor_store import check_source_name

MAX_PAGE_SIZE = 100_000
_FIELDS = frozenset({"source", "table", "cursor_column", "key_column", "columns", "time_column", "page_size"})


@dataclass(frozen=True)
class SqlSourceConfig:
    """An incremental pull of ``table`` ordered by (``cursor_column``, ``key_column``).

    ``cursor_column`` must only grow for new or changed rows (an id, an ``updated_at``) and be
    NOT NULL; ``key_column`` is a unique key that breaks ties between rows sharing a cursor
    value, so no row is skipped or repeated at a page boundary (for a unique, increasing id
    both may name the same column). ``columns`` limits the
    selected columns (the cursor and key columns are always included); empty means all.
    ``source`` names the source in records and in the cursor store.
    """

    source: str
    table: str
    cursor_column: str
    key_column: str
    columns: tuple[str, ...] = ()
    time_column: str | None = None
    page_size: int = 500

    def __post_init__(self) -> None:
        try:
            check_source_name(self.source)
        except ValueError as error:
            raise SourceConfigError(f"source: {error}") from None
        for name in ("table", "cursor_column", "key_column"):
            _identifier(getattr(self, name), name)
        if isinstance(self.columns, str) or not all(isinstance(c, str) for c in self.columns):
            raise SourceConfigError("columns: must be a list of column names")
        object.__setattr__(self, "columns", tuple(self.columns))
        for column in self.columns:
            _identifier(column, "columns")
        if self.time_column is not None:
            _identifier(self.time_column, "time_column")
        size = self.page_size
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_PAGE_SIZE:
            raise SourceConfigError(f"page_size: must be an integer from 1 to {MAX_PAGE_SIZE}")

    @property
    def selected(self) -> tuple[str, ...]:
        """The columns to select: () for all, else ``columns`` plus cursor, key and time columns."""
        if not self.columns:
            return ()
        extra = [c for c in (self.cursor_column, self.key_column, self.time_column) if c and c not in self.columns]
        return (*self.columns, *extra)

    @classmethod
    def from_spec(cls, spec: Mapping[str, object]) -> SqlSourceConfig:
        """Parse a step spec's fields; unknown fields are errors (a typo must not pass)."""
        reject_unknown(spec, _FIELDS, "the SQL source")
        columns = spec.get("columns", ())
        if not isinstance(columns, (list, tuple)):
            raise SourceConfigError("columns: must be a list of column names")
        return cls(
            source=require_text(spec, "source"),
            table=require_text(spec, "table"),
            cursor_column=require_text(spec, "cursor_column"),
            key_column=require_text(spec, "key_column"),
            columns=tuple(columns),
            time_column=optional_text(spec, "time_column"),
            page_size=bounded_int(spec, "page_size", 500, 1, MAX_PAGE_SIZE),
        )


def _identifier(value: object, field: str) -> None:
    try:
        check_identifier(value, field)
    except InvalidIdentifier as error:
        raise SourceConfigError(str(error)) from None
