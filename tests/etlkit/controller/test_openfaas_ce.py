"""The autoscaler on OpenFaaS CE: the upstream rules it relies on, checked against our artefacts.

Each test names the upstream file its rule comes from. The calls themselves (scale, status) run
against the CE stand-in in tests/controller/test_ce_timeline.py.
"""
import json
import pathlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from devstack.stackfile import load_stack
from etlkit.controller import ControllerConfig, EdgeError
from etlkit.controller.gateway import Gateway
from etlkit.controller.openfaas_ce import CommunityEdition
from etlkit.controller.prometheus import BUSY_SECONDS_QUERY, PrometheusMetrics
from etlkit.controller.wiring import build_edges
from etlkit.workflow.parse import load_workflow

REPO = pathlib.Path(__file__).resolve().parents[3]
STACK = load_stack(REPO / "stack.yml")


def _sized_functions():
    return sorted({b.function for path in sorted((REPO / "workflows").glob("*.yaml"))
                   for b in load_workflow(path).scaling.bounds})


def test_every_function_the_autoscaler_sizes_switches_ces_alert_scaling_off():
    """openfaas/faas 0.27.14 gateway/plugin/external.go GetReplicas returns an error for a
    ``com.openfaas.scale.factor`` outside 1..100 ("bad scaling factor"), and
    gateway/handlers/alerthandler.go scaleService changes nothing when GetReplicas fails: with
    factor "0" neither the firing alert (above 5 calls/s, faas-netes 0.18.17
    chart/openfaas/templates/prometheus-cfg.yaml APIHighInvocationRate) nor its resolution
    (which sets the minimum) touches the count the autoscaler set."""
    sized = _sized_functions()
    assert sized  # the workflows size something
    assert {f: STACK.functions[f].labels.get("com.openfaas.scale.factor") for f in sized} == \
        dict.fromkeys(sized, "0")


def test_the_ce_install_turns_scale_from_zero_off():
    """The same GetReplicas error makes the gateway's scale-from-zero proxy answer every call to
    such a function 404 (openfaas/faas 0.27.14 gateway/handlers/scaling.go MakeScalingHandler,
    gateway/scaling/function_scaler.go Scale; on by default: faas-netes 0.18.17
    chart/openfaas/values.yaml gateway.scaleFromZero: true). So CE is installed without it."""
    readme = (REPO / "k8s" / "README.md").read_text()
    install = readme[readme.index("helm upgrade --install openfaas"):]
    install = install[:install.index("\n#    (")]
    assert "--set gateway.scaleFromZero=false" in install


def test_ce_mode_opens_no_kubernetes_client(tmp_path):
    """CE runs a function under no ServiceAccount of ours: faas-netes dropped
    ``com.openfaas.serviceaccount`` from CE (openfaas/faas-netes commit 09d44a46, 2022-02-18;
    0.18.17 pkg/handlers/deploy.go makeDeploymentSpec sets no ServiceAccountName), so any
    Kubernetes call would be refused. The CE edges are the gateway's API only."""
    config = ControllerConfig.from_env({"KUBERNETES_SERVICE_HOST": "10.0.0.1",
                                        "KAFKA_BOOTSTRAP": "127.0.0.1:9", "STATE_STORE": "file",
                                        "STATE_DIR": str(tmp_path)})
    edges = build_edges(config, secrets_dir=str(tmp_path))
    assert config.platform == "openfaas-ce"
    assert isinstance(edges.cluster, CommunityEdition) and edges.actuator is edges.cluster
    assert isinstance(edges.metrics, PrometheusMetrics)


@pytest.mark.parametrize("replicas", [0, 6], ids=["zero", "above-five"])
def test_ce_scaling_refuses_a_count_the_gateway_would_silently_clamp(replicas):
    """openfaas/faas 0.27.14 gateway/scaling/ranges.go raises <1 to 1 and lowers >5 to 5 with a
    202: the controller never sends such a count, so plan and platform cannot disagree."""
    ce = CommunityEdition(Gateway("http://127.0.0.1:9", timeout_s=0.5))
    with pytest.raises(EdgeError, match="OpenFaaS CE allows 1..5 replicas"):
        ce.scale("filter", replicas)


class _Prometheus(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        query = parse_qs(urlparse(self.path).query).get("query", [""])[0]
        result = [{"metric": {"function_name": name}, "value": [1.0, str(value)]}
                  for name, value in (("filter.openfaas-fn", 12.5), ("map", 3.0),
                                      ("other.elsewhere", 9.0))]
        body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}}
                          if query == BUSY_SECONDS_QUERY else {"status": "error"}).encode()
        self.send_response(200 if query == BUSY_SECONDS_QUERY else 400)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_busy_seconds_come_from_prometheus_summed_by_function():
    """The gateway's /metrics is on port 8082 (openfaas/faas 0.27.14 gateway/main.go
    runMetricsServer), not behind the ``gateway`` Service (faas-netes 0.18.17
    chart/openfaas/templates/gateway-svc.yaml: 8080 only); the chart's Prometheus scrapes it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Prometheus)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        metrics = PrometheusMetrics(f"http://127.0.0.1:{server.server_address[1]}", "openfaas-fn")
        assert metrics.busy_seconds() == {"filter": 12.5, "map": 3.0}
    finally:
        server.shutdown()
