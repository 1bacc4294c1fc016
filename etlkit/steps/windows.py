"""Tumbling event-time windows: the state of the ``aggregate`` step (bytewax style).

:class:`WindowState` is a small class whose methods return what to emit and never touch I/O or
a clock: :meth:`~WindowState.absorb` folds one record into its input partition's partial of its
window; :meth:`~WindowState.settle` closes the windows the watermark passed, merging the
partials of every partition; :meth:`~WindowState.flush` closes everything (end of a bounded
input). :meth:`~WindowState.to_dict`/:meth:`~WindowState.from_dict` persist it as JSON.

Partials per input partition are what lets replicas scale: each invocation carries one
partition's batch and changes only that partition's partials and progress (its *lane*), so a
state store can let invocations of different partitions run at once and lock everything only
to close a window (etlkit/state_store.py). Closing merges the partials in partition order, so
the results do not depend on how many replicas ran or which one took which batch.

Time rules, all in epoch milliseconds:

* a record at event time ``t`` belongs to the window ``[t - t mod size, + size)``;
* each input partition has its high mark, the newest event time it delivered; the watermark is
  ``min over the partitions of their high marks - allowed lateness`` and only moves forward.
  Event time is ordered within a partition (a step's outputs keep their input's partition), not
  across partitions, which a consumer reads at uneven paces (Tansu hands out tens of thousands of
  records of one partition before the next): the newest time over all partitions would make the
  slower partitions' on-time records late (issue 15). A partition of the input topic that has
  delivered no event time yet holds the watermark back, as Flink's per-split watermarks do;
* a partition that delivered nothing for ``idle_timeout`` (processing time, the invocation's
  ``now``) stops holding it back until it delivers again, as Flink's
  ``WatermarkStrategy.withIdleness``: an unbalanced key space leaves partitions empty, and they
  would stall every window forever. When every partition is idle, the watermark is the newest
  high mark (Flink flushes the maximum across idle channels the same way). The invocation's own
  partition is never idle. (A retry at a later time may then close more than its first attempt
  did: the store keeps what an invocation emits before it produces it, so a retry re-sends the
  very batches of the first attempt; see etlkit/state_store.py.)
* a partition whose last input batch said ``"end": true`` has ended: it no longer holds the
  watermark back. When every partition has ended or is idle (and one has ended), the input is
  over: the watermark is +infinity, every open window is emitted, and a new run of the input
  starts afresh (every partition expected again) from a watermark at the end of the newest window
  emitted, so a later record for an emitted window is late instead of re-opening it;
* a window is emitted once the watermark reaches its end, results ordered by
  ``(window start, key)``; a record whose window was already emitted is late (dead letter).

The watermark advances per record, never per batch, so which records are late does not depend on
how the records of a partition were split into invocations. Records without a partition count as
partition 0.

The state also keeps, per partition, the identities of the input batches it applied, so a
redelivered batch is recognised and applied at most once: see :data:`APPLIED_KEPT` for when an
identity is forgotten.
"""
from __future__ import annotations

import heapq
import json
import math
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Iterable, Protocol, Union, runtime_checkable

from .accumulators import KINDS
from .event_time import event_time_ms
from .failures import RecordError
from .fieldpaths import WorkingCopy, read_path
from .record import EVENT_TIME_HEADER, Record
from .values import type_name

if TYPE_CHECKING:
    from .aggregation import AggregateConfig

# 3: windows are partials per input partition, applied ids carry their last window end.
# 2 (one accumulator per window, applied ids alone) and 1 (one max_event_time) are still read.
STATE_VERSION = 3
RESULT_FIELDS = ("window_id", "window_start", "window_end")


class StateError(ValueError):
    """Persisted state cannot be used with this config; the message names the field."""


class CloseFirst(Exception):
    """Raised by :meth:`WindowState.begin` in a lane (``lane=True``) when the input run is over
    before the batch: every window must be emitted and the run reset, which needs every lane,
    before this batch's records start the next run."""


# A stored partial as a state store hands it back: (start, partition, key, acc, key as JSON text).
StoredItem = tuple[int, int, list[Any], list[Any], str]


@runtime_checkable
class StoredWindows(Protocol):
    """Partials kept by a state store (etlkit/state_store.py), read only when needed: a lane's
    call reads the windows its records go into, a settling the windows it closes, instead of
    every open partial each time. What it hands back was written by :meth:`WindowState.to_dict`
    of a state checked when it was read, so it is not checked again."""

    open: int  # the partials it holds (a lane's, or every lane's): what max_open_windows counts

    def starting_at(self, start: int) -> Iterable[StoredItem]:
        """The lane's partials of the window starting at ``start``."""
        ...

    def starting_by(self, last: int | None) -> Iterable[StoredItem]:
        """Every partial of the windows starting at or before ``last`` (None: all)."""
        ...


@dataclass
class _Window:
    start: int
    partition: int
    key: list[Any]
    acc: list[Any]
    order: str = ""  # the key as JSON text: windows of one start are emitted in its order


# When an applied batch identity is forgotten: only once BOTH hold:
# * at least this many newer batches of its partition were applied, so a redelivery from what
#   was not yet acknowledged when something failed is recognised and answered as a duplicate
#   (nothing dead-lettered): an Argo trigger retries the one event it holds (JetStream bus:
#   argo-events v1.9.11 pkg/eventbus/jetstream/sensor/trigger_conn.go Fetch(1)); the Kafka bus's
#   Sensor replays at most its transaction batch of 100 messages (pkg/eventbus/kafka/sensor/
#   kafka_handler.go base.Batch(100, ...)); a restarted Kafka EventSource re-reads what it marked
#   since its last auto-commit (pkg/eventsources/sources/kafka/start.go, sarama's 1 s default);
# * the watermark passed the end of every window its records went into: a replay of it,
#   however far back, finds each of its records late (a dead letter saying so) and cannot count
#   one twice. While any of its windows is open its identity is kept, whatever its age.
# So no replay ever counts a record twice; only a replay reaching back past both bounds gets
# dead letters instead of a duplicate answer.
APPLIED_KEPT = 256


class _Partition:
    """What the windows know of one input partition (its lane's progress)."""

    __slots__ = ("high", "seen_at", "first", "ended", "applied", "mark")

    def __init__(self, high: int | None = None, seen_at: int | None = None,
                 first: int | None = None, ended: bool = False,
                 applied: dict[str, int | None] | None = None, mark: int | None = None) -> None:
        self.high = high  # the newest event time it delivered this run; None: none yet
        self.seen_at = seen_at  # processing time of its last input this run (for idleness)
        self.first = first  # processing time of its first input this run
        self.ended = ended  # its last input batch said "end": true
        # identity -> the end of the last window its records went into (None: none), in the
        # order applied (dicts keep it)
        self.applied: dict[str, int | None] = applied if applied is not None else {}
        # The watermark its lane judged lateness by: a lane's view, kept so that the watermark
        # never moves back for another lane when a partition idle then counts again.
        self.mark = mark

    def item(self, partition: int) -> dict[str, Any]:
        return {"partition": partition, "high": self.high, "seen_at": self.seen_at,
                "first": self.first, "ended": self.ended, "watermark": self.mark,
                "applied": [[identity, end] for identity, end in self.applied.items()]}


class WindowState:
    """Open windows (partials per input partition) and the event-time progress of one aggregate
    step. ``lane=True``: a view that holds one partition's partials and every partition's
    progress; it never closes a window (a state store closes them with every lane in hand)."""

    def __init__(self, config: "AggregateConfig", *, lane: bool = False) -> None:
        self.config = config
        self.lane = lane
        self._watermark: int | None = None
        self._parts: dict[int, _Partition] = {}  # input partition -> what is known of it
        self._count: int | None = None  # the input topic's partitions; None: those seen
        self._now: int | None = None  # processing time (epoch ms) of the invocation
        self._since: int | None = None  # processing time of this run's first input (legacy)
        self._idle: set[int] = set()  # the partitions that count as idle in this invocation
        self._over = False  # every partition ended or is idle: the run is over
        # The partition the watermark waits for (the lowest high mark, or one with none): a
        # record of another partition cannot move it, so only the blocker's records (or a change
        # in which partitions count, _dirty) make the watermark be worked out again; and while
        # the blocker's high mark stays at or under _ceiling (the next partition's), the
        # watermark simply follows it, without going over every partition per record.
        self._blocker: int | None = None
        self._ceiling: float | None = None  # math.inf: no other bound; None: work it out again
        self._dirty = True
        self._keys: list[int] | None = None  # the partitions that count, in order; None: stale
        # start -> (partition, group key) -> window
        self._windows: dict[int, dict[tuple[int, tuple], _Window]] = {}
        self._starts: list[int] = []  # min-heap of the starts in _windows
        self._open = 0
        self._stored: StoredWindows | None = None  # partials not read yet (see StoredWindows)
        self._fetched: set[int] = set()  # the starts read from _stored
        self._orders: dict[tuple, str] = {}  # group key -> its JSON text (_order_of)
        self._batch_end: int | None = None  # the last window end the current batch went into
        # Per aggregation, what folding a value needs, looked up once instead of per record.
        self._folds = [(KINDS[a.op].add, a.field is not None, a.name, a.op in ("sum", "avg"))
                       for a in config.aggregations]
        # The fields read per record, with the top-level name of one-segment paths (most), which
        # are read with one dict lookup; anything else goes through _key_value / _number_at.
        self._key_reads = [(path, _top_level(path)) for path in config.group_by]
        self._value_reads = [(a.name, a.field, _top_level(a.field)) for a in config.aggregations]
        self._time_name = _top_level(config.time_field)
        self._fingerprint = config.fingerprint()

    # -- time ------------------------------------------------------------------------------
    @property
    def watermark(self) -> int | None:
        """Windows ending at or before it are emitted; None before every partition has a high
        mark (or is idle)."""
        return self._watermark

    @property
    def open_windows(self) -> int:
        """The partial windows held (one per window and input partition that fed it)."""
        return self._open

    @property
    def due(self) -> float | None:
        """What a lane leaves to close: every window when the run is over (math.inf), else
        the windows ending at or before its watermark (None: none)."""
        return math.inf if self._over else self._watermark

    def begin(self, now_ms: int, partitions: int | None = None,
              partition: int | None = None) -> list[Emitted]:
        """Start an invocation at processing time ``now_ms``, its input from ``partition`` of a
        topic with ``partitions`` partitions (None: count only the partitions seen); return the
        windows emitted because the run was over (every partition ended or idle) before it.

        The invocation's own partition is active now, whatever its last input's age: counting it
        idle would let the watermark pass the records it is delivering. A lane raises
        :class:`CloseFirst` instead of ending the run.
        """
        self._arrive(now_ms, partitions, partition)
        self._batch_end = None
        if partition is not None:
            part = self._part(partition)
            part.seen_at = now_ms
            if part.first is None:
                part.first = now_ms
        self._advance()
        if self._over:
            if self.lane:
                raise CloseFirst()
            return self._end_run()
        return []

    def settle(self, now_ms: int | None = None, partitions: int | None = None,
               partition: int | None = None) -> list[Emitted]:
        """Close what the partitions' progress allows at ``now_ms`` (the invocation's
        ``partition`` active): the windows the watermark passed, or every window when the run
        is over (then a new run starts). Partials of one window are merged in partition order."""
        if now_ms is not None:
            self._arrive(now_ms, partitions, partition)
        self._advance()
        if self._over:
            return self._end_run()
        return self._close(self._watermark) if self._watermark is not None else []

    def _arrive(self, now_ms: int, partitions: int | None, partition: int | None) -> None:
        if partitions is not None and partitions != self._count:
            self._count, self._keys = partitions, None
        self._now = now_ms
        self._idle = self._idle_at(now_ms)
        self._idle.discard(partition)  # type: ignore[arg-type]
        self._dirty = True

    def _idle_at(self, moment: int) -> set[int]:
        """The partitions that had delivered nothing for ``idle_timeout`` at ``moment``."""
        parts, idle_ms, idle = self._parts, self.config.idle_timeout_ms, set()
        since = self._run_start()
        for key in self._counted():
            part = parts.get(key)
            last = part.seen_at if part is not None and part.seen_at is not None else since
            if last is not None and moment - last >= idle_ms:
                idle.add(key)
        return idle

    def _run_start(self) -> int | None:
        """Processing time of this run's first input (of any partition)."""
        firsts = [part.first for part in self._parts.values() if part.first is not None]
        if self._since is not None:
            firsts.append(self._since)
        return min(firsts, default=None)

    def _counted(self) -> list[int]:
        """The partitions that count: the input topic's, and any other seen."""
        keys = self._keys
        if keys is None:
            keys = self._keys = sorted(set(range(self._count or 0)).union(self._parts))
        return keys

    def end(self, partition: int | None) -> None:
        """``partition``'s input is over (its batch said ``"end": true``); :meth:`settle` then
        closes every window when it was the last partition not ended or idle."""
        part = self._part(partition or 0)
        part.ended, part.seen_at = True, self._now
        self._advance()

    def applied(self, identity: str, partition: int | None) -> bool:
        """Whether the input batch ``identity`` of ``partition`` was applied already."""
        part = self._parts.get(partition or 0)
        return part is not None and identity in part.applied

    def remember(self, identity: str, partition: int | None) -> None:
        """Record that the input batch ``identity`` of ``partition`` was applied (its records
        are the ones absorbed since :meth:`begin`); forget the identities :data:`APPLIED_KEPT`
        allows."""
        part = self._part(partition or 0)
        part.applied[identity] = self._batch_end
        surplus = len(part.applied) - APPLIED_KEPT
        if surplus <= 0:
            return
        watermark = self._watermark
        forgettable = []
        for old, end in part.applied.items():
            if surplus <= 0:
                break
            surplus -= 1
            if end is None or (watermark is not None and end <= watermark):
                forgettable.append(old)
        for old in forgettable:
            del part.applied[old]

    def mark_lane(self, partition: int | None) -> None:
        """Keep the watermark this lane judged lateness by in its partition's progress."""
        self._part(partition or 0).mark = self._watermark

    def _part(self, partition: int) -> _Partition:
        part = self._parts.get(partition)
        if part is None:
            part = self._parts[partition] = _Partition()
            self._keys = None
        self._dirty = True
        return part

    def _advance(self) -> None:
        """Work the watermark out again (or find the run over)."""
        self._dirty = False
        watermark, self._blocker, self._ceiling = self._combined()
        if watermark is _ALL_ENDED:
            self._over = True
            return
        self._over = False
        self._move_to(watermark)

    def _move_to(self, watermark: int | None) -> None:
        if watermark is not None and (self._watermark is None or watermark > self._watermark):
            self._watermark = watermark

    def _combined(self) -> tuple[Any, int | None, float | None]:
        """(the watermark the partitions allow, the partition it waits for, the next lowest
        high mark or math.inf): None when a partition that counts has no high mark yet (nor a
        ceiling: its first one needs the others looked at), _ALL_ENDED when the input is over."""
        parts, idle = self._parts, self._idle
        lowest, blocker, ceiling, ended = None, None, math.inf, False
        for key in self._counted():
            part = parts.get(key)
            if part is not None and part.ended:
                ended = True
                continue
            if key in idle:
                continue  # not holding the watermark back
            high = part.high if part is not None else None
            if high is None:
                return None, key, None
            if lowest is None or high < lowest:
                lowest, blocker, ceiling = high, key, math.inf if lowest is None else lowest
            elif high < ceiling:
                ceiling = high
        if lowest is not None:
            return lowest - self.config.allowed_lateness_ms, blocker, ceiling
        if ended:
            return _ALL_ENDED, None, None
        highs = [part.high for part in parts.values() if part.high is not None]
        return (max(highs) - self.config.allowed_lateness_ms if highs else None), None, None

    def _end_run(self) -> list[Emitted]:
        """Every partition ended (or is idle): emit every window, and expect a new run."""
        highs = [part.high for part in self._parts.values() if part.high is not None]
        emitted = self._close(None)
        if highs:  # every emitted window ends at or before the newest high mark's window end
            newest = max(highs)
            floor = newest - newest % self.config.window_ms + self.config.window_ms
            if self._watermark is None or floor > self._watermark:
                self._watermark = floor
        for part in self._parts.values():  # the applied ids stay: redeliveries outlive a run
            part.high = part.seen_at = part.first = None
            part.ended = False
            part.mark = self._watermark
        self._since, self._blocker, self._dirty, self._idle, self._over = None, None, True, set(), False
        return emitted

    # -- processing ------------------------------------------------------------------------
    def absorb(self, record: Record) -> None:
        """Fold ``record`` into its partition's partial of its window.

        Raises :class:`RecordError` (windows unchanged) for a late record, a missing event
        time, a key that is not a scalar, a non-number aggregated value or a full state.
        """
        config = self.config
        fields = record.value
        key = record.partition
        if key is None:
            key = 0
        part = self._parts.get(key)
        if part is None or part.ended or part.seen_at != self._now:
            part = self._part(key)  # new, ended (a record re-opens it) or idle until now
            part.ended, part.seen_at = False, self._now
            if part.first is None:
                part.first = self._now
            self._idle.discard(key)
        # An integer in a top-level time field is its own epoch ms (what event_time_ms would
        # return), read with one lookup; anything else is left to event_time_ms.
        moment = fields.get(self._time_name) if self._time_name is not None else None
        if type(moment) is not int:
            moment = event_time_ms(record, config.time_field)
        start = moment - moment % config.window_ms
        end = start + config.window_ms
        watermark = self._watermark
        if watermark is not None and end <= watermark:
            raise RecordError(
                f"late: event time {moment} is in window [{start}, {end}), "
                f"already closed by watermark {watermark} "
                f"(allowed lateness {config.allowed_lateness_ms} ms)")
        group = []
        for path, name in self._key_reads:
            found = fields.get(name, _NEW) if name is not None else _NEW
            group.append(found if type(found) is str else _key_value(record, path))
        values = []
        for aggregation, path, name in self._value_reads:
            if path is None:  # count "*": counts records, reads nothing
                values.append(None)
                continue
            found = fields.get(name, _NEW) if name is not None else _NEW
            kind = type(found)
            values.append(found if kind is int or (kind is float and math.isfinite(found))
                          else _number_at(record, aggregation, path))
        window = self._window(start, key, group)
        updated = self._added(window.acc, values)  # computed whole before any change
        if window.acc is _NEW:
            self._insert(start, key, group, updated, self._order_of(group))
        else:
            window.acc = updated
        if self._batch_end is None or end > self._batch_end:
            self._batch_end = end
        high = part.high
        if high is None or moment > high:
            part.high = moment
            if self._dirty:
                self._advance()
            elif key == self._blocker:
                ceiling = self._ceiling
                if ceiling is not None and moment <= ceiling:  # still the lowest: it leads
                    self._move_to(moment - config.allowed_lateness_ms)
                else:
                    self._advance()

    def flush(self) -> list[Emitted]:
        """Close and return every open window, for the end of a bounded input.

        The watermark is unchanged: a record that arrives later for a flushed window starts a
        new result with the same ``window_id``, which an upsert would let overwrite the full one.
        (An input whose batches say ``"end": true`` needs no flush: see :meth:`end`.)
        """
        return self._close(None)

    def _window(self, start: int, partition: int, key: list[Any]) -> _Window:
        group = self._windows.get(start)
        if group is None and self._stored is not None and start not in self._fetched:
            self._fetched.add(start)
            self._load(self._stored.starting_at(start))
            group = self._windows.get(start)
        window = group.get((partition, _group_key(key))) if group else None
        if window is not None:
            return window
        if self._open >= self.config.max_open_windows:
            raise RecordError(f"state limit: {self._open} windows open (max_open_windows); "
                              f"the record would open another")
        return _Window(start, partition, key, _NEW)

    def _insert(self, start: int, partition: int, key: list[Any], acc: list[Any],
                order: str | None = None) -> None:
        group = self._windows.get(start)
        if group is None:
            group = self._windows[start] = {}
            heapq.heappush(self._starts, start)
        group[(partition, _group_key(key))] = _Window(start, partition, key, acc,
                                                      _order_text(key) if order is None else order)
        self._open += 1

    def _order_of(self, key: list[Any]) -> str:
        """The key's JSON text, written once per group key: most records open a window of a
        group key seen before. (absorb's keys only: it reads 1.0 as 1, which a dict of keys
        would not tell apart.)"""
        group = _group_key(key)
        order = self._orders.get(group)
        if order is None:
            order = self._orders[group] = _order_text(key)
        return order

    def _load(self, items: Iterable[StoredItem]) -> None:
        """Stored partials into the windows (already counted in ``_open``); one already here
        (read before) is kept as it is."""
        for start, partition, key, acc, order in items:
            group = self._windows.get(start)
            if group is None or (partition, _group_key(key)) not in group:
                self._insert(start, partition, key, acc, order)
                self._open -= 1

    def _added(self, acc: Any, values: list[Any]) -> list[Any]:
        if acc is _NEW:
            acc = [KINDS[a.op].initial() for a in self.config.aggregations]
        updated = []
        for (add, has_field, name, may_overflow), state, value in zip(self._folds, acc, values):
            if has_field and value is None:
                updated.append(state)  # null is skipped, as in SQL
                continue
            new = add(state, value)
            if may_overflow:
                total = new[0] if type(new) is list else new
                if type(total) is float and not math.isfinite(total):
                    raise RecordError(f"aggregation {name}: result overflows a float")
            updated.append(new)
        return updated

    def _close(self, watermark: int | None) -> list[Emitted]:
        if self.lane:
            raise RuntimeError("a lane closes no window: a state store settles every lane")
        size = self.config.window_ms
        if self._stored is not None:  # read the windows this closes, and only those
            self._load(self._stored.starting_by(None if watermark is None else watermark - size))
        emitted: list[Emitted] = []
        while self._starts and (watermark is None or self._starts[0] + size <= watermark):
            start = heapq.heappop(self._starts)
            group = self._windows.pop(start)
            self._open -= len(group)
            # The partials of one group key, merged in partition order: the same sum whatever
            # replica or batch order fed each partition.
            merged: dict[tuple, _Window] = {}
            for (_partition, gkey), window in sorted(group.items(), key=_BY_PARTITION):
                known = merged.get(gkey)
                if known is None:
                    merged[gkey] = _Window(start, -1, window.key, window.acc, window.order)
                else:
                    known.acc = self._merged(known.acc, window.acc)
            for window in sorted(merged.values(), key=_ORDER):
                emitted.append(self._result(window))
        return emitted

    def _merged(self, left: list[Any], right: list[Any]) -> list[Any]:
        return [_MERGE[a.op](x, y) for a, x, y in zip(self.config.aggregations, left, right)]

    def _overflowed(self, window: _Window) -> str | None:
        """Why ``window``'s merged result cannot be written (None: it can). Each partition's
        partial is finite (:meth:`_added` refuses a record that would make it not), but two
        finite float sums can add up past the largest double: a result of inf is not a total."""
        for aggregation, acc in zip(self.config.aggregations, window.acc):
            if aggregation.op in ("sum", "avg"):
                total = acc[0] if type(acc) is list else acc
                if type(total) is float and not math.isfinite(total):
                    return (f"aggregation {aggregation.name}: window "
                            f"{window_identity(window.key, window.start)}: the partials of its "
                            f"input partitions add up past the largest float")
        return None

    def _result(self, window: _Window) -> Record | WindowFailure:
        config = self.config
        reason = self._overflowed(window)
        end = window.start + config.window_ms
        window_id = window_identity(window.key, window.start)
        out = WorkingCopy(dict(zip(RESULT_FIELDS, (window_id, window.start, end))))
        for path, value in zip(config.group_by, window.key):
            out.set(path, value)
        for aggregation, acc in zip(config.aggregations, window.acc):
            out.root[aggregation.name] = KINDS[aggregation.op].result(acc) if reason is None else (
                acc if aggregation.op not in ("sum", "avg") else None)
        if reason is not None:  # a dead letter: the window, its sums unknown, and why
            return WindowFailure(window_id, out.root, reason)
        # Stamped inside the window it summarises (Flink's "max timestamp"), so results can be
        # re-aggregated into larger windows downstream.
        stamp = end - 1
        return Record(value=out.root, key=window_id, headers={EVENT_TIME_HEADER: str(stamp)},
                      timestamp=stamp)

    # -- persistence -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable state; windows sorted so equal states give equal text. With
        :class:`StoredWindows`, the windows are those read or opened (what a store may write
        back), not the ones left unread."""
        windows = [window_item(window) for start in sorted(self._windows)
                   for window in sorted(self._windows[start].values(), key=_PLACE)]
        return {**self.head(), "partitions": self.progress(), "windows": windows}

    def head(self) -> dict[str, Any]:
        """What no lane owns: the version, the config and the watermark settled last."""
        return {"version": STATE_VERSION, "config": self._fingerprint,
                "watermark": self._watermark, "since": self._since}

    def progress(self) -> list[dict[str, Any]]:
        """Every partition's progress, one item each (a state store keeps one row per lane)."""
        return [self._parts[key].item(key) for key in sorted(self._parts)]

    @classmethod
    def from_dict(cls, data: Any, config: "AggregateConfig", where: str = "state", *,
                  lane: bool = False) -> "WindowState":
        """Rebuild state persisted by :meth:`to_dict`; :class:`StateError` names what is wrong,
        including a config that changed in a way the open windows cannot follow.

        A state of version 2 (one accumulator per window, over every partition) is read as the
        partials of partition 0: merged with what the other partitions add from then on, it
        gives the same totals. ``data["windows"]`` may be a :class:`StoredWindows` in place of
        the list: the partials are then read when a record or a settling needs them."""
        state = cls(config, lane=lane)
        if data is None:
            return state
        if not isinstance(data, dict):
            raise StateError(f"{where}: must be an object")
        version = data.get("version")
        if version not in (1, 2, STATE_VERSION):
            raise StateError(f"{where}.version: must be {STATE_VERSION} (or 2 or 1, which are read)")
        if data.get("config") != config.fingerprint():
            raise StateError(f"{where}.config: state was written by a different window/key/"
                             f"aggregation config; flush it before changing these")
        if version == 1:  # one high mark over all partitions: it becomes the watermark
            high = _integer(data, "max_event_time", where)
            state._watermark = None if high is None else high - config.allowed_lateness_ms
        else:
            state._watermark = _integer(data, "watermark", where)
            state._since = _integer(data, "since", where)
            state._restore_partitions(data.get("partitions"), f"{where}.partitions", version)
        marks = [part.mark for part in state._parts.values() if part.mark is not None]
        if marks and (state._watermark is None or max(marks) > state._watermark):
            state._watermark = max(marks)
        windows = data.get("windows")
        if isinstance(windows, StoredWindows):  # a state store's, read when needed
            state._stored, state._open = windows, windows.open
            return state
        if not isinstance(windows, list):
            raise StateError(f"{where}.windows: must be a list")
        for i, item in enumerate(windows):
            state._restore(item, f"{where}.windows[{i}]")
        return state

    def _restore_partitions(self, items: Any, where: str, version: int) -> None:
        if not isinstance(items, list):
            raise StateError(f"{where}: must be a list")
        for i, item in enumerate(items):
            at = f"{where}[{i}]"
            if not isinstance(item, dict):
                raise StateError(f"{at}: must be an object")
            key = item.get("partition")
            if type(key) is not int or key < 0 or key in self._parts:
                raise StateError(f"{at}.partition: must be a partition number, listed once")
            ended = item.get("ended")
            if type(ended) is not bool:
                raise StateError(f"{at}.ended: must be true or false")
            self._parts[key] = _Partition(
                _integer(item, "high", at), _integer(item, "seen_at", at),
                _integer(item, "first", at), ended, _applied(item.get("applied"), at, version),
                _integer(item, "watermark", at))

    def _restore(self, item: Any, where: str) -> None:
        config = self.config
        if not isinstance(item, dict):
            raise StateError(f"{where}: must be an object")
        start, key, acc = item.get("start"), item.get("key"), item.get("acc")
        partition = item.get("partition", 0)  # version 2: the one accumulator, as partition 0's
        if type(start) is not int or start % config.window_ms:
            raise StateError(f"{where}.start: must be an integer multiple of the window size")
        if type(partition) is not int or partition < 0:
            raise StateError(f"{where}.partition: must be a partition number")
        if not isinstance(key, list) or len(key) != len(config.group_by) or not all(
                _is_scalar(k) for k in key):
            raise StateError(f"{where}.key: must be a list of {len(config.group_by)} scalars")
        if not isinstance(acc, list) or len(acc) != len(config.aggregations):
            raise StateError(f"{where}.acc: must be a list of {len(config.aggregations)} accumulators")
        for j, (aggregation, value) in enumerate(zip(config.aggregations, acc)):
            if not KINDS[aggregation.op].valid(value):
                raise StateError(f"{where}.acc[{j}]: not a valid {aggregation.op} accumulator")
        group = self._windows.get(start)
        if group is not None and (partition, _group_key(key)) in group:
            raise StateError(f"{where}: repeats an earlier window")
        self._insert(start, partition, list(key), [list(a) if type(a) is list else a for a in acc])


def window_item(window: _Window) -> dict[str, Any]:
    return {"start": window.start, "partition": window.partition, "key": window.key,
            "acc": window.acc}


def _applied(items: Any, where: str, version: int) -> dict[str, int | None]:
    rule = ("must be a list of input batch ids" if version == 2
            else "must be a list of [input batch id, last window end or null]")
    if not isinstance(items, list):
        raise StateError(f"{where}.applied: {rule}")
    applied: dict[str, int | None] = {}
    for entry in items:
        if version == 2:  # no window end known: forgotten by count alone, as before
            if type(entry) is not str:
                raise StateError(f"{where}.applied: {rule}")
            applied[entry] = None
            continue
        if (not isinstance(entry, list) or len(entry) != 2 or type(entry[0]) is not str
                or (entry[1] is not None and type(entry[1]) is not int)):
            raise StateError(f"{where}.applied: {rule}")
        applied[entry[0]] = entry[1]
    return applied


def _integer(data: dict[str, Any], name: str, where: str) -> int | None:
    value = data.get(name)
    if value is not None and type(value) is not int:
        raise StateError(f"{where}.{name}: must be an integer or null")
    return value


def _merge_rule(op: str) -> Any:
    """How two partials of one window combine, by accumulators.py's own folds: a sum, min or
    max partial is one value, folded into the other as a record's value would be (so their
    number rules, Decimal included, hold for the merge too; a partial with no value yet is
    null); counts add up; avg adds its [sum, count] pair part by part."""
    if op == "count":
        return lambda x, y: x + y
    if op == "avg":
        add = KINDS["sum"].add
        return lambda x, y: [add(x[0], y[0]), x[1] + y[1]]
    fold = KINDS[op].add
    return lambda x, y: x if y is None else fold(x, y)


_MERGE = {op: _merge_rule(op) for op in KINDS}


@dataclass(frozen=True)
class WindowFailure:
    """A window whose result cannot be written (``reason``): a dead letter, not an output.
    ``value``: the result's fields, the aggregations that failed null."""

    window_id: str
    value: dict[str, Any]
    reason: str

Emitted = Union[Record, WindowFailure]  # what closing a window gives

_NEW: Any = object()  # marks a window not yet in the state
_ALL_ENDED: Any = object()  # the watermark once every partition's input is over: +infinity


def window_identity(group: list[Any], start: int) -> str:
    """``"<group values>/<window start>"``: the result's key, unique per group and window.

    ``%`` and ``/`` inside values are percent-escaped so two different groups never share an
    identity; null is the empty text and bools are ``true``/``false``.
    """
    parts = []
    for value in group:
        text = "" if value is None else ("true" if value is True else "false" if value is False
                                          else str(value))
        parts.append(text.replace("%", "%25").replace("/", "%2F"))
    return "/".join([*parts, str(start)])


def _top_level(path: tuple[str, ...] | None) -> str | None:
    return path[0] if path is not None and len(path) == 1 else None


def _is_scalar(value: Any) -> bool:
    return value is None or type(value) in (str, int, float, bool)


def _group_key(values: list[Any]) -> tuple:
    # Hashable and exact: a bool is wrapped so that true and 1 (equal in Python) stay apart.
    for value in values:
        if type(value) is bool:
            return tuple((v,) if type(v) is bool else v for v in values)
    return tuple(values)  # no bool: the common case, without a generator per record


def _order_text(key: list[Any]) -> str:
    return json.dumps(key, separators=(",", ":"), ensure_ascii=False)


_ORDER = attrgetter("order")
_PLACE = attrgetter("partition", "order")


def _BY_PARTITION(item: tuple[tuple[int, tuple], _Window]) -> tuple[int, str]:
    return item[0][0], item[1].order


def _key_value(record: Record, path: tuple[str, ...]) -> Any:
    value = read_path(record.value, path)
    kind = type(value)
    if kind is float:
        if not math.isfinite(value):
            raise RecordError(f"key field {'.'.join(path)}: not a finite number")
        # 1 and 1.0 are one number: group them together, whichever way a producer wrote it.
        return int(value) if value.is_integer() else value
    if value is None or kind in (str, int, bool):
        return value
    raise RecordError(f"key field {'.'.join(path)}: must be text, a number, a bool or null, "
                      f"got {type_name(value)}")


def _number_at(record: Record, name: str, path: tuple[str, ...]) -> Any:
    value = read_path(record.value, path)
    kind = type(value)
    if value is None:
        return None
    if kind is int or (kind is float and math.isfinite(value)) or (
            kind is Decimal and value.is_finite()):  # etlkit.http reads a long number so
        return value
    raise RecordError(f"aggregation {name}: field {'.'.join(path)} is {type_name(value)}, "
                      f"expected a finite number")
