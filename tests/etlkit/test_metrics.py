"""etlkit.metrics: the exposition text, and what step and source functions count."""
import json
import re

import pytest

from etlkit import metrics, wire
from etlkit.controller.measure import parse_prometheus
from etlkit.kafka_io import DeliveryError
from etlkit.metrics import MetricError, Registry
from etlkit.sourcefn import deliver
from etlkit.sources import BadRecord
from etlkit.outrecord import out_record
from etlkit.stepfn import handle_step

from .batch_sink import BatchSink, event_of


def test_exposition_text_of_each_kind():
    r = Registry()
    calls = r.counter("calls_total", "Calls", ["code"])
    depth = r.gauge("depth", "Depth")
    took = r.histogram("took_seconds", "Took", ["code"], buckets=(0.1, 1.0))
    calls.inc(code=200)
    calls.inc(2, code=500)
    depth.set(3.5)
    for seconds in (0.05, 0.5, 7.0):
        took.observe(seconds, code=200)
    assert r.render() == "\n".join([
        "# HELP calls_total Calls", "# TYPE calls_total counter",
        'calls_total{code="200"} 1', 'calls_total{code="500"} 2',
        "# HELP depth Depth", "# TYPE depth gauge", "depth 3.5",
        "# HELP took_seconds Took", "# TYPE took_seconds histogram",
        'took_seconds_bucket{code="200",le="0.1"} 1', 'took_seconds_bucket{code="200",le="1.0"} 2',
        'took_seconds_bucket{code="200",le="+Inf"} 3', 'took_seconds_sum{code="200"} 7.55',
        'took_seconds_count{code="200"} 3']) + "\n"


def test_label_values_survive_a_parser_round_trip():
    r = Registry()
    r.counter("odd_total", "Odd labels", ["step"]).inc(step='say "hi"\nback\\slash')
    assert parse_prometheus(r.render()) == {("odd_total", (("step", 'say "hi"\nback\\slash'),)): 1.0}


@pytest.mark.parametrize("use,message", [
    (lambda r: r.counter("c_total", "c", ["a"]).inc(b=1), "labels must be exactly ['a']"),
    (lambda r: r.counter("c_total", "c").inc(-1), "a counter only goes up"),
    (lambda r: r.histogram("h", "h", ["le"]), "'le' is the bucket label"),
    (lambda r: (r.counter("x", "x"), r.gauge("x", "x")), "already declared as a counter"),
], ids=["wrong-labels", "negative-increment", "le-label", "redeclared-as-another-kind"])
def test_misuse_names_the_metric(use, message):
    with pytest.raises(MetricError, match=re.escape(message)):
        use(Registry())


def test_declaring_the_same_metric_twice_gives_the_same_one():
    r = Registry()
    assert r.counter("c_total", "c", ["a"]) is r.counter("c_total", "c", ["a"])


def _step_counts(workflow, step):
    return {k: metrics.RECORDS[k].value(workflow=workflow, step=step) for k in metrics.RECORDS}


def _invocation(step_name, records):
    batch = wire.batches([out_record("in", json.dumps(r).encode(), str(i).encode(), (),
                                     1_717_232_400_000, 0) for i, r in enumerate(records)],
                         "up", lambda topic: 1)
    return json.dumps({"workflow": "wf-metrics", "version": 1,
                       "step": {"kind": "filter", "name": step_name, "condition": "amount > 1",
                                "output": "out", "dead_letter": "dlq"},
                       "event": event_of(batch[0])}).encode()


def test_a_step_counts_its_records_once_kafka_acknowledged_them():
    body = _invocation("counted", [{"amount": 5}, {"amount": 0}, {"amount": 9}])
    before = _step_counts("wf-metrics", "counted")

    def refuse(_records, _origin, **_end):
        raise DeliveryError("broker down")

    assert handle_step(body, "filter", 1_717_232_400_000, refuse)["statusCode"] == 503
    assert _step_counts("wf-metrics", "counted") == before  # the Sensor retries: nothing counted
    assert handle_step(body, "filter", 1_717_232_460_000, BatchSink())["statusCode"] == 200
    after = _step_counts("wf-metrics", "counted")
    assert {k: after[k] - before[k] for k in after} == \
        {"in": 3, "out": 2, "filtered": 1, "dead_lettered": 0, "emitted": 2}
    # The newest event time it saw was 09:00:00, the call's clock 09:01:00.
    assert metrics.EVENT_TIME_LAG.value(workflow="wf-metrics", step="counted") == 60.0


def test_a_source_counts_each_chunk_kafka_acknowledged(monkeypatch):
    monkeypatch.setattr("etlkit.sourcefn.CHUNK", 2)
    items = [{"key": str(i), "value": {"i": i}, "source": "src-metrics", "event_time_ms": 0}
             for i in range(3)] + [BadRecord("src-metrics", 4, "too short", "x")]
    produced = []

    def produce(chunk, _origin, **_end):
        if produced:  # the first chunk is acknowledged, the second is not
            raise DeliveryError("broker down")
        produced.append(chunk)

    before = _step_counts("", "src-metrics")
    with pytest.raises(DeliveryError):
        deliver(items, "topic", "dlq", produce, 0, "origin")
    after = _step_counts("", "src-metrics")
    assert {k: after[k] - before[k] for k in after} == \
        {"in": 2, "out": 2, "filtered": 0, "dead_lettered": 0, "emitted": 2}
