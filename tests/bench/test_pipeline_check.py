"""bench/pipeline_check.py: the pipeline bench's oracle, its comparison and its CPU reading.

The oracle is cross-checked against the aggregate step's own code (etlkit/steps/aggregation.py
``run_aggregate``) fed the same orders in an uneven partition interleaving, as scipy checks two
methods against each other: two independent implementations agreeing is what makes the bench's
warehouse check mean something.
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import zlib

import pytest

from bench.bench_pipeline import cpu_reading, cpu_used, proc_stats
from bench.pipeline_check import (ProcStat, cpu_by_part, descendants, event_time, expected_windows,
                                  late_letters, orders, parse_stat, steady_rate, thread_part,
                                  window_differences)
from etlkit.steps.aggregation import AggregateConfig, run_aggregate
from etlkit.steps.record import Record

# The aggregate of workflows/orders.yaml, without the lateness (the oracle closes every window).
CONFIG = AggregateConfig.from_dict({
    "window": "1m", "time_field": "ordered_at", "group_by": ["country"],
    "aggregations": {"orders": {"count": "*"}, "revenue": {"sum": "amount"}, "items": {"sum": "quantity"}}})
T0 = 1_717_232_400_000  # a window start: 2024-06-01T09:00:00Z


def test_expected_windows_of_a_hand_solved_input():
    events = [(T0 + 1_000, {"country": "FR", "amount": 2.5, "quantity": 1}),
              (T0 + 59_999, {"country": "FR", "amount": 0.25, "quantity": 3}),
              (T0 + 60_000, {"country": "FR", "amount": 1.0, "quantity": 2}),  # next window
              (T0 + 5_000, {"country": "NL", "amount": None, "quantity": 4})]  # null: not summed
    assert expected_windows(events, CONFIG) == {
        f"FR/{T0}": {"window_id": f"FR/{T0}", "window_start": T0, "window_end": T0 + 60_000,
                     "country": "FR", "orders": 2, "revenue": 2.75, "items": 4},
        f"FR/{T0 + 60_000}": {"window_id": f"FR/{T0 + 60_000}", "window_start": T0 + 60_000,
                              "window_end": T0 + 120_000, "country": "FR", "orders": 1, "revenue": 1.0,
                              "items": 2},
        f"NL/{T0}": {"window_id": f"NL/{T0}", "window_start": T0, "window_end": T0 + 60_000,
                     "country": "NL", "orders": 1, "revenue": None, "items": 4}}


def test_an_op_the_oracle_does_not_know_is_refused():
    config = AggregateConfig.from_dict({"window": "1m", "aggregations": {"top": {"max": "amount"}}})
    with pytest.raises(ValueError, match=r"not \['max'\]"):
        expected_windows([(T0, {"amount": 1})], config)


def test_orders_are_in_event_time_order_in_every_partition_and_sum_exactly():
    last: dict[int, int] = {}
    for order in orders(3000):
        partition = zlib.crc32(order.key.encode()) % 6  # the partition a source writes it to
        assert event_time(order) >= last.get(partition, 0)
        last[partition] = event_time(order)
        assert (order.value["amount"] * 4).is_integer()  # whole quarters: order-free float sums
    assert len(last) == 6


@pytest.mark.parametrize("seed", range(5))
def test_oracle_equals_the_aggregate_step_over_an_uneven_interleaving(seed):
    """Six partitions in event-time order each, read in random runs of batches (one partition
    far ahead of the others, as Tansu hands them out), each partition's last batch ending it:
    the aggregate's results are exactly the oracle's windows, none late."""
    countries = ["FR", "NL", "ES", "IT"]
    seen = [(event_time(o), {**o.value, "country": countries[int(o.value["cust_id"][1:]) % 4]})
            for o in orders(3000)]
    by_partition: dict[int, list[Record]] = {p: [] for p in range(6)}
    for o, (_moment, value) in zip(orders(3000), seen):
        partition = zlib.crc32(o.key.encode()) % 6
        by_partition[partition].append(Record(value=value, key=o.key, partition=partition))
    batches = [(p, records[i:i + 97], i + 97 >= len(records))
               for p, records in by_partition.items() for i in range(0, len(records), 97)]
    rng = random.Random(seed)
    queues = {p: [b for b in batches if b[0] == p] for p in range(6)}
    results, state = [], None
    while any(queues.values()):
        partition = rng.choice([p for p, q in queues.items() if q])
        for _ in range(rng.randint(1, 8)):  # a run of one partition's batches
            if queues[partition]:
                _p, records, end = queues[partition].pop(0)
                outcome = run_aggregate(CONFIG, records, state, step="per-country", now_ms=T0,
                                        partition=partition, partitions=6, end=end)
                assert outcome.dead_letters == ()
                results += [r.value for r in outcome.records]
                state = outcome.state
    assert {r["window_id"]: r for r in results} == expected_windows(seen, CONFIG)
    assert len(results) == len(expected_windows(seen, CONFIG))  # each window emitted once


def test_window_differences_name_missing_extra_and_changed_windows():
    expected = {"FR/0": {"window_id": "FR/0", "orders": 2, "revenue": 2.5},
                "NL/0": {"window_id": "NL/0", "orders": 1, "revenue": 1.0},
                "ES/0": {"window_id": "ES/0", "orders": 1, "revenue": 4.0}}
    rows = [{"window_id": "FR/0", "orders": 2, "revenue": 2.5},
            {"window_id": "NL/0", "orders": 1, "revenue": 1.25},
            {"window_id": "IT/0", "orders": 1, "revenue": 1.0}]
    assert window_differences(expected, rows) == [
        "1 windows missing from the warehouse, e.g. ES/0",
        "1 windows in the warehouse not expected, e.g. IT/0",
        "1 windows with other values, e.g. NL/0: revenue 1.25 (expected 1.0)"]
    assert window_differences(expected, [dict(r) for r in expected.values()]) == []


def test_late_letters_count_the_steps_late_reasons_only():
    letters = [{"step": "per-country", "reason": "late: event time 1 is in window [0, 60000), ..."},
               {"step": "per-country", "reason": "event time field ordered_at: missing"},
               {"step": "normalise", "reason": "late: not this step"},
               "not a dead letter"]
    assert late_letters(letters, "per-country") == 1


def test_parse_stat_reads_past_a_command_name_with_spaces_and_parentheses():
    line = "4242 (a (b) c) S 17 4242 4242 0 -1 4194560 500 0 0 0 123 45 0 0 20 0 1 0 100 0 0"
    assert parse_stat(line) == ProcStat(4242, "a (b) c", 17, 168)


def test_parse_stat_of_this_process_counts_its_cpu():
    def mine() -> ProcStat:
        with open(f"/proc/{os.getpid()}/stat") as f:
            return parse_stat(f.read())

    before = mine()
    deadline = time.process_time() + 0.1
    while time.process_time() < deadline:  # 100 ms of CPU: at least a few clock ticks
        pass
    after = mine()
    assert (after.pid, after.ppid) == (os.getpid(), os.getppid())
    assert after.ticks - before.ticks >= 0.05 * os.sysconf("SC_CLK_TCK")


def test_descendants_map_each_process_to_the_roots_child_it_is_under():
    stats = [ProcStat(1, "init", 0, 0), ProcStat(10, "bench", 1, 0), ProcStat(11, "tansu", 10, 0),
             ProcStat(12, "runner", 10, 0), ProcStat(13, "worker", 12, 0), ProcStat(14, "deep", 13, 0),
             ProcStat(20, "other", 1, 0)]
    assert descendants(stats, 10) == {11: 11, 12: 12, 13: 12, 14: 12}


def test_descendants_of_this_process_include_a_child_it_started():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        assert descendants(proc_stats(), os.getpid())[child.pid] == child.pid
    finally:
        child.kill()
        child.wait()


def test_cpu_by_part_counts_a_new_process_from_zero_and_loses_an_ended_one():
    before = {1: 100, 2: 50, 3: 70}
    after = {1: 130, 2: 60, 4: 5}  # 3 ended, 4 started
    parts = {1: "broker", 2: "workers", 3: "workers", 4: "workers"}
    assert cpu_by_part(before, after, parts) == {"broker": 30, "workers": 15}


# (time s, messages done) of a run of 10 messages of 100 records: filling until 1 s, then one
# message every 0.5 s, then the drain (the last message 3 s after the one before).
FILL_STEADY_DRAIN = [(0.0, 0), (1.0, 0), (1.5, 1), (2.0, 2), (2.5, 3), (3.0, 4), (3.5, 5), (4.0, 6),
                     (4.5, 7), (5.0, 8), (5.5, 9), (8.5, 10)]


@pytest.mark.parametrize("samples, expected", [
    pytest.param(FILL_STEADY_DRAIN, 8 * 100 / 4.0, id="fill-and-drain-left-out"),  # 1 at 1.5 s to 9 at 5.5 s
    pytest.param([(0.0, 0), (1.0, 10)], None, id="one-jump-spans-no-window"),
    pytest.param([(0.0, 0), (1.0, 5)], None, id="never-reached-the-end"),
    pytest.param([], None, id="no-samples"),
])
def test_steady_rate_is_the_rate_between_a_tenth_and_nine_tenths_done(samples, expected):
    assert steady_rate(samples, 10, 100.0) == expected


@pytest.mark.parametrize("tid, name, part", [
    pytest.param(100, "python", "bench", id="main-thread"),
    pytest.param(101, "rdk:broker1", "bench", id="librdkafka-thread"),
    pytest.param(102, "python", "gateway", id="any-other-thread"),
])
def test_thread_part_names_the_benchs_own_threads(tid, name, part):
    assert thread_part(tid, 100, name) == part


def test_a_gateway_thread_that_ended_is_counted_for_the_gateway_not_the_bench():
    """A gateway thread serves one connection and ends: its CPU stays only in the process's
    total, which is where the gateway's share is read from."""
    import threading

    before = cpu_reading(set())
    worker = threading.Thread(target=lambda: sum(i * i for i in range(3_000_000)))
    worker.start()
    worker.join()
    used = cpu_used(before, cpu_reading(set()), me="bench")
    assert used.get("gateway", 0) >= 0.05 and used.get("bench", 0) < used["gateway"]
