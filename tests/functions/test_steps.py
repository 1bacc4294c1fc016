"""The step functions end to end through the gateway: invocation in, records and dead letters on
real Kafka topics, rows in the warehouse, counters back (in = out + filtered + dead_lettered)."""
import json
import sqlite3
import uuid

import pytest

from devstack.kafka_tools import consume_all


def _event(body, key, topic="in", ts="2026-11-21 10:00:00 +0000 UTC"):
    return {"topic": topic, "key": key, "partition": 0, "body": body, "timestamp": ts,
            "headers": {"etl-source": "test"}}


@pytest.fixture
def topics(local_stack):
    tag = uuid.uuid4().hex[:8]
    names = {"out": f"out-{tag}", "dlq": f"dlq-{tag}"}
    local_stack.create_topics({names["out"]: 1, names["dlq"]: 1})
    return names


def _invoke(gateway, fn, step, events=None, event=None):
    s, url = gateway
    body = {"workflow": "t", "version": 1, "step": step}
    body.update({"events": events} if events is not None else {"event": event})
    return s.post(f"{url}/function/{fn}", json=body)


def _values(local_stack, topic, n):
    return [json.loads(m.value()) for m in consume_all(local_stack.bootstrap, topic, n)]


def test_filter_batch_sends_kept_records_on_and_bad_ones_to_the_dead_letter_topic(
        local_stack, gateway, topics):
    step = {"kind": "filter", "name": "paid", "condition": "amount > 10",
            "output": topics["out"], "dead_letter": topics["dlq"]}
    events = [_event({"amount": 5}, "a"), _event({"amount": 50}, "b"),
              _event({"amount": "lots"}, "c"), _event({"amount": 11}, "d")]
    resp = _invoke(gateway, "filter", step, events=events)
    assert resp.status_code == 200, resp.text
    counters = resp.json()
    assert counters == {"in": 4, "out": 2, "filtered": 1, "dead_lettered": 1, "emitted": 2}
    assert counters["in"] == counters["out"] + counters["filtered"] + counters["dead_lettered"]
    kept = consume_all(local_stack.bootstrap, topics["out"], 2)
    assert sorted(m.key() for m in kept) == [b"b", b"d"]
    (letter,) = _values(local_stack, topics["dlq"], 1)
    assert letter["step"] == "paid" and letter["payload"] == {"amount": "lots"}
    assert letter["key"] == "c" and letter["reason"]


def test_map_per_event_mode(local_stack, gateway, topics):
    step = {"kind": "map", "name": "clean", "params": {"rename": {"cust": "customer"},
                                                        "cast": {"n": "int"}},
            "output": topics["out"], "dead_letter": topics["dlq"]}
    resp = _invoke(gateway, "map", step, event=_event({"cust": "x", "n": "7"}, "k"))
    assert resp.status_code == 200, resp.text
    assert resp.json()["out"] == 1
    assert _values(local_stack, topics["out"], 1) == [{"customer": "x", "n": 7}]


def test_enrich_joins_the_lookup_file(local_stack, gateway, topics, tmp_path):
    table = tmp_path / "customers.csv"
    table.write_text("customer_id,country\nc1,NL\nc2,FR\n")
    step = {"kind": "enrich", "name": "with-country",
            "params": {"lookup": str(table), "on": "customer_id", "fields": ["country"],
                       "on_missing": "dead_letter"},
            "output": topics["out"], "dead_letter": topics["dlq"]}
    events = [_event({"customer_id": "c2"}, "o1"), _event({"customer_id": "c9"}, "o2")]
    resp = _invoke(gateway, "enrich", step, events=events)
    assert resp.status_code == 200, resp.text
    assert (resp.json()["out"], resp.json()["dead_lettered"]) == (1, 1)
    assert _values(local_stack, topics["out"], 1) == [{"customer_id": "c2", "country": "FR"}]


def test_aggregate_keeps_window_state_between_invocations(local_stack, gateway, topics):
    step = {"kind": "aggregate", "name": f"per-k-{topics['out']}",
            "params": {"window": "1m", "time_field": "t", "group_by": ["k"],
                       "aggregations": {"n": {"count": "*"}, "total": {"sum": "v"}}},
            "output": topics["out"], "dead_letter": topics["dlq"]}
    first = [_event({"k": "a", "t": "2026-11-21T10:00:05Z", "v": 1}, "1"),
             _event({"k": "a", "t": "2026-11-21T10:00:30Z", "v": 2}, "2")]
    assert _invoke(gateway, "aggregate", step, events=first).json()["emitted"] == 0
    # A record two minutes later moves the watermark past the first window: it closes.
    later = [_event({"k": "a", "t": "2026-11-21T10:02:00Z", "v": 4}, "3")]
    resp = _invoke(gateway, "aggregate", step, events=later)
    assert resp.json()["emitted"] == 1
    (result,) = _values(local_stack, topics["out"], 1)
    assert (result["n"], result["total"]) == (2, 3)


def test_loader_upserts_and_a_replay_adds_no_rows(local_stack, gateway, topics):
    table = f"orders_{topics['out'].split('-')[1]}"
    step = {"kind": "sink", "name": "sink", "table": table, "key": "id",
            "url": "env:WAREHOUSE_URL", "dead_letter": topics["dlq"]}
    events = [_event({"amount": i}, f"o{i}") for i in range(20)]
    for _ in range(2):  # the second call is a replay of the same records
        resp = _invoke(gateway, "warehouse-loader", step, events=events)
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
                                   "dead_letter": "x"}, "events": []}, 400, "warehouse"),
], ids=["wrong-function", "no-step", "broken-condition", "no-event", "unsafe-table-name"])
def test_bad_invocations_name_the_field(gateway, fn, body, status, field):
    s, url = gateway
    resp = s.post(f"{url}/function/{fn}", json=body)
    assert resp.status_code == status, resp.text
    assert resp.json()["error"].startswith(field), resp.json()
