"""The steps' record counters: summed over replicas (pure), asked of Prometheus's HTTP API, and
refused with a reason where the gateway lists no replicas (the replica reader itself runs in
tests/e2e/test_workflow_runs.py against the local gateway)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from etlkit.controller.errors import EdgeError
from etlkit.controller.gateway import Gateway
from etlkit.controller.measure import parse_prometheus
from etlkit.metrics import Registry
from etlkit.runs.counters import SERIES, PrometheusRecords, ReplicaRecords, sum_records


def _replica(**steps) -> dict:
    """The samples one replica serves after counting ``steps`` ({"wf/step": {kind: n}})."""
    registry = Registry()
    counters = {name: registry.counter(name, "records", ["workflow", "step"]) for name in SERIES}
    for key, kinds in steps.items():
        workflow, step = key.split("/")
        for name, kind in SERIES.items():
            counters[name].inc(kinds.get(kind, 0), workflow=workflow, step=step)
    return parse_prometheus(registry.render())


def test_sum_records_adds_replicas_of_the_workflow_and_ignores_others():
    replicas = [_replica(**{"orders/paid-only": {"in": 5, "out": 3, "filtered": 2}}),
                _replica(**{"orders/paid-only": {"in": 4, "out": 4}, "other/paid-only": {"in": 99}}),
                {("faas_etl_function_invocation_total", (("code", "200"),)): 7.0}]
    got = sum_records(replicas, "orders")
    assert got == {"paid-only": {"in": 9.0, "out": 7.0, "filtered": 2.0, "dead_lettered": 0.0, "emitted": 0.0}}


class _Stub(BaseHTTPRequestHandler):
    """Prometheus's /api/v1/query (one answer per counter) and a cluster gateway's listing."""

    answers: dict = {}

    def do_GET(self):  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        if url.path == "/system/functions":
            body = [{"name": "filter", "replicas": 1, "availableReplicas": 1}]  # no "instances"
        elif url.path == "/api/v1/query":
            query = parse_qs(url.query)["query"][0]
            body = self.answers.get(query)
            if body is None:
                self.send_response(400)
                self.end_headers()
                return
        else:
            self.send_response(404)
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def stub():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _vector(*pairs):
    return {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"step": step}, "value": [1767261600.0, str(value)]} for step, value in pairs]}}


def test_prometheus_answers_one_sum_per_counter(stub):
    _Stub.answers = {f'sum by (step) ({name}{{workflow="orders"}})': _vector(("paid-only", 12), ("sink", 3))
                     for name in SERIES}
    got = PrometheusRecords(stub).records("orders")
    assert got == {step: dict.fromkeys(SERIES.values(), float(n)) for step, n in (("paid-only", 12), ("sink", 3))}


def test_a_query_prometheus_refuses_is_an_edge_error_naming_it(stub):
    _Stub.answers = {}
    with pytest.raises(EdgeError) as err:
        PrometheusRecords(stub).records("orders")
    assert err.value.edge == "prometheus"
    assert err.value.detail == 'sum by (step) (faas_etl_records_in_total{workflow="orders"}): HTTP 400'


def test_a_gateway_that_lists_no_replicas_says_where_counters_are_instead(stub):
    with pytest.raises(EdgeError) as err:
        ReplicaRecords(Gateway(stub, timeout_s=2.0)).records("orders")
    assert "set RUN_COUNTERS=prometheus and PROMETHEUS_URL" in err.value.detail
