"""Go's time texts: the per-message fast form agrees with the general one."""
import pytest

from devstack.argo.gotime import from_epoch_ms, go_time_string, utc_time_string_of_ms


@pytest.mark.parametrize("ms", [0, 1, 10, 100, 120, 999, 1000, 1717232400000, 1717232400050,
                                1717232400123, -1, -1500, 253402300799999],
                         ids=["epoch", "1ms", "10ms", "100ms", "120ms", "999ms", "1s", "whole-second",
                              "50ms", "123ms", "before-epoch", "before-epoch-fraction", "year-9999"])
def test_kafka_timestamp_text_equals_go_time_string(ms):
    assert utc_time_string_of_ms(ms) == go_time_string(from_epoch_ms(ms))


def test_trailing_zeros_of_the_fraction_are_trimmed_as_go_does():
    assert utc_time_string_of_ms(1717232400120) == "2024-06-01 09:00:00.12 +0000 UTC"
    assert utc_time_string_of_ms(1717232400000) == "2024-06-01 09:00:00 +0000 UTC"
