"""The local runner: the committed ``argo-events/`` manifests against the local broker and gateway.

One thread per subscription (Sensor dependency): a Kafka one polls with its consumer group
(:func:`.edges.consumer_config`), hands the messages to a :class:`.processor.SubscriptionProcessor`
and commits synchronously exactly the offsets it may; a message that is neither delivered nor
dead-lettered is polled again after a bounded backoff (:func:`.retry.stuck_delay`), so a
recovered function or dead-letter topic is picked up and nothing is skipped. Each message is one
event and one request per trigger, one at a time (see :mod:`.processor`). A step's lanes (one
EventSource event and one Sensor trigger per partition, etlkit/workflow/names.py) are thus one
thread and one member of the EventSource's group each, as the real EventSource (a consumer-group
client per event) and Sensor (a goroutine and one event in flight per trigger) run them: as many
calls in flight as lanes, each partition in order (tests/devstack/argo/test_lanes.py). A calendar one waits for its next fire time (:mod:`.cron`) and fires its triggers (no offsets; a tick that
fails is logged and counted, the next tick comes anyway).

``stop()`` lets the in-flight request finish, cuts retry waits short (that event stays
uncommitted and is redelivered), commits what is done and closes the consumers. Counters per
Sensor are in :attr:`Runner.counters` and, refreshed every second, in
``<run_dir>/argo-events-status.json``. The process may also die at any moment (kill -9): offsets
are committed only after delivery, so a new runner redelivers at most what was in flight.
"""
from __future__ import annotations

import json
import logging
import os
import pathlib
import random
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Callable, Collection, Mapping

from confluent_kafka import Consumer, KafkaException, TopicPartition

from .dispatch import Dispatcher, Local
from .edges import ConfluentProducer, RequestsHttp, consumer_config, polled_of
from .events import calendar_event
from .manifests import CalendarSource, KafkaSource, Manifests, Subscription, load_manifests, plan_subscriptions
from .processor import Counters, Interrupted, Progress, SubscriptionProcessor
from .retry import stuck_delay
from .yamlnode import ManifestError

log = logging.getLogger("devstack.argo")
STATUS_FILE = "argo-events-status.json"
POLL_MESSAGES = 20  # messages per poll (and per commit); each fires alone, in order
POLL_TIMEOUT_S = 0.5


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def poll(consumer: Consumer) -> list:
    """Up to ``POLL_MESSAGES`` messages: wait up to ``POLL_TIMEOUT_S`` for the first, then take
    only those already fetched (librdkafka's ``consume(n, timeout)`` alone would wait the whole
    timeout whenever fewer than n are on their way, so a trickle would sit for it)."""
    first = consumer.poll(POLL_TIMEOUT_S)
    if first is None:
        return []
    return [first, *consumer.consume(num_messages=POLL_MESSAGES - 1, timeout=0)]


class _Worker(threading.Thread):
    def __init__(self, runner: "Runner", sub: Subscription):
        super().__init__(name=f"argo:{sub.label}", daemon=True)
        self.runner, self.sub = runner, sub
        self.http = RequestsHttp()
        self.processor = SubscriptionProcessor(
            sub, Dispatcher(self.http, runner.producer, runner.local, sleep=self._sleep,
                            rand=random.random, now=runner.now),
            runner.counters_of(sub.sensor.name), runner.now)
        self.offsets: dict[str, int] = {}

    def _sleep(self, seconds: float) -> None:
        if self.runner.stopping.wait(seconds):
            raise Interrupted()


class KafkaWorker(_Worker):
    def run(self) -> None:
        source = self.sub.source
        assert isinstance(source, KafkaSource)
        consumer = Consumer(consumer_config(self.sub, self.runner.bootstrap,
                                            session_timeout_ms=self.runner.session_timeout_ms,
                                            heartbeat_ms=self.runner.heartbeat_ms))
        consumer.subscribe([source.topic])
        self.failures = 0
        try:
            while not self.runner.stopping.is_set():
                polled = []
                for message in poll(consumer):
                    if message.error():
                        log.warning("%s: %s", self.sub.label, message.error())
                    else:
                        polled.append(polled_of(message))
                if polled:
                    self._settle(consumer, self.processor.process(polled, self.runner.stopping.is_set))
        except Exception:  # a worker must never die silently; the status shows it stopped
            log.exception("%s: worker stopped", self.sub.label)
        finally:
            consumer.close()
            self.http.close()

    def _settle(self, consumer: Consumer, progress: Progress) -> None:
        """Commit what ``progress`` may; on a message not done, seek back to it and back off."""
        self._commit(consumer, progress.commit, progress.committable)
        if not progress.rewind:
            self.failures = 0
            return
        self._rewind(consumer, progress.rewind)
        self.failures += 1
        self.runner.stopping.wait(stuck_delay(self.failures))

    def _commit(self, consumer: Consumer, offsets: Mapping[tuple[str, int], int], count: int) -> None:
        if not offsets:
            return
        try:
            consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in sorted(offsets.items())],
                            asynchronous=False)
        except KafkaException as exc:  # a rebalance took the partition: it is redelivered
            log.warning("%s: commit failed, those events will be redelivered: %s", self.sub.label, exc)
            return
        self.runner.counters_of(self.sub.sensor.name).add(committed=count)
        self.offsets.update({f"{t}/{p}": o for (t, p), o in offsets.items()})

    def _rewind(self, consumer: Consumer, offsets: Mapping[tuple[str, int], int]) -> None:
        for (topic, partition), offset in offsets.items():
            try:
                consumer.seek(TopicPartition(topic, partition, offset))
            except KafkaException as exc:  # no longer ours: the next owner reads it from the commit
                log.info("%s: seek %s[%d] skipped: %s", self.sub.label, topic, partition, exc)


class CalendarWorker(_Worker):
    def run(self) -> None:
        source = self.sub.source
        assert isinstance(source, CalendarSource)
        last = self.runner.now().astimezone(timezone.utc)
        try:
            while not self.runner.stopping.is_set():
                fire_at = source.schedule.next_after(last)
                if fire_at is None:
                    log.warning("%s: the schedule never fires again", self.sub.label)
                    return
                delay = (fire_at - self.runner.now()).total_seconds()
                if delay > 0 and self.runner.stopping.wait(delay):
                    return
                fired = self.runner.now().astimezone(timezone.utc)
                event = calendar_event(event_source=source.event_source, event_name=source.event_name,
                                       fired_at=fired, event_id=uuid.uuid4().hex,
                                       uptime_s=time.monotonic() - self.runner.started_monotonic)
                counters = self.runner.counters_of(self.sub.sensor.name)
                counters.add(events_in=1)
                try:
                    self.processor.handle(event)
                except Interrupted:
                    return
                last = fired
        except Exception:
            log.exception("%s: worker stopped", self.sub.label)
        finally:
            self.http.close()


class Runner:
    """Runs every Sensor of ``manifest_dir``; ``start()``, ``stop()``, or use ``with``."""

    def __init__(self, manifest_dir: str | pathlib.Path, bootstrap: str, gateway_url: str,
                 credentials: tuple[str, str] | object | None = None, *,
                 run_dir: str | pathlib.Path | None = None,
                 session_timeout_ms: int = 6000, heartbeat_ms: int = 1000, dlq_timeout_s: float = 30.0,
                 status_interval_s: float = 1.0, now: Callable[[], datetime] = _utc_now,
                 sensors: Collection[str] | None = None):
        self.manifest_dir = pathlib.Path(manifest_dir)
        # Only these Sensors (None: all). Consumer groups are still planned over every Sensor of
        # the folder, so a Sensor run on its own commits in the group it would share or not.
        self.sensors = None if sensors is None else frozenset(sensors)
        self.bootstrap, self.gateway_url = bootstrap, gateway_url
        if credentials is not None and not isinstance(credentials, tuple):
            credentials = (credentials.user, credentials.password)  # a gateway Credentials
        self.credentials = credentials
        self.run_dir = pathlib.Path(run_dir) if run_dir else None
        self.session_timeout_ms, self.heartbeat_ms = session_timeout_ms, heartbeat_ms
        self.dlq_timeout_s, self.status_interval_s = dlq_timeout_s, status_interval_s
        self.now = now
        self.started_monotonic = time.monotonic()  # a calendar tick's "m=+..." counts from here
        self.stopping = threading.Event()
        self.manifests: Manifests | None = None
        self.subscriptions: tuple[Subscription, ...] = ()
        self.producer: ConfluentProducer | None = None
        self.local: Local | None = None
        self._counters: dict[str, Counters] = {}
        self._workers: list[_Worker] = []
        self._status_thread: threading.Thread | None = None
        self.started_at: datetime | None = None

    def counters_of(self, sensor: str) -> Counters:
        return self._counters[sensor]

    @property
    def counters(self) -> dict[str, dict[str, int]]:
        """Per-sensor counters: events_in, rejected, triggered, requests, retried,
        dead_lettered, failed, committed."""
        return {name: c.snapshot() for name, c in sorted(self._counters.items())}

    def start(self) -> "Runner":
        """Load and check the manifests (``ManifestError``), then start every subscription."""
        self.manifests = load_manifests(self.manifest_dir)
        for warning in self.manifests.warnings:
            log.warning("%s", warning)
        names = {s.name for s in self.manifests.sensors}
        unknown = sorted((self.sensors or set()) - names)
        if unknown:
            raise ManifestError(str(self.manifest_dir), "", f"no Sensor named {', '.join(unknown)}")
        chosen = names if self.sensors is None else self.sensors
        self.subscriptions = tuple(s for s in plan_subscriptions(self.manifests) if s.sensor.name in chosen)
        self.local = Local(self.gateway_url)
        self.producer = ConfluentProducer(self.bootstrap, self.dlq_timeout_s)
        self._counters = {name: Counters() for name in sorted(chosen)}
        self.started_at = self.now()
        for sub in self.subscriptions:
            worker = (KafkaWorker if isinstance(sub.source, KafkaSource) else CalendarWorker)(self, sub)
            self._workers.append(worker)
            worker.start()
            log.info("subscribed %s to %s/%s%s", sub.label, sub.source.event_source,
                     sub.source.event_name, f" (group {sub.group})" if sub.group else "")
        self._status_thread = threading.Thread(target=self._status_loop, name="argo:status", daemon=True)
        self._status_thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Finish in-flight requests, commit what is done, close consumers, write the status."""
        self.stopping.set()
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        if self._status_thread:
            self._status_thread.join(5)
        if self.producer:
            self.producer.close()
        self.write_status()

    def status(self) -> dict:
        return {
            "pid": os.getpid(),
            "manifests": str(self.manifest_dir),
            "bootstrap": self.bootstrap,
            "gateway": self.gateway_url,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "updated_at": self.now().isoformat(),
            "running": not self.stopping.is_set(),
            "warnings": list(self.manifests.warnings) if self.manifests else [],
            "sensors": self.counters,
            "subscriptions": [
                {"sensor": w.sub.sensor.name, "dependency": w.sub.dependency.name,
                 "event_source": w.sub.source.event_source, "event": w.sub.source.event_name,
                 "group": w.sub.group, "alive": w.is_alive(), "committed_offsets": dict(w.offsets)}
                for w in self._workers],
        }

    def write_status(self) -> None:
        if self.run_dir is None:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        target = self.run_dir / STATUS_FILE
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.status(), indent=2, sort_keys=True))
        os.replace(tmp, target)  # readers never see half a file

    def _status_loop(self) -> None:
        while not self.stopping.wait(self.status_interval_s):
            try:
                self.write_status()
            except OSError as exc:
                log.warning("status file: %s", exc)

    def __enter__(self) -> "Runner":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
