"""grafana/faas-etl.json is a dashboard Grafana imports, and every series it queries is one the
bundle exposes: the gateway's, the functions' (etlkit.metrics), or the dashboard exporter's."""
import json
import pathlib
import re

import yaml

from devstack.dashboard import exporter
from devstack.dashboard.scrape import WatchList
from etlkit import metrics

REPO = pathlib.Path(__file__).resolve().parents[3]
DASHBOARD = json.loads((REPO / "grafana" / "faas-etl.json").read_text(encoding="utf-8"))
GATEWAY = {"gateway_function_invocation_total", "gateway_functions_seconds_bucket",
           "gateway_functions_seconds_sum", "gateway_functions_seconds_count",
           "gateway_service_count", "faas_etl_replicas_per_node"}  # devstack/gateway/metrics.py
PROMQL_WORDS = {"sum", "max", "min", "by", "rate", "histogram_quantile", "le", "code", "topic",
                "consumergroup", "workflow", "step", "function_name", "node", "table"}


def _exposed() -> set[str]:
    names = set(GATEWAY)
    text = metrics.REGISTRY.render() + exporter.render(None, WatchList())
    for declared in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
        name, kind = declared
        names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"} if kind == "histogram" else {name}
    return names


def _targets():
    for panel in DASHBOARD["panels"]:
        for target in panel.get("targets", ()):
            yield panel, target


def test_every_query_reads_a_series_the_bundle_exposes():
    exposed = _exposed()
    for panel, target in _targets():
        # Strip strings ("..."), label matchers ({...}), ranges ([...]) and $variables first.
        expr = re.sub(r'"[^"]*"|\{[^}]*\}|\[[^\]]*\]|\$\w+', " ", target["expr"])
        words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr)) - PROMQL_WORDS
        assert words and words <= exposed, (panel["title"], words - exposed)


def test_the_dashboard_is_importable():
    ids = [p["id"] for p in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids))
    assert DASHBOARD["uid"] and DASHBOARD["schemaVersion"] >= 36
    variables = {v["name"] for v in DASHBOARD["templating"]["list"]}
    assert variables == {"datasource", "workflow"}
    for panel in DASHBOARD["panels"]:
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, panel["title"]
        refs = [t["refId"] for t in panel.get("targets", ())]
        assert len(refs) == len(set(refs)), panel["title"]
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]


def test_the_scrape_config_labels_functions_as_the_gateway_does():
    jobs = {j["job_name"]: j for j in yaml.safe_load((REPO / "grafana" / "prometheus-scrape.yml").read_text())}
    functions = jobs["faas-etl-functions"]
    assert functions["metrics_path"] == "/_/metrics"
    (rule,) = [r for r in functions["relabel_configs"] if r.get("target_label") == "function_name"]
    assert rule["separator"] == "." and rule["source_labels"][0].endswith("label_faas_function")
