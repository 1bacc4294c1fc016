"""Where a record's event time comes from, in order of preference."""
import pytest

from etlkit.steps import EVENT_TIME_HEADER, Record, RecordError, event_time_ms


def test_field_then_header_then_kafka_timestamp():
    record = Record(value={"ts": "1970-01-01T00:00:01Z"}, headers={EVENT_TIME_HEADER: "2000"},
                    timestamp=3000)
    assert event_time_ms(record, ("ts",)) == 1000
    assert event_time_ms(record) == 2000
    assert event_time_ms(Record(value={}, timestamp=3000)) == 3000


@pytest.mark.parametrize("record, field, reason", [
    pytest.param(Record(value={"ts": True}), ("ts",), "event time field ts: cannot cast bool", id="bool-field"),
    pytest.param(Record(value={}, headers={EVENT_TIME_HEADER: "1.5"}), None,
                 "header etl-event-time: '1.5' is not epoch milliseconds", id="fractional-header"),
    pytest.param(Record(value={}, headers={EVENT_TIME_HEADER: "9" * 30}), None,
                 "is not epoch milliseconds", id="absurd-header"),
])
def test_unusable_event_times(record, field, reason):
    with pytest.raises(RecordError) as caught:
        event_time_ms(record, field)
    assert reason in caught.value.reason
