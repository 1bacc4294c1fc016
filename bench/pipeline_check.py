"""What the pipeline bench checks its run against, and how it counts CPU: pure, no client here.

The bench generates its own input, so it knows what the workflow must make of it: the expected
aggregate windows (:func:`expected_windows`, computed here independently of the aggregate step:
a plain group-by over the generated orders), compared with the warehouse's rows by
:func:`window_differences`; and no order dead-lettered as late (:func:`late_letters`), since every
partition is in event-time order and the aggregate's watermark is per partition (issue 15).

CPU is read from ``/proc/<pid>/stat`` (utime + stime, in clock ticks, proc(5)); the parsing and
the process tree are here, the reading in the bench.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping, Sequence

from etlkit.steps.aggregation import AggregateConfig
from etlkit.steps.windows import window_identity

START_MS = 1_717_232_400_000  # 2024-06-01T09:00:00Z
SPAN_MS = 3 * 3_600_000  # event times over 3h, so windows close during the run (lateness is 1h)
CUSTOMERS = [f"C{i:03d}" for i in range(1, 26)]  # workflows/data/customers.csv


@dataclass(frozen=True)
class Order:
    """One generated order: its key, event time (epoch ms) and JSON value."""

    key: str
    time_ms: int
    value: dict[str, Any]


def orders(n: int, *, start_ms: int = START_MS, span_ms: int = SPAN_MS, prefix: str = "B") -> Iterator[Order]:
    """``n`` valid paid or shipped orders, event times evenly over ``span_ms`` from ``start_ms``
    in key order (so each partition, whichever keys it gets, is in event-time order), keys
    ``<prefix><7 digits>`` (``span_ms=0``: all at ``start_ms``, as a paced bench's round).

    Amounts are whole quarters: a sum of such doubles is exact whatever the order of the
    additions, and the aggregate adds a window's orders in the order its partitions happen to
    interleave, so only exact sums can be compared exactly."""
    step = span_ms / n
    for i in range(n):
        moment = start_ms + int(i * step)
        key = f"{prefix}{i:07d}"
        yield Order(key, moment, {
            "order_id": key, "cust_id": CUSTOMERS[i % len(CUSTOMERS)], "amount": 5 + (i % 997) * 0.25,
            "quantity": i % 5 + 1, "status": "paid" if i % 3 else "shipped",
            # ISO-8601 at second precision, as the time field: the window is the second's.
            "ordered_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment // 1000))})


def event_time(order: Order) -> int:
    """The event time the aggregate reads from ``ordered_at``: the order's time to the second."""
    return order.time_ms - order.time_ms % 1000


def expected_windows(events: Iterable[tuple[int, Mapping[str, Any]]],
                     config: AggregateConfig) -> dict[str, dict[str, Any]]:
    """The aggregate's result rows by ``window_id`` for ``events`` ((event time ms, the record as
    the aggregate sees it)), all windows closed: a plain group-by, ops count and sum (what the
    bench's workflow uses; ValueError for another). Group fields are top-level names."""
    ops = {a.op for a in config.aggregations}
    if not ops <= {"count", "sum"}:
        raise ValueError(f"aggregations: the bench's oracle knows count and sum, not {sorted(ops - {'count', 'sum'})}")
    size = config.window_ms
    rows: dict[str, dict[str, Any]] = {}
    for moment, record in events:
        start = moment - moment % size
        group = [record.get(path[0]) for path in config.group_by]
        window_id = window_identity(group, start)
        row = rows.get(window_id)
        if row is None:
            row = rows[window_id] = {"window_id": window_id, "window_start": start,
                                     "window_end": start + size,
                                     **{path[0]: value for path, value in zip(config.group_by, group)},
                                     **{a.name: 0 if a.op == "count" else None for a in config.aggregations}}
        for a in config.aggregations:
            if a.op == "count":
                row[a.name] += 1
            else:
                value = record.get(a.field[0])
                if value is not None:
                    row[a.name] = value if row[a.name] is None else row[a.name] + value
    return rows


def window_differences(expected: Mapping[str, Mapping[str, Any]], rows: Sequence[Mapping[str, Any]],
                       key: str = "window_id", shown: int = 5) -> list[str]:
    """What differs between the expected windows and the warehouse ``rows`` (each with its
    ``key`` column), one line each: counts of missing, unexpected and different windows, then up
    to ``shown`` examples of each. Empty when they are equal column by column."""
    found = {row[key]: row for row in rows}
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    changed = sorted(k for k in set(expected) & set(found)
                     if any(found[k].get(col) != value for col, value in expected[k].items()))
    lines = []
    if missing:
        lines.append(f"{len(missing)} windows missing from the warehouse, e.g. {', '.join(missing[:shown])}")
    if extra:
        lines.append(f"{len(extra)} windows in the warehouse not expected, e.g. {', '.join(extra[:shown])}")
    if changed:
        lines.append(f"{len(changed)} windows with other values, e.g. " + "; ".join(
            f"{k}: " + ", ".join(f"{col} {found[k].get(col)!r} (expected {value!r})"
                                 for col, value in expected[k].items() if found[k].get(col) != value)
            for k in changed[:shown]))
    return lines


def late_letters(letters: Iterable[Any], step: str) -> int:
    """Dead letters (the dead-letter topic's values) of ``step`` that say their record was late
    (the aggregate's reason starts ``late:``, etlkit/steps/windows.py)."""
    return sum(1 for letter in letters if isinstance(letter, Mapping) and letter.get("step") == step
               and str(letter.get("reason", "")).startswith("late:"))


# -- CPU from /proc ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ProcStat:
    """What the bench reads of one ``/proc/<pid>/stat``: the parent and the CPU used so far."""

    pid: int
    name: str  # the command name (comm, at most 15 characters)
    ppid: int
    ticks: int  # utime + stime, in clock ticks (SC_CLK_TCK)


def parse_stat(text: str) -> ProcStat:
    """One ``/proc/<pid>/stat`` line. The command name (field 2) is in parentheses and may hold
    spaces and parentheses itself, so the fields after it are counted from the last ``)``:
    state is field 3, ppid 4, utime 14, stime 15 (proc(5))."""
    head, _, tail = text.rpartition(")")
    pid, _, name = head.partition("(")
    rest = tail.split()
    return ProcStat(int(pid), name, int(rest[1]), int(rest[11]) + int(rest[12]))


def descendants(stats: Iterable[ProcStat], root: int) -> dict[int, int]:
    """Every process under ``root`` (not itself), mapped to its ancestor that is a child of
    ``root``: what the bench started (the broker, the workers, the Sensor processes), each with
    whatever those started in turn."""
    parent = {s.pid: s.ppid for s in stats}
    top: dict[int, int] = {}
    for pid in parent:
        chain, at = [], pid
        while at in parent and at != root and at not in top:
            chain.append(at)
            at = parent[at]
        if at == root and chain:
            top.update((p, chain[-1]) for p in chain)
        elif at in top:
            top.update((p, top[at]) for p in chain)
    return top


def cpu_by_part(before: Mapping[int, int], after: Mapping[int, int],
                part_of: Mapping[int, str]) -> dict[str, int]:
    """Ticks each part used between two readings ({pid: ticks}) of the processes ``part_of``
    names. A process that started in between counts from 0; one that ended in between is
    lost (the bench reads before any of its processes stop)."""
    used: dict[str, int] = {}
    for pid, part in part_of.items():
        if pid in after:
            used[part] = used.get(part, 0) + after[pid] - before.get(pid, 0)
    return used


def thread_part(tid: int, pid: int, name: str) -> str:
    """Which part a thread of the bench's own process works for: its main thread and
    librdkafka's threads (``rdk:*``: the offset polls, the source's producer) are the bench's,
    every other thread is the local gateway's (its server and upstream connections)."""
    return "bench" if tid == pid or name.startswith("rdk:") else "gateway"


def steady_rate(samples: Sequence[tuple[float, int]], total: int, per_unit: float,
                low: float = 0.1, high: float = 0.9) -> float | None:
    """Units/s x ``per_unit`` between the first ``(time, done)`` sample at or past ``low`` of
    ``total`` and the first at or past ``high``: the rate once the pipeline has filled and before
    it drains (a whole run's rate counts both, and they weigh more the shorter the run). None
    when the samples do not span the window."""
    def first(share: float) -> tuple[float, int] | None:
        return next(((t, d) for t, d in samples if d >= share * total), None)

    start, end = first(low), first(high)
    if start is None or end is None or end[0] <= start[0]:
        return None
    return (end[1] - start[1]) * per_unit / (end[0] - start[0])
