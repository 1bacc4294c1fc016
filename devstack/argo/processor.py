"""What one subscription does with polled messages, and which offsets it may then commit.

At-least-once: a message is *done* when its event was rejected (Argo drops a ``jsonBody``
message that is not JSON), or every trigger of the subscription either succeeded or had its dead
letter acknowledged. Offsets advance per partition only over a contiguous run of done
messages: the first message that is not done stops its partition (:class:`Progress.rewind` says
where to seek back so it is polled again later), and nothing after it in that partition is
committed, even if processed. Stopping skips the remaining messages without committing them.

Each event is fired alone, in offset order, one at a time: upstream's JetStream trigger
connection (``pkg/eventbus/jetstream/sensor/trigger_conn.go``) fetches one message
(``Fetch(1)``) and handles it before the next, so a trigger has one event in flight.

No Kafka import here: messages arrive as :class:`Polled`, triggers go through a
:class:`~.dispatch.Dispatcher`, the clock is passed in.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, NamedTuple, Sequence

from .dispatch import Dispatcher, Report
from .events import Event, InvalidBody, KafkaEvents
from .manifests import KafkaSource, Subscription

log = logging.getLogger("devstack.argo")
COUNTERS = ("events_in", "rejected", "triggered", "requests", "retried",
            "dead_lettered", "failed", "committed")


class Interrupted(Exception):
    """The runner is stopping: a retry wait was cut short, the event stays uncommitted."""


class Polled(NamedTuple):  # a tuple: one per message, so cheap to make
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int
    headers: tuple[tuple[str, bytes | None], ...] = ()


@dataclass
class Progress:
    commit: dict[tuple[str, int], int] = field(default_factory=dict)  # next offset to read
    rewind: dict[tuple[str, int], int] = field(default_factory=dict)  # first offset not done
    committable: int = 0  # messages the commit covers


class Counters:
    """Per-sensor counters, shared by the sensor's workers (hence the lock)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values = dict.fromkeys(COUNTERS, 0)

    def add(self, **amounts: int) -> None:
        with self._lock:
            for name, amount in amounts.items():
                self._values[name] += amount

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._values)


def progress_of(polled: Sequence[Polled], done: Sequence[bool]) -> Progress:
    """Per partition, commit up to the first message not done and rewind to it."""
    progress = Progress()
    if all(done):  # the usual case: no order to work out, each partition's highest offset
        for msg in polled:
            tp = (msg.topic, msg.partition)
            if msg.offset >= progress.commit.get(tp, 0):
                progress.commit[tp] = msg.offset + 1
        progress.committable = len(polled)
        return progress
    for msg, ok in sorted(zip(polled, done), key=lambda pair: (pair[0].topic, pair[0].partition,
                                                                pair[0].offset)):
        tp = (msg.topic, msg.partition)
        if tp in progress.rewind:
            continue
        if ok:
            progress.commit[tp] = msg.offset + 1
            progress.committable += 1
        else:
            progress.rewind[tp] = msg.offset
    return progress


class SubscriptionProcessor:
    def __init__(self, subscription: Subscription, dispatcher: Dispatcher, counters: Counters,
                 now: Callable[[], datetime]):
        self.sub, self.dispatcher, self.counters = subscription, dispatcher, counters
        self.now = now
        source = subscription.source
        self.events = KafkaEvents(event_source=source.event_source, event_name=source.event_name,
                                  url=source.url) if isinstance(source, KafkaSource) else None

    # -- events -------------------------------------------------------------------------------
    def event_of(self, msg: Polled) -> Event | None:
        try:
            return self.events.event(msg.topic, msg.partition, msg.offset, msg.key, msg.value,
                                     msg.timestamp_ms, msg.headers, self.now())
        except InvalidBody as exc:
            self._reject(msg, exc)
            return None

    def _reject(self, msg: Polled, exc: InvalidBody) -> None:
        log.error("%s: %s[%d]@%d rejected as Argo would (jsonBody): %s", self.sub.label,
                  msg.topic, msg.partition, msg.offset, exc)
        self.counters.add(rejected=1)

    def _count(self, report: Report) -> bool:
        outcome = report.outcome
        self.counters.add(requests=report.requests, retried=report.retried, triggered=int(outcome.delivered),
                          dead_lettered=int(outcome.dead_lettered), failed=int(not outcome.done))
        if not outcome.done:
            log.error("%s: not delivered and not dead-lettered, will retry: %s", self.sub.label, outcome.error)
        return outcome.done

    def handle(self, event: Event) -> bool:
        """Fire every trigger for one event; True when it is done."""
        done = True
        for trigger in self.sub.triggers:
            done &= self._count(self.dispatcher.fire(trigger, self.sub.dependency.name, event))
        return done

    # -- polled messages ----------------------------------------------------------------------
    def process(self, polled: Sequence[Polled], stopping: Callable[[], bool]) -> Progress:
        self.counters.add(events_in=len(polled))
        return progress_of(polled, self._process_each(polled, stopping))

    def _process_each(self, polled: Sequence[Polled], stopping: Callable[[], bool]) -> list[bool]:
        done = [False] * len(polled)
        blocked: set[tuple[str, int]] = set()
        for i, msg in enumerate(polled):
            if stopping():
                break
            if (msg.topic, msg.partition) in blocked:
                continue  # it will be polled again after the message that is not done
            event = self.event_of(msg)
            try:
                done[i] = event is None or self.handle(event)
            except Interrupted:
                break
            if not done[i]:
                blocked.add((msg.topic, msg.partition))
        return done
