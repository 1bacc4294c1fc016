"""Partial windows per input partition: a lane folds only its partition's records and closes
nothing; settling merges the partials in partition order; a state of version 2 (one
accumulator over every partition) is read as partition 0's partials."""
import json
from decimal import Decimal

import pytest

from etlkit.steps import AggregateConfig, Record, run_aggregate
from etlkit.steps.aggregation import settle_aggregate
from etlkit.steps.windows import CloseFirst, WindowState

PARAMS = {"window": "30s", "group_by": ["g"], "time_field": "t",
          "aggregations": {"n": {"count": "*"}, "s": {"sum": "v"}, "mean": {"avg": "v"},
                           "low": {"min": "v"}, "high": {"max": "v"}}}
CONFIG = AggregateConfig.from_dict(PARAMS)


def batch(partition, *events):
    return [Record(value={"g": g, "t": t, "v": v}, key=f"{partition}-{i}", partition=partition)
            for i, (t, g, v) in enumerate(events)]


def lane(records, state, partition, *, end=False, now=0):
    return run_aggregate(CONFIG, records, state, step="s", now_ms=now, partition=partition,
                         partitions=2, end=end, lane=True)


def test_partials_of_two_partitions_are_merged_when_the_window_closes():
    first = lane(batch(0, (1_000, "A", 1), (2_000, "A", 7), (40_000, "A", 1)), None, 0)
    assert first.records == () and first.state["due"] is None  # partition 1: no high mark yet
    second = lane(batch(1, (3_000, "A", None), (5_000, "A", -2), (31_000, "A", 2)), first.state, 1)
    # Partition 1's high mark (31 s) is the lowest: the watermark passes [0, 30 s), which the
    # lane leaves to settle.
    assert second.records == () and second.state["due"] == 31_000
    assert [(w["partition"], w["start"], w["acc"]) for w in second.state["windows"]] == [
        (0, 0, [2, 8, [8, 2], 1, 7]), (1, 0, [2, -2, [-2, 1], -2, -2]),
        (0, 30_000, [1, 1, [1, 1], 1, 1]), (1, 30_000, [1, 2, [2, 1], 2, 2])]
    results, left = settle_aggregate(CONFIG, second.state, now_ms=0, partitions=2)
    assert [r.value for r in results] == [
        {"window_id": "A/0", "window_start": 0, "window_end": 30_000, "g": "A",
         "n": 4, "s": 6, "mean": 2.0, "low": -2, "high": 7}]
    assert [w["start"] for w in left["windows"]] == [30_000, 30_000]


def test_a_lane_never_closes_and_the_whole_state_closes_the_same_windows():
    records = batch(0, (1_000, "A", 1), (50_000, "B", 2))
    whole = run_aggregate(CONFIG, records, None, step="s", now_ms=0, partition=0, partitions=1)
    lone = run_aggregate(CONFIG, records, None, step="s", now_ms=0, partition=0, partitions=1,
                         lane=True)
    assert lone.records == () and lone.state["due"] == 50_000
    settled, _left = settle_aggregate(CONFIG, lone.state, now_ms=0, partitions=1)
    assert [r.value for r in settled] == [r.value for r in whole.records] != []


def test_the_last_end_leaves_every_window_to_settle():
    first = lane(batch(0, (1_000, "A", 1)), None, 0, end=True)
    last = lane(batch(1, (2_000, "B", 1)), first.state, 1, end=True)
    assert last.state["due"] == "all"
    results, left = settle_aggregate(CONFIG, last.state, now_ms=0, partitions=2)
    assert [r.key for r in results] == ["A/0", "B/0"] and left["windows"] == []
    assert left["watermark"] == 30_000  # the next run starts after the newest window emitted


def test_a_lane_whose_run_was_over_before_its_batch_asks_for_settling_first():
    over = {**lane(batch(0, (1_000, "A", 1)), None, 0, end=True).state, "partitions": [
        {"partition": p, "high": 1_000, "seen_at": 0, "first": 0, "ended": True,
         "watermark": None, "applied": []} for p in (0, 1)]}
    with pytest.raises(CloseFirst):
        lane(batch(0, (90_000, "A", 1)), over, 0)


def test_a_version_2_state_is_read_as_partition_0s_partials():
    old = {"version": 2, "config": CONFIG.fingerprint(), "watermark": None, "now": 5,
           "since": 0, "partitions": [{"partition": 0, "high": 1_000, "seen_at": 0,
                                       "ended": False, "applied": ["b1"]}],
           "windows": [{"start": 0, "key": ["A"], "acc": [3, 9, [9, 3], 1, 5]}]}
    state = WindowState.from_dict(json.loads(json.dumps(old)), CONFIG)
    assert state.applied("b1", 0)
    outcome = run_aggregate(CONFIG, batch(1, (2_000, "A", 1)), old, step="s", now_ms=1,
                            partition=1, partitions=2, end=True)
    outcome = run_aggregate(CONFIG, [], outcome.state, step="s", now_ms=2, partition=0,
                            partitions=2, end=True)
    assert [r.value["n"] for r in outcome.records] == [4]
    assert outcome.records[0].value["s"] == 10


def _two_lanes_ended(first, second):
    """Partition 0's and 1's batches (each its partition's last) in lanes: the state to settle."""
    state = lane(batch(0, *first), None, 0, end=True).state
    return lane(batch(1, *second), state, 1, end=True).state


def test_partials_that_add_up_past_the_largest_float_are_a_dead_letter_naming_the_window():
    # Each partition's sum is finite (a record that would overflow one is refused on its own);
    # merged, group A's is not: its window is a dead letter, B's is written as usual.
    state = _two_lanes_ended([(1_000, "A", 1.5e308), (2_000, "B", 1)],
                             [(3_000, "A", 1.5e308), (4_000, "B", 2)])
    closed, left = settle_aggregate(CONFIG, state, now_ms=9, step="per-g", partitions=2)
    dead, result = closed
    assert result.key == "B/0" and result.value["s"] == 3
    assert (dead.step, dead.key, dead.at) == ("per-g", "A/0", 9)
    assert dead.reason == ("aggregation s: window A/0: the partials of its input partitions add "
                           "up past the largest float")
    assert {k: dead.payload[k] for k in ("window_id", "n", "s", "mean", "low", "high")} == {
        "window_id": "A/0", "n": 2, "s": None, "mean": None, "low": 1.5e308, "high": 1.5e308}
    assert left["windows"] == []  # closed all the same: nothing left to fail again


def test_the_whole_state_dead_letters_an_overflowing_window_beside_the_records_dead_letters():
    records = batch(0, (1_000, "A", 1.5e308), (2_000, "A", "x")) + batch(1, (3_000, "A", 1.5e308))
    outcome = run_aggregate(CONFIG, records, None, step="s", now_ms=0, partition=0, partitions=2,
                            flush=True)
    assert outcome.records == ()
    assert [d.key for d in outcome.dead_letters] == ["0-1", "A/0"]
    # The counters balance the input: the window's dead letter is not one of its records.
    assert (outcome.counters.in_, outcome.counters.out, outcome.counters.dead_lettered) == (3, 2, 1)


def test_decimal_partials_merge_exactly():
    # etlkit.http reads a number a double cannot hold as a Decimal; the merge folds partials by
    # the accumulators' own rules, so the digits survive it (as floats, 0.1 + 0.2 is not 0.3).
    # Kept to 28 digits, the default Decimal context's: the bounded exact sums of wider ones
    # are accumulators.py's (branch s7-decimal), which this merge then follows.
    big = Decimal("12345678901234567890.12345678")
    windows = WindowState(CONFIG)
    windows.begin(0, 2, 0)
    for record in batch(0, (1_000, "A", big), (2_000, "A", Decimal("0.1"))) + batch(
            1, (3_000, "A", big), (4_000, "A", Decimal("0.2"))):
        windows.absorb(record)
    [result] = windows.flush()
    assert result.value["s"] == Decimal("24691357802469135780.54691356")
    assert (result.value["low"], result.value["high"], result.value["n"]) == (Decimal("0.1"), big, 4)


class Shelf:
    """A StoredWindows double: the partials a state store would hold, and the starts asked for."""

    def __init__(self, state, lane=None):
        self.items = [(w["start"], w["partition"], w["key"], w["acc"], json.dumps(w["key"]))
                      for w in state["windows"] if lane is None or w["partition"] == lane]
        self.open, self.asked = len(self.items), []

    def starting_at(self, start):
        self.asked.append(("at", start))
        return [item for item in self.items if item[0] == start]

    def starting_by(self, last):
        self.asked.append(("by", last))
        return [item for item in self.items if last is None or item[0] <= last]


def test_stored_partials_are_read_only_where_a_lane_writes_and_a_settling_closes():
    # Three windows open in partition 0's lane; a batch into the second reads that one only,
    # and a settling at watermark 61 s reads only the windows ending by then.
    first = lane(batch(0, (1_000, "A", 1), (31_000, "A", 2), (61_000, "A", 3)), None, 0)
    shelf = Shelf(first.state, lane=0)
    second = lane(batch(0, (32_000, "A", 5)), {**first.state, "windows": shelf}, 0)
    assert shelf.asked == [("at", 30_000)]
    assert [(w["start"], w["acc"][0]) for w in second.state["windows"]] == [(30_000, 2)]
    whole = lane(batch(1, (91_000, "B", 1)), first.state, 1).state
    assert whole["due"] == 61_000  # partition 0's high mark, lateness 0
    shelf = Shelf(whole)
    results, left = settle_aggregate(CONFIG, {**whole, "windows": shelf}, now_ms=0, partitions=2)
    assert shelf.asked == [("by", 61_000 - 30_000)]
    assert [r.value["window_start"] for r in results] == [0, 30_000] and left["windows"] == []
