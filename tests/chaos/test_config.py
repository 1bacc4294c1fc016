"""Chaos settings are validated with the setting and rule named; the schedule is even and fair."""
from collections import Counter

import pytest

from devstack.chaos.config import FAULTS, ChaosConfig, ChaosConfigError, schedule


@pytest.mark.parametrize("settings,named", [
    ({"duration_s": 0}, "duration_s"),
    ({"writers": 0}, "writers"),
    ({"batch_records": 10_001}, "batch_records"),
    ({"faults": ("kill-everything",)}, "faults: unknown fault 'kill-everything'"),
    ({"faults": ("pause-broker", "pause-broker")}, "faults: each fault at most once"),
    ({"duration_s": 30, "quiet_s": 20, "tail_s": 10}, "duration_s: must be longer"),
    ({"slow_s": 5, "request_timeout_s": 5}, "request_timeout_s"),
    ({"backoff_s": (1.0, 0.5)}, "backoff_s"),
    ({"replicas": 6}, "replicas"),
], ids=["no-duration", "no-writer", "batch-over-ingest-limit", "unknown-fault", "fault-twice",
        "no-room-for-faults", "timeout-not-above-slow", "backoff-cap-below-first", "too-many-replicas"])
def test_bad_settings_name_the_setting_and_the_rule(settings, named):
    with pytest.raises(ChaosConfigError, match=named):
        ChaosConfig(**settings)


def test_the_default_run_is_five_minutes_with_every_fault_more_than_once():
    config = ChaosConfig()
    plan = schedule(config)
    assert config.duration_s >= 300
    assert Counter(f.fault for f in plan) == {name: len(plan) // len(FAULTS) for name in FAULTS}
    assert len(plan) >= 2 * len(FAULTS)
    times = [f.at_s for f in plan]
    assert times == sorted(times)
    assert times[0] >= config.quiet_s and times[-1] <= config.duration_s - config.tail_s
    assert min(b - a for a, b in zip(times, times[1:])) >= config.fault_gap_s


def test_a_short_window_still_gets_each_fault_once_in_order():
    config = ChaosConfig(duration_s=40, quiet_s=5, tail_s=10, fault_gap_s=100)
    plan = schedule(config)
    assert [f.fault for f in plan] == list(FAULTS)
    assert [f.round for f in plan] == [0] * len(FAULTS)


def test_rounds_count_each_faults_repetitions():
    plan = schedule(ChaosConfig(faults=("restart-warehouse", "pause-broker"), fault_gap_s=20))
    rounds = [(f.fault, f.round) for f in plan if f.fault == "restart-warehouse"]
    assert [r for _, r in rounds] == list(range(len(rounds)))


def test_no_fault_is_a_baseline_run():
    assert schedule(ChaosConfig(faults=())) == []
