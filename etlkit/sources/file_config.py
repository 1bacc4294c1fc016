"""The file source's typed, validated configuration (from a step spec or built directly)."""
from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass, field

from .config import SourceConfigError, bounded_int, optional_text, reject_unknown, require_text

FORMATS = ("csv", "jsonl")
FIELD_TYPES = ("string", "integer", "number", "boolean", "json")
MAX_LINE_BYTES_LIMIT = 64 << 20  # one line larger than this is never a sane record
_FIELDS = frozenset(
    {"source", "format", "key_field", "time_field", "column_types", "infer_types", "delimiter", "max_line_bytes"}
)


@dataclass(frozen=True)
class FileSourceConfig:
    """How to turn a CSV or JSON Lines input into records.

    ``column_types`` casts named fields (string, integer, number, boolean, json); an empty CSV
    cell of a typed column becomes null. ``infer_types`` (CSV only) types the other cells by
    their look: integers without leading zeros, decimals, true/false, empty as null.
    ``key_field`` gives the record key (a record without it is bad); ``time_field`` the event
    time (epoch ms or ISO 8601; default: the time the input was received). A line longer than
    ``max_line_bytes`` is a bad record, not a memory spike.
    """

    source: str
    format: str
    key_field: str | None = None
    time_field: str | None = None
    column_types: Mapping[str, str] = field(default_factory=dict)
    infer_types: bool = False
    delimiter: str = ","
    max_line_bytes: int = 1 << 20

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source:
            raise SourceConfigError("source: required, a non-empty string")
        if self.format not in FORMATS:
            raise SourceConfigError(f"format: must be one of {', '.join(FORMATS)}")
        for name in ("key_field", "time_field"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise SourceConfigError(f"{name}: must be a non-empty string when given")
        if not isinstance(self.column_types, Mapping):
            raise SourceConfigError("column_types: must map field names to types")
        for name, kind in self.column_types.items():
            if kind not in FIELD_TYPES:
                raise SourceConfigError(f"column_types.{name}: must be one of {', '.join(FIELD_TYPES)}")
        # frozen all the way down: a read-only copy, so the config cannot change after checks
        object.__setattr__(self, "column_types", types.MappingProxyType(dict(self.column_types)))
        if not isinstance(self.infer_types, bool):
            raise SourceConfigError("infer_types: must be true or false")
        if self.infer_types and self.format != "csv":
            raise SourceConfigError("infer_types: only for csv (JSON Lines values are already typed)")
        if not isinstance(self.delimiter, str) or len(self.delimiter) != 1 or self.delimiter in "\"\r\n":
            raise SourceConfigError("delimiter: must be one character other than a quote or a line break")
        if isinstance(self.max_line_bytes, bool) or not isinstance(self.max_line_bytes, int) or not (
            1 <= self.max_line_bytes <= MAX_LINE_BYTES_LIMIT
        ):
            raise SourceConfigError(f"max_line_bytes: must be an integer from 1 to {MAX_LINE_BYTES_LIMIT}")

    @classmethod
    def from_spec(cls, spec: Mapping[str, object]) -> FileSourceConfig:
        """Parse a step spec's fields; unknown fields are errors (a typo must not pass)."""
        reject_unknown(spec, _FIELDS, "the file source")
        column_types = spec.get("column_types", {})
        if not isinstance(column_types, Mapping):
            raise SourceConfigError("column_types: must map field names to types")
        return cls(
            source=require_text(spec, "source"),
            format=require_text(spec, "format"),
            key_field=optional_text(spec, "key_field"),
            time_field=optional_text(spec, "time_field"),
            column_types=dict(column_types),
            infer_types=spec.get("infer_types", False),  # type: ignore[arg-type]
            delimiter=spec.get("delimiter", ","),  # type: ignore[arg-type]
            max_line_bytes=bounded_int(spec, "max_line_bytes", 1 << 20, 1, MAX_LINE_BYTES_LIMIT),
        )
