"""The Runner's edges, chosen from a validated :class:`~.config.RunConfig`: nothing opens a
client before the configuration is known to be whole."""
from __future__ import annotations

from ..controller.gateway import Gateway
from ..workflow.store import WorkflowConfigs
from .backend import RecordReader, RunBackend
from .config import RunConfig
from .counters import PrometheusRecords, ReplicaRecords
from .service import Edges, Runs


def backend_of(config: RunConfig) -> RunBackend:
    if config.backend == "local":
        from .kafka_topics import KafkaTopicMaker
        from .local_backend import LocalBackend

        return LocalBackend(config.apply_dir, config.status_dir,
                            KafkaTopicMaker(config.kafka_bootstrap, config.timeout_s))
    from .kubernetes_backend import KubernetesBackend

    if config.kubernetes_api_url:
        return KubernetesBackend.at(config.kubernetes_api_url, config.argo_namespace,
                                    config.kafka_namespace, config.timeout_s)
    return KubernetesBackend.in_cluster(config.argo_namespace, config.kafka_namespace, config.timeout_s)


def records_of(config: RunConfig) -> RecordReader | None:
    if config.counters == "replicas":
        return ReplicaRecords(Gateway.from_secrets(config.gateway_url, timeout_s=config.timeout_s))
    if config.counters == "prometheus":
        return PrometheusRecords(config.prometheus_url, config.timeout_s)
    return None


def build_runs(config: RunConfig, configs: WorkflowConfigs) -> Runs:
    """The Runner over ``configs`` (the Configs service's store), wired as ``config`` says."""
    from ..controller.kafka_offsets import KafkaOffsets

    def offsets() -> KafkaOffsets:
        return KafkaOffsets(config.kafka_bootstrap, timeout_s=config.timeout_s)

    return Runs(configs, backend_of(config), Edges(records_of(config), offsets),
                settings=config.render_settings())
