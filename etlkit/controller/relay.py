"""Routed delivery: records of a link topic to downstream replicas, the way the routes say.

The data-path half of the matching. Upstream step replicas stamp each record they produce with
the node they run on (header ``etl-node``); :class:`Relay` reads the link topic with a consumer
group, asks a :class:`~.routing.RouteSplitter` where each record goes, invokes each chosen
replica directly with its share (the step invocation envelope of docs/contracts.md, batch
mode), and commits the offsets only once every share was answered 200, so a failure redelivers
(at least once, as a Sensor). Per-route counters are the splitter's.

Replicas are addressed directly (a worker's port locally, a pod's address in a cluster), the
way a service mesh balances by locality: the OpenFaaS gateway cannot be told which replica.

I/O module: confluent-kafka and requests.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import requests
from confluent_kafka import Consumer, KafkaError, TopicPartition

from .errors import EdgeError
from .routing import RouteSplitter

__all__ = ["Relay", "NODE_HEADER", "event_of"]

NODE_HEADER = "etl-node"


def event_of(msg) -> dict[str, Any]:
    """A Kafka message as the Argo event data a step function receives."""
    headers = {k: (v.decode("utf-8", "replace") if v is not None else "")
               for k, v in (msg.headers() or ())}
    raw = msg.value()
    try:
        body = json.loads(raw) if raw is not None else None
    except ValueError:
        body = raw.decode("utf-8", "replace")
    return {"topic": msg.topic(), "partition": msg.partition(), "key": (msg.key() or b"").decode(),
            "body": body, "headers": headers}


class Relay:
    """Deliver ``topic`` (group ``group``) to replicas chosen by ``splitter``.

    ``urls`` maps a replica id to its base URL; ``envelope`` builds the invocation body around a
    list of events (the step spec and workflow, as the Sensor's payload would).
    """

    def __init__(self, bootstrap: str, topic: str, group: str, splitter: RouteSplitter,
                 urls: Mapping[str, str], envelope: Callable[[list], dict], *,
                 timeout_s: float = 30.0) -> None:
        self.splitter, self.urls, self.envelope = splitter, dict(urls), envelope
        self.timeout_s = timeout_s
        self.http = requests.Session()
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                                  "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000})
        self.consumer.subscribe([topic])
        self.delivered = 0

    def poll_once(self, max_records: int = 500, timeout_s: float = 0.5) -> int:
        """Deliver what one poll returns; the number of records delivered."""
        messages = [m for m in self.consumer.consume(max_records, timeout=timeout_s)
                    if m.error() is None or m.error().code() != KafkaError._PARTITION_EOF]
        errors = [m.error() for m in messages if m.error() is not None]
        if errors:
            raise EdgeError("kafka", str(errors[0]))
        if not messages:
            return 0
        shares: dict[str, list] = {}
        for msg in messages:
            event = event_of(msg)
            _, replica = self.splitter.assign(event["headers"].get(NODE_HEADER))
            shares.setdefault(replica, []).append(event)
        starts: dict[tuple[str, int], int] = {}
        ends: dict[tuple[str, int], int] = {}
        for msg in messages:
            key = (msg.topic(), msg.partition())
            starts[key] = min(starts.get(key, msg.offset()), msg.offset())
            ends[key] = max(ends.get(key, 0), msg.offset() + 1)
        try:
            for replica, events in shares.items():
                self._send(replica, events)
        except EdgeError:
            # Nothing of this poll is committed: read it again (the shares sent arrive twice).
            for (topic, partition), offset in starts.items():
                self.consumer.seek(TopicPartition(topic, partition, offset))
            raise
        self.consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in ends.items()],
                             asynchronous=False)
        self.delivered += len(messages)
        return len(messages)

    def _send(self, replica: str, events: list) -> None:
        url = f"{self.urls[replica].rstrip('/')}/"
        try:
            resp = self.http.post(url, json=self.envelope(events), timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise EdgeError("relay", f"{replica}: {exc}") from exc
        if resp.status_code != 200:
            raise EdgeError("relay", f"{replica}: HTTP {resp.status_code} {resp.text[:200]}")

    def close(self) -> None:
        self.consumer.close()
        self.http.close()
