"""Where a run's per-step record counters come from: the functions' own metrics.

Every step function counts ``faas_etl_records_{in,out,filtered,dead_lettered,emitted}_total
{workflow,step}`` (:mod:`etlkit.metrics`), served per replica at ``/_/metrics``. Two readers:

* :class:`ReplicaRecords`: the local gateway lists each replica's loopback port
  (``/system/functions`` ``instances``); every ready replica is scraped and the series summed.
  A replica scaled away takes its counts with it (Prometheus keeps them; this does not).
* :class:`PrometheusRecords`: a cluster's Prometheus, which scrapes the pods
  (``grafana/prometheus-scrape.yml``): one instant query ``sum by (step)`` per counter.

:func:`sum_records` is the pure part. Anything that does not answer is an
:class:`~etlkit.controller.errors.EdgeError` naming the edge.
"""
from __future__ import annotations

from typing import Iterable

import requests

from ..controller.errors import EdgeError
from ..controller.gateway import Gateway
from ..controller.measure import MetricSamples, parse_prometheus
from ..controller.prometheus import instant_query
from .backend import StepRecords
from .decide import RECORD_KINDS

SERIES = {f"faas_etl_records_{kind}_total": kind for kind in RECORD_KINDS}
METRICS_PATH = "/_/metrics"  # where the python3-etl template serves etlkit.metrics

def sum_records(samples: Iterable[MetricSamples], workflow: str) -> StepRecords:
    """The record counters of ``workflow``'s steps, summed over every replica's samples.

    >>> sum_records([{("faas_etl_records_in_total", (("step", "a"), ("workflow", "w"))): 3.0}] * 2, "w")
    {'a': {'in': 6.0}}
    """
    out: StepRecords = {}
    for replica in samples:
        for (name, labels), value in replica.items():
            kind = SERIES.get(name)
            tags = dict(labels)
            if kind is None or tags.get("workflow") != workflow or "step" not in tags:
                continue
            step = out.setdefault(tags["step"], {})
            step[kind] = step.get(kind, 0.0) + value
    return out


class ReplicaRecords:
    """A :class:`~.backend.RecordReader` scraping the replicas the local gateway lists."""

    def __init__(self, gateway: Gateway, host: str = "127.0.0.1") -> None:
        self.gateway, self.host = gateway, host

    def records(self, workflow: str) -> StepRecords:
        resp = self.gateway.request("GET", "/system/functions")
        if resp.status_code != 200:
            raise EdgeError("gateway", f"GET /system/functions: HTTP {resp.status_code}")
        listing = resp.json()
        ports = sorted(i["port"] for f in listing for i in f.get("instances") or ()
                       if i.get("ready", True) and i.get("port"))
        if listing and not any("instances" in f for f in listing):
            raise EdgeError("gateway", "lists no replica addresses (only the local gateway does): "
                                       "set RUN_COUNTERS=prometheus and PROMETHEUS_URL")
        return sum_records((self._scrape(port) for port in ports), workflow)

    def _scrape(self, port: int) -> MetricSamples:
        url = f"http://{self.host}:{port}{METRICS_PATH}"
        try:
            resp = requests.get(url, timeout=self.gateway.timeout_s)
        except requests.RequestException:
            return {}  # a replica going away between the listing and the scrape: not an error
        if resp.status_code != 200:
            return {}  # a handler built without etlkit serves no metrics
        return parse_prometheus(resp.text, SERIES)


class PrometheusRecords:
    """A :class:`~.backend.RecordReader` asking Prometheus's HTTP API (``/api/v1/query``)."""

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        self.url, self.timeout_s = url.rstrip("/"), timeout_s

    def records(self, workflow: str) -> StepRecords:
        out: StepRecords = {}
        for name, kind in SERIES.items():
            query = f'sum by (step) ({name}{{workflow="{workflow}"}})'
            for labels, value in instant_query(self.url, query, self.timeout_s):
                step = labels.get("step")
                if step is not None:
                    out.setdefault(step, {})[kind] = value
        return out
