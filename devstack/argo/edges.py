"""The runner's I/O edges: Kafka consumer settings, the dead-letter producer, the HTTP client.

Each implements a narrow protocol of :mod:`.dispatch` or is a pure function of a subscription,
so the rest of the runner never imports confluent_kafka or requests.
"""
from __future__ import annotations

import http.client
import threading
import time
from urllib.parse import SplitResult, urlsplit

import requests
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import AdminClient

from .dispatch import HttpRequest, KafkaRecord
from .manifests import KafkaSource, Subscription
from .processor import Polled

# librdkafka has no eager "sticky" assignor (only cooperative-sticky, which needs incremental
# rebalancing); roundrobin is the closest eager one.
ASSIGNORS = {"range": "range", "roundrobin": "roundrobin", "sticky": "roundrobin"}


def consumer_config(sub: Subscription, bootstrap: str, *, session_timeout_ms: int = 6000,
                    heartbeat_ms: int = 1000) -> dict:
    """Consumer settings for one subscription: its group, manual synchronous commits only."""
    source = sub.source
    assert isinstance(source, KafkaSource) and sub.group
    return {
        "bootstrap.servers": bootstrap,
        "group.id": sub.group,
        "client.id": f"argo-local.{sub.sensor.name}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest" if source.oldest else "latest",
        "partition.assignment.strategy": ASSIGNORS[source.rebalance],
        # Tansu's first join takes about half the session timeout; keep it short locally.
        "session.timeout.ms": session_timeout_ms,
        "heartbeat.interval.ms": heartbeat_ms,
        # One poll's worth of triggers (with retries) must finish within this, or the group
        # moves on without us (the messages are then redelivered, nothing is lost).
        "max.poll.interval.ms": 600_000,
        "enable.partition.eof": False,
    }


def polled_of(message) -> Polled:
    """A confluent_kafka Message as the processor's :class:`Polled`."""
    kind, stamp = message.timestamp()
    # tuple.__new__: a NamedTuple without its Python-level __new__ (one per message polled).
    return tuple.__new__(Polled, (message.topic(), message.partition(), message.offset(), message.key(),
                                  message.value(), stamp if kind and stamp is not None and stamp >= 0 else 0,
                                  tuple(message.headers() or ())))


class DeliveryError(RuntimeError):
    """A record was not acknowledged (or its topic does not exist)."""


class ConfluentProducer:
    """Produces a record and returns only once the broker acknowledged it.

    The topic must exist: it is looked up first (an admin metadata request, which never creates
    topics) and ``allow.auto.create.topics`` is off, because Tansu would otherwise create a
    missing dead-letter topic with 4 partitions.
    """

    def __init__(self, bootstrap: str, timeout_s: float = 30.0):
        self.timeout_s = timeout_s
        self._admin = AdminClient({"bootstrap.servers": bootstrap})
        self._producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                                   "linger.ms": 1, "allow.auto.create.topics": False,
                                   "message.timeout.ms": int(timeout_s * 1000)})
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def _exists(self, topic: str) -> bool:
        with self._lock:
            if topic in self._known:
                return True
        topics = self._admin.list_topics(timeout=min(10.0, self.timeout_s)).topics
        if topic in topics and topics[topic].error is None:
            with self._lock:
                self._known.add(topic)
            return True
        return False

    def produce(self, record: KafkaRecord) -> None:
        if not self._exists(record.topic):
            raise DeliveryError(f"topic {record.topic} does not exist (create it; it is never auto-created)")
        acked = threading.Event()
        failure: list[KafkaError] = []

        def on_delivery(err, _msg) -> None:
            if err is not None:
                failure.append(err)
            acked.set()

        self._producer.produce(record.topic, value=record.value, on_delivery=on_delivery)
        deadline = time.monotonic() + self.timeout_s + 5
        while not acked.is_set() and time.monotonic() < deadline:
            self._producer.poll(0.05)  # serves this (and other threads') delivery callbacks
        if not acked.is_set():
            raise DeliveryError(f"no acknowledgement from the broker for {record.topic}")
        if failure:
            raise DeliveryError(f"{record.topic}: {failure[0]}")

    def close(self) -> None:
        """Flush, then drop the clients so librdkafka's threads and sockets go now, not at GC."""
        if self._producer is not None:
            self._producer.flush(5)
        self._producer = self._admin = None


class RequestsHttp:
    """HTTP with a connection pool; one per worker thread (a Session is not shared).

    Plain HTTP to this machine (the local gateway, where every step invocation goes) uses
    :class:`LoopbackHttp`: requests spends some 600 µs of CPU on each call beyond what
    http.client does, over a microsecond per record of a 500-record batch.
    """

    def __init__(self) -> None:
        self._session = requests.Session()
        # requests reads the proxy variables again on every request (a walk over os.environ,
        # about a millisecond); they are read once per host here instead.
        self._session.trust_env = False
        self._proxies: dict[str, dict[str, str]] = {}
        self._loopback = LoopbackHttp()

    def _proxies_for(self, url: str) -> dict[str, str]:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._proxies:
            self._proxies[origin] = requests.utils.get_environ_proxies(url)
        return self._proxies[origin]

    def send(self, request: HttpRequest) -> int:
        parts = urlsplit(request.url)
        proxies = self._proxies_for(request.url)
        if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS and not proxies:
            return self._loopback.send(request, parts)
        response = self._session.request(request.method, request.url, data=request.body,
                                         headers=dict(request.headers),
                                         timeout=request.timeout_s, proxies=proxies)
        _ = response.content  # read it all so the connection goes back to the pool
        return response.status_code

    def close(self) -> None:
        self._session.close()
        self._loopback.close()


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class LoopbackHttp:
    """One kept-alive http.client connection per host and port (one instance per thread)."""

    def __init__(self) -> None:
        self._connections: dict[tuple[str, int], http.client.HTTPConnection] = {}

    def send(self, request: HttpRequest, parts: SplitResult) -> int:
        """The answer's status; raises OSError or HTTPException (a failed attempt) otherwise."""
        headers = dict(request.headers)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        address = (parts.hostname, parts.port or 80)
        reused = address in self._connections
        connection = (self._connections.get(address)
                      or http.client.HTTPConnection(*address, timeout=request.timeout_s))
        self._connections[address] = connection
        try:
            return self._exchange(connection, request, target, headers)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            connection.close()
            if not reused:
                raise
            # The server closed the kept-alive connection before this request (its idle
            # timeout): nothing was answered, so the request goes once more on a new one.
            return self._exchange(connection, request, target, headers)
        except BaseException:
            connection.close()  # half a request or answer: never reuse it
            raise

    @staticmethod
    def _exchange(connection: http.client.HTTPConnection, request: HttpRequest, target: str,
                  headers: dict[str, str]) -> int:
        connection.timeout = request.timeout_s  # per socket operation, as requests' timeout is
        if connection.sock is not None:
            connection.sock.settimeout(request.timeout_s)
        connection.request(request.method, target, body=request.body, headers=headers)
        response = connection.getresponse()
        response.read()  # all of it, so the connection can carry the next request
        if response.will_close:
            connection.close()
        return response.status

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()
