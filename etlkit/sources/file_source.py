"""CSV and JSON Lines -> records, streamed line by line from a path, bytes or a file-like body.

Memory stays bounded by one line (``max_line_bytes``), whatever the input size. Every problem
with one line (invalid UTF-8, too long, malformed CSV or JSON, wrong field count, a failed
cast, no key) becomes a `BadRecord` carrying the 1-based line number where the record starts,
the reason and the raw text; reading goes on with the next line.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping
from typing import BinaryIO, NamedTuple, TextIO

from ..warehouse.convert import ConversionError, to_boolean, to_integer, to_real, to_text
from .file_config import FileSourceConfig
from .records import BadRecord, RecordError, SourceRecord, event_time_of, key_of, make_record

Input = str | os.PathLike[str] | bytes | bytearray | BinaryIO | TextIO
Item = SourceRecord | BadRecord

_INFERRED_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
# A decimal point or an exponent is required, and no leading zero: "007" and "01.5" stay text.
_INFERRED_DECIMAL = re.compile(
    r"-?(?:(?:0|[1-9][0-9]*)\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"  # with a point
    r"|-?(?:0|[1-9][0-9]*)[eE][-+]?[0-9]+"  # with an exponent only
)


def _json_cast(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as error:
        raise ConversionError(f"is not JSON ({error.msg})") from None


CASTS: Mapping[str, Callable[[object], object]] = {
    "string": to_text,
    "integer": to_integer,
    "number": to_real,
    "boolean": to_boolean,
    "json": _json_cast,
}


def infer_cell(text: str) -> object:
    """A CSV cell typed by its look; leading zeros stay text (an id like 007 is not a number)."""
    if text == "":
        return None
    if _INFERRED_INTEGER.fullmatch(text):
        number = int(text)
        return number if -(2**63) <= number < 2**63 else text
    if _INFERRED_DECIMAL.fullmatch(text):
        number = float(text)
        return number if math.isfinite(number) else text
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return text


def read_records(config: FileSourceConfig, body: Input, now_ms: int) -> Iterator[Item]:
    """Stream the records (and bad records) of one input, in input order.

    ``body`` is a path, the bytes of an uploaded body, or an open binary or text file (left
    open). ``now_ms`` is the event time of records without a ``time_field``.
    """
    with _binary_lines(body) as stream:
        lines = _Lines(stream, config.max_line_bytes)
        if config.format == "csv":
            yield from _read_csv(config, lines, now_ms)
        else:
            yield from _read_jsonl(config, lines, now_ms)


# --- input plumbing -----------------------------------------------------------------------


@contextlib.contextmanager
def _binary_lines(body: Input) -> Iterator[BinaryIO]:
    if isinstance(body, (bytes, bytearray)):
        yield io.BytesIO(body)
    elif isinstance(body, (str, os.PathLike)):
        with open(body, "rb") as stream:
            yield stream
    elif isinstance(body.read(0), str):
        yield _EncodedText(body)  # type: ignore[arg-type]
    else:
        yield body  # type: ignore[misc]


class _EncodedText:
    """A text stream seen as UTF-8 bytes, line by line (what `_Lines` reads)."""

    def __init__(self, text: TextIO) -> None:
        self._text = text

    def readline(self, limit: int = -1) -> bytes:
        return self._text.readline(limit).encode("utf-8", "surrogateescape")


class _Line(NamedTuple):
    number: int  # 1-based
    text: str  # what a parser reads
    raw: str  # what a bad record shows
    problem: str | None  # why the line cannot be used as it is


class _Lines:
    """Numbered lines as text, each with the reason it cannot be used, if any.

    An over-long line is consumed to its end without being held in memory, and parses as an
    empty line (only its first bytes are kept, as ``raw``); an undecodable one parses with
    replacement characters so a CSV parse keeps its structure.
    """

    def __init__(self, stream: BinaryIO, max_line_bytes: int) -> None:
        self._stream = stream
        self._max = max_line_bytes

    def __iter__(self) -> Iterator[_Line]:
        number = 0
        while True:
            line = self._stream.readline(self._max + 1)
            if not line:
                return
            number += 1
            if len(line) > self._max and not (len(line) == self._max + 1 and line.endswith(b"\n")):
                prefix = line[:200].decode("utf-8", "replace")
                while line and not line.endswith(b"\n"):
                    line = self._stream.readline(self._max + 1)
                yield _Line(number, "\n", prefix, f"line longer than {self._max} bytes")
                continue
            if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]  # a UTF-8 byte order mark is not data
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as error:
                text = line.decode("utf-8", "replace")
                yield _Line(number, text, text, f"invalid UTF-8 at byte {error.start}")
                continue
            yield _Line(number, text, text, None)


# --- records from values --------------------------------------------------------------------


def _record(config: FileSourceConfig, value: dict[str, object], line: int, raw: str, now_ms: int) -> Item:
    for name, kind in config.column_types.items():
        cell = value.get(name)
        if cell is None or (cell == "" and config.format == "csv"):
            if name in value:
                value[name] = None
            continue
        try:
            value[name] = CASTS[kind](cell)
        except ConversionError as error:
            return BadRecord(config.source, line, f"field {name!r}: {error}", raw)
    try:
        key = key_of(value, config.key_field)
        event_time_ms = event_time_of(value, config.time_field, now_ms)
    except RecordError as error:
        return BadRecord(config.source, line, str(error), raw)
    return make_record(value, source=config.source, key=key, event_time_ms=event_time_ms)


def _read_jsonl(config: FileSourceConfig, lines: _Lines, now_ms: int) -> Iterator[Item]:
    for number, text, raw, problem in lines:
        if problem is not None:
            yield BadRecord(config.source, number, problem, raw)
            continue
        if not text.strip():
            continue  # blank lines separate nothing in JSON Lines; skipping them is harmless
        try:
            value = json.loads(text.rstrip("\r\n"))  # so an error's column counts on this line
        except json.JSONDecodeError as error:
            yield BadRecord(config.source, number, f"invalid JSON: {error.msg} at column {error.colno}", text)
            continue
        if not isinstance(value, dict):
            reason = f"a JSON Lines record must be an object, got {type(value).__name__}"
            yield BadRecord(config.source, number, reason, text)
            continue
        yield _record(config, value, number, text, now_ms)


class _CsvFeed:
    """Feeds `_Lines` to csv.reader, remembering the raw text and problems of the current row."""

    def __init__(self, lines: _Lines) -> None:
        self._lines = iter(lines)
        self._raw: list[str] = []
        self._problem: str | None = None

    def __iter__(self) -> Iterator[str]:
        for line in self._lines:
            self._raw.append(line.raw)
            if line.problem is not None and self._problem is None:
                self._problem = line.problem
            yield line.text

    def take(self) -> tuple[str, str | None]:
        """The raw text and first problem of the lines consumed since the last call."""
        raw, problem = "".join(self._raw), self._problem
        self._raw, self._problem = [], None
        return raw, problem


def _read_csv(config: FileSourceConfig, lines: _Lines, now_ms: int) -> Iterator[Item]:
    feed = _CsvFeed(lines)
    reader = csv.reader(feed, delimiter=config.delimiter, strict=True)
    header: list[str] | None = None
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raw, _ = feed.take()
            yield BadRecord(config.source, start, f"malformed CSV: {error}", raw)
            if header is None:
                return  # without a header nothing after it can be read
            continue
        raw, problem = feed.take()
        if problem is not None:
            yield BadRecord(config.source, start, problem, raw)
            if header is None:
                return
            continue
        if not row:
            continue  # a blank line
        if header is None:
            header_problem = _check_header(row, config)
            if header_problem is not None:
                yield BadRecord(config.source, start, header_problem, raw)
                return
            header = row
            continue
        if len(row) != len(header):
            reason = f"expected {len(header)} fields as in the header, got {len(row)}"
            yield BadRecord(config.source, start, reason, raw)
            continue
        cells = zip(header, row)
        value: dict[str, object] = (
            {name: (cell if name in config.column_types else infer_cell(cell)) for name, cell in cells}
            if config.infer_types
            else dict(cells)
        )
        yield _record(config, value, start, raw, now_ms)


def _check_header(header: list[str], config: FileSourceConfig) -> str | None:
    seen: set[str] = set()
    for name in header:
        if not name:
            return "header: a column has no name"
        if name in seen:
            return f"header: column {name!r} appears twice"
        seen.add(name)
    for name in (*config.column_types, config.key_field, config.time_field):
        if name is not None and name not in seen:
            return f"header: configured field {name!r} is not a column (columns: {', '.join(header)})"
    return None
