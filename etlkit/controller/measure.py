"""Measuring, apart from deciding: rates, backlog and velocities as small pure functions.

* Production rate of a topic: the growth of its end offsets (high watermarks) between two
  samples, per second. The end offsets must be the high watermarks of fetch responses: the
  embedded broker (Tansu) answers a "latest offset" request with the start of the last batch
  (docs: platform.md), which the Kafka edge avoids; the arithmetic here is the same for both.
* Backlog of an operation: the messages of its inputs it has not finished: what the input's
  consumer group has not committed, plus what the EventBus holds for the operation's Sensor
  (the Kafka EventSource commits once the bus accepted an event, so its group's lag alone stays
  near zero; see :mod:`.eventbus`). Without a bus (the stand-in runner commits after the
  trigger succeeded) the group's lag is all of it.
* Messages and records: offsets, lags and the bus count *messages*; a message is a record batch
  of up to 4000 records or one plain record (docs/contracts.md, "Records on Kafka"). Every rate
  and backlog the controller decides on is in *records*: messages times the input topic's
  records per message, measured on its newest messages (:func:`records_per_message`).
* Done: messages an operation finished are its group's commits less what the bus still holds,
  so the consumed rate and velocity count calls that finished, not events the bus took.
* Velocity of a function's replica: records processed per second of invocation time (DS2's
  "true processing rate"): records the operation finished (see Done), divided by the seconds the
  gateway spent in that function's calls. A replica that was idle is not slower, it had no work.
  Calls that wait for a busy replica add their waiting to that sum, so the busy time is capped
  at the replica-seconds there were: a saturated function's velocity is then its throughput per
  replica, not less.
* The gateway's Prometheus text, parsed into samples.

No I/O, no clock: times are arguments.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["OffsetSample", "Measured", "partition_lag", "backlog", "rate_between",
           "records_per_message", "done_between",
           "counter_delta", "processing_rate", "parse_prometheus", "MetricSamples",
           "function_seconds", "replicas_per_node", "FUNCTION_SECONDS"]

FUNCTION_SECONDS = "gateway_functions_seconds_sum"
REPLICAS_PER_NODE = "faas_etl_replicas_per_node"


@dataclass(frozen=True)
class OffsetSample:
    """Offsets per partition at a time (seconds); ``None`` offsets are not recorded."""

    at: float
    offsets: Mapping[int, int]

    @property
    def total(self) -> int:
        return sum(self.offsets.values())

    def to_dict(self) -> dict:
        return {"at": self.at, "offsets": {str(p): o for p, o in sorted(self.offsets.items())}}

    @classmethod
    def from_dict(cls, data: Mapping) -> OffsetSample:
        return cls(float(data["at"]), {int(p): int(o) for p, o in data["offsets"].items()})


@dataclass(frozen=True)
class Measured:
    """A measured number, or None with the reason it could not be measured."""

    value: float | None
    reason: str = ""


def partition_lag(committed: int | None, high: int, low: int = 0) -> int:
    """Records of a partition its group has not committed past; never negative.

    A group that committed nothing starts at the low watermark (the runner's groups read from
    the oldest record), so all of the partition is backlog.

    >>> partition_lag(None, 120, 20), partition_lag(100, 120), partition_lag(130, 120)
    (100, 20, 0)
    """
    start = low if committed is None or committed < 0 else max(committed, low)
    return max(0, high - start)


def backlog(committed: Mapping[int, int | None], high: Mapping[int, int],
            low: Mapping[int, int] | None = None) -> int:
    """Lag summed over every partition that ``high`` names."""
    low = low or {}
    return sum(partition_lag(committed.get(p), h, low.get(p, 0)) for p, h in high.items())


def rate_between(previous: OffsetSample | None, current: OffsetSample) -> Measured:
    """Records per second added between two samples of the same offsets.

    Offsets that went back (a recreated topic, a group reset) make the interval unusable rather
    than a negative rate; a partition new since the previous sample counts from zero.

    >>> rate_between(OffsetSample(0.0, {0: 100, 1: 50}), OffsetSample(10.0, {0: 300, 1: 150})).value
    30.0
    """
    if previous is None:
        return Measured(None, "first sample (a rate needs two)")
    elapsed = current.at - previous.at
    if not elapsed > 0:
        return Measured(None, f"no time between samples ({elapsed:g}s)")
    gone_back = [p for p, o in current.offsets.items() if o < previous.offsets.get(p, 0)]
    if gone_back:
        return Measured(None, f"offsets went back on partition {min(gone_back)} "
                              "(topic recreated or group reset)")
    grown = sum(o - previous.offsets.get(p, 0) for p, o in current.offsets.items())
    return Measured(grown / elapsed)


def records_per_message(messages: int, records: int) -> float:
    """Records one message of a topic carries, from a sample of its messages; 1.0 (plain
    records) when nothing was sampled. End markers of bounded sources carry none and count.

    >>> records_per_message(4, 2000), records_per_message(0, 0), records_per_message(3, 3)
    (500.0, 1.0, 1.0)
    """
    return records / messages if messages > 0 else 1.0


def done_between(previous: OffsetSample | None, current: OffsetSample,
                 held_before: int | None, held_now: int | None) -> Measured:
    """Messages per second an operation finished: its group's commits less the growth of what
    the EventBus holds for it (``held_*`` None: no bus, nothing held). Never negative: the bus
    is read after Kafka, so it may already hold events whose commit the Kafka read missed.

    >>> done_between(OffsetSample(0.0, {0: 10}), OffsetSample(10.0, {0: 110}), 5, 65).value
    4.0
    """
    committed = rate_between(previous, current)
    if committed.value is None or previous is None:
        return committed
    if (held_before is None) != (held_now is None):
        return Measured(None, "the EventBus came or went between samples")
    grown = (held_now or 0) - (held_before or 0)
    return Measured(max(0.0, committed.value - grown / (current.at - previous.at)))


def counter_delta(previous: float | None, current: float) -> float | None:
    """Growth of a monotonic counter; None after a reset (the counter went back) or at first."""
    if previous is None or current < previous:
        return None
    return current - previous


def processing_rate(records: int | None, busy_seconds: float | None,
                    available_seconds: float | None = None, min_busy_s: float = 0.05) -> Measured:
    """Records per second of invocation time, or None when there is too little to tell.

    ``available_seconds`` (replicas x elapsed) caps the busy time: concurrent calls queued on a
    replica count their wait too, which is not processing time.

    >>> processing_rate(1500, 3.0).value
    500.0
    >>> processing_rate(1000, 30.0, available_seconds=10.0).value  # queued calls: saturated
    100.0
    >>> processing_rate(0, 0.0).reason
    'no invocations in the interval'
    """
    if records is None or busy_seconds is None:
        return Measured(None, "counters reset or first sample")
    if busy_seconds < min_busy_s or records <= 0:
        return Measured(None, "no invocations in the interval")
    if available_seconds is not None and available_seconds > 0:
        busy_seconds = min(busy_seconds, available_seconds)
    return Measured(records / busy_seconds)


# -- Prometheus text exposition ----------------------------------------------------------------
Labels = tuple[tuple[str, str], ...]
MetricSamples = Mapping[tuple[str, Labels], float]

_LINE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def _unescape(value: str) -> str:
    return value.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def parse_prometheus(text: str, names: Iterable[str] | None = None) -> dict[tuple[str, Labels], float]:
    """Samples of the text format: ``{(name, sorted labels): value}`` (comments skipped).

    >>> parse_prometheus('x{b="2",a="1"} 3.5\\n# HELP y\\ny 1')
    {('x', (('a', '1'), ('b', '2'))): 3.5, ('y', ()): 1.0}
    """
    wanted = set(names) if names is not None else None
    out: dict[tuple[str, Labels], float] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match or (wanted is not None and match["name"] not in wanted):
            continue
        try:
            value = float(match["value"])
        except ValueError:
            continue
        labels = tuple(sorted((k, _unescape(v)) for k, v in _LABEL.findall(match["labels"] or "")))
        out[(match["name"], labels)] = value
    return out


def _function_of(labels: Labels, namespace: str) -> str | None:
    name = dict(labels).get("function_name")
    if name is None:
        return None
    base, _, ns = name.partition(".")
    return base if ns in ("", namespace) else None


def function_seconds(samples: MetricSamples, namespace: str) -> dict[str, float]:
    """Seconds the gateway spent in each function's calls (every status code), by function."""
    out: dict[str, float] = {}
    for (name, labels), value in samples.items():
        function = _function_of(labels, namespace) if name == FUNCTION_SECONDS else None
        if function is not None and math.isfinite(value):
            out[function] = out.get(function, 0.0) + value
    return out


def replicas_per_node(samples: MetricSamples) -> dict[tuple[str, str], int]:
    """Ready replicas of every function on every node (the local gateway's own gauge)."""
    out: dict[tuple[str, str], int] = {}
    for (name, labels), value in samples.items():
        if name == REPLICAS_PER_NODE:
            d = dict(labels)
            out[(d.get("function_name", ""), d.get("node", ""))] = int(value)
    return out
