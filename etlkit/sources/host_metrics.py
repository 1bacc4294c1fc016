"""Host metrics (the Telegraf role): /proc text -> counters -> time-series points.

Parsing takes file text and rates take two samples plus their times, so everything here is
pure and tested with fixed text; `proc_reader.read_host_sample` is the only I/O. Rates
(CPU %, bytes/s) need the previous sample: the first sample yields the gauges only (memory),
and a counter that went backwards (reboot, device re-attached, 32-bit wrap) yields no rate for
that series in that round rather than a negative one.

Points are plain data: ``{"measurement", "tags", "fields", "timestamp"}`` (epoch ms), sorted by
measurement then tags, so the same samples always give the same output.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TypedDict

from .records import SourceRecord, make_record

SECTOR_BYTES = 512  # /proc/diskstats counts 512-byte sectors whatever the device's block size
CPU_STATES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice")
# guest time is already inside user (and guest_nice inside nice): not counted twice in totals
_CPU_TOTAL_STATES = CPU_STATES[:8]
_NET_FIELDS = ("bytes_recv", "packets_recv", "err_in", "drop_in", "bytes_sent", "packets_sent", "err_out", "drop_out")
_NET_COLUMNS = (0, 1, 2, 3, 8, 9, 10, 11)  # positions of _NET_FIELDS among /proc/net/dev's 16 numbers
DEFAULT_SKIPPED_DISKS = ("loop", "ram", "zram")


class Point(TypedDict):
    measurement: str
    tags: dict[str, str]
    fields: dict[str, float | int]
    timestamp: int


@dataclass(frozen=True)
class DiskCounters:
    reads: int
    sectors_read: int
    writes: int
    sectors_written: int
    io_ms: int  # time spent doing I/O (for utilisation)


@dataclass(frozen=True)
class HostSample:
    """All counters read at one instant (``at_ms``, epoch ms)."""

    at_ms: int
    cpu: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # "cpu" (all) / "cpu0".. -> state -> jiffies
    memory: Mapping[str, int] = field(default_factory=dict)  # meminfo key -> bytes
    disks: Mapping[str, DiskCounters] = field(default_factory=dict)
    nets: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # interface -> _NET_FIELDS

    def to_json(self) -> dict[str, object]:
        """A JSON-ready form, to keep the previous sample between two collector runs."""
        return asdict(self)

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> HostSample:
        stored_disks: Mapping[str, Mapping[str, int]] = document.get("disks", {})  # type: ignore[assignment]
        disks = {name: DiskCounters(**counters) for name, counters in stored_disks.items()}
        return cls(
            at_ms=int(document["at_ms"]),  # type: ignore[arg-type]
            cpu=dict(document.get("cpu", {})),  # type: ignore[arg-type]
            memory=dict(document.get("memory", {})),  # type: ignore[arg-type]
            disks=disks,
            nets=dict(document.get("nets", {})),  # type: ignore[arg-type]
        )


# --- parsing ----------------------------------------------------------------------------------


def parse_proc_stat(text: str) -> dict[str, dict[str, int]]:
    """CPU jiffies per state for the aggregate line ``cpu`` and each ``cpuN`` of /proc/stat.

    Old kernels print fewer states; the missing ones are 0.
    """
    cpus: dict[str, dict[str, int]] = {}
    for line in text.splitlines():
        name, *numbers = line.split()
        if not name.startswith("cpu") or not numbers:
            continue
        values = [int(number) for number in numbers[: len(CPU_STATES)]]
        values += [0] * (len(CPU_STATES) - len(values))
        cpus[name] = dict(zip(CPU_STATES, values))
    return cpus


def parse_meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo as bytes per key (values given in kB are multiplied by 1024)."""
    memory: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if not parts:
            continue
        memory[name.strip()] = int(parts[0]) * (1024 if len(parts) > 1 and parts[1] == "kB" else 1)
    return memory


def parse_diskstats(text: str, skip_prefixes: tuple[str, ...] = DEFAULT_SKIPPED_DISKS) -> dict[str, DiskCounters]:
    """Per-device counters from /proc/diskstats (14, 18 or 20 columns depending on the kernel)."""
    disks: dict[str, DiskCounters] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 14 or parts[2].startswith(skip_prefixes):
            continue
        numbers = [int(number) for number in parts[3:14]]
        disks[parts[2]] = DiskCounters(
            reads=numbers[0], sectors_read=numbers[2], writes=numbers[4], sectors_written=numbers[6], io_ms=numbers[9]
        )
    return disks


def parse_net_dev(text: str) -> dict[str, dict[str, int]]:
    """Per-interface counters from /proc/net/dev (its two header lines have no colon-number pair)."""
    nets: dict[str, dict[str, int]] = {}
    for line in text.splitlines():
        name, colon, rest = line.partition(":")
        numbers = rest.split()
        if not colon or len(numbers) < 16 or not numbers[0].isdigit():
            continue
        nets[name.strip()] = {label: int(numbers[column]) for label, column in zip(_NET_FIELDS, _NET_COLUMNS)}
    return nets


# --- points -------------------------------------------------------------------------------------


def _point(measurement: str, tags: dict[str, str], fields: dict[str, float | int], at_ms: int) -> Point:
    return {"measurement": measurement, "tags": tags, "fields": fields, "timestamp": at_ms}


def _deltas(current: Mapping[str, int], previous: Mapping[str, int] | None) -> dict[str, int] | None:
    """Per-counter increase, or None when a counter went backwards (reset or wrap)."""
    if previous is None:
        return None
    deltas = {name: value - previous.get(name, value) for name, value in current.items()}
    return None if any(delta < 0 for delta in deltas.values()) else deltas


def cpu_points(current: HostSample, previous: HostSample, host: str) -> list[Point]:
    """CPU usage per state in percent of the interval, per CPU and for all (``cpu-total``)."""
    points = []
    for name, jiffies in current.cpu.items():
        deltas = _deltas(jiffies, previous.cpu.get(name))
        total = sum(deltas[state] for state in _CPU_TOTAL_STATES) if deltas else 0
        if not deltas or total <= 0:
            continue
        fields: dict[str, float | int] = {
            f"usage_{state}": round(100.0 * deltas[state] / total, 3) for state in CPU_STATES
        }
        fields["usage_active"] = round(100.0 * (total - deltas["idle"] - deltas["iowait"]) / total, 3)
        tags = {"host": host, "cpu": "cpu-total" if name == "cpu" else name}  # Telegraf's naming
        points.append(_point("cpu", tags, fields, current.at_ms))
    return points


def memory_point(current: HostSample, host: str) -> list[Point]:
    """Memory gauges in bytes; ``available`` falls back to free + buffers + cached on old kernels."""
    memory = current.memory
    total = memory.get("MemTotal")
    if not total:
        return []
    free, buffers, cached = (memory.get(name, 0) for name in ("MemFree", "Buffers", "Cached"))
    available = memory.get("MemAvailable", free + buffers + cached)
    fields: dict[str, float | int] = {
        "total": total,
        "available": available,
        "used": total - available,
        "used_percent": round(100.0 * (total - available) / total, 3),
        "free": free,
        "buffered": buffers,
        "cached": cached,
        "swap_total": memory.get("SwapTotal", 0),
        "swap_free": memory.get("SwapFree", 0),
    }
    return [_point("mem", {"host": host}, fields, current.at_ms)]


def disk_points(current: HostSample, previous: HostSample, seconds: float, host: str) -> list[Point]:
    """Disk throughput (bytes/s, operations/s) and utilisation (% of the interval busy)."""
    points = []
    for name, counters in current.disks.items():
        before = previous.disks.get(name)
        deltas = _deltas(asdict(counters), asdict(before) if before else None)
        if deltas is None:
            continue
        fields: dict[str, float | int] = {
            "read_bytes_per_s": round(deltas["sectors_read"] * SECTOR_BYTES / seconds, 3),
            "write_bytes_per_s": round(deltas["sectors_written"] * SECTOR_BYTES / seconds, 3),
            "reads_per_s": round(deltas["reads"] / seconds, 3),
            "writes_per_s": round(deltas["writes"] / seconds, 3),
            "util_percent": round(min(100.0, deltas["io_ms"] / (10.0 * seconds)), 3),
        }
        points.append(_point("diskio", {"host": host, "name": name}, fields, current.at_ms))
    return points


def net_points(current: HostSample, previous: HostSample, seconds: float, host: str) -> list[Point]:
    """Network rates per interface, per second."""
    points = []
    for name, counters in current.nets.items():
        deltas = _deltas(counters, previous.nets.get(name))
        if deltas is None:
            continue
        fields: dict[str, float | int] = {f"{label}_per_s": round(deltas[label] / seconds, 3) for label in _NET_FIELDS}
        points.append(_point("net", {"host": host, "interface": name}, fields, current.at_ms))
    return points


def host_points(current: HostSample, previous: HostSample | None, host: str) -> list[Point]:
    """All points for ``current``; rates only when ``previous`` is an earlier sample."""
    points = memory_point(current, host)
    if previous is not None and current.at_ms > previous.at_ms:
        seconds = (current.at_ms - previous.at_ms) / 1000.0
        points += cpu_points(current, previous, host)
        points += disk_points(current, previous, seconds, host)
        points += net_points(current, previous, seconds, host)
    return sorted(points, key=lambda p: (p["measurement"], sorted(p["tags"].items())))


def series_key(point: Point) -> str:
    """``measurement,tag=value,...`` with sorted tags: the same series always has the same key."""
    return ",".join([point["measurement"], *(f"{k}={v}" for k, v in sorted(point["tags"].items()))])


def point_record(point: Point, source: str) -> SourceRecord:
    """A point as a source record: keyed by series (so a series keeps its partition)."""
    return make_record(dict(point), source=source, key=series_key(point), event_time_ms=point["timestamp"])
