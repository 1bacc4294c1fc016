import datetime as dt

import pytest

from etlkit.sources.records import RecordError, epoch_ms, event_time_of, key_of


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1700000000123, 1700000000123),
        (1700000000123.9, 1700000000123),
        ("1700000000123", 1700000000123),
        ("2023-11-14T22:13:20.123Z", 1700000000123),
        ("2023-11-15T00:13:20.123+02:00", 1700000000123),
        ("2023-11-14 22:13:20.123", 1700000000123),
        (dt.datetime(2023, 11, 14, 22, 13, 20, 123999, tzinfo=dt.timezone.utc), 1700000000123),
        (dt.date(1970, 1, 2), 86_400_000),
    ],
    ids=["epoch-ms", "fractional-ms-truncated", "digit-text", "iso-zulu", "iso-offset", "naive-iso-is-utc", "datetime-microseconds-truncated", "date-midnight"],
)
def test_epoch_ms(value, expected: int):
    assert epoch_ms(value) == expected


@pytest.mark.parametrize("value", [True, "next week", float("nan"), [1]], ids=["boolean", "words", "nan", "list"])
def test_epoch_ms_refuses(value):
    with pytest.raises(RecordError):
        epoch_ms(value)


def test_event_time_defaults_to_now_and_names_a_missing_field():
    assert event_time_of({"a": 1}, None, 42) == 42
    with pytest.raises(RecordError, match="time_field 'ts': missing"):
        event_time_of({"a": 1}, "ts", 42)
    with pytest.raises(RecordError, match="time_field 'ts': 'soon'"):
        event_time_of({"ts": "soon"}, "ts", 42)


@pytest.mark.parametrize(
    ("value", "expected"),
    [({"id": 7}, "7"), ({"id": "a"}, "a"), ({"id": True}, "true"), ({"id": 1.5}, "1.5")],
    ids=["integer-as-text", "text", "boolean-as-json-word", "float"],
)
def test_key_of(value, expected: str):
    assert key_of(value, "id") == expected


@pytest.mark.parametrize(("value", "reason"), [({}, "missing"), ({"id": ""}, "missing"), ({"id": None}, "missing"), ({"id": {"a": 1}}, "scalar")], ids=["absent", "empty", "null", "object"])
def test_key_of_refuses(value, reason: str):
    with pytest.raises(RecordError, match=f"key_field 'id': .*{reason}"):
        key_of(value, "id")


def test_no_key_field_means_no_key():
    assert key_of({"id": 1}, None) is None
