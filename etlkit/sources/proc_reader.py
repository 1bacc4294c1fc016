"""The metrics collector's only I/O: read the four /proc files into a `HostSample`."""
from __future__ import annotations

import os

from .host_metrics import (
    DEFAULT_SKIPPED_DISKS,
    HostSample,
    parse_diskstats,
    parse_meminfo,
    parse_net_dev,
    parse_proc_stat,
)


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as proc_file:
            return proc_file.read()
    except FileNotFoundError:  # e.g. no /proc/diskstats in some sandboxes: that part is empty
        return ""


def read_host_sample(
    now_ms: int, proc: str | os.PathLike[str] = "/proc", skip_disks: tuple[str, ...] = DEFAULT_SKIPPED_DISKS
) -> HostSample:
    """Counters of this host at ``now_ms`` (``proc`` is a folder shaped like /proc, for tests)."""
    return HostSample(
        at_ms=now_ms,
        cpu=parse_proc_stat(_read(os.path.join(proc, "stat"))),
        memory=parse_meminfo(_read(os.path.join(proc, "meminfo"))),
        disks=parse_diskstats(_read(os.path.join(proc, "diskstats")), skip_disks),
        nets=parse_net_dev(_read(os.path.join(proc, "net", "dev"))),
    )
