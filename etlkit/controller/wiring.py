"""Build the controller's edges from its configuration (the only place that picks clients)."""
from __future__ import annotations

from .config import ControllerConfig
from .eventbus import JetStreamMonitor, NoEventBus
from .gateway import FunctionMatcher, Gateway, GatewayMetrics, LocalPlatform, load_topology
from .ports import Matcher
from .state import FileStateStore, KafkaStateStore, StateStore
from .tick import Edges

__all__ = ["build_edges", "InlineMatcher"]


class InlineMatcher:
    """The matcher's code in this process (``MATCHER=inline``)."""

    def match(self, upstream, downstream, nodes):
        from ..scheduler import match_services

        return match_services(upstream, downstream, nodes)


def build_edges(config: ControllerConfig, secrets_dir: str | None = None) -> Edges:
    """Clients for ``config``: Kafka, the gateway, the platform (local or Kubernetes), the store,
    the EventBus monitor (none without ``EVENTBUS_MONITOR_URL``)."""
    from .kafka_offsets import KafkaOffsets

    gateway = Gateway.from_secrets(config.gateway_url, secrets_dir)
    metrics = GatewayMetrics(gateway, config.metrics, config.namespace)
    if config.platform == "local":
        platform = LocalPlatform(gateway, metrics, load_topology(config.topology_file),
                                 config.namespace)
        cluster = actuator = platform
    else:
        from .kubernetes import KubernetesPlatform

        cluster = actuator = KubernetesPlatform.in_cluster(config.namespace)
    matcher: Matcher = FunctionMatcher(gateway) if config.matcher == "function" else InlineMatcher()
    store: StateStore = (KafkaStateStore(config.kafka_bootstrap, config.state_topic)
                         if config.state == "kafka" else FileStateStore(config.state_dir))
    bus = JetStreamMonitor(config.eventbus_monitor_url) if config.eventbus_monitor_url else NoEventBus()
    return Edges(KafkaOffsets(config.kafka_bootstrap), cluster, metrics, actuator, matcher, store,
                 bus)
