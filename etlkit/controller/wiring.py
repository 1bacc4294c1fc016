"""Build the controller's edges from its configuration (the only place that picks clients)."""
from __future__ import annotations

from .config import CE_MAX_REPLICAS, ControllerConfig
from .eventbus import JetStreamMonitor, NoEventBus
from .gateway import FunctionMatcher, Gateway, GatewayMetrics, LocalPlatform, load_topology
from .openfaas_ce import CommunityEdition
from .claims import FileClaims, KafkaClaims
from .lease import FileLease, KafkaLease
from .ports import Actuator, ClaimBoard, ClusterView, FunctionMetrics, Matcher, TickLease
from .prometheus import PrometheusMetrics
from .state import FileStateStore, KafkaStateStore, StateStore
from .tick import Edges

__all__ = ["build_edges", "InlineMatcher"]


class InlineMatcher:
    """The matcher's code in this process (``MATCHER=inline``)."""

    def match(self, upstream, downstream, nodes):
        from ..scheduler import match_services

        return match_services(upstream, downstream, nodes)


def build_edges(config: ControllerConfig, secrets_dir: str | None = None) -> Edges:
    """Clients for ``config``: Kafka, the gateway, the platform (local gateway, OpenFaaS CE's
    gateway API, or Kubernetes), the gateway's metrics (its text, or Prometheus), the store,
    the EventBus monitor (none without ``EVENTBUS_MONITOR_URL``), and beside the memory the tick's
    lease (claims on the state topic, or a lock file in the state folder) and the board of the
    workflows' claims on the functions they scale (:mod:`.sharing`)."""
    from .kafka_offsets import KafkaOffsets

    gateway = Gateway.from_secrets(config.gateway_url, secrets_dir)
    metrics: FunctionMetrics = (GatewayMetrics(gateway, config.metrics, config.namespace)
                                if config.metrics else
                                PrometheusMetrics(config.prometheus_url, config.namespace))
    cluster: ClusterView
    actuator: Actuator
    if config.platform == "local":
        local = LocalPlatform(gateway, GatewayMetrics(gateway, config.metrics, config.namespace),
                              load_topology(config.topology_file), config.namespace)
        cluster = actuator = local
    elif config.platform == "openfaas-ce":
        # No Kubernetes client at all: CE runs the function under no ServiceAccount of ours.
        ce = CommunityEdition(gateway, config.namespace, config.replica_cap or CE_MAX_REPLICAS)
        cluster = actuator = ce
    else:
        from .kubernetes import KubernetesPlatform

        cluster = actuator = KubernetesPlatform.in_cluster(config.namespace)
    matcher: Matcher = FunctionMatcher(gateway) if config.matcher == "function" else InlineMatcher()
    store: StateStore
    lease: TickLease
    claims: ClaimBoard
    if config.state == "kafka":
        store = kafka_store = KafkaStateStore(config.kafka_bootstrap, config.state_topic)
        lease, claims = KafkaLease(kafka_store), KafkaClaims(kafka_store)
    else:
        store, lease = FileStateStore(config.state_dir), FileLease(config.state_dir)
        claims = FileClaims(config.state_dir)
    bus = JetStreamMonitor(config.eventbus_monitor_url) if config.eventbus_monitor_url else NoEventBus()
    return Edges(KafkaOffsets(config.kafka_bootstrap), cluster, metrics, actuator, matcher, store,
                 bus, lease, claims)
