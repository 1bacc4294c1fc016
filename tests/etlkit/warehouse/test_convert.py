import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etlkit.warehouse.columns import Column, ColumnType
from etlkit.warehouse.convert import ConversionError, convert_rows, to_json
from etlkit.warehouse.convert import CONVERTERS
from etlkit.warehouse.errors import SchemaConflict

T = ColumnType
UTC = dt.timezone.utc


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (T.TEXT, "hello", "hello"),
        (T.TEXT, 42, "42"),
        (T.TEXT, {"b": 1, "a": 2}, '{"a":2,"b":1}'),
        (T.INTEGER, 42, 42),
        (T.INTEGER, 42.0, 42),
        (T.INTEGER, " -7 ", -7),
        (T.INTEGER, 2**63 - 1, 2**63 - 1),
        (T.REAL, 1, 1.0),
        (T.REAL, "2.5", 2.5),
        (T.BOOLEAN, True, True),
        (T.BOOLEAN, "FALSE", False),
        (T.BOOLEAN, 1, True),
        (T.JSON, {"z": [1, None], "a": "é"}, '{"a":"é","z":[1,null]}'),
        (T.JSON, "plain", '"plain"'),
        (T.TIMESTAMP, "2024-03-01T12:00:00Z", dt.datetime(2024, 3, 1, 12, tzinfo=UTC)),
        (T.TIMESTAMP, "2024-03-01T14:00:00+02:00", dt.datetime(2024, 3, 1, 12, tzinfo=UTC)),
        (T.TIMESTAMP, "2024-03-01 12:00:00", dt.datetime(2024, 3, 1, 12, tzinfo=UTC)),
        (T.TIMESTAMP, "2024-03-01", dt.datetime(2024, 3, 1, tzinfo=UTC)),
        (T.DECIMAL, Decimal("1.50"), Decimal("1.50")),
        (T.DECIMAL, 2**70, Decimal(2**70)),
        (T.DECIMAL, 0.1, Decimal("0.1")),
        (T.DECIMAL, " -1.5e3 ", Decimal("-1.5e3")),
        (T.JSON, {"d": Decimal("123456789012345678901234567890.123"), "a": "é"},
         '{"a":"é","d":123456789012345678901234567890.123}'),
        (T.TEXT, Decimal("1E+400"), "1E+400"),
        (T.INTEGER, Decimal("12"), 12),
        (T.REAL, Decimal("1.5"), 1.5),
    ],
    ids=[
        "text",
        "number-into-text-as-json",
        "object-into-text-as-sorted-json",
        "integer",
        "integral-float-to-integer",
        "integer-text-with-spaces",
        "int64-max",
        "integer-to-real",
        "numeric-text-to-real",
        "boolean",
        "boolean-word-any-case",
        "one-is-true",
        "json-sorted-compact-unicode-kept",
        "json-string",
        "timestamp-zulu",
        "timestamp-offset-normalised-to-utc",
        "naive-timestamp-is-utc",
        "date-is-midnight-utc",
        "decimal-kept-as-written",
        "integer-past-64-bits-to-decimal",
        "float-to-decimal-as-its-shortest-text",
        "number-text-to-decimal",
        "json-keeps-a-decimals-digits",
        "decimal-into-text-as-its-digits",
        "integral-decimal-to-integer",
        "decimal-to-real-as-the-column-asks",
    ],
)
def test_converts(kind: ColumnType, value, expected):
    converted = CONVERTERS[kind](value)
    assert converted == expected
    assert type(converted) is type(expected)


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        (T.TEXT, "a\x00b", "NUL"),
        (T.TEXT, "\ud800", "surrogate"),
        (T.INTEGER, "12abc", "not an integer"),
        (T.INTEGER, 1.5, "not an integer"),
        (T.INTEGER, True, "boolean"),
        (T.INTEGER, 2**63, "64-bit"),
        (T.INTEGER, [1], "not an integer"),
        (T.REAL, "nan", "finite"),
        (T.REAL, float("inf"), "finite"),
        (T.REAL, 10**400, "finite"),
        (T.REAL, False, "boolean"),
        (T.BOOLEAN, "maybe", "not a boolean"),
        (T.BOOLEAN, 2, "not a boolean"),
        (T.JSON, {"a": float("nan")}, "JSON"),
        (T.JSON, {"a": "\x00"}, "NUL"),
        (T.JSON, {1, 2}, "JSON"),
        (T.TIMESTAMP, "yesterday", "ISO 8601"),
        (T.TIMESTAMP, 1700000000000, "ISO 8601"),
        (T.DECIMAL, True, "finite number"),
        (T.DECIMAL, "1.2.3", "finite number"),
        (T.DECIMAL, Decimal("NaN"), "finite number"),
        (T.DECIMAL, float("inf"), "finite number"),
        (T.INTEGER, Decimal("1.5"), "not an integer"),
        (T.JSON, {"a": Decimal("Infinity")}, "JSON"),
    ],
    ids=[
        "text-with-nul",
        "text-with-lone-surrogate",
        "integer-from-garbage-text",
        "integer-from-fraction",
        "integer-from-boolean",
        "integer-overflow",
        "integer-from-list",
        "real-nan-text",
        "real-infinity",
        "real-overflow",
        "real-from-boolean",
        "boolean-unknown-word",
        "boolean-from-two",
        "json-with-nan",
        "json-with-nul",
        "json-unserialisable-set",
        "timestamp-unparseable",
        "timestamp-from-epoch-number",
        "decimal-from-boolean",
        "decimal-from-garbage-text",
        "decimal-nan",
        "decimal-from-infinity",
        "integer-from-fractional-decimal",
        "json-with-decimal-infinity",
    ],
)
def test_refuses_with_reason(kind: ColumnType, value, reason: str):
    with pytest.raises(ConversionError, match=reason):
        CONVERTERS[kind](value)


COLUMNS = (Column("id", T.TEXT), Column("qty", T.INTEGER), Column("note", T.TEXT))


def test_convert_rows_orders_values_fills_missing_and_ignores_extra_fields():
    batch = convert_rows(COLUMNS, "id", [{"note": "n", "id": "a", "extra": 1}])
    assert batch.rows == (("a", None, "n"),)
    assert batch.rejected == ()


def test_duplicate_key_keeps_last_occurrence_at_first_position():
    rows = [{"id": "a", "qty": 1}, {"id": "b", "qty": 2}, {"id": "a", "qty": 3}]
    assert convert_rows(COLUMNS, "id", rows).rows == (("a", 3, None), ("b", 2, None))


def test_duplicate_key_whose_last_occurrence_is_bad_keeps_the_good_one():
    rows = [{"id": "a", "qty": 1}, {"id": "a", "qty": "x"}]
    batch = convert_rows(COLUMNS, "id", rows)
    assert batch.rows == (("a", 1, None),)
    assert [r.index for r in batch.rejected] == [1]


def test_rejected_rows_carry_index_reason_and_row():
    rows = [{"id": "a", "qty": "many"}, {"qty": 1}, ["not", "a", "row"], {"id": "ok"}]
    batch = convert_rows(COLUMNS, "id", rows)
    assert batch.rows == (("ok", None, None),)
    assert [(r.index, r.reason) for r in batch.rejected] == [
        (0, "column 'qty': 'many' is not an integer"),
        (1, "column 'id' (the key): missing"),
        (2, "row: must be an object, got list"),
    ]
    assert batch.rejected[0].row == rows[0]


def test_integer_key_dedupes_text_and_number_forms():
    columns = (Column("id", T.INTEGER), Column("v", T.TEXT))
    assert convert_rows(columns, "id", [{"id": 7, "v": "a"}, {"id": "7", "v": "b"}]).rows == ((7, "b"),)


def test_key_column_must_be_a_column():
    with pytest.raises(SchemaConflict, match="key column 'nope'"):
        convert_rows(COLUMNS, "nope", [])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)


@given(json_values)
def test_json_round_trips_or_is_refused_for_nul(value):
    try:
        text = to_json(value)
    except ConversionError as refused:
        assert "NUL" in str(refused) or "surrogate" in str(refused)
        return
    assert json.loads(text) == value
    assert to_json(json.loads(text)) == text  # canonical: stable under a round trip
