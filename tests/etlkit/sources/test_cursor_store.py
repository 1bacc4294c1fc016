import datetime as dt
import decimal
import os
import uuid

import pytest

from etlkit.sources.cursor_store import Cursor, FileCursorStore


@pytest.mark.parametrize(
    "value",
    [
        42,
        "2024-01-01",
        1.25,
        dt.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=dt.timezone.utc),
        dt.datetime(2024, 1, 2, 3, 4, 5),
        dt.date(2024, 1, 2),
        decimal.Decimal("12.500"),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        2**70,
    ],
    ids=["integer", "text", "float", "aware-datetime", "naive-datetime", "date", "decimal-keeps-scale", "uuid", "big-integer"],
)
def test_values_keep_their_type_across_a_restart(tmp_path, value):
    FileCursorStore(tmp_path).put("orders", Cursor(value, "k-1"))
    restored = FileCursorStore(tmp_path).get("orders")  # a new store: as after a restart
    assert restored == Cursor(value, "k-1")
    assert type(restored.value) is type(value)
    assert str(restored.value) == str(value)


def test_unknown_source_has_no_cursor(tmp_path):
    assert FileCursorStore(tmp_path).get("never-committed") is None


def test_put_replaces_and_leaves_no_temporary_files(tmp_path):
    store = FileCursorStore(tmp_path)
    for n in range(5):
        store.put("orders", Cursor(n, n))
    assert store.get("orders") == Cursor(4, 4)
    assert sorted(os.listdir(tmp_path)) == ["orders.cursor.json"]


def test_sources_are_kept_apart(tmp_path):
    store = FileCursorStore(tmp_path)
    store.put("a", Cursor(1, 1))
    store.put("b", Cursor(2, 2))
    assert (store.get("a"), store.get("b")) == (Cursor(1, 1), Cursor(2, 2))


@pytest.mark.parametrize("name", ["../escape", ".hidden", "a/b", ""], ids=["parent-traversal", "dot-file", "slash", "empty"])
def test_names_that_are_not_plain_file_names_are_refused(tmp_path, name: str):
    with pytest.raises(ValueError, match="source name"):
        FileCursorStore(tmp_path).put(name, Cursor(1, 1))


def test_unstorable_value_is_refused_without_touching_the_file(tmp_path):
    store = FileCursorStore(tmp_path)
    store.put("orders", Cursor(1, 1))
    with pytest.raises(TypeError, match="bytes"):
        store.put("orders", Cursor(b"raw", 1))
    assert store.get("orders") == Cursor(1, 1)
