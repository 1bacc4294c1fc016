"""A :class:`~.lookup.LookupSource` read from a local CSV or JSON Lines file.

The file is read whole on each ``load()`` (the caching is :class:`~.lookup.CachedLookup`'s job).
It is strict, because a silently wrong lookup table corrupts every record joined against it:
a missing key column, an empty or repeated key, a malformed line or too many rows fail the load
with the line number, and the cache keeps serving the previous good table.

CSV values stay text (``cast`` them in a following ``map`` step); JSON Lines values keep their
JSON types. Keys are text in both (see :func:`~.lookup.join_text`).
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from .config import ConfigReader
from .failures import RecordError
from .lookup import join_text

FORMATS = ("csv", "jsonl")
DEFAULT_MAX_ROWS = 1_000_000


class LookupLoadError(Exception):
    """The lookup file cannot be loaded; the message names the file and line."""


@dataclass(frozen=True)
class FileLookupSource:
    path: Path
    key: str
    format: str = "csv"
    max_rows: int = DEFAULT_MAX_ROWS

    @classmethod
    def from_dict(cls, source: Mapping[str, Any], where: str = "params.lookup", *,
                  base_dir: Path | None = None) -> "FileLookupSource":
        """``{"kind": "file", "path": ..., "key": ..., "format": "csv"|"jsonl", "max_rows": n}``;
        the format defaults to the file's extension; a relative path is taken from ``base_dir``
        when given."""
        reader = ConfigReader(source, where)
        reader.choice("kind", ("file",))
        path = Path(reader.text("path"))
        default_format = "jsonl" if path.suffix in (".jsonl", ".ndjson") else "csv"
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        built = cls(path, reader.text("key"), reader.choice("format", FORMATS, default_format),
                    reader.integer("max_rows", 1, DEFAULT_MAX_ROWS))
        reader.finish()
        return built

    def load(self) -> dict[str, dict[str, Any]]:
        """Read the whole file into ``{key text: row}``."""
        table: dict[str, dict[str, Any]] = {}
        try:
            with self.path.open(encoding="utf-8", newline="") as handle:
                rows = self._csv_rows(handle) if self.format == "csv" else self._jsonl_rows(handle)
                for line, row in rows:
                    self._add(table, line, row)
        except OSError as exc:
            raise LookupLoadError(f"{self.path}: cannot read ({exc.strerror or exc})") from None
        except UnicodeDecodeError as exc:
            raise LookupLoadError(f"{self.path}: not UTF-8 text ({exc.reason})") from None
        return table

    def _add(self, table: dict[str, dict[str, Any]], line: int, row: dict[str, Any]) -> None:
        where = f"{self.path}:{line}"
        if self.key not in row:
            raise LookupLoadError(f"{where}: no key field {self.key!r}")
        try:
            key = join_text(row[self.key], where)
        except RecordError as exc:
            raise LookupLoadError(exc.reason) from None
        if not key:
            raise LookupLoadError(f"{where}: empty key {self.key!r}")
        if key in table:
            raise LookupLoadError(f"{where}: key {key!r} repeats an earlier row")
        if len(table) >= self.max_rows:
            raise LookupLoadError(f"{where}: more than {self.max_rows} rows (max_rows)")
        table[key] = row

    def _csv_rows(self, handle: Any) -> Iterator[tuple[int, dict[str, Any]]]:
        reader = csv.DictReader(handle, restkey="\0extra")
        if reader.fieldnames is None:
            return
        if self.key not in reader.fieldnames:
            raise LookupLoadError(f"{self.path}:1: no column {self.key!r} in the header")
        try:
            for row in reader:
                if "\0extra" in row:
                    raise LookupLoadError(f"{self.path}:{reader.line_num}: more values than columns")
                yield reader.line_num, row
        except csv.Error as exc:
            raise LookupLoadError(f"{self.path}:{reader.line_num}: {exc}") from None

    def _jsonl_rows(self, handle: Any) -> Iterator[tuple[int, dict[str, Any]]]:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except ValueError as exc:
                raise LookupLoadError(f"{self.path}:{line}: not JSON ({exc})") from None
            if not isinstance(row, dict):
                raise LookupLoadError(f"{self.path}:{line}: not a JSON object")
            yield line, row
