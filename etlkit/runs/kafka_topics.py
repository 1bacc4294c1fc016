"""Kafka topics created through the admin API: the local backend's stand-in for Strimzi's
topic operator (a cluster creates them from the KafkaTopic custom objects instead).

Topics are never auto-created (docs/contracts.md), so a start creates them before anything may
produce. Existing topics are left as they are; the replication factor is the broker's default
(``-1``), right for the one-node embedded broker and for a real cluster's
``default.replication.factor`` alike.

I/O module: imports confluent_kafka.
"""
from __future__ import annotations

from typing import Mapping

from ..workflow.model import TOPIC_CONFIG
from .backend import ApplyFailed

BROKER_DEFAULT = -1


class KafkaTopicMaker:
    """A :class:`~.local_backend.TopicMaker` over confluent-kafka's AdminClient."""

    def __init__(self, bootstrap: str, timeout_s: float = 10.0) -> None:
        self.bootstrap, self.timeout_s = bootstrap, timeout_s

    def create(self, topics: Mapping[str, int]) -> None:
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient, NewTopic

        if not topics:
            return
        admin = AdminClient({"bootstrap.servers": self.bootstrap, "socket.timeout.ms": 5000})
        first = min(topics)
        try:
            existing = set(admin.list_topics(timeout=self.timeout_s).topics)
        except KafkaException as exc:
            raise ApplyFailed(f"KafkaTopic/{first}", f"Kafka at {self.bootstrap} did not answer ({exc})") from exc
        # Stamped as the KafkaTopic manifests say (etlkit.workflow.model.TOPIC_CONFIG): retention
        # counts from when a message was written, not from its records' event time.
        wanted = [NewTopic(name, num_partitions=partitions, replication_factor=BROKER_DEFAULT,
                           config=dict(TOPIC_CONFIG))
                  for name, partitions in sorted(topics.items()) if name not in existing]
        if not wanted:
            return
        for name, future in sorted(admin.create_topics(wanted, request_timeout=self.timeout_s).items()):
            try:
                future.result(self.timeout_s)
            except Exception as exc:  # noqa: BLE001 - KafkaException or a timeout; named below
                # A concurrent start may have created it first: that is the wanted outcome.
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise ApplyFailed(f"KafkaTopic/{name}", f"not created ({exc})") from exc
