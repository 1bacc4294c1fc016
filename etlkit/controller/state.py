"""The controller's memory between ticks, kept outside the process so a restart carries on.

One :class:`ControllerRecord` per workflow: the scheduler's state (forecast windows, the
replicas it added and where), the samples the next tick measures rates against, what was last
applied to each function and when, the routes of the last matching, and the summary of the last
tick (its reasons, for status). It is stored as JSON behind a two-method :class:`StateStore`:

* :class:`KafkaStateStore`: a compacted topic keyed by workflow (the default; the embedded
  broker and real Kafka both serve it). The latest record of a key wins; the tail of the topic
  is read first, the whole topic only when the key is not in the tail.
* :class:`FileStateStore`: one JSON file per workflow in a folder, replaced atomically.

A record that cannot be read back is an error naming the field, never a silent fresh start.
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..scheduler import ControllerState, StateError
from .errors import EdgeError
from .gather import Samples

__all__ = ["ControllerRecord", "Applied", "StateStore", "FileStateStore", "KafkaStateStore",
           "RECORD_VERSION"]

RECORD_VERSION = 1


@dataclass(frozen=True)
class Applied:
    """What the controller last set on a function, and when (seconds)."""

    replicas: int
    at: float


@dataclass(frozen=True)
class ControllerRecord:
    """Everything the controller remembers about one workflow."""

    workflow: str
    scheduler: ControllerState = field(default_factory=ControllerState)
    samples: Samples = field(default_factory=Samples)
    applied: Mapping[str, Applied] = field(default_factory=dict)
    routes: list = field(default_factory=list)
    last_tick: Mapping[str, Any] = field(default_factory=dict)
    ticks: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"version": RECORD_VERSION, "workflow": self.workflow, "ticks": self.ticks,
                "scheduler": self.scheduler.to_dict(), "samples": self.samples.to_dict(),
                "applied": {f: {"replicas": a.replicas, "at": a.at}
                            for f, a in sorted(self.applied.items())},
                "routes": self.routes, "last_tick": dict(self.last_tick)}

    def dumps(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ControllerRecord:
        if not isinstance(data, Mapping):
            raise StateError("record", "must be a JSON object")
        if data.get("version") != RECORD_VERSION:
            raise StateError("record.version", f"must be {RECORD_VERSION}", data.get("version"))
        where = "record"
        try:
            where = "record.scheduler"
            scheduler = ControllerState.from_dict(data["scheduler"])
            where = "record.samples"
            samples = Samples.from_dict(data.get("samples", {}))
            where = "record.applied"
            applied = {str(f): Applied(int(a["replicas"]), float(a["at"]))
                       for f, a in data.get("applied", {}).items()}
            return cls(str(data["workflow"]), scheduler, samples, applied,
                       list(data.get("routes", [])), dict(data.get("last_tick", {})),
                       int(data.get("ticks", 0)))
        except StateError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StateError(where, f"is malformed ({exc!r})") from exc

    @classmethod
    def loads(cls, raw: bytes) -> ControllerRecord:
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise StateError("record", f"is not JSON ({exc})") from exc
        return cls.from_dict(data)


class StateStore(Protocol):
    def load(self, key: str) -> bytes | None:
        """The latest value saved under ``key``, or None if there is none."""

    def save(self, key: str, value: bytes) -> None:
        """Store ``value`` under ``key`` durably; raise EdgeError if it was not stored."""


_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


class FileStateStore:
    """One file per key in ``folder`` (written to a temporary file, then renamed over)."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = pathlib.Path(folder)

    def _path(self, key: str) -> pathlib.Path:
        return self.folder / f"{_SAFE.sub('_', key)}.json"

    def load(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise EdgeError("state", f"reading {self._path(key)}: {exc}") from exc

    def save(self, key: str, value: bytes) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".state-")
            with os.fdopen(fd, "wb") as out:
                out.write(value)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self._path(key))
        except OSError as exc:
            raise EdgeError("state", f"writing {self._path(key)}: {exc}") from exc


class KafkaStateStore:
    """A compacted, single-partition topic: key = workflow, value = the record's JSON.

    The topic is created on first use (``cleanup.policy=compact``); producing waits for the
    broker's acknowledgement. Reading goes to the end the broker reports in fetch responses
    (end-of-partition events), never to a "latest offset" answer, which the embedded broker
    gets wrong when producers batch.
    """

    TAIL = 500  # records read back from the end first

    def __init__(self, bootstrap: str, topic: str, timeout_s: float = 10.0) -> None:
        self.bootstrap, self.topic, self.timeout_s = bootstrap, topic, timeout_s
        self._producer = None
        self._ensured = False

    def _ensure_topic(self) -> None:
        if self._ensured:
            return
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        try:
            topics = admin.list_topics(timeout=self.timeout_s).topics
        except KafkaException as exc:
            raise EdgeError("state", f"kafka at {self.bootstrap}: {exc}") from exc
        if self.topic not in topics:
            futures = admin.create_topics([NewTopic(self.topic, 1, -1, config={
                "cleanup.policy": "compact"})])
            try:
                futures[self.topic].result(self.timeout_s)
            except KafkaException as exc:
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise EdgeError("state", f"creating topic {self.topic}: {exc}") from exc
        self._ensured = True

    def _read(self, wanted, start: int | None) -> dict[bytes, bytes]:
        """Scan from ``start`` (None: the beginning) to the end the broker reports; the last
        value of every key ``wanted(key)`` accepts."""
        from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

        consumer = Consumer({"bootstrap.servers": self.bootstrap,
                             "group.id": f"faas-etl-state-{uuid.uuid4().hex[:8]}",
                             "enable.auto.commit": False, "enable.partition.eof": True,
                             "fetch.wait.max.ms": 50})
        try:
            consumer.assign([TopicPartition(self.topic, 0,
                                            OFFSET_BEGINNING if start is None else start)])
            values: dict[bytes, bytes] = {}
            deadline = time.monotonic() + self.timeout_s
            while time.monotonic() < deadline:
                for msg in consumer.consume(1000, timeout=0.2):
                    err = msg.error()
                    if err is None:
                        if wanted(msg.key()):
                            values[msg.key()] = msg.value()
                    elif err.code() == KafkaError._PARTITION_EOF:
                        return values
                    else:
                        raise EdgeError("state", f"reading {self.topic}: {err}")
            raise EdgeError("state", f"reading {self.topic}: no end within {self.timeout_s:g}s")
        finally:
            consumer.close()

    def _watermarks(self) -> tuple[int, int]:
        """(low, high) of the topic's partition. The topic exists (:meth:`_ensure_topic`), but
        a broker's metadata may not show a partition created a moment ago (Tansu, under load:
        librdkafka then answers _UNKNOWN_PARTITION at once): asked again, by a fresh client
        with fresh metadata, until it is known or ``timeout_s`` has passed."""
        from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

        deadline = time.monotonic() + self.timeout_s
        while True:
            probe = Consumer({"bootstrap.servers": self.bootstrap,
                              "group.id": "faas-etl-state-probe", "enable.auto.commit": False})
            try:
                return probe.get_watermark_offsets(
                    TopicPartition(self.topic, 0), timeout=max(0.1, deadline - time.monotonic()))
            except KafkaException as exc:
                if (exc.args[0].code() != KafkaError._UNKNOWN_PARTITION
                        or time.monotonic() >= deadline):
                    raise
            finally:
                probe.close()
            time.sleep(0.05)

    def latest(self, suffix: str, back: int) -> dict[str, bytes]:
        """The last value of every key ending with ``suffix`` among the last ``back`` records
        (to the end the broker reports); older ones are not looked at."""
        from confluent_kafka import KafkaException

        self._ensure_topic()
        tail = suffix.encode()
        try:
            low, high = self._watermarks()
            found = self._read(lambda k: k is not None and k.endswith(tail),
                               max(low, high - back))
        except KafkaException as exc:
            raise EdgeError("state", f"reading {self.topic}: {exc}") from exc
        return {k.decode(): v for k, v in found.items()}

    def load(self, key: str) -> bytes | None:
        from confluent_kafka import KafkaException

        self._ensure_topic()
        raw = key.encode()
        try:
            low, high = self._watermarks()
            # ``high`` may fall short of the true end (the embedded broker answers with the start
            # of the last batch); reading goes on to the real end anyway, so starting early only
            # costs a few records. The whole topic is read only when the key is not in the tail.
            start = max(low, high - self.TAIL)
            found = self._read(lambda k: k == raw, start)
            if raw not in found and start > low:
                found = self._read(lambda k: k == raw, None)
        except KafkaException as exc:
            raise EdgeError("state", f"reading {self.topic}: {exc}") from exc
        return found.get(raw)

    def save(self, key: str, value: bytes) -> None:
        self.append(key, value)

    def append(self, key: str, value: bytes) -> int:
        """Produce ``value`` under ``key``, acknowledged; the offset the broker gave it."""
        from confluent_kafka import KafkaException, Producer

        self._ensure_topic()
        if self._producer is None:
            self._producer = Producer({"bootstrap.servers": self.bootstrap,
                                       "enable.idempotence": True,
                                       "allow.auto.create.topics": False,
                                       "message.timeout.ms": int(self.timeout_s * 1000)})
        failures: list[str] = []
        offsets: list[int] = []

        def on_delivery(err, msg) -> None:
            if err is not None:
                failures.append(str(err))
            else:
                offsets.append(msg.offset())

        try:
            self._producer.produce(self.topic, key=key.encode(), value=value,
                                   on_delivery=on_delivery)
            left = self._producer.flush(self.timeout_s + 1)
        except (KafkaException, BufferError) as exc:
            raise EdgeError("state", f"writing {self.topic}: {exc}") from exc
        if left or failures or not offsets:
            raise EdgeError("state", f"writing {self.topic}: "
                                     f"{failures[0] if failures else 'not acknowledged'}")
        return offsets[-1]

    def scan(self, key: str, start: int, through: int) -> list[tuple[int, bytes]]:
        """The values of ``key`` from offset ``start`` up to and including ``through`` (an
        offset this store wrote, so the scan ends once it is read), in log order."""
        from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

        wanted, out = key.encode(), []
        try:
            consumer = Consumer({"bootstrap.servers": self.bootstrap,
                                 "group.id": f"faas-etl-state-{uuid.uuid4().hex[:8]}",
                                 "enable.auto.commit": False, "fetch.wait.max.ms": 50})
        except KafkaException as exc:
            raise EdgeError("state", f"reading {self.topic}: {exc}") from exc
        try:
            consumer.assign([TopicPartition(self.topic, 0, start)])
            deadline = time.monotonic() + self.timeout_s
            while time.monotonic() < deadline:
                for msg in consumer.consume(1000, timeout=0.2):
                    err = msg.error()
                    if err is not None and err.code() != KafkaError._PARTITION_EOF:
                        raise EdgeError("state", f"reading {self.topic}: {err}")
                    if err is not None or msg.offset() > through:
                        continue
                    if msg.key() == wanted:
                        out.append((msg.offset(), msg.value()))
                    if msg.offset() == through:
                        return out
            raise EdgeError("state", f"reading {self.topic}: offset {through} not read within "
                                     f"{self.timeout_s:g}s")
        finally:
            consumer.close()

    def low_watermark(self) -> int:
        from confluent_kafka import KafkaException

        try:
            return self._watermarks()[0]
        except KafkaException as exc:
            raise EdgeError("state", f"reading {self.topic}: {exc}") from exc
