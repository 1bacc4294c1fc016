"""The record time that closes a bounded sample's aggregate windows."""
import pytest

from devstack.pipeline.closing import closing_time, newest_event
from etlkit.steps.aggregation import AggregateConfig
from etlkit.steps.record import Record
from etlkit.steps.windows import WindowState

MINUTE = 60_000


@pytest.mark.parametrize(("newest", "lateness", "expected"), [
    pytest.param(90_000, 0, 120_000, id="mid-window"),
    pytest.param(60_000, 0, 120_000, id="on-a-window-start"),
    pytest.param(119_999, 3_600_000, 3_720_000, id="with-lateness"),
])
def test_closing_time(newest, lateness, expected):
    assert closing_time(newest, MINUTE, lateness) == expected


@pytest.mark.parametrize("lateness", ["0s", "5s", "1h"])
def test_a_record_at_the_closing_time_emits_every_window_and_one_ms_less_does_not(lateness):
    config = AggregateConfig.from_dict({"window": "1m", "allowed_lateness": lateness,
                                        "aggregations": {"n": {"count": "*"}}})
    times = [1_000, 61_000, 119_999]
    moment = closing_time(max(times), MINUTE, config.allowed_lateness_ms)
    for closer, all_emitted in ((moment - 1, False), (moment, True)):
        state, counted = WindowState(config), 0
        for t in [*times, closer]:
            counted += sum(r.value["n"] for r in state.absorb(Record(value={}, timestamp=t)))
        if all_emitted:
            assert counted == 3 and state.open_windows == 1  # only the closer's own window is open
        else:
            assert counted < 3  # the sample's last window is still open

def test_newest_event_reads_the_time_field_or_the_header_and_skips_unreadable_ones():
    by_field = AggregateConfig.from_dict({"window": "1m", "time_field": "at", "aggregations": {"n": {"count": "*"}}})
    values = [{"at": 5}, {"at": "2024-06-01T09:00:00Z"}, {"at": "soon"}, {}]
    assert newest_event(values, [{}] * 4, by_field) == 1_717_232_400_000
    by_header = AggregateConfig.from_dict({"window": "1m", "aggregations": {"n": {"count": "*"}}})
    assert newest_event([{}, {}], [{"etl-event-time": "7"}, {"etl-event-time": "3"}], by_header) == 7
    assert newest_event([], [], by_header) is None
