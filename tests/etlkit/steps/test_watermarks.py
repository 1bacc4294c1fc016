"""The aggregate's watermark per input partition (issue 15 item 7): skew between partitions never
makes an on-time record late, an idle partition stops holding it back, the end of every
partition's input closes the last windows; and an input batch is applied at most once (item 4).

Each invocation here is what a Sensor posts: one batch of one partition, with its identity."""
import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etlkit.steps import AggregateConfig, Record, run_aggregate
from etlkit.steps.windows import APPLIED_KEPT
from etlkit.wire import batch_id, key_partition

MINUTE = 60_000
PARAMS = {"window": "1m", "allowed_lateness": "10m", "time_field": "t", "group_by": ["k"],
          "aggregations": {"n": {"count": "*"}}}
CONFIG = AggregateConfig.from_dict(PARAMS)
START = 1_700_000_040_000  # a whole minute


class Aggregate:
    """One aggregate step fed invocation by invocation, its state kept between them (as JSON
    text when ``copy``, as a state store that another replica wrote would hand it back)."""

    def __init__(self, config=CONFIG, partitions=6, copy=False):
        self.config, self.partitions, self.copy = config, partitions, copy
        self.state, self.emitted, self.dead = None, [], []

    def invoke(self, records, partition, *, now=0, identity=None, end=False):
        state = json.loads(json.dumps(self.state)) if self.copy else self.state
        outcome = run_aggregate(self.config, records, state, step="per-k", now_ms=now,
                                identity=identity, partition=partition,
                                partitions=self.partitions, end=end)
        self.state = outcome.state
        self.emitted += outcome.records
        self.dead += outcome.dead_letters
        return outcome

    def counts(self):
        """(window start, key) -> count, over every result emitted."""
        return {(r.value["window_start"], r.value["k"]): r.value["n"] for r in self.emitted}


def order(i, at, partition):
    return Record(value={"k": f"c{i % 7}", "t": at}, key=f"o{i}", partition=partition)


def in_order_input(minutes=20, per_second=1, partitions=6):
    """An ordered input, one order a second per key slot, each to its key's partition (CRC-32,
    as a source writes it): partition -> its records, in event-time order."""
    by_partition = {p: [] for p in range(partitions)}
    for i in range(minutes * 60 * per_second):
        key = f"o{i}"
        p = key_partition(key.encode(), partitions)
        by_partition[p].append(order(i, START + i * 1000 // per_second, p))
    return by_partition


def batches_of(records, size):
    return [records[i:i + size] for i in range(0, len(records), size)]


def expected_counts(by_partition):
    counts = {}
    for records in by_partition.values():
        for r in records:
            slot = (r.value["t"] - r.value["t"] % MINUTE, r.value["k"])
            counts[slot] = counts.get(slot, 0) + 1
    return counts


# -- the scenario --------------------------------------------------------------------

@pytest.mark.parametrize("reading", ["partition-by-partition", "shuffled-batches"])
def test_an_ordered_input_read_unevenly_loses_nothing_and_closes_at_the_end(reading):
    # 20 minutes over 6 partitions, lateness 10 minutes: with the newest event time over all
    # partitions as the watermark, a consumer that reads partition 0 whole before partition 1
    # (as Tansu hands records out) would have made most of partitions 1..5 late.
    by_partition = in_order_input()
    invocations = []
    for p, records in by_partition.items():
        chunks = batches_of(records, 50)
        invocations += [(p, i, chunk, i == len(chunks) - 1) for i, chunk in enumerate(chunks)]
    if reading == "shuffled-batches":  # each partition's batches in order, partitions mixed
        rng, queues = random.Random(15), {p: [c for c in invocations if c[0] == p] for p in by_partition}
        invocations = []
        while any(queues.values()):
            invocations.append(queues[rng.choice([p for p in queues if queues[p]])].pop(0))
    aggregate = Aggregate(copy=True)
    for n, (p, index, chunk, last) in enumerate(invocations):
        aggregate.invoke(chunk, p, now=n, identity=batch_id("orders-src", "orders", p, index),
                         end=last)
        if n < len(invocations) - 1:
            assert aggregate.state["windows"], "a window closed before every partition ended"

    assert aggregate.dead == []
    assert aggregate.counts() == expected_counts(by_partition)
    assert aggregate.state["windows"] == []
    assert sum(aggregate.counts().values()) == 20 * 60


def test_partition_by_partition_emits_nothing_until_every_partition_delivered():
    by_partition = in_order_input(minutes=20)
    aggregate = Aggregate()
    for p in range(5):  # partitions 0..4 whole: partition 5 has delivered nothing yet
        aggregate.invoke(by_partition[p], p)
    assert aggregate.emitted == [] and aggregate.state["watermark"] is None
    aggregate.invoke(by_partition[5][:10], 5)  # its first 10 s: the watermark is 10 m before it
    newest = by_partition[5][9].value["t"]
    assert aggregate.state["watermark"] == newest - 10 * MINUTE < START
    aggregate.invoke(by_partition[5][10:], 5)
    # Now partition 5's newest order is the laggard's high mark: minutes up to 10 before it closed.
    closed = {start for start, _k in aggregate.counts()}
    assert closed and max(closed) + MINUTE <= aggregate.state["watermark"]
    assert aggregate.dead == []


def test_a_really_late_record_is_still_dead_lettered():
    aggregate = Aggregate(partitions=2)
    aggregate.invoke([order(1, START + 30 * MINUTE, 0)], 0)
    aggregate.invoke([order(2, START + 30 * MINUTE, 1)], 1)
    assert aggregate.state["watermark"] == START + 20 * MINUTE
    outcome = aggregate.invoke([order(3, START + 5 * MINUTE, 1), order(4, START + 25 * MINUTE, 1)], 1)
    [late] = outcome.dead_letters
    assert late.key == "o3" and late.reason.startswith(
        f"late: event time {START + 5 * MINUTE} is in window [{START + 5 * MINUTE}, "
        f"{START + 6 * MINUTE}), already closed by watermark {START + 20 * MINUTE}")
    assert outcome.counters.as_dict() == {"in": 2, "out": 1, "filtered": 0, "dead_lettered": 1,
                                          "emitted": 0}


# -- end of input ----------------------------------------------------------------------------

def test_the_last_windows_close_when_every_partition_ended():
    aggregate = Aggregate(partitions=3)
    aggregate.invoke([order(1, START, 0), order(2, START + MINUTE, 0)], 0, end=True)
    aggregate.invoke([order(3, START + 30_000, 1)], 1, end=True)
    assert aggregate.emitted == []  # partition 2 has neither delivered nor ended
    outcome = aggregate.invoke([], 2, end=True)  # an empty end batch: it had no records
    assert [(r.key, r.value["n"]) for r in outcome.records] == [
        (f"c1/{START}", 1), (f"c3/{START}", 1), (f"c2/{START + MINUTE}", 1)]
    assert aggregate.state["windows"] == []
    # The emitted windows are final: a record for one of them is late, not a second result
    # with the same window_id that an upsert would let overwrite the first.
    again = aggregate.invoke([order(4, START + MINUTE + 1, 0)], 0)
    assert [d.key for d in again.dead_letters] == ["o4"]
    # A later run starts afresh: every partition is expected again before windows close.
    later = aggregate.invoke([order(5, START + 60 * MINUTE, 0)], 0)
    assert later.records == () and later.dead_letters == () and aggregate.state["windows"]


def test_a_record_after_its_partition_ended_reopens_it():
    aggregate = Aggregate(partitions=2)
    aggregate.invoke([order(1, START, 0)], 0, end=True)
    aggregate.invoke([order(2, START + 20 * MINUTE, 0)], 0)  # partition 0 is not over after all
    outcome = aggregate.invoke([order(3, START + MINUTE, 1)], 1, end=True)
    # Partition 1 ended; partition 0 counts again: the watermark is its high mark - 10 minutes,
    # not +infinity, so its window at 20 minutes stays open.
    assert [r.value["window_start"] for r in outcome.records] == [START, START + MINUTE]
    assert aggregate.state["watermark"] == START + 10 * MINUTE
    closed = aggregate.invoke([], 0, end=True)
    assert [r.value["window_start"] for r in closed.records] == [START + 20 * MINUTE]


# -- idle partitions -------------------------------------------------------------------------

IDLE_MS = CONFIG.idle_timeout_ms


def test_the_idle_timeout_defaults_to_five_minutes_and_can_be_set():
    assert IDLE_MS == 5 * MINUTE
    assert AggregateConfig.from_dict({**PARAMS, "idle_timeout": "30s"}).idle_timeout_ms == 30_000


def test_an_idle_partition_stops_holding_the_watermark_after_the_idle_timeout():
    aggregate = Aggregate(partitions=2)  # partition 1 of this key space never gets an order
    aggregate.invoke([order(1, START, 0), order(2, START + 20 * MINUTE, 0)], 0, now=0)
    aggregate.invoke([order(3, START + 21 * MINUTE, 0)], 0, now=IDLE_MS - 1)
    # Quiet IDLE_MS - 1 since the run began: not idle yet.
    assert aggregate.emitted == [] and aggregate.state["watermark"] is None
    # Quiet IDLE_MS at this invocation: it is idle, and partition 0's high mark leads.
    outcome = aggregate.invoke([order(4, START + 22 * MINUTE, 0)], 0, now=IDLE_MS)
    assert [r.value["window_start"] for r in outcome.records] == [START]
    assert aggregate.state["watermark"] == START + 12 * MINUTE
    # It delivers again: it is active, holds the watermark back, and its records in windows
    # still open are on time.
    back = aggregate.invoke([order(6, START + 15 * MINUTE, 1)], 1, now=IDLE_MS + 2)
    assert back.dead_letters == () and back.records == ()
    assert aggregate.state["watermark"] == START + 12 * MINUTE


def test_partitions_gone_idle_close_windows_at_the_next_invocation():
    aggregate = Aggregate(partitions=2)
    aggregate.invoke([order(1, START, 0)], 0, now=0)
    aggregate.invoke([order(2, START + 20 * MINUTE, 1)], 1, now=0)
    assert aggregate.invoke([], 1, now=IDLE_MS - 1).records == ()
    outcome = aggregate.invoke([], 1, now=IDLE_MS)  # partition 0 quiet for IDLE_MS
    assert [r.value["window_start"] for r in outcome.records] == [START]


def test_the_invoking_partition_is_never_idle_however_long_it_was_quiet():
    aggregate = Aggregate(partitions=2)
    aggregate.invoke([order(1, START, 0)], 0, now=0)
    aggregate.invoke([order(2, START + 60 * MINUTE, 1)], 1, now=1)
    # Partition 0 was slow for an hour; its next batch is on time for partition 0.
    outcome = aggregate.invoke([order(3, START + MINUTE, 0)], 0, now=60 * MINUTE)
    assert outcome.dead_letters == () and outcome.records == ()
    # Partition 1's next call finds partition 0 active (it delivered just now): still open.
    assert aggregate.invoke([], 1, now=60 * MINUTE + 1).records == ()


def test_every_partition_idle_lets_the_newest_high_mark_lead():
    aggregate = Aggregate(partitions=3)
    aggregate.invoke([order(1, START, 0)], 0, now=0)
    aggregate.invoke([order(2, START + 20 * MINUTE, 1)], 1, now=0)
    # A call from no partition (a direct call) when every partition was quiet IDLE_MS (2 never
    # delivered): the newest high mark leads, as Flink flushes the maximum over idle inputs.
    outcome = aggregate.invoke([], None, now=IDLE_MS)
    assert [r.value["window_start"] for r in outcome.records] == [START]
    assert aggregate.state["watermark"] == START + 10 * MINUTE


# -- at most once ----------------------------------------------------------------------------

def test_a_redelivered_batch_is_a_duplicate_and_changes_nothing():
    aggregate = Aggregate(partitions=1)
    batch = [order(1, START, 0), order(2, START + 20 * MINUTE, 0)]
    first = aggregate.invoke(batch, 0, identity="b-1")
    assert [r.value["window_start"] for r in first.records] == [START]
    before = json.dumps(aggregate.state, sort_keys=True)
    again = aggregate.invoke(batch, 0, identity="b-1")
    assert again.counters.as_dict() == {"in": 0, "out": 0, "filtered": 0, "dead_lettered": 0,
                                        "emitted": 0, "duplicate": 1}
    assert again.records == () and again.dead_letters == ()
    assert json.dumps(aggregate.state, sort_keys=True) == before
    # Another identity with the same records is another batch: applied.
    other = aggregate.invoke([order(3, START + 31 * MINUTE, 0)], 0, identity="b-2")
    assert [(r.value["window_start"], r.value["n"]) for r in other.records] == [
        (START + 20 * MINUTE, 1)]


def test_a_redelivered_end_batch_after_the_run_ended_is_a_duplicate():
    aggregate = Aggregate(partitions=1)
    aggregate.invoke([order(1, START, 0)], 0, identity="last", end=True)
    assert len(aggregate.emitted) == 1
    again = aggregate.invoke([order(1, START, 0)], 0, identity="last", end=True)
    assert again.counters.duplicate == 1 and again.dead_letters == ()


def test_the_same_id_on_another_partition_is_another_batch():
    aggregate = Aggregate(partitions=2)
    aggregate.invoke([order(1, START, 0)], 0, identity="x")
    assert aggregate.invoke([order(2, START, 1)], 1, identity="x").counters.in_ == 1


def test_an_applied_id_is_forgotten_once_newer_ones_are_kept_and_its_windows_closed():
    aggregate = Aggregate(partitions=1)
    for i in range(APPLIED_KEPT + 1):  # minute after minute: each batch closes the one before
        aggregate.invoke([order(i, START + i * MINUTE, 0)], 0, identity=f"b{i}")
    [part] = aggregate.state["partitions"]
    assert len(part["applied"]) == APPLIED_KEPT
    assert part["applied"][-1] == [f"b{APPLIED_KEPT}", START + (APPLIED_KEPT + 1) * MINUTE]
    assert aggregate.invoke([], 0, identity=f"b{APPLIED_KEPT}").counters.duplicate == 1
    # b0 is forgotten: its window closed long ago, so its records are late, never counted again.
    replay = aggregate.invoke([order(0, START, 0)], 0, identity="b0")
    assert replay.counters.duplicate == 0 and [d.key for d in replay.dead_letters] == ["o0"]


def test_an_applied_id_is_kept_while_its_windows_are_open_however_many_newer_ones():
    aggregate = Aggregate(partitions=2)  # partition 1 never delivers: every window stays open
    for i in range(3 * APPLIED_KEPT):
        aggregate.invoke([order(i, START + i, 0)], 0, identity=f"b{i}")
    [part] = aggregate.state["partitions"]
    assert len(part["applied"]) == 3 * APPLIED_KEPT


def test_a_replay_older_than_the_ids_kept_counts_nothing_twice():
    # Issue 15: with only the last APPLIED_KEPT ids kept, this replay counted b0 again.
    aggregate = Aggregate(partitions=2)  # partition 1 never delivers: every window stays open
    for i in range(APPLIED_KEPT + 1):
        aggregate.invoke([order(i, START + i, 0)], 0, identity=f"b{i}")
    replay = aggregate.invoke([order(0, START, 0)], 0, identity="b0")  # the oldest, replayed
    assert replay.counters.duplicate == 1
    aggregate.invoke([], 1, end=True)
    aggregate.invoke([], 0, end=True)
    assert sum(aggregate.counts().values()) == APPLIED_KEPT + 1


def test_a_version_1_state_becomes_the_watermark():
    old = {"version": 1, "config": CONFIG.fingerprint(), "max_event_time": START + 20 * MINUTE,
           "windows": []}
    outcome = run_aggregate(CONFIG, [order(1, START, 0)], old, step="s", now_ms=0)
    assert [d.reason.split(", already")[0] for d in outcome.dead_letters] == [
        f"late: event time {START} is in window [{START}, {START + MINUTE})"]
    assert outcome.state["version"] == 3 and outcome.state["watermark"] == START + 10 * MINUTE


# -- property: no interleaving of in-order partitions makes a record late ---------------------

_partition_times = st.lists(st.integers(0, 120_000), max_size=25).map(sorted)


@settings(max_examples=120, deadline=None)
@given(st.lists(_partition_times, min_size=1, max_size=4), st.randoms(use_true_random=False),
       st.integers(1, 6))
def test_any_interleaving_of_in_order_partitions_gives_the_same_windows(times, rng, size):
    config = AggregateConfig.from_dict({**PARAMS, "window": "10s", "allowed_lateness": "0s"})
    by_partition = {p: [Record(value={"k": "a", "t": t}, key=f"{p}-{i}", partition=p)
                        for i, t in enumerate(ts)] for p, ts in enumerate(times)}
    queues = {p: batches_of(records, size) for p, records in by_partition.items()}
    for p in queues:
        queues[p].append([])  # the end batch, empty
    aggregate = Aggregate(config, partitions=len(times), copy=rng.random() < 0.5)
    highs, watermark = {}, None  # the rule restated: per partition, its newest time; None: ended
    while any(queues.values()):
        p = rng.choice([p for p in queues if queues[p]])
        chunk = queues[p].pop(0)
        aggregate.invoke(chunk, p, end=not queues[p])
        highs.update({p: r.value["t"] for r in chunk[-1:]})
        if not queues[p]:
            highs[p] = None
        if not any(queues.values()):
            break
        waiting = [highs.get(q, "none") for q in queues if highs.get(q, "none") is not None]
        if waiting and "none" not in waiting and (watermark is None or min(waiting) > watermark):
            watermark = min(waiting)
        assert aggregate.state["watermark"] == watermark
        assert all(w["start"] + 10_000 > watermark for w in aggregate.state["windows"]
                   ) if watermark is not None else True
    assert aggregate.dead == []
    expected = {}
    for records in by_partition.values():
        for r in records:
            start = r.value["t"] - r.value["t"] % 10_000
            expected[(start, "a")] = expected.get((start, "a"), 0) + 1
    assert aggregate.counts() == expected


# -- through run_step_on_events: what a step function passes in -------------------------------

def _batch_event(topic, partition, identity, records, *, end=False):
    body = {"records": [{"key": f"o{i}", "time": None, "headers": {}, "value": {"k": "a", "t": t}}
                        for i, t in enumerate(records)], **({"end": True} if end else {})}
    return {"topic": topic, "key": "", "partition": partition, "body": body,
            "timestamp": "2026-11-21 10:00:00 +0000 UTC", "headers": {"etl-batch": identity}}


def test_the_invocation_brings_its_identity_end_and_partition_count():
    from etlkit.steps.registry import run_step_on_events
    spec = {"kind": "aggregate", "name": "per-k", "params": PARAMS}
    asked = []

    def partition_count(topic):
        asked.append(topic)
        return 2

    def invoke(event, state, identity, end=False):
        return run_step_on_events(spec, [event], state, 0, identity=identity, end=end,
                                  partition_count=partition_count)

    first = invoke(_batch_event("orders", 0, "b1", [START, START + 30 * MINUTE]), None, "b1")
    assert asked == ["orders"] and first.records == ()  # partition 1 of 2 has not delivered
    bad = _batch_event("orders", 0, "b2", [START + 31 * MINUTE])
    bad["body"]["records"].append({"key": "x", "time": None, "headers": {}, "value": 7})
    second = invoke(bad, first.state, "b2")
    assert second.counters.as_dict() == {"in": 2, "out": 1, "filtered": 0, "dead_lettered": 1,
                                         "emitted": 0}
    again = invoke(bad, second.state, "b2")  # its bad entry was dead-lettered the first time
    assert again.counters.as_dict() == {"in": 0, "out": 0, "filtered": 0, "dead_lettered": 0,
                                        "emitted": 0, "duplicate": 1}
    assert again.dead_letters == ()
    closed = invoke(_batch_event("orders", 1, "b3", [], end=True), again.state, "b3", end=True)
    # Partition 1 ended; partition 0's high mark leads alone: 31 - 10 minutes closes the first.
    assert [r.value["window_start"] for r in closed.records] == [START]
    last = invoke(_batch_event("orders", 0, "b4", [], end=True), closed.state, "b4", end=True)
    assert [r.value["window_start"] for r in last.records] == [
        START + 30 * MINUTE, START + 31 * MINUTE]
