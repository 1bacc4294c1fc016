"""The controller's configuration: what a tick is asked to do, and where it runs.

Two typed, frozen, validated objects, built before any client opens:

* :class:`ScalingSpec`, from the autoscaler envelope a calendar Sensor posts
  (docs/contracts.md): the workflow, its control period and, per operation, the function that
  runs it, its input topics and consumer groups, replica bounds and tolerances (DTT, DTC).
* :class:`ControllerConfig`, from the function's environment: the platform (the local gateway
  or Kubernetes), the addresses, whether the platform can scale to zero, its replica cap, where
  the controller's state lives, the EventBus monitor, and scheduler policy overrides.

Every error is a :class:`~.errors.ConfigError` naming the field and the rule.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..scheduler import Policy, PolicyError
from .errors import ConfigError

__all__ = ["InputSpec", "OperationSpec", "ScalingSpec", "ControllerConfig", "parse_scaling",
           "Platform", "PLATFORMS", "CE_MAX_REPLICAS", "CLUSTER_PROMETHEUS"]

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# The monitor port of the EventBus "default" in namespace argo-events: the controller names its
# Service eventbus-<name>-js-svc with port "monitor" 8222 (argo-events v1.9.11
# pkg/reconciler/eventbus/installer/jetstream.go).
CLUSTER_EVENTBUS_MONITOR = "http://eventbus-default-js-svc.argo-events.svc:8222"
# The chart's Prometheus Service (openfaas/faas-netes 0.18.17 chart/openfaas/templates/
# prometheus-svc.yaml, port 9090); it scrapes the gateway's metrics port 8082, which the
# gateway Service (gateway-svc.yaml) does not expose: only 8080.
CLUSTER_PROMETHEUS = "http://prometheus.openfaas:9090"
# OpenFaaS CE's replica range per function: faas-netes refuses more than 5 (MaxReplicas,
# pkg/handlers/replica_reader.go) and the gateway clamps a scale request to 1..5
# (openfaas/faas 0.27.14 gateway/scaling/ranges.go MakeHorizontalScalingHandler).
CE_MAX_REPLICAS = 5
Platform = Literal["local", "openfaas-ce", "kubernetes"]
PLATFORMS = ("local", "openfaas-ce", "kubernetes")


def _need(ok: bool, where: str, rule: str) -> None:
    if not ok:
        raise ConfigError(where, rule)


def _whole(doc: Mapping[str, Any], key: str, where: str, minimum: int) -> int:
    value = doc.get(key)
    _need(isinstance(value, int) and not isinstance(value, bool) and value >= minimum,
          f"{where}.{key}", f"required, a whole number >= {minimum}")
    return value


def _text(doc: Mapping[str, Any], key: str, where: str) -> str:
    value = doc.get(key)
    _need(isinstance(value, str) and value != "", f"{where}.{key}", "required, a non-empty string")
    return value


@dataclass(frozen=True)
class InputSpec:
    """One input of an operation: the topic it reads and the consumer group that reads it."""

    topic: str
    consumer_group: str


@dataclass(frozen=True)
class OperationSpec:
    """One operation of the workflow as the controller sizes it (times in seconds)."""

    name: str
    function: str
    inputs: tuple[InputSpec, ...]
    min_replicas: int
    max_replicas: int
    dtt_s: float
    dtc: float


@dataclass(frozen=True)
class ScalingSpec:
    """The envelope of one tick: the workflow and its operations, in pipeline order."""

    workflow: str
    version: int
    interval_s: float | None  # None: a cron schedule (the period is measured between ticks)
    operations: tuple[OperationSpec, ...]

    @property
    def topics(self) -> tuple[str, ...]:
        """Every input topic, each once, in operation order."""
        seen: dict[str, None] = {}
        for op in self.operations:
            for i in op.inputs:
                seen.setdefault(i.topic)
        return tuple(seen)


def parse_scaling(doc: object) -> ScalingSpec:
    """The autoscaler envelope ``{"workflow", "version", "scaling": {...}, "event"}``, checked.

    >>> spec = parse_scaling({"workflow": "orders", "version": 1, "scaling": {
    ...     "interval_ms": 15000, "operations": [{"name": "paid-only", "function": "filter",
    ...     "inputs": [{"topic": "orders-raw", "consumer_group": "g"}], "min_replicas": 1,
    ...     "max_replicas": 5, "dtt_ms": 60000, "dtc": 30000}]}})
    >>> spec.operations[0].dtt_s, spec.interval_s
    (60.0, 15.0)
    """
    _need(isinstance(doc, dict), "body", "must be a JSON object (the autoscaler envelope)")
    assert isinstance(doc, dict)
    workflow = _text(doc, "workflow", "body")
    version = doc.get("version", 0)
    _need(isinstance(version, int) and not isinstance(version, bool), "version",
          "must be a whole number")
    scaling = doc.get("scaling")
    if isinstance(scaling, str):  # an Argo `value` parameter arrives as JSON text
        try:
            scaling = json.loads(scaling)
        except ValueError:
            raise ConfigError("scaling", "not valid JSON text") from None
    _need(isinstance(scaling, dict), "scaling", "required, an object")
    interval_s = None
    if "interval_ms" in scaling:
        interval_s = _whole(scaling, "interval_ms", "scaling", 1) / 1000.0
    else:
        _text(scaling, "schedule", "scaling")  # one of the two is required
    operations = scaling.get("operations")
    _need(isinstance(operations, list) and len(operations) > 0, "scaling.operations",
          "required, a non-empty array")
    ops: list[OperationSpec] = []
    for k, raw in enumerate(operations):
        where = f"scaling.operations[{k}]"
        _need(isinstance(raw, dict), where, "must be an object")
        name = _text(raw, "name", where)
        function = _text(raw, "function", where)
        _need(bool(_NAME.match(function)), f"{where}.function",
              "must be an OpenFaaS function name (^[a-z0-9]([-a-z0-9]*[a-z0-9])?$)")
        inputs = raw.get("inputs")
        _need(isinstance(inputs, list) and len(inputs) > 0, f"{where}.inputs",
              "required, a non-empty array")
        parsed_inputs = []
        for j, item in enumerate(inputs):
            _need(isinstance(item, dict), f"{where}.inputs[{j}]", "must be an object")
            parsed_inputs.append(InputSpec(_text(item, "topic", f"{where}.inputs[{j}]"),
                                           _text(item, "consumer_group", f"{where}.inputs[{j}]")))
        low = _whole(raw, "min_replicas", where, 0)
        high = _whole(raw, "max_replicas", where, 1)
        _need(high >= low, f"{where}.max_replicas", f"must be >= min_replicas ({low})")
        dtt = _whole(raw, "dtt_ms", where, 1) / 1000.0
        dtc = raw.get("dtc")
        _need(isinstance(dtc, (int, float)) and not isinstance(dtc, bool) and math.isfinite(dtc)
              and dtc > 0, f"{where}.dtc", "required, a number of records > 0")
        _need(name not in {o.name for o in ops}, f"{where}.name", "must be unique")
        ops.append(OperationSpec(name, function, tuple(parsed_inputs), low, high, dtt, float(dtc)))
    return ScalingSpec(workflow, version, interval_s, tuple(ops))


def _flag(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    _need(lowered in ("true", "false", "1", "0", "yes", "no"), key, "must be true or false")
    return lowered in ("true", "1", "yes")


def _number(env: Mapping[str, str], key: str, default: float, minimum: float = 0.0) -> float:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(key, "must be a number") from None
    _need(math.isfinite(value) and value >= minimum, key, f"must be a finite number >= {minimum:g}")
    return value


@dataclass(frozen=True)
class ControllerConfig:
    """Where the controller runs and what the platform allows.

    Attributes
    ----------
    platform : "local" (the local gateway: scale through ``/system/scale-function``, nodes from
        the topology file), "openfaas-ce" (OpenFaaS Community Edition: only the gateway's API,
        ``/system/function`` and ``/system/scale-function`` with basic auth, replicas 1..5, no
        nodes and no placement: CE runs functions under no ServiceAccount of ours) or
        "kubernetes" (OpenFaaS Pro or any Kubernetes that runs the function under the
        ServiceAccount ``autoscaler`` of k8s/rbac: the Deployment scale subresource and node
        affinity through the Kubernetes API, nodes from the API).
    gateway_url : the OpenFaaS gateway (the matcher function, scaling on local and CE).
    metrics_url : where the gateway's metrics are read as Prometheus text (locally
        ``<gateway>/metrics``; OpenFaaS serves them on port 8082, which its Service does not
        expose, so in a cluster they are read from Prometheus, ``prometheus_url``).
    prometheus_url : a Prometheus that scrapes the gateway (``PROMETHEUS_URL``; default
        :data:`CLUSTER_PROMETHEUS` in a cluster, none locally); used when ``metrics_url`` is "".
    namespace : the functions' namespace.
    kafka_bootstrap : the Kafka cluster the workflow's topics are on.
    scale_to_zero : whether the platform can run a function at zero replicas (the local gateway
        can; OpenFaaS Community Edition cannot). Off, an idle source keeps its minimum.
    replica_cap : the platform's most replicas per function (Community Edition: 5), on top of
        each operation's own ``max_replicas``; None for none.
    state : "kafka" (a compacted topic keyed by workflow, the default) or "file".
    state_topic, state_dir : where that state lives.
    topology_file : the local nodes (region, zone, capacity); unused on Kubernetes.
    matcher : "function" (POST to the matcher function) or "inline" (same code, in process).
    startup_delay_s : how long a new replica takes to consume; the forecast looks this far ahead.
    eventbus_monitor_url : the JetStream EventBus's nats monitoring endpoint, where the events
        its Sensors hold are read (part of each step's backlog, :mod:`.eventbus`); "" for none:
        the stand-in runner has no bus (it reads Kafka and commits after the trigger), so its
        groups' lag is the whole backlog. ``EVENTBUS_MONITOR_URL`` (``none`` for none); default
        :data:`CLUSTER_EVENTBUS_MONITOR` on Kubernetes, none locally.
    policy_overrides : scheduler :class:`~etlkit.scheduler.Policy` fields set by the operator.
    lease_s : how long a tick holds its workflow's lease (``TICK_LEASE_S``, default 120): a
        second tick of the workflow started meanwhile does nothing and says so; a holder that
        died stops blocking once it expires. Longer than a tick takes (every edge times out
        within 10 s), short enough that a crash costs a few periods at most.
    """

    platform: Platform
    gateway_url: str
    kafka_bootstrap: str
    metrics_url: str = ""
    prometheus_url: str = ""
    namespace: str = "openfaas-fn"
    scale_to_zero: bool = False
    replica_cap: int | None = None
    state: Literal["kafka", "file"] = "kafka"
    state_topic: str = "faas-etl.controller-state"
    state_dir: str = ""
    topology_file: str = ""
    matcher: Literal["function", "inline"] = "function"
    startup_delay_s: float = 30.0
    eventbus_monitor_url: str = ""
    policy_overrides: Mapping[str, Any] = field(default_factory=dict)
    lease_s: float = 120.0

    def __post_init__(self) -> None:
        _need(self.platform in PLATFORMS, "PLATFORM", "must be local, openfaas-ce or kubernetes")
        if self.platform == "openfaas-ce":
            _need(not self.scale_to_zero, "SCALE_TO_ZERO",
                  "must be false on openfaas-ce (the gateway raises a request for 0 replicas to 1)")
            _need(self.replica_cap is not None and self.replica_cap <= CE_MAX_REPLICAS,
                  "PLATFORM_MAX_REPLICAS",
                  f"must be 1..{CE_MAX_REPLICAS} on openfaas-ce (faas-netes MaxReplicas)")
        _need(self.platform == "local" or bool(self.metrics_url or self.prometheus_url),
              "PROMETHEUS_URL", "required in a cluster unless GATEWAY_METRICS_URL is set "
              "(the gateway's own /metrics is on port 8082, not behind its Service)")
        _need(self.prometheus_url == "" or self.prometheus_url.startswith(("http://", "https://")),
              "PROMETHEUS_URL", "must be an http(s) URL")
        _need(self.gateway_url.startswith(("http://", "https://")), "OPENFAAS_URL",
              "required, an http(s) URL of the gateway")
        _need(bool(self.kafka_bootstrap), "KAFKA_BOOTSTRAP", "required, the bootstrap servers")
        _need(self.state in ("kafka", "file"), "STATE_STORE", "must be kafka or file")
        _need(self.state != "file" or bool(self.state_dir), "STATE_DIR",
              "required when STATE_STORE is file")
        _need(self.platform != "local" or bool(self.topology_file), "TOPOLOGY_FILE",
              "required on the local platform (the nodes and their labels)")
        _need(self.matcher in ("function", "inline"), "MATCHER", "must be function or inline")
        _need(self.eventbus_monitor_url == ""
              or self.eventbus_monitor_url.startswith(("http://", "https://")),
              "EVENTBUS_MONITOR_URL", "must be an http(s) URL of the nats monitor port, or none")
        _need(self.replica_cap is None or self.replica_cap >= 1, "PLATFORM_MAX_REPLICAS",
              "must be a whole number >= 1")
        try:
            self.policy(interval_s=15.0, dtt_s=60.0, dtc=1000.0)
        except PolicyError as exc:
            raise ConfigError(f"SCALING_POLICY.{exc.field.removeprefix('policy.')}",
                              exc.rule) from None

    @property
    def metrics(self) -> str:
        """Prometheus text to scrape, or "" when the metrics come from ``prometheus_url``."""
        if self.metrics_url or self.prometheus_url:
            return self.metrics_url
        return f"{self.gateway_url.rstrip('/')}/metrics"

    def policy(self, *, interval_s: float, dtt_s: float, dtc: float) -> Policy:
        """The scheduler policy for operations with these tolerances.

        Tolerances come from the workflow; the control period from the tick; scale-to-zero from
        the platform; the rest from ``SCALING_POLICY``. The matching is the matcher's job.
        """
        fixed = {"control_period_s": interval_s, "tolerance_time_s": dtt_s,
                 "tolerance_backlog": dtc, "scale_to_zero": self.scale_to_zero,
                 "startup_delay_s": self.startup_delay_s, "match_services": False}
        return Policy.from_dict({**self.policy_overrides, **fixed})

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ControllerConfig:
        """Read the function's environment (see the attributes for the variables)."""
        # In a pod, CE's gateway API is the default: it works on CE and on Pro alike, while the
        # Kubernetes API needs the ServiceAccount that only Pro binds (see k8s/README.md).
        platform = env.get("PLATFORM") or ("openfaas-ce" if env.get("KUBERNETES_SERVICE_HOST")
                                           else "local")
        local = platform == "local"
        cap_raw = env.get("PLATFORM_MAX_REPLICAS",
                          str(CE_MAX_REPLICAS) if platform == "openfaas-ce" else "")
        cap = None
        if cap_raw not in ("", "none"):
            _need(cap_raw.isdigit(), "PLATFORM_MAX_REPLICAS", "must be a whole number or none")
            cap = int(cap_raw)
        overrides_raw = env.get("SCALING_POLICY", "")
        try:
            overrides = json.loads(overrides_raw) if overrides_raw else {}
        except ValueError:
            raise ConfigError("SCALING_POLICY", "must be a JSON object of policy fields") from None
        _need(isinstance(overrides, dict), "SCALING_POLICY", "must be a JSON object")
        store = env.get("STATE_STORE", "kafka")
        monitor = env.get("EVENTBUS_MONITOR_URL", "" if local else CLUSTER_EVENTBUS_MONITOR)
        return cls(
            platform=platform,  # type: ignore[arg-type]
            gateway_url=env.get("OPENFAAS_URL", "" if local else "http://gateway.openfaas:8080"),
            metrics_url=env.get("GATEWAY_METRICS_URL", ""),
            prometheus_url=env.get("PROMETHEUS_URL", "" if local else CLUSTER_PROMETHEUS),
            kafka_bootstrap=env.get("KAFKA_BOOTSTRAP", ""),
            namespace=env.get("FUNCTION_NAMESPACE", "openfaas-fn"),
            scale_to_zero=_flag(env, "SCALE_TO_ZERO", default=local),
            replica_cap=cap,
            state=store,  # type: ignore[arg-type]
            state_topic=env.get("STATE_TOPIC", "faas-etl.controller-state"),
            state_dir=env.get("STATE_DIR", ""),
            topology_file=env.get("TOPOLOGY_FILE", ""),
            matcher=env.get("MATCHER", "function"),  # type: ignore[arg-type]
            startup_delay_s=_number(env, "STARTUP_DELAY_S", 5.0 if local else 30.0),
            eventbus_monitor_url="" if monitor.strip().lower() == "none" else monitor.strip(),
            policy_overrides=overrides,
            lease_s=_number(env, "TICK_LEASE_S", 120.0, minimum=1.0))
