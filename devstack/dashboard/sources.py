"""The I/O of the dashboard: one :class:`Collector` reads every public API into a Scrape.

Each part is read on its own and a part that fails is left empty with its reason in
``Scrape.errors`` (the page says "Kafka: unreachable (...)" instead of going blank). Replica
scrapes run in parallel: a slow replica costs one timeout, not one per replica.
"""
from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Mapping, Sequence
from typing import Any

import requests

from etlkit.controller.errors import EdgeError
from etlkit.controller.gateway import Gateway
from etlkit.controller.measure import parse_prometheus
from etlkit.workflow import Workflow

from .config import DashboardConfig, watch_list
from .scrape import FunctionState, Instance, Samples, Scrape, TopicState, WatchList

REPLICA_METRICS_PATH = "/_/metrics"  # the template's adapter serves it (etlkit.metrics)
REPLICA_ERRORS_PATH = "/_/errors"  # and the last error per step (etlkit.calllog)


class Collector:
    """Reads everything a round needs; ``close()`` when done."""

    def __init__(self, config: DashboardConfig, watch: WatchList,
                 wired: Sequence[Workflow] | None = None) -> None:
        """``wired``: the workflows the stack wired itself (``up -w``); given, every
        ``controller_interval_s`` the workflow manager's runs are added to the watch list too
        (:mod:`devstack.running_workflows`), so they show whole; None: ``watch`` only."""
        self.config, self.watch = config, watch
        self.http = requests.Session()
        self.http.auth = (config.user, config.password)
        self.wired = None if wired is None else tuple(wired)
        self._definitions: dict = {}  # (name, version) -> Workflow: stored versions never change
        self._found_at: float | None = None
        self._kafka = None
        self._controller: tuple[float, dict[str, Mapping[str, Any] | None]] | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(8, thread_name_prefix="dash-scrape")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.http.close()
        if self._kafka is not None:
            self._kafka.close()

    def collect(self, now: float | None = None) -> Scrape:
        errors: dict[str, str] = {}
        at = time.time() if now is None else now
        functions: tuple[FunctionState, ...] = ()
        gateway: Samples = {}
        try:
            functions = self.functions()
            gateway = self.gateway_metrics()
        except (requests.RequestException, ValueError) as exc:
            errors["gateway"] = _short(exc)
        replicas, call_errors = self.replica_metrics(functions, errors)
        watch = self.find_workflows(functions, errors, at)
        topics = self.topics(errors) if self.config.kafka_bootstrap else {}
        controller: dict[str, Mapping[str, Any] | None] = {}
        if any(f.name == self.config.controller for f in functions):
            controller = self.controller_status(errors, at)
        elif functions:
            errors["controller"] = f"no function {self.config.controller!r} deployed"
        warehouse = self.warehouse_rows(errors) if self.config.warehouse_url else {}
        return Scrape(at, functions, gateway, replicas, topics, controller, warehouse, errors,
                      call_errors, watch)

    # -- the running workflows ------------------------------------------------------------------
    def find_workflows(self, functions: tuple[FunctionState, ...], errors: dict[str, str],
                       now: float) -> WatchList | None:
        """The watch list anew (wired + the manager's runs) when it is time to look again (every
        ``controller_interval_s``: each look is a call of the manager), else None. A manager
        that fails keeps the last list, with the reason in ``errors``."""
        if self.wired is None or not functions:
            return None
        if self._found_at is not None and now - self._found_at < self.config.controller_interval_s:
            return None
        self._found_at = now
        from ..running_workflows import ManagerUnreadable, running_workflows

        gateway = Gateway(self.config.gateway_url, session=self.http, timeout_s=self.config.timeout_s)
        managed = any(f.name == "workflow-manager" for f in functions)
        try:
            running = running_workflows(gateway if managed else None, self.wired, self._definitions)
        except ManagerUnreadable as exc:
            errors["workflow-manager"] = _short(exc)
            return None
        self.watch = watch_list([r.workflow for r in running],
                                {r.name: (r.started_by, r.state) for r in running})
        return self.watch

    # -- the gateway ---------------------------------------------------------------------------
    def _get(self, url: str, **kw) -> requests.Response:
        return self.http.get(url, timeout=self.config.timeout_s, **kw)

    def functions(self) -> tuple[FunctionState, ...]:
        resp = self._get(f"{self.config.gateway_url}/system/functions")
        resp.raise_for_status()
        out = []
        for doc in resp.json():
            # `instances` is the local gateway's addition; a cluster's gateway has none.
            instances = tuple(Instance(str(i["id"]), str(i.get("node", "")),
                                       bool(i.get("ready", True)), i.get("port"))
                              for i in doc.get("instances") or ())
            out.append(FunctionState(doc["name"], int(doc.get("replicas", 0)),
                                     int(doc.get("availableReplicas", 0)), instances))
        return tuple(sorted(out, key=lambda f: f.name))

    def gateway_metrics(self) -> Samples:
        resp = self._get(f"{self.config.gateway_url}/metrics")
        resp.raise_for_status()
        return parse_prometheus(resp.text)

    def replica_metrics(self, functions: tuple[FunctionState, ...], errors: dict[str, str]
                        ) -> tuple[dict[str, Samples], tuple[Mapping[str, Any], ...]]:
        """Every ready replica's /_/metrics, as Prometheus's pod discovery would scrape them,
        and the last errors per step it answered (/_/errors)."""
        wanted = {i.id: i.port for f in functions for i in f.instances if i.ready and i.port}
        futures = {iid: self._pool.submit(self._scrape_replica, port) for iid, port in wanted.items()}
        out, failed, call_errors = {}, [], []
        for iid, future in futures.items():
            try:
                samples, last = future.result()
            except (requests.RequestException, ValueError) as exc:
                failed.append(f"{iid} ({_short(exc)})")
                continue
            if samples is not None:
                out[iid] = samples
            call_errors += last
        if failed:
            errors["replicas"] = "not scraped: " + ", ".join(sorted(failed))
        return out, tuple(call_errors)

    def _scrape_replica(self, port: int) -> tuple[Samples | None, list[Mapping[str, Any]]]:
        # No auth: a replica's port is not the gateway's; a handler built without etlkit
        # answers 404 here (it has no metrics), which is not an error.
        base = f"http://{self.config.replica_host}:{port}"
        resp = requests.get(base + REPLICA_METRICS_PATH, timeout=self.config.timeout_s)
        if resp.status_code == 404 or not resp.headers.get("Content-Type", "").startswith("text/plain"):
            return None, []
        resp.raise_for_status()
        samples = parse_prometheus(resp.text)
        last = requests.get(base + REPLICA_ERRORS_PATH, timeout=self.config.timeout_s)
        # A replica of a template from before /_/errors answers its handler's own reply: no list.
        listed = last.json() if last.status_code == 200 and last.headers.get(
            "Content-Type", "").startswith("application/json") else []
        return samples, [e for e in listed if isinstance(e, dict)] if isinstance(listed, list) else []

    # -- the controller ------------------------------------------------------------------------
    def controller_status(self, errors: dict[str, str],
                          now: float) -> dict[str, Mapping[str, Any] | None]:
        """The autoscaler's status per watched workflow (None: no tick yet). Read at most every
        ``controller_interval_s``: a status read costs the controller a state-store read, and
        scale events are seen sooner, in the gateway's replica counts."""
        if self._controller is not None and now - self._controller[0] < self.config.controller_interval_s:
            return self._controller[1]
        out: dict[str, Mapping[str, Any] | None] = {}
        for workflow in self.watch.workflows:
            url = f"{self.config.gateway_url}/function/{self.config.controller}"
            try:
                resp = self._get(url, params={"workflow": workflow})
            except requests.RequestException as exc:
                errors["controller"] = _short(exc)
                return out
            if resp.status_code == 404:
                out[workflow] = None
            elif resp.status_code == 200:
                out[workflow] = resp.json()
            else:
                errors["controller"] = f"{workflow}: HTTP {resp.status_code} {resp.text[:120]}"
                return out
        self._controller = (now, out)
        return out

    # -- Kafka ---------------------------------------------------------------------------------
    def topics(self, errors: dict[str, str]) -> dict[str, TopicState]:
        try:
            return self._kafka_reader().read(self.watch)
        except EdgeError as exc:
            errors["kafka"] = exc.detail
            self._reset_kafka()
            return {}

    def _kafka_reader(self) -> "KafkaReader":
        if self._kafka is None:
            self._kafka = KafkaReader(self.config.kafka_bootstrap, self.config.timeout_s)
        return self._kafka

    def _reset_kafka(self) -> None:
        if self._kafka is not None:
            self._kafka.close()
            self._kafka = None

    # -- the warehouse -------------------------------------------------------------------------
    def warehouse_rows(self, errors: dict[str, str]) -> dict[str, int | None]:
        from ..pipeline.sqldb import count_rows

        out: dict[str, int | None] = {}
        for table in self.watch.tables:
            try:
                out[table] = count_rows(self.config.warehouse_url, table,
                                        self.config.secrets_dir or None)
            except Exception as exc:  # noqa: BLE001 - a missing table, a down database: shown
                out[table] = None
                if "no such table" not in str(exc) and "does not exist" not in str(exc):
                    errors["warehouse"] = _short(exc)
        return out


class KafkaReader:
    """Topic high watermarks (from fetch responses, right on the embedded broker too) and the
    watched groups' committed offsets, through the controller's own offset reader."""

    def __init__(self, bootstrap: str, timeout_s: float) -> None:
        from confluent_kafka import Consumer

        from etlkit.controller.kafka_offsets import KafkaOffsets

        # Metadata through a consumer that never subscribes (no group join), because a consumer
        # can be closed: an AdminClient is only destroyed at exit, after the broker may have
        # gone, and then waits out its socket timeout.
        self.metadata = Consumer({"bootstrap.servers": bootstrap, "group.id": "faas-etl-dashboard",
                                  "enable.auto.commit": False, "socket.timeout.ms": 5000})
        self.offsets = KafkaOffsets(bootstrap, timeout_s=timeout_s)
        self.timeout_s = timeout_s

    def read(self, watch: WatchList) -> dict[str, TopicState]:
        from confluent_kafka import KafkaException

        try:
            metadata = self.metadata.list_topics(timeout=self.timeout_s)
        except KafkaException as exc:
            raise EdgeError("kafka", f"no metadata ({exc})") from exc
        existing = {name: sorted(t.partitions) for name, t in metadata.topics.items()
                    if t.error is None and t.partitions}
        wanted = [t for t in watch.topics if t in existing] if watch.topics else \
            sorted(t for t in existing if not t.startswith("__"))
        if not wanted:
            return {}
        ends = self.offsets.end_offsets(wanted)
        out = {}
        for topic in wanted:
            committed = {g: self.offsets.committed(g, topic, existing[topic])
                         for g in watch.groups.get(topic, ())}
            out[topic] = TopicState(topic, dict(ends[topic].high), dict(ends[topic].low), committed)
        return out

    def close(self) -> None:
        self.offsets.close()
        self.metadata.close()


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
