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

POD_LISTENER = "PODS"


class PodReachableKafka(ApacheKafka):
    """``ApacheKafka`` plus a ``PODS`` listener per node on ``pod_host`` (the bridge address)."""

    def __init__(self, pod_host: str, **kwargs):
        super().__init__(extra_listeners={POD_LISTENER: pod_host}, **kwargs)

    @property
    def pod_bootstrap(self) -> str:
        return self.listener_bootstrap(POD_LISTENER)
