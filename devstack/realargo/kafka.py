"""Apache Kafka that the pods can reach: a second listener on the pod bridge.

:class:`devstack.kafka_broker.ApacheKafka` listens on loopback, where the host's clients (the
tests, the functions) reach it. A pod has a loopback of its own, so each node gets one listener
more, ``PODS``, on the bridge address, advertised there too; Kafka answers a client's metadata
request with the addresses of the listener the request came in on, so a pod that bootstraps from
:attr:`PodReachableKafka.pod_bootstrap` is only ever sent to bridge addresses, and a host client
on loopback only to loopback ones (Kafka's ``listeners`` / ``advertised.listeners``,
KIP-103). The controller listener stays on loopback.
"""
from __future__ import annotations

from ..kafka_broker import ApacheKafka
from ..ports import free_port

POD_LISTENER = "PODS"


def add_listener(properties: str, name: str, address: str) -> str:
    """``server.properties`` text with one more PLAINTEXT listener ``name`` on ``address``."""
    out = []
    for line in properties.splitlines():
        key, sep, value = line.partition("=")
        if sep and key in ("listeners", "advertised.listeners"):
            line = f"{key}={value},{name}://{address}"
        elif sep and key == "listener.security.protocol.map":
            line = f"{key}={value},{name}:PLAINTEXT"
        out.append(line)
    text = "\n".join(out) + "\n"
    for key in ("listeners=", "advertised.listeners=", "listener.security.protocol.map="):
        if f"\n{key}" not in f"\n{text}":
            raise ValueError(f"server.properties has no {key.rstrip('=')} line to extend")
    return text


class PodReachableKafka(ApacheKafka):
    """``ApacheKafka`` plus a ``PODS`` listener per node on ``pod_host`` (the bridge address)."""

    def __init__(self, pod_host: str, **kwargs):
        super().__init__(**kwargs)
        self.pod_host = pod_host
        self.pod_ports: dict[int, int] = {}

    @property
    def pod_bootstrap(self) -> str:
        return ",".join(f"{self.pod_host}:{port}" for port in self.pod_ports.values())

    def _configure(self) -> None:
        super()._configure()  # ports picked, each node's server.properties written
        taken = {n.port for n in self._nodes.values()} | {n.controller_port for n in self._nodes.values()}
        self.pod_ports = {}
        for node_id, node in self._nodes.items():
            port = free_port()
            while port in taken:
                port = free_port()
            taken.add(port)
            self.pod_ports[node_id] = port
            node.config.write_text(add_listener(node.config.read_text(), POD_LISTENER, f"{self.pod_host}:{port}"))
