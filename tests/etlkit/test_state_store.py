"""The aggregate's shared state on SQLite and on a real PostgreSQL: N replicas (separate
processes, each serving its own input partitions at once) emit exactly the windows one replica
emits, each once; a lane does not wait for another lane; a call whose produce failed re-sends
the very batches on retry; a PostgreSQL restart fails the call in flight (503) and its retry
succeeds; a state of the layout before is moved, not dropped.

Every call goes through etlkit.stepfn.handle_step as a Sensor's would; ``produce`` records the
batches it was given (ids by etlkit.wire.batches), and a consumer keeps the first of each id."""
import contextlib
import json
import multiprocessing
import pathlib
import sqlite3
import threading
import uuid

import pytest

from etlkit.state_store import MOVED, StateStore, open_state_store
from etlkit.stepfn import handle_step
from etlkit.wire import batches, unbatch
from tests.fixtures.postgres import new_server_or_skip

PARTITIONS = 6
MINUTE = 60_000
START = 1_700_000_040_000
STEP = {"kind": "aggregate", "name": "per-k", "output": "out", "dead_letter": "dlq",
        "params": {"window": "1m", "time_field": "t", "group_by": ["k"],
                   "allowed_lateness": "2m",
                   "aggregations": {"n": {"count": "*"}, "total": {"sum": "v"},
                                    "mean": {"avg": "v"}, "low": {"min": "v"}}}}


@pytest.fixture(scope="module")
def pg():
    """A PostgreSQL of this module's own: one test restarts it."""
    with new_server_or_skip() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return request.getfixturevalue("pg").url


def _event(partition, index, rows, *, end=False):
    body = {"records": [{"key": f"o{i}", "time": None, "headers": {}, "value": value}
                        for i, value in rows]}
    if end:
        body["end"] = True
    return {"topic": "in", "key": "", "partition": partition, "body": body,
            "timestamp": "2026-11-21 10:00:00 +0000 UTC",
            "headers": {"etl-batch": f"in-{partition}-{index}"}}


def workload(minutes=12, per_minute=20, batch=7):
    """partition -> its invocations in order: an ordered input, a float amount per order, the
    last batch of each partition saying end."""
    rows = {p: [] for p in range(PARTITIONS)}
    for i in range(minutes * per_minute):
        p = i % PARTITIONS
        rows[p].append((i, {"k": f"c{i % 5}", "t": START + i * MINUTE // per_minute,
                            "v": round(0.1 * (i % 13) + 0.01 * i, 2)}))
    calls = {}
    for p, items in rows.items():
        chunks = [items[i:i + batch] for i in range(0, len(items), batch)]
        calls[p] = [_event(p, n, chunk, end=n == len(chunks) - 1) for n, chunk in enumerate(chunks)]
    return calls


class Recorder:
    """A ``produce`` that keeps every batch message it would write, as JSON lines in ``path``;
    ``fail`` times it raises DeliveryError first (Kafka down)."""

    def __init__(self, path, fail=0):
        self.path, self.fail = pathlib.Path(path), fail

    def __call__(self, records, origin, *, end=False, end_topics=(), end_partitions=None):
        from etlkit.kafka_io import DeliveryError
        if self.fail:
            self.fail -= 1
            raise DeliveryError("1 records unacknowledged, 0 failed")
        messages = batches(records, origin, lambda topic: 1, end=end, end_topics=end_topics,
                           end_partitions=end_partitions)
        with open(self.path, "a") as out:
            for m in messages:
                out.write(json.dumps({"topic": m.topic, "value": m.value.decode(),
                                      "headers": [[h, v.decode()] for h, v in m.headers]}) + "\n")


def call(store, event, produce, now=0, name=None):
    body = {"workflow": "w", "version": 1, "step": {**STEP, "name": name or STEP["name"]},
            "event": event}
    answer = handle_step(json.dumps(body).encode(), "aggregate", now, produce, state=store,
                         partition_count=lambda topic: PARTITIONS)
    return answer["statusCode"], json.loads(answer["body"])


def consumed(paths, topic="out"):
    """What a consumer that drops a batch id it had already gets: window id -> result."""
    seen, results = set(), {}
    for path in paths:
        if not pathlib.Path(path).exists():
            continue
        for line in pathlib.Path(path).read_text().splitlines():
            message = json.loads(line)
            if message["topic"] != topic:
                continue
            identity, entries, _end = unbatch(message["value"].encode(), message["headers"], None)
            if identity in seen:
                continue
            seen.add(identity)
            for entry in entries:
                value = entry["value"]
                assert value["window_id"] not in results, f"window {value['window_id']} twice"
                results[value["window_id"]] = value
    return results


def _replica(url, name, calls, log, served):
    """One replica: its own process and connection, the partitions given to it, in order."""
    store, produce, n = open_state_store(url), Recorder(log), 0
    for event in calls:
        status, answer = call(store, event, produce, name=name)
        assert status == 200, answer
        n += 1
    served.put((log, n))
    store.close()


def run_replicas(url, replicas, tmp_path):
    """Every partition's calls, partition p served by replica p mod ``replicas``, replicas at
    once; (the results consumed, calls served per replica)."""
    name = f"per-k-{uuid.uuid4().hex[:8]}"
    calls = workload()
    context = multiprocessing.get_context("fork")
    served = context.Queue()
    workers = []
    for r in range(replicas):
        mine = [e for p in range(PARTITIONS) if p % replicas == r for e in calls[p]]
        log = tmp_path / f"{name}-{r}.jsonl"
        workers.append(context.Process(target=_replica, args=(url, name, mine, log, served)))
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    counts = sorted(served.get(timeout=5)[1] for _ in workers)
    return consumed(tmp_path.glob(f"{name}-*.jsonl")), counts


def expected_counts():
    counts = {}
    for events in workload().values():
        for event in events:
            for entry in event["body"]["records"]:
                value = entry["value"]
                slot = f"{value['k']}/{value['t'] - value['t'] % MINUTE}"
                counts[slot] = counts.get(slot, 0) + 1
    return counts


def test_two_and_three_replicas_emit_what_one_emits_each_window_once(url, tmp_path):
    one, served_one = run_replicas(url, 1, tmp_path)
    assert {w: r["n"] for w, r in one.items()} == expected_counts()
    total_calls = sum(len(v) for v in workload().values())
    assert served_one == [total_calls]
    for replicas in (2, 3):
        many, served = run_replicas(url, replicas, tmp_path)
        assert many == one, f"{replicas} replicas"  # every field, floats included
        assert len(served) == replicas and min(served) > 0 and sum(served) == total_calls


def test_a_lane_does_not_wait_for_another_lanes_call(pg, tmp_path):
    # Partition 0's call holds its lane (its run waits); partition 1's call, on another
    # connection, completes meanwhile: no lock over every call.
    url, name = pg.url, f"per-k-{uuid.uuid4().hex[:8]}"
    holding, release = threading.Event(), threading.Event()
    first, second = open_state_store(url), open_state_store(url)
    produce = Recorder(tmp_path / "log.jsonl")
    call(first, _event(0, 0, [(0, {"k": "a", "t": START, "v": 1})]), produce, name=name)
    call(second, _event(1, 0, [(1, {"k": "a", "t": START, "v": 1})]), produce, name=name)

    import etlkit.stepfn as stepfn
    original = stepfn.run_step_on_events

    def slow(*args, **kwargs):
        holding.set()
        assert release.wait(20)
        return original(*args, **kwargs)

    done = []
    blocked = threading.Thread(target=lambda: done.append(call(
        first, _event(0, 1, [(2, {"k": "a", "t": START + 1, "v": 1})]), produce, name=name)))
    stepfn.run_step_on_events = slow
    try:
        blocked.start()
        assert holding.wait(20)
        stepfn.run_step_on_events = original
        status, answer = call(second, _event(1, 1, [(3, {"k": "a", "t": START + 2, "v": 1})]),
                              produce, name=name)
        assert status == 200 and answer["in"] == 1 and done == []
    finally:
        stepfn.run_step_on_events = original
        release.set()
        blocked.join(20)
    assert done and done[0][0] == 200


def test_a_call_whose_produce_failed_re_sends_the_same_batches(url, tmp_path):
    name = f"per-k-{uuid.uuid4().hex[:8]}"
    store = open_state_store(url)
    produce = Recorder(tmp_path / "log.jsonl")
    for p in range(1, PARTITIONS):  # every other partition ended
        assert call(store, _event(p, 0, [], end=True), produce, name=name)[0] == 200
    last = _event(0, 0, [(0, {"k": "a", "t": START, "v": 1.5}), (1, {"k": "b", "t": START, "v": 2})],
                  end=True)
    produce.fail = 1
    status, answer = call(store, last, produce, name=name)
    assert status == 503 and answer["error"].startswith("kafka:")
    # Kept for the retry: the window results, and this partition's end marker after them.
    assert store.pending(f"w/{name}") == 2
    status, answer = call(store, last, produce, name=name, now=10 * MINUTE)
    assert status == 200 and answer["duplicate"] == 1
    assert store.pending(f"w/{name}") == 0
    assert {w: r["n"] for w, r in consumed([tmp_path / "log.jsonl"]).items()} == {
        f"a/{START}": 1, f"b/{START}": 1}


def test_a_postgresql_restart_fails_the_call_in_flight_and_its_retry_succeeds(pg, tmp_path):
    name = f"per-k-{uuid.uuid4().hex[:8]}"
    store, produce = open_state_store(pg.url), Recorder(tmp_path / "log.jsonl")
    assert call(store, _event(0, 0, [(0, {"k": "a", "t": START, "v": 1})]), produce, name=name)[0] == 200
    pg.restart()
    event = _event(0, 1, [(1, {"k": "a", "t": START + 1, "v": 1})])
    status, answer = call(store, event, produce, name=name)
    assert status == 503 and answer["error"].startswith("state database:")
    status, answer = call(store, event, produce, name=name)
    assert status == 200 and answer["in"] == 1
    lanes = store.snapshot(f"w/{name}")["windows"]
    assert [(w["partition"], w["acc"][0]) for w in lanes] == [(0, 2)]


def test_a_state_of_the_layout_before_is_moved_and_an_older_replica_refuses_it(tmp_path):
    path = tmp_path / "state.db"
    from etlkit.steps import AggregateConfig
    config = AggregateConfig.from_dict(STEP["params"])
    old = {"version": 2, "config": config.fingerprint(), "watermark": None, "now": 0,
           "since": 0, "partitions": [{"partition": 0, "high": START, "seen_at": 0,
                                       "ended": False, "applied": ["in-0-0"]}]}
    window = {"start": START, "key": ["a"], "acc": [2, 3.0, [3.0, 2], 1.0]}
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE step_head (name TEXT PRIMARY KEY, write_id INTEGER NOT NULL, "
                   "head TEXT NOT NULL, parts_field TEXT)")
        db.execute("CREATE TABLE step_part (name TEXT NOT NULL, part TEXT NOT NULL, "
                   "body TEXT NOT NULL, PRIMARY KEY (name, part))")
        db.execute("INSERT INTO step_head VALUES ('w/per-k', 7, ?, 'windows')", (json.dumps(old),))
        db.execute("INSERT INTO step_part VALUES ('w/per-k', 'x', ?)", (json.dumps(window),))
    store, produce = StateStore.sqlite(path), Recorder(tmp_path / "log.jsonl")
    # The batch the old layout applied is still a duplicate.
    assert call(store, _event(0, 0, [(0, {"k": "a", "t": START, "v": 1})]), produce)[1][
        "duplicate"] == 1
    assert call(store, _event(1, 0, [(5, {"k": "a", "t": START + 1, "v": 4.0})]), produce)[0] == 200
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT head FROM step_head").fetchone()[0] == MOVED
    for p in range(PARTITIONS):
        call(store, _event(p, 9, [], end=True), produce)
    [result] = consumed([tmp_path / "log.jsonl"]).values()
    assert (result["n"], result["total"], result["low"]) == (3, 7.0, 1.0)


def test_state_url_errors_name_the_setting():
    with pytest.raises(ValueError, match="STATE_URL: scheme 'mysql'"):
        open_state_store("mysql://x/y")
    with pytest.raises(ValueError, match="STATE_URL: sqlite:///:memory: would give each replica"):
        open_state_store("sqlite:///:memory:")


def test_the_last_partitions_end_marker_closes_every_window_through_the_store(url, tmp_path):
    # No flush on the invocation path: an input's end is the end marker of each partition's
    # last batch (Invocation.end, etlkit/steps/argo_event.py batch_end). Windows the watermark
    # has not passed (lateness 2 min, the input spans one) stay open until the last partition
    # ends; its call then settles every window through the store, and a new run starts empty.
    name = f"per-k-{uuid.uuid4().hex[:8]}"
    store, log = open_state_store(url), tmp_path / "log.jsonl"
    produce = Recorder(log)
    for p in range(PARTITIONS - 1):
        event = _event(p, 0, [(p, {"k": "a", "t": START + p, "v": 1})], end=True)
        assert call(store, event, produce, name=name)[1]["emitted"] == 0
    assert consumed([log]) == {} and len(store.snapshot(f"w/{name}")["windows"]) == PARTITIONS - 1
    last = _event(PARTITIONS - 1, 0, [(9, {"k": "b", "t": START + MINUTE, "v": 2})], end=True)
    status, answer = call(store, last, produce, name=name)
    assert status == 200 and answer["emitted"] == 2
    assert {w: r["n"] for w, r in consumed([log]).items()} == {
        f"a/{START}": PARTITIONS - 1, f"b/{START + MINUTE}": 1}
    after = store.snapshot(f"w/{name}")
    assert after["windows"] == [] and not any(p["ended"] for p in after["partitions"])
    assert store.pending(f"w/{name}") == 0


def test_a_window_whose_partials_overflow_is_dead_lettered_by_the_settling_call(tmp_path):
    name = f"per-k-{uuid.uuid4().hex[:8]}"
    store, log = StateStore.sqlite(tmp_path / "state.db"), tmp_path / "log.jsonl"
    produce = Recorder(log)
    for p in range(PARTITIONS):
        status, answer = call(store, _event(p, 0, [(p, {"k": "a", "t": START, "v": 1.5e308})],
                                            end=True), produce, name=name)
        assert status == 200
    assert consumed([log]) == {} and answer["emitted"] == 0
    letters = [entry["value"] for line in log.read_text().splitlines()
               if (message := json.loads(line))["topic"] == "dlq"
               for entry in unbatch(message["value"].encode(), message["headers"])[1]]
    assert [(d["key"], d["reason"]) for d in letters] == [(f"a/{START}", (
        f"aggregation total: window a/{START}: the partials of its input partitions add up past "
        f"the largest float"))]
