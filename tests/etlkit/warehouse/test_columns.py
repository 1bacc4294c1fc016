from decimal import Decimal

import pytest

from etlkit.warehouse.columns import (
    Column,
    ColumnType,
    columns_from_json_schema,
    columns_from_rows,
    columns_to_add,
    type_of_schema,
    with_key_column,
)
from etlkit.warehouse.errors import SchemaConflict
from etlkit.warehouse.identifiers import InvalidIdentifier

T = ColumnType


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "string"}, T.TEXT),
        ({"type": "string", "format": "date-time"}, T.TIMESTAMP),
        ({"type": "string", "format": "email"}, T.TEXT),
        ({"type": "integer"}, T.INTEGER),
        ({"type": "number"}, T.REAL),
        ({"type": "number", "multipleOf": 1}, T.INTEGER),
        ({"type": "boolean"}, T.BOOLEAN),
        ({"type": "object", "properties": {"a": {"type": "string"}}}, T.JSON),
        ({"type": "array", "items": {"type": "integer"}}, T.JSON),
        ({"type": ["integer", "null"]}, T.INTEGER),
        ({"type": ["integer", "string"]}, T.JSON),
        ({}, T.JSON),
        ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, T.JSON),
        (True, T.JSON),
    ],
    ids=[
        "string",
        "date-time-string",
        "other-format-stays-text",
        "integer",
        "number",
        "number-multiple-of-one-is-integer",
        "boolean",
        "nested-object-as-json",
        "array-as-json",
        "nullable-integer",
        "union-of-types-as-json",
        "untyped-as-json",
        "any-of-as-json",
        "boolean-schema-as-json",
    ],
)
def test_type_of_schema(schema, expected: ColumnType):
    assert type_of_schema(schema) is expected


def test_columns_from_json_schema_keep_declaration_order():
    schema = {
        "type": "object",
        "properties": {"id": {"type": "string"}, "qty": {"type": "integer"}, "at": {"type": "string", "format": "date-time"}},
    }
    assert columns_from_json_schema(schema) == (Column("id", T.TEXT), Column("qty", T.INTEGER), Column("at", T.TIMESTAMP))


def test_schema_property_that_is_not_an_identifier_is_refused_by_name():
    with pytest.raises(InvalidIdentifier, match="'first-name'"):
        columns_from_json_schema({"properties": {"first-name": {"type": "string"}}})


def test_schema_without_properties_is_refused():
    with pytest.raises(SchemaConflict, match="schema.properties"):
        columns_from_json_schema({"type": "object"})


class _Int(int):
    pass


class _Text(str):
    pass


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, 2], T.INTEGER),
        ([1, 2.5], T.REAL),
        ([True, False], T.BOOLEAN),
        (["a", None], T.TEXT),
        ([None, None], T.TEXT),
        ([{"a": 1}], T.JSON),
        ([[1, 2]], T.JSON),
        ([1, "a"], T.JSON),
        ([True, 1], T.JSON),
        ([None, 1, 2], T.INTEGER),
        ([1, None, 2.5, None], T.REAL),
        ([2.5, "a", 1], T.JSON),
        ([_Int(1), 2], T.INTEGER),
        ([_Text("a"), "b"], T.TEXT),
        ([Decimal("1.5"), None], T.DECIMAL),
        ([1, 2**63], T.DECIMAL),
        ([-(2**63) - 1], T.DECIMAL),
        ([1, Decimal("1.5")], T.DECIMAL),
        ([2.5, Decimal("1.5")], T.DECIMAL),
        ([1, 2.5, Decimal("1.5")], T.DECIMAL),
        ([Decimal("1.5"), "a"], T.JSON),
    ],
    ids=[
        "integers",
        "integers-and-floats-widen-to-real",
        "booleans",
        "text-with-nulls",
        "only-nulls-default-to-text",
        "object",
        "array",
        "number-and-text-mix-to-json",
        "boolean-is-not-an-integer",
        "nulls-then-integers",
        "nulls-between-widening",
        "json-stays-json",
        "int-subclass-is-an-integer",
        "str-subclass-is-text",
        "decimal",
        "integer-past-int64-is-decimal",
        "integer-below-int64-is-decimal",
        "integer-and-decimal-widen-to-decimal",
        "float-and-decimal-widen-to-decimal",
        "all-three-numbers-widen-to-decimal",
        "decimal-and-text-mix-to-json",
    ],
)
def test_columns_from_rows(values: list, expected: ColumnType):
    rows = [{"id": str(i), "v": value} for i, value in enumerate(values)]
    assert columns_from_rows(rows) == (Column("id", T.TEXT), Column("v", expected))


def test_columns_from_rows_keep_first_seen_order_across_rows():
    assert [c.name for c in columns_from_rows([{"b": 1}, {"a": 1, "b": 2}, {"c": 3}])] == ["b", "a", "c"]


def test_with_key_column_puts_key_first_and_defaults_to_text():
    columns = (Column("qty", T.INTEGER), Column("id", T.INTEGER))
    assert with_key_column(columns, "id") == (Column("id", T.INTEGER), Column("qty", T.INTEGER))
    assert with_key_column(columns, "key") == (Column("key", T.TEXT), *columns)


def test_columns_to_add_lists_only_missing_and_keeps_existing_types():
    existing = (Column("id", T.TEXT), Column("qty", T.INTEGER))
    wanted = (Column("id", T.TEXT), Column("qty", T.REAL), Column("note", T.TEXT))
    assert columns_to_add(existing, wanted) == (Column("note", T.TEXT),)


def test_columns_differing_only_by_case_conflict():
    with pytest.raises(SchemaConflict, match="'Qty'.*'qty'"):
        columns_to_add((Column("qty", T.INTEGER),), (Column("Qty", T.INTEGER),))


def test_column_refuses_unsafe_name():
    with pytest.raises(InvalidIdentifier, match="column"):
        Column('x" text); DROP TABLE t; --', T.TEXT)
