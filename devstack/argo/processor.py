"""What one subscription does with polled messages, and which offsets it may then commit.

At-least-once: a message is *done* when its event was filtered out, rejected (Argo drops a
``jsonBody`` message that is not JSON), or every trigger of the subscription either succeeded or
had its dead letter acknowledged. Offsets advance per partition only over a contiguous run of done
messages: the first message that is not done stops its partition (:class:`Progress.rewind` says
where to seek back so it is polled again later), and nothing after it in that partition is
committed, even if processed. Stopping skips the remaining messages without committing them.

Per-event mode fires each event alone, in offset order; batch mode (the Sensor's batching
annotation) filters every polled event, then fires each trigger once for all that passed.

No Kafka import here: messages arrive as :class:`Polled`, triggers go through a
:class:`~.dispatch.Dispatcher`, the clock is passed in.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Mapping, NamedTuple, Sequence

from .batchbody import batch_body, envelope_of, events_array
from .dispatch import Dispatcher, Report
from .events import Event, InvalidBody, KafkaEvents
from .filters import filter_event
from .manifests import KafkaSource, Subscription

log = logging.getLogger("devstack.argo")
COUNTERS = ("events_in", "filtered", "rejected", "triggered", "requests", "retried",
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


@dataclass
class Prepared:
    """A polled batch with its events built and filtered, not yet delivered."""

    polled: Sequence[Polled]
    done: list[bool]  # per polled message; rejected and filtered ones are done
    passing: list[int] = field(default_factory=list)  # indices in polled of the events to deliver
    events: Sequence[Event] = ()  # their events, in that order
    bodies: dict[str, bytes | None] = field(default_factory=dict)  # per trigger: the request body

    def first_offsets(self) -> dict[tuple[str, int], int]:
        """Per partition, the first offset in the batch: where to seek to poll it all again."""
        first: dict[tuple[str, int], int] = {}
        for msg in self.polled:
            tp = (msg.topic, msg.partition)
            first[tp] = min(first.get(tp, msg.offset), msg.offset)
        return first


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


def seek_points(rewind: Mapping[tuple[str, int], int],
                unsent: Mapping[tuple[str, int], int]) -> dict[tuple[str, int], int]:
    """Where to seek after a batch not all done, when the batch polled after it (whose first
    offsets are ``unsent``) is dropped unsent: per partition, the earlier of the two, so neither
    the message not done nor anything of the dropped batch is skipped."""
    points = dict(unsent)
    for tp, offset in rewind.items():
        points[tp] = min(offset, points.get(tp, offset))
    return points


class SubscriptionProcessor:
    def __init__(self, subscription: Subscription, dispatcher: Dispatcher, counters: Counters,
                 now: Callable[[], datetime]):
        self.sub, self.dispatcher, self.counters = subscription, dispatcher, counters
        self.now = now
        source = subscription.source
        self.events = KafkaEvents(event_source=source.event_source, event_name=source.event_name,
                                  url=source.url) if isinstance(source, KafkaSource) else None
        # Batch bodies from the messages' data alone (no event built per message) when nothing
        # reads an event before the request: no filter, every trigger a step invocation.
        self.fast_batches = (self.events is not None and subscription.dependency.filter is None
                             and all(envelope_of(t) for t in subscription.triggers))

    # -- events -------------------------------------------------------------------------------
    def event_of(self, msg: Polled, now: datetime | None = None) -> Event | None:
        try:
            return self.events.event(msg.topic, msg.partition, msg.offset, msg.key, msg.value,
                                     msg.timestamp_ms, msg.headers, now or self.now())
        except InvalidBody as exc:
            self._reject(msg, exc)
            return None

    def _reject(self, msg: Polled, exc: InvalidBody) -> None:
        log.error("%s: %s[%d]@%d rejected as Argo would (jsonBody): %s", self.sub.label,
                  msg.topic, msg.partition, msg.offset, exc)
        self.counters.add(rejected=1)

    def passes(self, event: Event) -> bool:
        if self.sub.dependency.filter is None:
            return True
        result = filter_event(self.sub.dependency.filter, event.data, event.source())
        for error in result.errors:
            log.warning("%s: event %s: %s", self.sub.label, event.context.id, error)
        if not result.passed:
            self.counters.add(filtered=1)
        return result.passed

    def _count(self, report: Report) -> list[bool]:
        outcomes = report.outcomes
        if outcomes and outcomes.count(outcomes[0]) == len(outcomes):
            # A batch answered by one request shares one Outcome object: look at it once, not
            # once per event (tuple.count compares by identity first).
            kinds, times = outcomes[:1], len(outcomes)
        else:
            kinds, times = outcomes, 1
        self.counters.add(requests=report.requests, retried=report.retried,
                          triggered=times * sum(o.delivered for o in kinds),
                          dead_lettered=times * sum(o.dead_lettered for o in kinds),
                          failed=times * sum(not o.done for o in kinds))
        for outcome in kinds:
            if not outcome.done:
                log.error("%s: not delivered and not dead-lettered, will retry: %s",
                          self.sub.label, outcome.error)
        return [o.done for o in kinds] * times

    def handle(self, event: Event) -> bool:
        """Filter one event and fire every trigger for it; True when it is done."""
        if not self.passes(event):
            return True
        done = True
        for trigger in self.sub.triggers:
            done &= self._count(self.dispatcher.fire(trigger, self.sub.dependency.name, [event]))[0]
        return done

    # -- polled messages ----------------------------------------------------------------------
    def process(self, polled: Sequence[Polled], stopping: Callable[[], bool]) -> Progress:
        if self.sub.sensor.batching is not None:
            return self.deliver(self.prepare(polled))
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

    # Batch mode in two halves, so a worker can build the next batch while this one is in flight.
    def prepare(self, polled: Sequence[Polled]) -> Prepared:
        """Build and filter a batch's events (rejected and filtered ones are done already)."""
        self.counters.add(events_in=len(polled))
        now = self.now()  # one batch, one moment
        if self.fast_batches:
            return self._prepare_fast(polled, now)
        prepared = Prepared(polled, [True] * len(polled), events=[])
        for i, msg in enumerate(polled):
            event = self.event_of(msg, now)
            if event is not None and self.passes(event):
                prepared.passing.append(i)
                prepared.events.append(event)
        # The bodies too: the thread that sends them then mostly waits, holding no lock.
        if prepared.events:
            prepared.bodies = {t.name: batch_body(t, prepared.events) for t in self.sub.triggers}
        return prepared

    def _prepare_fast(self, polled: Sequence[Polled], now: datetime) -> Prepared:
        """:meth:`prepare` when only the request body reads the events, and only their data: no
        event is built unless a dead letter or header needs one (:class:`_LazyEvents`)."""
        data_of = self.events.data
        passing, datas, plain = [], [], []
        for i, msg in enumerate(polled):
            try:
                data, numbers_plain = data_of(msg.topic, msg.partition, msg.key, msg.value, msg.timestamp_ms,
                                              msg.headers)
            except InvalidBody as exc:
                self._reject(msg, exc)
                continue
            passing.append(i)
            datas.append(data)
            plain.append(numbers_plain)
        prepared = Prepared(polled, [True] * len(polled), passing, _LazyEvents(self, polled, passing, now))
        if passing:
            array = events_array(datas, plain)  # None: the dispatcher's general path builds it
            prepared.bodies = {t.name: envelope_of(t).wrap(array) for t in self.sub.triggers}
        return prepared

    def deliver(self, prepared: Prepared) -> Progress:
        """Fire every trigger once for the batch's passing events; which offsets may be committed."""
        done, passing, events = prepared.done, prepared.passing, prepared.events
        try:
            for trigger in self.sub.triggers if events else ():
                report = self.dispatcher.fire(trigger, self.sub.dependency.name, events, batch=True,
                                              body=prepared.bodies.get(trigger.name))
                flags = self._count(report)
                for i, ok in zip(passing, flags):
                    done[i] = done[i] and ok
        except Interrupted:
            for i in passing:
                done[i] = False
        return progress_of(prepared.polled, done)


class _LazyEvents(Sequence):
    """The events of a fast batch (:meth:`SubscriptionProcessor._prepare_fast`), each built the
    first time it is asked for: the dispatcher reads the first (for a request's headers) and,
    only when the request fails, every one (for its dead letter)."""

    def __init__(self, processor: SubscriptionProcessor, polled: Sequence[Polled], passing: Sequence[int],
                 now: datetime):
        self._processor, self._polled, self._passing, self._now = processor, polled, passing, now
        self._built: dict[int, Event] = {}

    def __len__(self) -> int:
        return len(self._passing)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        event = self._built.get(index)
        if event is None:
            # Its data was built once already in _prepare_fast, so it is not rejected.
            event = self._built[index] = self._processor.event_of(self._polled[self._passing[index]], self._now)
        return event
