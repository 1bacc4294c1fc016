"""A tiny Prometheus registry: what a function counts, in the text exposition format (0.0.4).

Every function built with etlkit has one process-wide :data:`REGISTRY`. The template's HTTP
adapter (``template/python3-etl/index.py``) times every call into it and serves it at
``GET /_/metrics``; under the stock python3-http template nothing serves it and counting costs a
few dictionary updates, so a handler runs unchanged under both.

Names follow the OpenFaaS gateway's (``gateway_function_invocation_total{code}``,
``gateway_functions_seconds``, same buckets) with the ``faas_etl_`` prefix, so the gateway's and
the function's series sit side by side in one Prometheus. A function does not know its own name:
``function_name`` is a target label, added by whoever scrapes (Prometheus relabelling the pod's
``faas_function`` label, or the local dashboard from ``/system/functions``), as for any exporter.

* ``faas_etl_function_invocation_total{code}`` and ``faas_etl_function_seconds{code}``: every
  call the adapter served (health probes and scrapes excluded).
* ``faas_etl_records_{in,out,filtered,dead_lettered,emitted}_total{workflow,step}``: a step's
  counters (``in = out + filtered + dead_lettered``; ``emitted``: records produced, which for an
  aggregate are its closed windows), counted once Kafka acknowledged the outputs. A source
  function counts its records as ``out`` and ``emitted``, bad input as ``dead_lettered``.
* ``faas_etl_event_time_lag_seconds{workflow,step}``: how far behind its input's event time a
  step was at its last call (now minus the newest event time it saw): Flink's event-time lag.

Pure: no I/O and no clock of its own (callers pass the seconds).
"""
from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping, Sequence

from .calllog import note_records

__all__ = ["Counter", "Gauge", "Histogram", "Registry", "MetricError", "REGISTRY",
           "INVOCATIONS", "SECONDS", "RECORDS", "EVENT_TIME_LAG", "BUCKETS",
           "observe_invocation", "count_records", "render", "CONTENT_TYPE"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# The OpenFaaS gateway's gateway_functions_seconds buckets: one dashboard reads both.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LabelValues = tuple[str, ...]


class MetricError(ValueError):
    """A metric used against its declaration (the message names the metric and the rule)."""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return repr(int(value)) if float(value).is_integer() and abs(value) < 2 ** 53 else repr(value)


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


class _Metric:
    kind = ""

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> None:
        self.name, self.help, self.labelnames = name, help_text, tuple(labelnames)
        self._lock = threading.Lock()

    def _key(self, labels: Mapping[str, object]) -> LabelValues:
        if set(labels) != set(self.labelnames):
            raise MetricError(f"{self.name}: labels must be exactly {list(self.labelnames)}, "
                              f"got {sorted(labels)}")
        return tuple(str(labels[n]) for n in self.labelnames)

    def _header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]


class Counter(_Metric):
    """A number that only goes up (a restart starts it again at 0; rate() copes)."""
    kind = "counter"

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, labelnames)
        self._values: dict[LabelValues, float] = {}

    def inc(self, amount: float = 1.0, **labels: object) -> None:
        if amount < 0 or math.isnan(amount):
            raise MetricError(f"{self.name}: a counter only goes up, got {amount}")
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: object) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def lines(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [f"{self.name}{_labels(self.labelnames, k)} {_number(v)}" for k, v in items]


class Gauge(_Metric):
    """A number that goes up and down: the latest value set."""
    kind = "gauge"

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, labelnames)
        self._values: dict[LabelValues, float] = {}

    def set(self, value: float, **labels: object) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = float(value)

    def value(self, **labels: object) -> float | None:
        with self._lock:
            return self._values.get(self._key(labels))

    def lines(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [f"{self.name}{_labels(self.labelnames, k)} {_number(v)}" for k, v in items]


class Histogram(_Metric):
    """Observations in cumulative buckets, with their sum and count (Prometheus's histogram)."""
    kind = "histogram"

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = (),
                 buckets: Iterable[float] = BUCKETS) -> None:
        super().__init__(name, help_text, labelnames)
        if "le" in self.labelnames:
            raise MetricError(f"{name}: 'le' is the bucket label of a histogram")
        self.buckets = tuple(sorted(float(b) for b in buckets))
        if not self.buckets or any(math.isinf(b) or math.isnan(b) for b in self.buckets):
            raise MetricError(f"{name}: buckets must be finite numbers (+Inf is implied)")
        # Per label set: counts per bucket (not cumulative), then the sum, then the count.
        self._values: dict[LabelValues, list[float]] = {}

    def observe(self, value: float, **labels: object) -> None:
        key = self._key(labels)
        with self._lock:
            cells = self._values.setdefault(key, [0.0] * (len(self.buckets) + 2))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    cells[i] += 1
                    break
            cells[-2] += value
            cells[-1] += 1

    def count(self, **labels: object) -> int:
        with self._lock:
            cells = self._values.get(self._key(labels))
        return int(cells[-1]) if cells else 0

    def lines(self) -> list[str]:
        with self._lock:
            items = sorted((k, list(v)) for k, v in self._values.items())
        out = []
        for key, cells in items:
            running = 0.0
            for bound, n in zip(self.buckets, cells):
                running += n
                le = f'le="{bound!r}"'  # 1.0, not 1: the label value clients write
                out.append(f"{self.name}_bucket{_labels(self.labelnames, key, le)} {_number(running)}")
            inf = _labels(self.labelnames, key, 'le="+Inf"')
            out.append(f"{self.name}_bucket{inf} {_number(cells[-1])}")
            out.append(f"{self.name}_sum{_labels(self.labelnames, key)} {_number(cells[-2])}")
            out.append(f"{self.name}_count{_labels(self.labelnames, key)} {_number(cells[-1])}")
        return out


class Registry:
    """Metrics by name; :meth:`render` is the whole exposition, metrics in declaration order."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}
        self._lock = threading.Lock()

    def _add(self, metric: _Metric) -> _Metric:
        with self._lock:
            known = self._metrics.get(metric.name)
            if known is not None:
                # Declaring the same metric twice (a module imported under two names) is harmless
                # only when both declarations agree.
                if (type(known), known.labelnames) != (type(metric), metric.labelnames):
                    raise MetricError(f"{metric.name}: already declared as a {known.kind} "
                                      f"with labels {list(known.labelnames)}")
                return known
            self._metrics[metric.name] = metric
            return metric

    def counter(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> Counter:
        return self._add(Counter(name, help_text, labelnames))  # type: ignore[return-value]

    def gauge(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> Gauge:
        return self._add(Gauge(name, help_text, labelnames))  # type: ignore[return-value]

    def histogram(self, name: str, help_text: str, labelnames: Sequence[str] = (),
                  buckets: Iterable[float] = BUCKETS) -> Histogram:
        return self._add(Histogram(name, help_text, labelnames, buckets))  # type: ignore[return-value]

    def get(self, name: str) -> _Metric:
        return self._metrics[name]

    def render(self) -> str:
        with self._lock:
            metrics = list(self._metrics.values())
        lines: list[str] = []
        for metric in metrics:
            lines += metric._header() + metric.lines()  # noqa: SLF001 - same module
        return "\n".join(lines) + "\n"


REGISTRY = Registry()
INVOCATIONS = REGISTRY.counter("faas_etl_function_invocation_total",
                               "Calls served by this replica, by HTTP status code", ["code"])
SECONDS = REGISTRY.histogram("faas_etl_function_seconds",
                             "Seconds this replica took to answer a call", ["code"])
_STEP = ["workflow", "step"]
RECORDS = {kind: REGISTRY.counter(f"faas_etl_records_{kind}_total", text, _STEP) for kind, text in (
    ("in", "Records a step received (in = out + filtered + dead_lettered)"),
    ("out", "Records a step passed on (an aggregate: absorbed into a window)"),
    ("filtered", "Records a step dropped by its condition"),
    ("dead_lettered", "Records a step sent to the dead-letter topic, acknowledged by Kafka"),
    ("emitted", "Records a step produced to its output topic, acknowledged by Kafka"))}
EVENT_TIME_LAG = REGISTRY.gauge("faas_etl_event_time_lag_seconds",
                                "Seconds between the call and the newest event time of its input",
                                _STEP)


def observe_invocation(code: int, seconds: float) -> None:
    """One call answered: what the template's adapter records around every handler call."""
    INVOCATIONS.inc(code=code)
    SECONDS.observe(seconds, code=code)


def count_records(workflow: str, step: str, counters: Mapping[str, int], *,
                  lag_s: float | None = None) -> None:
    """Add a call's record counters (keys ``in``, ``out``, ``filtered``, ``dead_lettered``,
    ``emitted``; missing ones count 0) and set its event-time lag when known. The call's
    access line shows them too (etlkit/calllog.py)."""
    note_records(workflow, step, counters)
    for kind, counter in RECORDS.items():
        # Adding 0 still creates the series: every counter of a step exists from its first call.
        counter.inc(counters.get(kind, 0), workflow=workflow, step=step)
    if lag_s is not None:
        EVENT_TIME_LAG.set(lag_s, workflow=workflow, step=step)


def render() -> str:
    return REGISTRY.render()
