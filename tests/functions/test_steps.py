"""The step functions end to end through the gateway: invocation in, records and dead letters on
real Kafka topics, rows in the warehouse, counters back (in = out + filtered + dead_lettered)."""
import json
import sqlite3
import uuid

import pytest

from devstack.kafka_tools import consume_records
from etlkit import wire
from etlkit.outrecord import out_record
from tests.etlkit.batch_sink import event_of

TIME_MS = 1_795_255_200_000  # 2026-11-21T10:00:00Z


def _batch(values, topic="in", partition=0, keys=None, origin=None):
    """The Argo event of one batch message of ``values``, as an upstream function wrote it."""
    keys = keys or [f"k{i}" for i in range(len(values))]
    records = [out_record(topic, json.dumps(v).encode(), k.encode(), (("etl-source", b"test"),),
                          TIME_MS, partition) for k, v in zip(keys, values)]
    (message,) = wire.batches(records, origin or uuid.uuid4().hex, lambda _t: partition + 1)
    return event_of(message)


def _plain(body, key, topic="in", ts="2026-11-21 10:00:00 +0000 UTC"):
    """The Argo event of one plain record (a foreign producer's)."""
    return {"topic": topic, "key": key, "partition": 0, "body": body, "timestamp": ts,
            "headers": {"etl-source": "test"}}


@pytest.fixture
def topics(local_stack):
    tag = uuid.uuid4().hex[:8]
    names = {"out": f"out-{tag}", "dlq": f"dlq-{tag}"}
    local_stack.create_topics({names["out"]: 1, names["dlq"]: 1})
    return names


def _invoke(gateway, fn, step, event, id=None):
    s, url = gateway
    body = {"workflow": "t", "version": 1, "step": step, "event": event}
    if id is not None:
        body["id"] = id
    return s.post(f"{url}/function/{fn}", json=body)


def _values(local_stack, topic, n):
    return [r.value for r in consume_records(local_stack.bootstrap, topic, n)]


def test_filter_batch_sends_kept_records_on_and_bad_ones_to_the_dead_letter_topic(
        local_stack, gateway, topics):
    step = {"kind": "filter", "name": "paid", "condition": "amount > 10",
            "output": topics["out"], "dead_letter": topics["dlq"]}
    event = _batch([{"amount": 5}, {"amount": 50}, {"amount": "lots"}, {"amount": 11}],
                   keys=["a", "b", "c", "d"])
    resp = _invoke(gateway, "filter", step, event)
    assert resp.status_code == 200, resp.text
    counters = resp.json()
    assert counters == {"in": 4, "out": 2, "filtered": 1, "dead_lettered": 1, "emitted": 2}
    assert counters["in"] == counters["out"] + counters["filtered"] + counters["dead_lettered"]
    kept = consume_records(local_stack.bootstrap, topics["out"], 2)
    assert sorted(r.key for r in kept) == ["b", "d"]
    # One batch, its id from the input batch's and the step's name.
    origin = f"{event['headers'][wire.BATCH_HEADER]}/paid"
    assert {r.batch for r in kept} == {wire.batch_id(origin, topics["out"], 0, 0)}
    (letter,) = _values(local_stack, topics["dlq"], 1)
    assert letter["step"] == "paid" and letter["payload"] == {"amount": "lots"}
    assert letter["key"] == "c" and letter["reason"]


def test_a_redelivered_batch_writes_the_same_batch_again_and_an_end_goes_on(local_stack, gateway):
    tag = uuid.uuid4().hex[:8]
    out, dlq = f"out-{tag}", f"dlq-{tag}"
    local_stack.create_topics({out: 2, dlq: 1})
    step = {"kind": "filter", "name": "paid", "condition": "amount > 10", "output": out,
            "dead_letter": dlq}
    event = _batch([{"amount": 50}, {"amount": 60}], partition=3)
    event["body"]["end"] = True  # the upstream source's last batch of partition 3
    for _ in range(2):  # the Sensor delivers it twice (a retry after a lost answer)
        assert _invoke(gateway, "filter", step, event).status_code == 200
    got = consume_records(local_stack.bootstrap, out, 4)
    assert [(r.partition, r.key, r.end) for r in got] == [(1, "k0", True), (1, "k1", True)] * 2
    assert len({r.batch for r in got}) == 1  # the same id twice: a consumer applies it once


def test_map_reads_a_plain_record_of_a_foreign_producer(local_stack, gateway, topics):
    step = {"kind": "map", "name": "clean", "params": {"rename": {"cust": "customer"},
                                                        "cast": {"n": "int"}},
            "output": topics["out"], "dead_letter": topics["dlq"]}
    resp = _invoke(gateway, "map", step, _plain({"cust": "x", "n": "7"}, "k"), id="es:ev:b:in:0:9")
    assert resp.status_code == 200, resp.text
    assert resp.json()["out"] == 1
    (out,) = consume_records(local_stack.bootstrap, topics["out"], 1)
    assert out.value == {"customer": "x", "n": 7}
    assert out.batch == wire.batch_id("es:ev:b:in:0:9/clean", topics["out"], 0, 0)


def test_enrich_joins_the_lookup_file(local_stack, gateway, topics, tmp_path):
    table = tmp_path / "customers.csv"
    table.write_text("customer_id,country\nc1,NL\nc2,FR\n")
    step = {"kind": "enrich", "name": "with-country",
            "params": {"lookup": str(table), "on": "customer_id", "fields": ["country"],
                       "on_missing": "dead_letter"},
            "output": topics["out"], "dead_letter": topics["dlq"]}
    resp = _invoke(gateway, "enrich", step, _batch([{"customer_id": "c2"}, {"customer_id": "c9"}]))
    assert resp.status_code == 200, resp.text
    assert (resp.json()["out"], resp.json()["dead_lettered"]) == (1, 1)
    assert _values(local_stack, topics["out"], 1) == [{"customer_id": "c2", "country": "FR"}]


def test_aggregate_keeps_window_state_between_invocations(local_stack, gateway, topics):
    step = {"kind": "aggregate", "name": f"per-k-{topics['out']}",
            "params": {"window": "1m", "time_field": "t", "group_by": ["k"],
                       "aggregations": {"n": {"count": "*"}, "total": {"sum": "v"}}},
            "output": topics["out"], "dead_letter": topics["dlq"]}
    first = _batch([{"k": "a", "t": "2026-11-21T10:00:05Z", "v": 1},
                    {"k": "a", "t": "2026-11-21T10:00:30Z", "v": 2}])
    assert _invoke(gateway, "aggregate", step, first).json()["emitted"] == 0
    # A record two minutes later moves the watermark past the first window: it closes.
    later = _batch([{"k": "a", "t": "2026-11-21T10:02:00Z", "v": 4}])
    resp = _invoke(gateway, "aggregate", step, later)
    assert resp.json()["emitted"] == 1
    (result,) = _values(local_stack, topics["out"], 1)
    assert (result["n"], result["total"]) == (2, 3)


def test_loader_upserts_and_a_replay_adds_no_rows(local_stack, gateway, topics):
    table = f"orders_{topics['out'].split('-')[1]}"
    step = {"kind": "sink", "name": "sink", "table": table, "key": "id",
            "url": "env:WAREHOUSE_URL", "dead_letter": topics["dlq"]}
    event = _batch([{"amount": i} for i in range(20)], keys=[f"o{i}" for i in range(20)])
    for _ in range(2):  # the second call is a replay of the same records
        resp = _invoke(gateway, "warehouse-loader", step, event)
        assert resp.status_code == 200, resp.text
        assert resp.json()["out"] == 20
    db = sqlite3.connect(local_stack.run_dir / "warehouse.db")
    assert db.execute(f'SELECT count(*), sum(amount) FROM "{table}"').fetchone() == (20, sum(range(20)))


@pytest.mark.parametrize("fn,body,status,field", [
    ("filter", {"workflow": "t", "step": {"kind": "map"}, "event": {}}, 400, "step.kind"),
    ("filter", {"workflow": "t", "event": {}}, 400, "step"),
    ("filter", {"workflow": "t", "step": {"kind": "filter", "condition": "a >"}, "event": {}}, 400, "step.condition"),
    ("map", {"workflow": "t", "step": {"kind": "map", "params": {}}}, 400, "event"),
    ("warehouse-loader", {"step": {"kind": "sink", "table": "bad name;", "key": "id",
                                   "dead_letter": "x"}, "event": {}}, 400, "warehouse"),
    ("map", {"workflow": "t", "step": {"kind": "map", "params": {}}, "events": []}, 400, "event"),
], ids=["wrong-function", "no-step", "broken-condition", "no-event", "unsafe-table-name",
        "events-envelope-gone"])
def test_bad_invocations_name_the_field(gateway, fn, body, status, field):
    s, url = gateway
    resp = s.post(f"{url}/function/{fn}", json=body)
    assert resp.status_code == status, resp.text
    assert resp.json()["error"].startswith(field), resp.json()
