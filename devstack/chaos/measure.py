"""Availability from what the writers and readers saw: 1 - X/Y, outages, time to recover. Pure.

Every attempt of a writer (one request to the ingest function) and of a reader (one query to the
warehouse) is an :class:`Op` with its start, end and whether it succeeded. An op is *good* when
it succeeded within ``slow_s``; a failed or slower one is *bad*. The data could not be written
(or read) from the start of a bad op until the start of the next good op of the same kind: an
**outage**, which therefore also covers the backoff a client waited before trying again, and
ends as soon as any client gets through (with several clients, one of them stuck does not make
the system unavailable while another one is served). Y is the measured window, X the time
covered by outages inside it.

Each outage is put down to the fault injected last before its first bad op ended (the first
moment it was noticed); an outage before the first fault is ``baseline``, itself a finding. A
fault's **time to recover** is from its injection to the end of the last outage put down to it
(0 when nobody noticed). Its **flow recovery** is from its injection to the first read that saw
a record created after it in the warehouse: how long the whole data path took to carry new data
again (this includes the pipeline's normal delay, see :func:`freshness`).

Times are seconds since the measurement started; nothing here reads a clock.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Iterable, Sequence

WRITE, READ = "write", "read"
BASELINE = "baseline"


@dataclass(frozen=True)
class Op:
    kind: str           # WRITE or READ
    start: float
    end: float
    ok: bool
    error: str = ""     # why it failed: an HTTP status, an exception
    client: int = 0     # which writer or reader


@dataclass(frozen=True)
class Fault:
    """A fault as it happened: ``at`` when it was injected, ``done`` when the injector's action
    finished (a restart returned, a pause ended)."""
    fault: str
    component: str
    at: float
    done: float
    detail: str = ""


@dataclass(frozen=True)
class Outage:
    kind: str
    start: float
    end: float
    bad_ops: int
    first_error: str
    noticed: float      # end of its first bad op: when a client first knew
    cause: str = BASELINE  # the fault's name@index (see attribute), or BASELINE

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Read:
    """A good read that saw the newest record (by creation) ``newest_seq`` in the warehouse."""
    at: float
    newest_seq: int | None


def is_good(op: Op, slow_s: float) -> bool:
    return op.ok and op.end - op.start <= slow_s


def outages(ops: Iterable[Op], kind: str, slow_s: float, window_end: float) -> list[Outage]:
    """The outages of one kind of op, in time order (see the module docstring)."""
    found: list[Outage] = []
    opened: tuple[float, int, str, float] | None = None  # start, bad ops, first error, noticed
    for op in sorted((o for o in ops if o.kind == kind), key=lambda o: (o.start, o.end)):
        if is_good(op, slow_s):
            if opened is not None:
                start, bad, error, noticed = opened
                found.append(Outage(kind, start, max(op.start, start), bad, error, noticed))
                opened = None
            continue
        error = op.error or f"slower than {slow_s:g}s ({op.end - op.start:.2f}s)"
        if opened is None:
            noticed = op.end if not op.ok else op.start + slow_s
            opened = (op.start, 0, error, noticed)
        start, bad, first_error, noticed = opened
        opened = (start, bad + 1, first_error, noticed)
    if opened is not None:  # still out when the window closed
        start, bad, error, noticed = opened
        found.append(Outage(kind, start, max(window_end, start), bad, error, noticed))
    return found


def fault_label(index: int, fault: Fault) -> str:
    return f"{fault.fault}#{index + 1}"


def attribute(outs: Sequence[Outage], faults: Sequence[Fault]) -> list[Outage]:
    """Each outage with its cause: the fault injected last before the outage was noticed."""
    ordered = sorted(enumerate(faults), key=lambda pair: pair[1].at)
    result = []
    for out in outs:
        cause = BASELINE
        for index, fault in ordered:
            if fault.at <= out.noticed:
                cause = fault_label(index, fault)
        result.append(Outage(out.kind, out.start, out.end, out.bad_ops, out.first_error,
                             out.noticed, cause))
    return result


def clipped_seconds(outs: Iterable[Outage], window: float) -> float:
    """Seconds of [0, window] covered by the outages (they never overlap within one kind)."""
    return sum(max(0.0, min(o.end, window) - max(o.start, 0.0)) for o in outs)


def availability(outs: Iterable[Outage], window: float) -> float:
    """1 - X/Y."""
    return 1.0 - clipped_seconds(outs, window) / window if window > 0 else 0.0


@dataclass(frozen=True)
class FaultRecovery:
    label: str
    fault: str
    component: str
    at: float
    action_s: float              # how long the injector's action took (done - at)
    write_outage_s: float        # seconds of write outage put down to it
    read_outage_s: float
    recovery_s: float            # injection to the end of its last outage (0: none noticed)
    flow_recovery_s: float | None  # injection to a post-fault record seen in the warehouse
    detail: str = ""


def recoveries(faults: Sequence[Fault], outs: Sequence[Outage], reads: Sequence[Read],
               created_at: dict[int, float]) -> list[FaultRecovery]:
    """Per fault, what it cost and how long until everything worked again.

    ``outs`` are attributed outages; ``created_at`` maps a record's seq to when it was created.
    """
    result = []
    ordered_reads = sorted(reads, key=lambda r: r.at)
    for index, fault in enumerate(faults):
        label = fault_label(index, fault)
        mine = [o for o in outs if o.cause == label]
        last_end = max((o.end for o in mine), default=fault.at)
        flow = None
        for read in ordered_reads:
            if read.at < fault.at or read.newest_seq is None:
                continue
            created = created_at.get(read.newest_seq)
            if created is not None and created >= fault.at:
                flow = read.at - fault.at
                break
        result.append(FaultRecovery(
            label=label, fault=fault.fault, component=fault.component, at=fault.at,
            action_s=fault.done - fault.at,
            write_outage_s=sum(o.seconds for o in mine if o.kind == WRITE),
            read_outage_s=sum(o.seconds for o in mine if o.kind == READ),
            recovery_s=max(0.0, last_end - fault.at), flow_recovery_s=flow, detail=fault.detail))
    return result


@dataclass(frozen=True)
class Freshness:
    """How far behind the writers the warehouse was, from the good reads: seconds between a
    read and the creation of the newest record it saw."""
    median_s: float | None
    p99_s: float | None
    max_s: float | None


def freshness(reads: Sequence[Read], created_at: dict[int, float]) -> Freshness:
    lags = sorted(r.at - created_at[r.newest_seq] for r in reads
                  if r.newest_seq is not None and r.newest_seq in created_at)
    if not lags:
        return Freshness(None, None, None)
    p99 = lags[min(len(lags) - 1, int(0.99 * len(lags)))]
    return Freshness(statistics.median(lags), p99, lags[-1])


@dataclass(frozen=True)
class ComponentFigures:
    component: str
    faults: int
    write_availability: float
    read_availability: float
    longest_outage_s: float
    worst_recovery_s: float
    worst_flow_recovery_s: float | None


def per_component(components: Sequence[str], faults: Sequence[Fault], outs: Sequence[Outage],
                  recs: Sequence[FaultRecovery], window: float) -> list[ComponentFigures]:
    """1 - X_c/Y for each component: X_c the outage time put down to its faults."""
    labels = {fault_label(i, f): f.component for i, f in enumerate(faults)}
    rows = []
    for component in components:
        mine = [o for o in outs if labels.get(o.cause) == component]
        rec = [r for r in recs if r.component == component]
        flows = [r.flow_recovery_s for r in rec if r.flow_recovery_s is not None]
        rows.append(ComponentFigures(
            component=component, faults=len(rec),
            write_availability=availability([o for o in mine if o.kind == WRITE], window),
            read_availability=availability([o for o in mine if o.kind == READ], window),
            longest_outage_s=max((o.seconds for o in mine), default=0.0),
            worst_recovery_s=max((r.recovery_s for r in rec), default=0.0),
            worst_flow_recovery_s=max(flows) if len(flows) == len(rec) and flows else None))
    return rows
