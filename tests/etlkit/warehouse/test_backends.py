"""Both backends, for real: what the Warehouse protocol promises, read back independently."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from etlkit.warehouse import (
    BadDataError,
    Column,
    ColumnType,
    InvalidIdentifier,
    SchemaConflict,
    WarehouseError,
    columns_from_json_schema,
)
from tests.etlkit.warehouse.conftest import Backend

T = ColumnType
ORDERS_V1 = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "qty": {"type": "integer"},
        "price": {"type": "number"},
        "paid": {"type": "boolean"},
        "at": {"type": "string", "format": "date-time"},
        "lines": {"type": "array"},
    },
}
ORDERS_V2 = {"type": "object", "properties": {**ORDERS_V1["properties"], "coupon": {"type": ["string", "null"]}}}


def order(key: str, qty: int, **extra) -> dict:
    return {"id": key, "qty": qty, "price": qty * 1.5, "paid": qty % 2 == 0, "at": "2024-05-01T10:00:00Z", "lines": [{"sku": "x", "n": qty}], **extra}


def normalised(backend: Backend, value):
    """Stored values as Python sees them through each driver (SQLite keeps text and 0/1)."""
    if isinstance(value, str) and backend.name == "sqlite" and value.startswith(("[", "{")):
        return json.loads(value)
    return value


def test_upsert_stores_typed_values(backend: Backend, table: str):
    backend.warehouse.ensure_table(table, columns_from_json_schema(ORDERS_V1), "id")
    assert backend.warehouse.upsert(table, "id", [order("a", 2), order("b", 3)]) == 2

    stored = backend.rows(table)
    assert [row[:4] for row in stored] == [("a", 2, 3.0, True), ("b", 3, 4.5, False)]
    at, lines = stored[0][4], normalised(backend, stored[0][5])
    if backend.name == "sqlite":
        assert at == "2024-05-01T10:00:00.000000+00:00"
    else:
        assert at == dt.datetime(2024, 5, 1, 10, tzinfo=dt.timezone.utc)
    assert lines == [{"n": 2, "sku": "x"}]
    assert backend.warehouse.count(table) == 2


def test_replaying_a_batch_never_duplicates(backend: Backend, table: str):
    backend.warehouse.ensure_table(table, columns_from_json_schema(ORDERS_V1), "id")
    batch = [order(f"k{i}", i) for i in range(50)]
    for _ in range(3):
        assert backend.warehouse.upsert(table, "id", batch) == 50
    assert backend.warehouse.count(table) == 50
    assert backend.query(f'SELECT COUNT(DISTINCT "id") FROM "{table}"') == [(50,)]


def test_duplicate_key_in_one_batch_resolves_to_last(backend: Backend, table: str):
    backend.warehouse.ensure_table(table, columns_from_json_schema(ORDERS_V1), "id")
    written = backend.warehouse.upsert(table, "id", [order("a", 1), order("b", 2), order("a", 7)])
    assert written == 2
    assert backend.query(f'SELECT "id", "qty" FROM "{table}" ORDER BY 1') == [("a", 7), ("b", 2)]


def test_upsert_replaces_the_whole_row(backend: Backend, table: str):
    backend.warehouse.ensure_table(table, columns_from_json_schema(ORDERS_V2), "id")
    backend.warehouse.upsert(table, "id", [order("a", 1, coupon="SPRING")])
    backend.warehouse.upsert(table, "id", [order("a", 2)])  # no coupon any more
    assert backend.query(f'SELECT "qty", "coupon" FROM "{table}"') == [(2, None)]


def test_schema_evolution_adds_optional_column(backend: Backend, table: str):
    warehouse = backend.warehouse
    warehouse.ensure_table(table, columns_from_json_schema(ORDERS_V1), "id")
    warehouse.upsert(table, "id", [order("old", 1)])

    columns = warehouse.ensure_table(table, columns_from_json_schema(ORDERS_V2), "id")

    assert columns[-1] == Column("coupon", T.TEXT)
    warehouse.upsert(table, "id", [order("new", 2, coupon="SPRING")])
    assert backend.query(f'SELECT "id", "coupon" FROM "{table}" ORDER BY 1') == [("new", "SPRING"), ("old", None)]


def test_evolution_seen_by_a_second_instance(backend: Backend, table: str):
    from etlkit.warehouse import open_warehouse

    backend.warehouse.ensure_table(table, columns_from_json_schema(ORDERS_V1), "id")
    other = open_warehouse(backend.url)
    try:
        other.ensure_table(table, columns_from_json_schema(ORDERS_V1), "id")
        backend.warehouse.ensure_table(table, columns_from_json_schema(ORDERS_V2), "id")
        columns = other.ensure_table(table, columns_from_json_schema(ORDERS_V2), "id")  # already added
        other.upsert(table, "id", [order("x", 1, coupon="C")])
    finally:
        other.close()
    assert [c.name for c in columns].count("coupon") == 1
    assert backend.query(f'SELECT "coupon" FROM "{table}"') == [("C",)]


def test_existing_column_keeps_its_type(backend: Backend, table: str):
    backend.warehouse.ensure_table(table, [Column("qty", T.INTEGER)], "id")
    columns = backend.warehouse.ensure_table(table, [Column("qty", T.TEXT)], "id")
    assert Column("qty", T.INTEGER) in columns


def test_case_conflicting_column_is_refused(backend: Backend, table: str):
    backend.warehouse.ensure_table(table, [Column("qty", T.INTEGER)], "id")
    with pytest.raises(SchemaConflict, match="'Qty'"):
        backend.warehouse.ensure_table(table, [Column("Qty", T.INTEGER)], "id")


@pytest.mark.parametrize(
    "evil",
    ['x"; DROP TABLE victim; --', "victim; DELETE FROM victim", "victim--"],
    ids=["quote-breakout", "statement-chaining", "comment"],
)
def test_identifier_injection_is_refused_before_any_sql(backend: Backend, table: str, evil: str):
    victim = table + "_victim"
    backend.warehouse.ensure_table(victim, [], "id")
    backend.warehouse.upsert(victim, "id", [{"id": "precious"}])
    with pytest.raises(InvalidIdentifier, match="table"):
        backend.warehouse.ensure_table(evil, [], "id")
    with pytest.raises(InvalidIdentifier, match="key column"):
        backend.warehouse.ensure_table(table, [], evil)
    with pytest.raises(InvalidIdentifier):
        backend.warehouse.upsert(evil, "id", [{"id": "x"}])
    with pytest.raises(InvalidIdentifier):
        backend.warehouse.count(evil)
    assert backend.rows(victim) == [("precious",)]


def test_values_are_parameters_not_sql(backend: Backend, table: str):
    payload = "'); DROP TABLE x; --"
    backend.warehouse.ensure_table(table, [Column("note", T.TEXT)], "id")
    backend.warehouse.upsert(table, "id", [{"id": payload, "note": payload}])
    assert backend.rows(table) == [(payload, payload)]


def test_unconvertible_rows_are_listed_and_nothing_is_written(backend: Backend, table: str):
    backend.warehouse.ensure_table(table, columns_from_json_schema(ORDERS_V1), "id")
    batch = [order("a", 1), order("b", 2) | {"qty": "lots"}, order("c", 3) | {"at": "soon"}]
    with pytest.raises(BadDataError) as refused:
        backend.warehouse.upsert(table, "id", batch)
    assert [(r.index, r.reason) for r in refused.value.rejected] == [
        (1, "column 'qty': 'lots' is not an integer"),
        (2, "column 'at': 'soon' is not an ISO 8601 date-time"),
    ]
    assert backend.warehouse.count(table) == 0


def test_database_refusal_rolls_back_the_whole_batch(backend: Backend, table: str):
    backend.query(f'CREATE TABLE "{table}" ("id" TEXT PRIMARY KEY, "qty" BIGINT CHECK ("qty" >= 0))')
    with pytest.raises(BadDataError) as refused:
        backend.warehouse.upsert(table, "id", [{"id": "a", "qty": 1}, {"id": "b", "qty": -1}])
    assert refused.value.rejected == ()  # the database did not say which row
    assert backend.warehouse.count(table) == 0
    assert backend.warehouse.upsert(table, "id", [{"id": "a", "qty": 1}]) == 1  # still usable


def test_integer_key_and_key_only_table(backend: Backend, table: str):
    backend.warehouse.ensure_table(table, [Column("n", T.INTEGER)], "n")
    assert backend.warehouse.upsert(table, "n", [{"n": 3}, {"n": "3"}, {"n": 1}]) == 2
    assert backend.warehouse.upsert(table, "n", [{"n": 1}]) == 1
    assert backend.rows(table) == [(1,), (3,)]


def test_unknown_table_is_a_configuration_error(backend: Backend, table: str):
    with pytest.raises(WarehouseError, match="does not exist"):
        backend.warehouse.upsert(table, "id", [{"id": "a"}])


def test_foreign_table_columns_are_read_back(backend: Backend, table: str):
    backend.query(f'CREATE TABLE "{table}" ("id" TEXT PRIMARY KEY, "n" INTEGER, "x" DOUBLE PRECISION, "s" VARCHAR(10))')
    columns = backend.warehouse.ensure_table(table, [], "id")
    assert columns == (Column("id", T.TEXT), Column("n", T.INTEGER), Column("x", T.REAL), Column("s", T.TEXT))
    backend.warehouse.upsert(table, "id", [{"id": "a", "n": "4", "x": 2, "s": "ok"}])
    assert backend.rows(table) == [("a", 4, 2.0, "ok")]


def test_empty_batch_writes_nothing(backend: Backend, table: str):
    backend.warehouse.ensure_table(table, [], "id")
    assert backend.warehouse.upsert(table, "id", []) == 0
    assert backend.warehouse.count(table) == 0


def test_close_twice_is_harmless(backend: Backend):
    backend.warehouse.close()
    backend.warehouse.close()
