"""Prometheus's HTTP API: instant queries, and the gateway's busy seconds read through it.

In a cluster the gateway's own metrics are out of reach: OpenFaaS's gateway serves ``/metrics``
on a second port, 8082 (openfaas/faas 0.27.14 ``gateway/main.go`` runMetricsServer), and the
chart's ``gateway`` Service exposes only 8080 (openfaas/faas-netes 0.18.17
``chart/openfaas/templates/gateway-svc.yaml``). The chart's Prometheus (Service ``prometheus``,
port 9090, ``prometheus-svc.yaml``) scrapes 8082 every 5 s (``prometheus-cfg.yaml``, job
``openfaas-pods``), so the same counters are read there, summed over the gateway's replicas.

I/O module: imports requests. Prometheus not answering is EdgeError("prometheus").
"""
from __future__ import annotations

import requests

from .errors import EdgeError
from .measure import FUNCTION_SECONDS, function_seconds

__all__ = ["instant_query", "PrometheusMetrics", "BUSY_SECONDS_QUERY"]

# Every status code counts: a call that failed still kept a replica busy.
BUSY_SECONDS_QUERY = f"sum by (function_name) ({FUNCTION_SECONDS})"


def instant_query(url: str, query: str, timeout_s: float = 10.0,
                  session: requests.Session | None = None) -> list[tuple[dict[str, str], float]]:
    """``GET <url>/api/v1/query``: each series of the instant vector as (labels, value)."""
    getter = session or requests
    try:
        resp = getter.get(f"{url.rstrip('/')}/api/v1/query", params={"query": query},
                          timeout=timeout_s)
        result = resp.json()["data"]["result"] if resp.status_code == 200 else None
        if result is None:
            raise EdgeError("prometheus", f"{query}: HTTP {resp.status_code}")
        return [(dict(series.get("metric", {})), float(series["value"][1])) for series in result]
    except (requests.RequestException, ValueError, KeyError, TypeError, IndexError) as exc:
        raise EdgeError("prometheus", f"{query}: {type(exc).__name__}: {exc}") from exc


class PrometheusMetrics:
    """A :class:`~.ports.FunctionMetrics` asking Prometheus for the gateway's counters."""

    def __init__(self, url: str, namespace: str, timeout_s: float = 10.0) -> None:
        self.url, self.namespace, self.timeout_s = url, namespace, timeout_s

    def busy_seconds(self) -> dict[str, float]:
        series = instant_query(self.url, BUSY_SECONDS_QUERY, self.timeout_s)
        samples = {(FUNCTION_SECONDS, tuple(sorted(labels.items()))): value
                   for labels, value in series}
        return function_seconds(samples, self.namespace)
