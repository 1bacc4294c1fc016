"""The aggregate function through the gateway, invoked as a Sensor invokes it (one batch event of
one partition, with its Argo event id), its outputs read back from the real broker: the
watermark waits for the slower partition, a redelivered batch is answered as a duplicate and
changes nothing, and the end of every partition's input closes the last windows."""
import uuid

import pytest

from devstack.kafka_tools import consume_all
from etlkit.wire import BATCH_HEADER, unbatch


def _at(clock):
    return f"2026-11-21T10:{clock}Z"


def _batch_event(topic, partition, identity, records, *, end=False):
    body = {"records": [{"key": f"o{i}", "time": None, "headers": {"etl-source": "test"},
                         "value": {"k": k, "t": _at(clock)}} for i, (k, clock) in records]}
    if end:
        body["end"] = True
    return {"topic": topic, "key": "", "partition": partition, "body": body,
            "timestamp": "2026-11-21 10:00:00 +0000 UTC", "headers": {BATCH_HEADER: identity}}


@pytest.fixture
def topics(local_stack):
    tag = uuid.uuid4().hex[:8]
    names = {"in": f"in-{tag}", "out": f"out-{tag}", "dlq": f"dlq-{tag}"}
    local_stack.create_topics({names["in"]: 2, names["out"]: 1, names["dlq"]: 1})
    return names


def _results(local_stack, topic):
    """Every window result on ``topic`` (plain records or batches alike): (window start, n)."""
    out = []
    for message in consume_all(local_stack.bootstrap, topic, 1):
        _id, entries, _end = unbatch(message.value(), message.headers(), message.key())
        out += [(entry["value"]["window_start"], entry["value"]["n"]) for entry in entries]
    return sorted(out)


def test_partitions_redelivery_and_end_of_input_through_the_function(local_stack, gateway, topics):
    s, url = gateway
    step = {"kind": "aggregate", "name": f"per-k-{topics['out']}",
            "params": {"window": "1m", "time_field": "t", "group_by": ["k"],
                       "aggregations": {"n": {"count": "*"}}},
            "output": topics["out"], "dead_letter": topics["dlq"]}

    def invoke(event):
        body = {"workflow": "t", "version": 1, "step": step,
                "id": f"src:orders:127.0.0.1:9092:{event['topic']}:{event['partition']}:0",
                "event": event}
        resp = s.post(f"{url}/function/aggregate", json=body)
        assert resp.status_code == 200, resp.text
        return resp.json()

    slow = _batch_event(topics["in"], 1, "b-slow", [(1, ("a", "00:30"))])
    fast = _batch_event(topics["in"], 0, "b-fast", [(2, ("a", "00:05")), (3, ("a", "03:00"))])
    assert invoke(slow)["emitted"] == 0
    # Partition 0 is three minutes ahead; partition 1's 10:00:30 holds the watermark: nothing
    # closes (the newest time over both partitions would have closed 10:00 already).
    assert invoke(fast) == {"in": 2, "out": 2, "filtered": 0, "dead_lettered": 0, "emitted": 0}
    assert invoke(fast) == {"in": 0, "out": 0, "filtered": 0, "dead_lettered": 0, "emitted": 0,
                            "duplicate": 1}
    # Partition 1 moves to 10:01:10 and ends: 10:00 closes (2 orders), then partition 0 alone
    # leads: 10:01 closes too.
    last_slow = _batch_event(topics["in"], 1, "b-slow-2", [(4, ("a", "01:10"))], end=True)
    assert invoke(last_slow)["emitted"] == 2
    # Partition 0's empty end batch: every partition ended, the last window closes.
    assert invoke(_batch_event(topics["in"], 0, "b-fast-end", [], end=True))["emitted"] == 1
    start = 1_795_255_200_000  # 2026-11-21T10:00:00Z
    assert _results(local_stack, topics["out"]) == [
        (start, 2), (start + 60_000, 1), (start + 180_000, 1)]
    assert consume_all(local_stack.bootstrap, topics["dlq"], 0, timeout=0.1) == []


def test_the_aggregate_scales_within_every_workflows_bounds_on_a_shared_state():
    # Issue 16 item 3: the aggregate was pinned to one replica (com.openfaas.scale.max "1")
    # because its state was a file of one pod. faas-netes gives a pod a read-only root and a
    # private /tmp (openfaas/faas-netes 03477885 pkg/handlers/deploy.go: SecurityContext
    # ReadOnlyRootFilesystem from the request, then factory.ConfigureReadOnlyRootFilesystem
    # mounts /tmp), so replicas on
    # other pods can share only a database: STATE_URL is PostgreSQL, its password a secret,
    # and the function's bounds leave room for every workflow's bounds of its aggregate steps.
    import pathlib

    import yaml

    from etlkit.warehouse.url import PostgresTarget, parse_database_url
    from etlkit.workflow.parse import load_workflow
    from etlkit.workflow.stack import SCALE_MAX, SCALE_MIN

    root = pathlib.Path(__file__).resolve().parents[2]
    entry = yaml.safe_load((root / "stack.yml").read_text())["functions"]["aggregate"]
    assert isinstance(parse_database_url(entry["environment"]["STATE_URL"], "STATE_URL"),
                      PostgresTarget)
    assert "state-password" in entry["secrets"]  # the state database's role (etlkit/state_db.py)
    low, high = int(entry["labels"][SCALE_MIN]), int(entry["labels"][SCALE_MAX])
    assert high >= 3 > low >= 1  # 2 and 3 replicas are shown equal to one (test_state_store.py)
    asked = []
    for path in sorted((root / "workflows").glob("*.yaml")):
        workflow = load_workflow(path)
        asked += [b for b in workflow.scaling.bounds if b.function == "aggregate"]
    assert asked, "no workflow has an aggregate step"
    for bounds in asked:
        assert low <= bounds.min_replicas and bounds.max_replicas <= high, bounds
