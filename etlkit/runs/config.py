"""The Runner's configuration: typed, frozen and validated before any client opens.

Read from the workflow-manager function's environment by :meth:`RunConfig.from_env`; every
error is a :class:`~etlkit.controller.errors.ConfigError` naming the variable and the rule.

=========================  ===============================================================
variable                   meaning (default)
=========================  ===============================================================
``RUN_BACKEND``            ``local`` (a folder the local reconciler runs) or ``kubernetes``
                           (custom objects through the API); default ``kubernetes`` inside a
                           cluster (``KUBERNETES_SERVICE_HOST`` set), else ``local``
``KAFKA_BOOTSTRAP``        the Kafka the topics are on: backlog, and topic creation locally
``FAAS_ETL_RUN_DIR``       local: documents go to ``<run dir>/argo-apply/<workflow>/``
``ARGO_NAMESPACE``         where EventSources and Sensors live (``argo-events``)
``KAFKA_NAMESPACE``        where the Strimzi topic operator watches KafkaTopics (``kafka``)
``KAFKA_CLUSTER``          the Strimzi Kafka resource owning the topics (``etl``)
``OPENFAAS_URL``           the gateway: Sensors call it, step counters are read through it
                           (``http://gateway.openfaas:8080`` in a cluster)
``RUN_COUNTERS``           where step counters come from: ``replicas`` (each replica's
                           ``/_/metrics``, found through the local gateway's instance list),
                           ``prometheus`` (``PROMETHEUS_URL``) or ``none``; default
                           ``replicas`` locally, ``prometheus`` when ``PROMETHEUS_URL`` is set,
                           else ``none``
``KUBERNETES_API_URL``     an API server to use instead of the in-cluster one (tests)
=========================  ===============================================================
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Mapping

from ..controller.errors import ConfigError
from ..workflow.manifests import RenderSettings
from .local_backend import APPLY_DIR, RUNS_DIR

Backend = Literal["local", "kubernetes"]
Counters = Literal["replicas", "prometheus", "none"]
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _need(ok: bool, field: str, rule: str) -> None:
    if not ok:
        raise ConfigError(field, rule)


@dataclass(frozen=True)
class RunConfig:
    backend: Backend
    kafka_bootstrap: str
    run_dir: str = ""
    argo_namespace: str = "argo-events"
    kafka_namespace: str = "kafka"
    kafka_cluster: str = "etl"
    gateway_url: str = "http://gateway.openfaas:8080"
    counters: Counters = "none"
    prometheus_url: str = ""
    kubernetes_api_url: str = ""
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        _need(self.backend in ("local", "kubernetes"), "RUN_BACKEND", "must be local or kubernetes")
        _need(bool(self.kafka_bootstrap), "KAFKA_BOOTSTRAP", "required, the bootstrap servers")
        _need(self.backend != "local" or bool(self.run_dir), "FAAS_ETL_RUN_DIR",
              "required with RUN_BACKEND=local (the folder the local reconciler watches)")
        for field, value in (("ARGO_NAMESPACE", self.argo_namespace),
                             ("KAFKA_NAMESPACE", self.kafka_namespace),
                             ("KAFKA_CLUSTER", self.kafka_cluster)):
            _need(bool(_DNS_LABEL.match(value)) and len(value) <= 63, field,
                  "must be a DNS-1123 label (lowercase letters, digits, '-'; at most 63)")
        for field, value in (("OPENFAAS_URL", self.gateway_url), ("PROMETHEUS_URL", self.prometheus_url),
                             ("KUBERNETES_API_URL", self.kubernetes_api_url)):
            _need(value == "" or value.startswith(("http://", "https://")), field, "must be an http(s) URL")
        _need(self.counters in ("replicas", "prometheus", "none"), "RUN_COUNTERS",
              "must be replicas, prometheus or none")
        _need(self.counters != "replicas" or bool(self.gateway_url), "OPENFAAS_URL",
              "required with RUN_COUNTERS=replicas (the gateway lists the replicas)")
        _need(self.counters != "prometheus" or bool(self.prometheus_url), "PROMETHEUS_URL",
              "required with RUN_COUNTERS=prometheus")

    @property
    def apply_dir(self) -> Path:
        """Local backend: ``<run dir>/argo-apply``, one folder per running workflow."""
        return Path(self.run_dir) / APPLY_DIR

    @property
    def status_dir(self) -> Path:
        """Local backend: where the reconciler writes each run's status."""
        return Path(self.run_dir) / RUNS_DIR

    def render_settings(self) -> RenderSettings:
        """What the documents are rendered with: the cluster's addresses and namespaces.

        Locally the defaults stay (the manifests a cluster would get, as committed); the local
        runner points their cluster addresses at the embedded broker and gateway itself.
        """
        if self.backend == "local":
            return RenderSettings()
        return RenderSettings(gateway_url=self.gateway_url, kafka_url=self.kafka_bootstrap,
                              kafka_cluster=self.kafka_cluster, kafka_namespace=self.kafka_namespace,
                              argo_namespace=self.argo_namespace)

    @classmethod
    def from_env(cls, env: Mapping[str, str], run_dir: str = "") -> RunConfig:
        """Read the environment (see the module); ``run_dir`` is the local run folder."""
        in_cluster = bool(env.get("KUBERNETES_SERVICE_HOST"))
        backend = env.get("RUN_BACKEND") or ("kubernetes" if in_cluster else "local")
        local = backend == "local"
        prometheus = env.get("PROMETHEUS_URL", "")
        counters = env.get("RUN_COUNTERS") or ("replicas" if local else "prometheus" if prometheus else "none")
        timeout = env.get("RUN_TIMEOUT_S", "10")
        try:
            timeout_s = float(timeout)
        except ValueError:
            raise ConfigError("RUN_TIMEOUT_S", "must be a number of seconds") from None
        _need(0 < timeout_s <= 50, "RUN_TIMEOUT_S", "must be > 0 and <= 50 (below the call's own timeout)")
        return cls(
            backend=backend,  # type: ignore[arg-type]
            kafka_bootstrap=env.get("KAFKA_BOOTSTRAP", ""),
            run_dir=run_dir if local else "",
            argo_namespace=env.get("ARGO_NAMESPACE") or "argo-events",
            kafka_namespace=env.get("KAFKA_NAMESPACE") or "kafka",
            kafka_cluster=env.get("KAFKA_CLUSTER") or "etl",
            gateway_url=env.get("OPENFAAS_URL") or ("" if local else "http://gateway.openfaas:8080"),
            counters=counters,  # type: ignore[arg-type]
            prometheus_url=prometheus,
            kubernetes_api_url=env.get("KUBERNETES_API_URL", ""),
            timeout_s=timeout_s)
