"""The file source: CSV and JSON Lines, streamed, bad lines as BadRecords with line numbers."""
from __future__ import annotations

import io
import itertools

import pytest

from etlkit.sources.file_config import FileSourceConfig
from etlkit.sources.file_source import infer_cell, read_records
from etlkit.sources.records import BadRecord

NOW = 1_700_000_000_000


def csv_config(**options) -> FileSourceConfig:
    return FileSourceConfig(source="orders-file", format="csv", **options)


def jsonl_config(**options) -> FileSourceConfig:
    return FileSourceConfig(source="events-file", format="jsonl", **options)


def items(config: FileSourceConfig, body) -> list:
    return list(read_records(config, body, NOW))


def bad(result: list) -> list[tuple[int, str]]:
    return [(item.line, item.reason) for item in result if isinstance(item, BadRecord)]


def good(result: list) -> list[dict]:
    return [item for item in result if not isinstance(item, BadRecord)]


def test_csv_rows_become_records_with_key_source_and_ingestion_time():
    result = items(csv_config(key_field="id"), b"id,qty\nA1,2\nB2,3\n")
    assert result == [
        {"key": "A1", "value": {"id": "A1", "qty": "2"}, "source": "orders-file", "event_time_ms": NOW},
        {"key": "B2", "value": {"id": "B2", "qty": "3"}, "source": "orders-file", "event_time_ms": NOW},
    ]


def test_csv_casts_per_column_and_empty_typed_cell_is_null():
    config = csv_config(column_types={"qty": "integer", "price": "number", "paid": "boolean", "meta": "json"})
    (record,) = items(config, b'qty,price,paid,meta,note\n2,1.5,true,"{""a"": [1]}",\n')
    assert record["value"] == {"qty": 2, "price": 1.5, "paid": True, "meta": {"a": [1]}, "note": ""}
    (record,) = items(config, b"qty,price,paid,meta,note\n,,,,x\n")
    assert record["value"] == {"qty": None, "price": None, "paid": None, "meta": None, "note": "x"}


def test_csv_inference_leaves_leading_zeros_as_text():
    (record,) = items(csv_config(infer_types=True, column_types={"zip": "string"}), b"id,n,x,flag,empty,zip\n007,-3,2.5e1,FALSE,,01234\n")
    assert record["value"] == {"id": "007", "n": -3, "x": 25.0, "flag": False, "empty": None, "zip": "01234"}


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("0", 0), ("-0", 0), ("12", 12), ("9223372036854775808", "9223372036854775808"), ("1.", 1.0), (".5", 0.5), ("1e3", 1000.0), ("01.5", "01.5"), ("1e999", "1e999"), ("True", True), ("nan", "nan"), ("", None)],
    ids=["zero", "negative-zero", "integer", "beyond-int64-stays-text", "trailing-point", "leading-point", "exponent", "leading-zero-decimal", "overflowing-float", "boolean-any-case", "nan-is-text", "empty-is-null"],
)
def test_infer_cell(cell: str, expected):
    assert infer_cell(cell) == expected
    assert type(infer_cell(cell)) is type(expected)


def test_csv_quoted_newline_keeps_the_starting_line_number():
    data = b'id,note\n1,"two\nlines"\n2,x,extra\n'
    result = items(csv_config(key_field="id"), data)
    assert good(result)[0]["value"] == {"id": "1", "note": "two\nlines"}
    assert bad(result) == [(4, "expected 2 fields as in the header, got 3")]


def test_csv_bad_lines_become_bad_records_and_reading_goes_on():
    data = (
        b"id,qty\n"
        b"1,2\n"
        b"2,x\n"  # cast fails
        b"3\n"  # too few fields
        b'4,"5"z\n'  # broken quoting
        b"5,\xff\n"  # invalid UTF-8
        b",6\n"  # no key
        b"7,8\n"
    )
    result = items(csv_config(key_field="id", column_types={"qty": "integer"}), data)
    assert [r["key"] for r in good(result)] == ["1", "7"]
    assert bad(result) == [
        (3, "field 'qty': 'x' is not an integer"),
        (4, "expected 2 fields as in the header, got 1"),
        (5, "malformed CSV: ',' expected after '\"'"),
        (6, "invalid UTF-8 at byte 2"),
        (7, "key_field 'id': missing"),
    ]
    raw = {item.line: item.raw for item in result if isinstance(item, BadRecord)}
    assert raw[3] == "2,x\n"
    assert raw[6] == "5,\ufffd\n"


def test_csv_unclosed_quote_at_the_end_is_a_bad_record():
    result = items(csv_config(), b'id,note\n1,"never closed\n2,x\n')
    assert bad(result) == [(2, "malformed CSV: unexpected end of data")]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"id,id\n1,2\n", "header: column 'id' appears twice"),
        (b"id,\n1,2\n", "header: a column has no name"),
        (b"code,qty\n1,2\n", "header: configured field 'id' is not a column"),
    ],
    ids=["duplicate-column", "unnamed-column", "key-field-not-in-header"],
)
def test_csv_bad_header_stops_with_one_bad_record(data: bytes, reason: str):
    result = items(csv_config(key_field="id"), data)
    assert len(result) == 1
    assert result[0].line == 1
    assert result[0].reason.startswith(reason)


def test_csv_byte_order_mark_crlf_blank_lines_and_other_delimiter():
    data = b"\xef\xbb\xbfid;qty\r\n1;2\r\n\r\n2;3\r\n"
    result = items(csv_config(key_field="id", delimiter=";"), data)
    assert [r["value"] for r in result] == [{"id": "1", "qty": "2"}, {"id": "2", "qty": "3"}]


def test_csv_empty_input_yields_nothing():
    assert items(csv_config(), b"") == []


def test_jsonl_lines_become_records_with_event_time_from_a_field():
    data = b'{"id": "a", "ts": "2023-11-14T22:13:20Z", "n": 1}\n\n{"id": "b", "ts": 1700000000999, "n": 2}\n'
    result = items(jsonl_config(key_field="id", time_field="ts"), data)
    assert [(r["key"], r["event_time_ms"], r["value"]["n"]) for r in result] == [("a", 1700000000000, 1), ("b", 1700000000999, 2)]


def test_jsonl_bad_lines():
    data = b'{"id": 1}\n{"id": \n[1, 2]\n{"id": 2, "n": "x"}\n{"n": 1}\n{"id": 3, "ts": "later"}\n'
    result = items(jsonl_config(key_field="id", time_field=None, column_types={"n": "integer"}), data)
    assert [r["key"] for r in good(result)] == ["1", "3"]
    assert bad(result) == [
        (2, "invalid JSON: Expecting value at column 8"),
        (3, "a JSON Lines record must be an object, got list"),
        (4, "field 'n': 'x' is not an integer"),
        (5, "key_field 'id': missing"),
    ]


def test_too_long_line_is_skipped_without_losing_the_next():
    long_line = b'{"id": "' + b"x" * 5000 + b'"}\n'
    result = items(jsonl_config(key_field="id", max_line_bytes=100), long_line + b'{"id": "ok"}\n')
    assert bad(result) == [(1, "line longer than 100 bytes")]
    assert result[1]["key"] == "ok"
    assert len(result[0].raw) <= 200


def test_line_of_exactly_the_limit_is_accepted():
    line = b'{"id": "' + b"x" * 90 + b'"}'
    assert len(line) == 100
    assert good(items(jsonl_config(key_field="id", max_line_bytes=100), line + b"\n" + line))[1]["key"] == "x" * 90


def test_too_long_csv_line_is_a_bad_record():
    data = b"id,note\n1," + b"y" * 500 + b"\n2,ok\n"
    result = items(csv_config(key_field="id", max_line_bytes=64), data)
    assert bad(result) == [(2, "line longer than 64 bytes")]
    assert [r["key"] for r in good(result)] == ["2"]


@pytest.mark.parametrize("kind", ["path", "bytes", "binary-file", "text-file"])
def test_inputs(kind: str, tmp_path):
    text = '{"id": "é"}\n'
    body = {
        "bytes": text.encode(),
        "binary-file": io.BytesIO(text.encode()),
        "text-file": io.StringIO(text),
    }.get(kind)
    if kind == "path":
        body = tmp_path / "in.jsonl"
        body.write_text(text, encoding="utf-8")
    assert [r["key"] for r in items(jsonl_config(key_field="id"), body)] == ["é"]


class EndlessBody(io.RawIOBase):
    """A body that never ends: only a streaming reader can yield its first records."""

    def __init__(self, header: bytes, line: bytes) -> None:
        self.header, self.line = header, line
        self.lines_served = 0

    def readable(self) -> bool:
        return True

    def readline(self, limit: int = -1) -> bytes:
        self.lines_served += 1
        if self.lines_served == 1 and self.header:
            return self.header
        return self.line % self.lines_served

    def read(self, size: int = -1) -> bytes:
        return b""


@pytest.mark.parametrize(
    ("config", "header", "line"),
    [(jsonl_config(key_field="id"), b"", b'{"id": "%d"}\n'), (csv_config(key_field="id"), b"id\n", b"%d\n")],
    ids=["jsonl", "csv"],
)
def test_reading_is_streamed(config: FileSourceConfig, header: bytes, line: bytes):
    body = EndlessBody(header, line)
    first = list(itertools.islice(read_records(config, body, NOW), 3))
    assert len(first) == 3
    assert body.lines_served <= 10
