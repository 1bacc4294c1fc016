"""Record validation and with_value."""
import dataclasses

import pytest

from etlkit.steps import Record
from etlkit.steps.record import trusted_record


@pytest.mark.parametrize("fields, message", [
    pytest.param({"value": [1]}, "Record.value: must be a JSON object", id="value-list"),
    pytest.param({"value": {}, "key": 5}, "Record.key: must be text or None", id="key-number"),
    pytest.param({"value": {}, "headers": {"a": 1}}, "Record.headers['a']", id="header-number"),
    pytest.param({"value": {}, "headers": [("a", "b")]}, "Record.headers: must be a dict", id="headers-list"),
    pytest.param({"value": {}, "partition": "0"}, "Record.partition: must be an integer", id="partition-text"),
    pytest.param({"value": {}, "timestamp": 1.5}, "Record.timestamp: must be an integer", id="timestamp-float"),
])
def test_invalid_records_are_refused(fields, message):
    with pytest.raises(TypeError) as caught:
        Record(**fields)
    assert str(caught.value).startswith(message)


def test_records_are_frozen_and_keyword_only():
    record = Record(value={"a": 1}, key="k")
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.key = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Record({"a": 1})  # type: ignore[misc]


def test_with_value_keeps_everything_else():
    record = Record(value={"a": 1}, key="k", headers={"h": "v"}, topic="t", partition=1, offset=2,
                    timestamp=3)
    assert record.with_value({"b": 2}) == dataclasses.replace(record, value={"b": 2})


def test_a_trusted_record_is_a_record_like_any_other():
    fields = {"value": {"a": 1}, "key": "k", "headers": {"h": "v"}, "topic": "t", "partition": 1,
              "offset": 2, "timestamp": 3}
    record = trusted_record(*fields.values())
    assert record == Record(**fields) and repr(record) == repr(Record(**fields))
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.value = {}  # type: ignore[misc]
