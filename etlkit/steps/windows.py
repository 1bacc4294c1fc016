"""Tumbling event-time windows: the state of the ``aggregate`` step (bytewax style).

:class:`WindowState` is a small class whose methods return what to emit and never touch I/O or
a clock: :meth:`~WindowState.absorb` folds one record into its window and returns the windows
that the record's event time closed; :meth:`~WindowState.flush` closes everything (end of a
bounded input). :meth:`~WindowState.to_dict`/:meth:`~WindowState.from_dict` persist it as JSON
between invocations; :meth:`~WindowState.checkpoint` gives the same dict as a
:class:`Checkpoint`, which also says which windows changed since the state it followed, so that
a state store can write only those.

Time rules, all in epoch milliseconds:

* a record at event time ``t`` belongs to the window ``[t - t mod size, + size)``;
* each input partition has its high mark, the newest event time it delivered; the watermark is
  ``min over the partitions of their high marks - allowed lateness`` and only moves forward.
  Event time is ordered within a partition (a step's outputs keep their input's partition), not
  across partitions, which a consumer reads at uneven paces (Tansu hands out tens of thousands of
  records of one partition before the next): the newest time over all partitions would make the
  slower partitions' on-time records late (issue 15). A partition of the input topic that has
  delivered no event time yet holds the watermark back, as Flink's per-split watermarks do;
* a partition that delivered nothing for ``idle_timeout`` (processing time, the invocations'
  ``now``) stops holding it back until it delivers again, as Flink's
  ``WatermarkStrategy.withIdleness``: an unbalanced key space leaves partitions empty, and they
  would stall every window forever. When every partition is idle, the watermark is the newest
  high mark (Flink flushes the maximum across idle channels the same way). Idleness is judged
  at the time of the invocation before (kept in the state), never at the current one: what an
  invocation emits then depends only on the state and its input, so a retry after a failed save
  emits the very outputs (and output batch ids) of the first attempt, whenever it comes;
* a partition whose last input batch said ``"end": true`` has ended: it no longer holds the
  watermark back. When every partition has ended or is idle (and one has ended), the input is
  over: the watermark is +infinity, every open window is emitted, and a new run of the input
  starts afresh (every partition expected again) from a watermark at the end of the newest window
  emitted, so a later record for an emitted window is late instead of re-opening it;
* a window is emitted once the watermark reaches its end, results ordered by
  ``(window start, key)``; a record whose window was already emitted is late (dead letter).

The watermark advances per record, never per batch, so results do not depend on how the records
of a partition were split into invocations: one batch of 1000 and 1000 single-record calls emit
the same. Records without a partition count as partition 0.

The state also keeps, per partition, the identities of the input batches it applied (the most
recent :data:`APPLIED_KEPT`), so a redelivered batch is recognised and applied at most once.
"""
from __future__ import annotations

import heapq
import json
import math
import threading
from collections import deque
from dataclasses import dataclass
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from .accumulators import KINDS
from .event_time import event_time_ms
from .failures import RecordError
from .fieldpaths import WorkingCopy, read_path
from .record import EVENT_TIME_HEADER, Record
from .values import type_name

if TYPE_CHECKING:
    from .aggregation import AggregateConfig

# 2: the watermark, per-partition high marks and applied ids; 1 (one max_event_time) is still read.
STATE_VERSION = 2
RESULT_FIELDS = ("window_id", "window_start", "window_end")


class StateError(ValueError):
    """Persisted state cannot be used with this config; the message names the field."""


@dataclass
class _Window:
    start: int
    key: list[Any]
    acc: list[Any]
    order: str = ""  # the key as JSON text: windows of one start are emitted and stored in its order
    item: Any = None  # its item in the last checkpoint; None: changed since; _CLOSED: closed


# The input batches applied, kept per partition: the most recent this many. A redelivery comes
# from what was not yet acknowledged when something failed, never from far back: an Argo trigger
# retries the one event it holds (JetStream bus: one in flight per trigger, argo-events v1.9.11
# pkg/eventbus/jetstream/sensor/trigger_conn.go Fetch(1)); the Kafka bus's Sensor replays at most
# its transaction batch of 100 messages (pkg/eventbus/kafka/sensor/kafka_handler.go
# base.Batch(100, ...)); a restarted Kafka EventSource (pkg/eventsources/sources/kafka/start.go,
# MarkMessage, sarama's auto-commit left at its 1 s default) re-reads what it marked since. 256 is
# above all of them with room; each id is ~40 bytes, so 256 over 6 partitions is ~60 kB of state
# head, written at every save. An older batch replayed by hand is not recognised: once the
# watermark passed its records they are late (dead letters, not counted twice), but records of
# windows still open would be counted again: a replay reaching further back than 256 batches of
# a partition whose windows are still open is not safe for an aggregate.
APPLIED_KEPT = 256


class _Partition:
    """What the windows know of one input partition."""

    __slots__ = ("high", "seen_at", "ended", "applied")

    def __init__(self, high: int | None = None, seen_at: int | None = None, ended: bool = False,
                 applied: Any = ()) -> None:
        self.high = high  # the newest event time it delivered this run; None: none yet
        self.seen_at = seen_at  # processing time of its last input this run (for idleness)
        self.ended = ended  # its last input batch said "end": true
        self.applied: deque[str] = deque(applied, maxlen=APPLIED_KEPT)

    def item(self, partition: int) -> dict[str, Any]:
        return {"partition": partition, "high": self.high, "seen_at": self.seen_at,
                "ended": self.ended, "applied": list(self.applied)}


class WindowState:
    """Open windows and the event-time high mark of one aggregate step."""

    def __init__(self, config: "AggregateConfig") -> None:
        self.config = config
        self._watermark: int | None = None
        self._parts: dict[int, _Partition] = {}  # input partition -> what is known of it
        self._count: int | None = None  # the input topic's partitions; None: those seen
        self._now: int | None = None  # processing time (epoch ms) of the latest invocation
        self._since: int | None = None  # processing time of this run's first input
        self._idle: set[int] = set()  # the partitions that count as idle in this invocation
        # The partition the watermark waits for (the lowest high mark, or one with none): a
        # record of another partition cannot move it, so only the blocker's records (or a change
        # in which partitions count, _dirty) make the watermark be worked out again; and while
        # the blocker's high mark stays at or under _ceiling (the next partition's), the
        # watermark simply follows it, without going over every partition per record.
        self._blocker: int | None = None
        self._ceiling: float | None = None  # math.inf: no other bound; None: work it out again
        self._dirty = True
        self._keys: list[int] | None = None  # the partitions that count, in order; None: stale
        self._windows: dict[int, dict[tuple, _Window]] = {}  # start -> group key -> window
        self._starts: list[int] = []  # min-heap of the starts in _windows
        self._open = 0
        # Per aggregation, what folding a value needs, looked up once instead of per record.
        self._folds = [(KINDS[a.op].add, a.field is not None, a.name, a.op in ("sum", "avg"))
                       for a in config.aggregations]
        # The fields read per record, with the top-level name of one-segment paths (most), which
        # are read with one dict lookup; anything else goes through _key_value / _number_at.
        self._key_reads = [(path, _top_level(path)) for path in config.group_by]
        self._value_reads = [(a.name, a.field, _top_level(a.field)) for a in config.aggregations]
        self._time_name = _top_level(config.time_field)
        # For checkpoint(): the state this one follows (the last checkpoint, or what it was
        # rebuilt from), the windows opened or changed and the part ids of the windows closed
        # since, and each start's items in key order as that state listed them.
        self._base: Any = None
        self._changed: list[_Window] = []
        self._closed: list[str] = []
        self._listed: dict[int, list[dict[str, Any]]] = {}
        self._fingerprint = config.fingerprint()

    # -- time ------------------------------------------------------------------------------
    @property
    def watermark(self) -> int | None:
        """Windows ending at or before it are emitted; None before every partition has a high
        mark (or is idle)."""
        return self._watermark

    @property
    def open_windows(self) -> int:
        return self._open

    def begin(self, now_ms: int, partitions: int | None = None,
              partition: int | None = None) -> list[Record]:
        """Start an invocation at processing time ``now_ms``, its input from ``partition`` of a
        topic with ``partitions`` partitions (None: count only the partitions seen); return the
        windows that partitions gone idle since the last invocation closed.

        The invocation's own partition is active now, whatever its last input's age: counting it
        idle would let the watermark pass the records it is delivering.
        """
        if partitions is not None and partitions != self._count:
            self._count, self._keys = partitions, None
        self._idle = self._idle_at(self._now)  # as of the invocation before: see the module doc
        self._now = now_ms
        if self._since is None:
            self._since = now_ms
        if partition is not None:
            self._part(partition).seen_at = now_ms
            self._idle.discard(partition)
        return self._advance()

    def _idle_at(self, moment: int | None) -> set[int]:
        """The partitions that had delivered nothing for ``idle_timeout`` at ``moment``."""
        if moment is None:
            return set()
        parts, idle_ms, idle = self._parts, self.config.idle_timeout_ms, set()
        for key in self._counted():
            part = parts.get(key)
            last = part.seen_at if part is not None and part.seen_at is not None else self._since
            if last is not None and moment - last >= idle_ms:
                idle.add(key)
        return idle

    def _counted(self) -> list[int]:
        """The partitions that count: the input topic's, and any other seen."""
        keys = self._keys
        if keys is None:
            keys = self._keys = sorted(set(range(self._count or 0)).union(self._parts))
        return keys

    def end(self, partition: int | None) -> list[Record]:
        """``partition``'s input is over (its batch said ``"end": true``); return the windows
        this closed: all of them when it was the last partition not ended or idle."""
        part = self._part(partition or 0)
        part.ended, part.seen_at = True, self._now
        return self._advance()

    def applied(self, identity: str, partition: int | None) -> bool:
        """Whether the input batch ``identity`` of ``partition`` was applied already."""
        part = self._parts.get(partition or 0)
        return part is not None and identity in part.applied

    def remember(self, identity: str, partition: int | None) -> None:
        """Record that the input batch ``identity`` of ``partition`` was applied."""
        self._part(partition or 0).applied.append(identity)

    def _part(self, partition: int) -> _Partition:
        part = self._parts.get(partition)
        if part is None:
            part = self._parts[partition] = _Partition()
            self._keys = None
        self._dirty = True
        return part

    def _advance(self) -> list[Record]:
        """Work the watermark out again; return the windows it closed."""
        self._dirty = False
        watermark, self._blocker, self._ceiling = self._combined()
        if watermark is _ALL_ENDED:
            return self._end_run()
        return self._move_to(watermark)

    def _move_to(self, watermark: int | None) -> list[Record]:
        if watermark is not None and (self._watermark is None or watermark > self._watermark):
            self._watermark = watermark
            return self._close(watermark)
        return []

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

    def _end_run(self) -> list[Record]:
        """Every partition ended (or is idle): emit every window, and expect a new run."""
        highs = [part.high for part in self._parts.values() if part.high is not None]
        emitted = self._close(None)
        if highs:  # every emitted window ends at or before the newest high mark's window end
            newest = max(highs)
            floor = newest - newest % self.config.window_ms + self.config.window_ms
            if self._watermark is None or floor > self._watermark:
                self._watermark = floor
        for part in self._parts.values():  # the applied ids stay: redeliveries outlive a run
            part.high = part.seen_at = None
            part.ended = False
        self._since, self._blocker, self._dirty, self._idle = None, None, True, set()
        return emitted

    # -- processing ------------------------------------------------------------------------
    def absorb(self, record: Record) -> list[Record]:
        """Fold ``record`` into its window; return the window results it closed, in order.

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
            self._idle.discard(key)
        # An integer in a top-level time field is its own epoch ms (what event_time_ms would
        # return), read with one lookup; anything else is left to event_time_ms.
        moment = fields.get(self._time_name) if self._time_name is not None else None
        if type(moment) is not int:
            moment = event_time_ms(record, config.time_field)
        start = moment - moment % config.window_ms
        watermark = self._watermark
        if watermark is not None and start + config.window_ms <= watermark:
            raise RecordError(
                f"late: event time {moment} is in window [{start}, {start + config.window_ms}), "
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
        window = self._window(start, group)
        updated = self._added(window.acc, values)  # computed whole before any change
        if window.acc is _NEW:
            self._insert(start, group, updated)
        else:
            window.acc = updated
            if window.item is not None:  # its first change since the last checkpoint
                window.item = None
                self._changed.append(window)
        high = part.high
        if high is None or moment > high:
            part.high = moment
            if self._dirty:
                return self._advance()
            if key == self._blocker:
                ceiling = self._ceiling
                if ceiling is not None and moment <= ceiling:  # still the lowest: it leads
                    return self._move_to(moment - config.allowed_lateness_ms)
                return self._advance()
        return []

    def flush(self) -> list[Record]:
        """Close and return every open window, for the end of a bounded input.

        The watermark is unchanged: a record that arrives later for a flushed window starts a
        new result with the same ``window_id``, which an upsert would let overwrite the full one.
        (An input whose batches say ``"end": true`` needs no flush: see :meth:`end`.)
        """
        return self._close(None)

    def _window(self, start: int, key: list[Any]) -> _Window:
        group = self._windows.get(start)
        window = group.get(_group_key(key)) if group else None
        if window is not None:
            return window
        if self._open >= self.config.max_open_windows:
            raise RecordError(f"state limit: {self._open} windows open (max_open_windows); "
                              f"the record would open another")
        return _Window(start, key, _NEW)

    def _insert(self, start: int, key: list[Any], acc: list[Any], item: Any = None) -> None:
        """Open a window; ``item`` is its item in the state it was restored from, if any."""
        group = self._windows.get(start)
        if group is None:
            group = self._windows[start] = {}
            heapq.heappush(self._starts, start)
        # The order text once per window, not once per window per batch in to_dict().
        window = group[_group_key(key)] = _Window(start, key, acc, _order_text(key), item)
        self._open += 1
        if item is None:
            self._changed.append(window)

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

    def _close(self, watermark: int | None) -> list[Record]:
        size = self.config.window_ms
        emitted: list[Record] = []
        while self._starts and (watermark is None or self._starts[0] + size <= watermark):
            start = heapq.heappop(self._starts)
            group = self._windows.pop(start)
            self._listed.pop(start, None)
            self._open -= len(group)
            for window in _in_key_order(group):
                window.item = _CLOSED
                self._closed.append(_part_id(start, window.order))
                emitted.append(self._result(window))
        return emitted

    def _result(self, window: _Window) -> Record:
        config = self.config
        end = window.start + config.window_ms
        window_id = window_identity(window.key, window.start)
        out = WorkingCopy(dict(zip(RESULT_FIELDS, (window_id, window.start, end))))
        for path, value in zip(config.group_by, window.key):
            out.set(path, value)
        for aggregation, acc in zip(config.aggregations, window.acc):
            out.root[aggregation.name] = KINDS[aggregation.op].result(acc)
        # Stamped inside the window it summarises (Flink's "max timestamp"), so results can be
        # re-aggregated into larger windows downstream.
        stamp = end - 1
        return Record(value=out.root, key=window_id, headers={EVENT_TIME_HEADER: str(stamp)},
                      timestamp=stamp)

    # -- persistence -----------------------------------------------------------------------
    def checkpoint(self) -> "Checkpoint":
        """:meth:`to_dict`'s dict as a :class:`Checkpoint`: it also holds what changed since the
        state this one followed, and :meth:`resume` of it carries on with this object.

        Cheap however many windows are open: an item, once in a checkpoint, is never changed
        (a changed window gets a new one), so the items of the windows no batch touched are
        shared with the previous checkpoint, and only the starts with a changed window are
        sorted again.
        """
        written, stale = [], set()
        for window in self._changed:
            if window.item is None:  # not closed since
                window.item = {"start": window.start, "key": window.key, "acc": window.acc}
                written.append((_part_id(window.start, window.order), window.item))
                stale.add(window.start)
        listed = self._listed
        for start in stale:
            listed[start] = [window.item for window in _in_key_order(self._windows[start])]
        data = Checkpoint(self._head(),
                          windows=[item for start in sorted(listed) for item in listed[start]])
        data._follow(self._base, written, self._closed, self)
        self._base, self._changed, self._closed = data, [], []
        return data

    @classmethod
    def resume(cls, data: Any, config: "AggregateConfig", where: str = "state") -> "WindowState":
        """:meth:`from_dict`, or the object whose :meth:`checkpoint` returned ``data`` when
        ``data`` is that very checkpoint (the object is handed out once: a failed batch that
        changed it leaves nothing stale behind).

        A step function hands each batch the state its previous batch returned (the state store
        gives back the very checkpoint it saved when no other replica wrote since). Rebuilding
        from it checks every open window, as costly as the batch itself: the object that wrote
        it carries on instead.
        """
        owner = data._take_owner() if type(data) is Checkpoint else None
        if owner is not None and owner.config == config:
            return owner
        return cls.from_dict(data, config, where)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable state; windows sorted so equal states give equal text."""
        windows = [{"start": window.start, "key": window.key, "acc": window.acc}
                   for start in sorted(self._windows)
                   for window in _in_key_order(self._windows[start])]
        return {**self._head(), "windows": windows}

    def _head(self) -> dict[str, Any]:
        """Everything but the windows (a state store keeps it in one row, written every save)."""
        return {"version": STATE_VERSION, "config": self._fingerprint, "watermark": self._watermark,
                "now": self._now, "since": self._since,
                "partitions": [self._parts[key].item(key) for key in sorted(self._parts)]}

    @classmethod
    def from_dict(cls, data: Any, config: "AggregateConfig", where: str = "state") -> "WindowState":
        """Rebuild state persisted by :meth:`to_dict`; :class:`StateError` names what is wrong,
        including a config that changed in a way the open windows cannot follow."""
        state = cls(config)
        if data is None:
            return state
        if not isinstance(data, dict):
            raise StateError(f"{where}: must be an object")
        version = data.get("version")
        if version not in (1, STATE_VERSION):
            raise StateError(f"{where}.version: must be {STATE_VERSION}")
        if data.get("config") != config.fingerprint():
            raise StateError(f"{where}.config: state was written by a different window/key/"
                             f"aggregation config; flush it before changing these")
        if version == 1:  # one high mark over all partitions: it becomes the watermark
            high = _integer(data, "max_event_time", where)
            state._watermark = None if high is None else high - config.allowed_lateness_ms
        else:
            state._watermark = _integer(data, "watermark", where)
            state._now = _integer(data, "now", where)
            state._since = _integer(data, "since", where)
            state._restore_partitions(data.get("partitions"), f"{where}.partitions")
        windows = data.get("windows")
        if not isinstance(windows, list):
            raise StateError(f"{where}.windows: must be a list")
        for i, item in enumerate(windows):
            state._restore(item, f"{where}.windows[{i}]")
        state._listed = {start: [window.item for window in _in_key_order(group)]
                         for start, group in state._windows.items()}
        state._base = data
        return state

    def _restore_partitions(self, items: Any, where: str) -> None:
        if not isinstance(items, list):
            raise StateError(f"{where}: must be a list")
        for i, item in enumerate(items):
            at = f"{where}[{i}]"
            if not isinstance(item, dict):
                raise StateError(f"{at}: must be an object")
            key = item.get("partition")
            if type(key) is not int or key < 0 or key in self._parts:
                raise StateError(f"{at}.partition: must be a partition number, listed once")
            ended, applied = item.get("ended"), item.get("applied")
            if type(ended) is not bool:
                raise StateError(f"{at}.ended: must be true or false")
            if not isinstance(applied, list) or not all(type(x) is str for x in applied):
                raise StateError(f"{at}.applied: must be a list of input batch ids")
            self._parts[key] = _Partition(_integer(item, "high", at), _integer(item, "seen_at", at),
                                          ended, applied)

    def _restore(self, item: Any, where: str) -> None:
        config = self.config
        if not isinstance(item, dict):
            raise StateError(f"{where}: must be an object")
        start, key, acc = item.get("start"), item.get("key"), item.get("acc")
        if type(start) is not int or start % config.window_ms:
            raise StateError(f"{where}.start: must be an integer multiple of the window size")
        if not isinstance(key, list) or len(key) != len(config.group_by) or not all(
                _is_scalar(k) for k in key):
            raise StateError(f"{where}.key: must be a list of {len(config.group_by)} scalars")
        if not isinstance(acc, list) or len(acc) != len(config.aggregations):
            raise StateError(f"{where}.acc: must be a list of {len(config.aggregations)} accumulators")
        for j, (aggregation, value) in enumerate(zip(config.aggregations, acc)):
            if not KINDS[aggregation.op].valid(value):
                raise StateError(f"{where}.acc[{j}]: not a valid {aggregation.op} accumulator")
        group = self._windows.get(start)
        if group is not None and _group_key(key) in group:
            raise StateError(f"{where}: repeats an earlier window")
        key, acc = list(key), [list(a) if type(a) is list else a for a in acc]
        self._insert(start, key, acc, {"start": start, "key": key, "acc": acc})


def _integer(data: dict[str, Any], name: str, where: str) -> int | None:
    value = data.get(name)
    if value is not None and type(value) is not int:
        raise StateError(f"{where}.{name}: must be an integer or null")
    return value


_NEW: Any = object()  # marks a window not yet in the state
_ALL_ENDED: Any = object()  # the watermark once every partition's input is over: +infinity
_CLOSED: Any = object()  # the item of a closed window


class Checkpoint(dict):
    """The dict of :meth:`WindowState.to_dict`, which also says what changed since the state it
    followed (its base: the previous checkpoint, or the dict the windows were rebuilt from):
    the windows opened or changed, as ``(part id, item)``, and the part ids of those closed.

    It is an ``etlkit.state_store.PartedState``: the store keeps a row per window and writes
    only these. Once the next checkpoint of the same windows is taken, this one drops its base
    (checkpoints do not chain up in memory), and a store given it then writes it whole.
    """

    __slots__ = ("_base", "_written", "_removed", "_owner")
    parts_field = "windows"

    def _follow(self, base: Any, written: list[tuple[str, Any]], removed: list[str],
                owner: WindowState) -> None:
        if type(base) is Checkpoint:
            base._written = base._removed = base._base = None
        self._base, self._written, self._removed, self._owner = base, written, removed, owner

    def _take_owner(self) -> WindowState | None:
        with _owner_lock:
            owner, self._owner = self._owner, None
        return owner

    def parts(self) -> list[tuple[str, Any]]:
        """Every window's item with its part id, ``"<start>/<group values as JSON>"``."""
        return [(_part_id(item["start"], _order_text(item["key"])), item)
                for item in self["windows"]]

    def changes(self, base: Any) -> tuple[list[tuple[str, Any]], list[str]] | None:
        """(items written, part ids removed) since ``base``; None unless this followed it."""
        if self._written is None or base is not self._base:
            return None
        return self._written, self._removed


_owner_lock = threading.Lock()


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


def _part_id(start: int, order: str) -> str:
    return f"{start}/{order}"


def _in_key_order(group: dict[tuple, _Window]) -> list[_Window]:
    """One window start's windows in a stable order: by their group values as JSON text."""
    return sorted(group.values(), key=_ORDER)


_ORDER = attrgetter("order")


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
    if kind is int or (kind is float and math.isfinite(value)):
        return value
    raise RecordError(f"aggregation {name}: field {'.'.join(path)} is {type_name(value)}, "
                      f"expected a finite number")
