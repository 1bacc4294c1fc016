"""One tick of a workflow at a time: a lease with an expiry, kept where the memory is.

Why: a calendar trigger without ``atLeastOnce`` runs every tick in a goroutine of its own
(argo-events v1.9.11 ``pkg/sensors/listener.go``: ``go trigger(...)`` unless atLeastOnce), and
ticks fire on schedule whatever the previous one is doing; a rolling update runs two autoscaler
pods for a while. Two ticks of a workflow at once would both read the same memory, both scale,
and the later save would drop what the earlier one remembered. So a tick first takes the
workflow's lease; a tick that cannot does nothing and says who holds it (status ``skipped``).
A holder that dies stops blocking when its lease expires (``TICK_LEASE_S``).

* :class:`KafkaLease`: claims appended to the state topic under ``<workflow>#lease``. The
  partition's order is the same for every reader, so replaying the claims up to one's own
  (:func:`holder_after`) gives every contender the same winner: the first claim made while no
  unexpired lease was held. Only the tail is replayed (``TAIL`` records back from one's claim): a
  lease claimed further back counts as expired, which needs more than ``TAIL`` state writes
  within one lease (three per tick: claim, memory, release).
* :class:`FileLease`: an exclusive ``flock`` on ``<workflow>.lease`` beside the state files,
  held for the tick; the kernel drops it when the holder dies (that is its expiry).
* :class:`LocalLease`: the same rule in one process (test doubles, and a store of one process).

Pure rule (:func:`holder_after`) apart from I/O; stores raise EdgeError("state").
"""
from __future__ import annotations

import fcntl
import json
import os
import pathlib
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import EdgeError
from .state import KafkaStateStore

__all__ = ["LeaseGrant", "Claim", "holder_after", "LocalLease", "KafkaLease", "FileLease"]


@dataclass(frozen=True)
class LeaseGrant:
    """The answer to a claim: whether it won, and who holds the lease until when."""

    ok: bool
    holder: str
    until: float


@dataclass(frozen=True)
class Claim:
    """One entry of a lease's log: a claim (``until`` > 0) or a release (``until`` == 0)."""

    holder: str
    at: float
    until: float

    def dumps(self) -> bytes:
        return json.dumps({"holder": self.holder, "at": self.at, "until": self.until}).encode()

    @classmethod
    def loads(cls, raw: bytes) -> Claim:
        try:
            doc = json.loads(raw)
            return cls(str(doc["holder"]), float(doc["at"]), float(doc["until"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise EdgeError("state", f"a lease entry is malformed ({exc!r})") from exc


def holder_after(entries: Iterable[Claim]) -> tuple[str, float]:
    """Who holds the lease after ``entries`` (in log order), and until when ("" for nobody).

    A claim wins when nobody holds the lease, when the holder's lease expired before the claim
    was made, or when it is the holder's own; a release by the holder frees it.

    >>> holder_after([Claim("a", 0, 60), Claim("b", 1, 61)])
    ('a', 60)
    >>> holder_after([Claim("a", 0, 60), Claim("a", 5, 0), Claim("b", 6, 66)])
    ('b', 66)
    >>> holder_after([Claim("a", 0, 60), Claim("b", 61, 121)])
    ('b', 121)
    """
    holder, until = "", 0.0
    for entry in entries:
        if entry.until == 0.0:
            if entry.holder == holder:
                holder, until = "", 0.0
        elif not holder or entry.at >= until or entry.holder == holder:
            holder, until = entry.holder, entry.until
    return holder, until


class LocalLease:
    """:func:`holder_after`'s rule within one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, Claim] = {}

    def acquire(self, key: str, holder: str, now: float, ttl_s: float) -> LeaseGrant:
        with self._lock:
            current = self._held.get(key)
            entries = ([current] if current else []) + [Claim(holder, now, now + ttl_s)]
            winner, until = holder_after(entries)
            if winner == holder:
                self._held[key] = entries[-1]
            return LeaseGrant(winner == holder, winner, until)

    def release(self, key: str, holder: str) -> None:
        with self._lock:
            if (current := self._held.get(key)) is not None and current.holder == holder:
                del self._held[key]


class KafkaLease:
    """Claims on the state topic, decided by their order in it (see the module docstring)."""

    TAIL = 500

    def __init__(self, store: KafkaStateStore) -> None:
        self.store = store

    def acquire(self, key: str, holder: str, now: float, ttl_s: float) -> LeaseGrant:
        lease_key = f"{key}#lease"
        mine = self.store.append(lease_key, Claim(holder, now, now + ttl_s).dumps())
        start = max(self.store.low_watermark(), mine - self.TAIL)
        entries = [Claim.loads(raw) for _, raw in self.store.scan(lease_key, start, mine)]
        winner, until = holder_after(entries)
        return LeaseGrant(winner == holder, winner, until)

    def release(self, key: str, holder: str) -> None:
        self.store.append(f"{key}#lease", Claim(holder, 0.0, 0.0).dumps())


class FileLease:
    """An exclusive, non-blocking ``flock`` per workflow in the state folder."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = pathlib.Path(folder)
        self._open: dict[tuple[str, str], int] = {}

    def _path(self, key: str) -> pathlib.Path:
        return self.folder / f"{''.join(c if c.isalnum() or c in '_.-' else '_' for c in key)}.lease"

    def acquire(self, key: str, holder: str, now: float, ttl_s: float) -> LeaseGrant:
        path = self._path(key)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise EdgeError("state", f"opening {path}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = Claim("another process", now, now)
            # The holder writes its name just after locking: give it a moment to show.
            for _ in range(20):
                try:
                    other = Claim.loads(os.pread(fd, 4096, 0))
                    break
                except EdgeError:
                    time.sleep(0.01)
            os.close(fd)
            return LeaseGrant(False, other.holder, other.until)
        os.ftruncate(fd, 0)
        os.pwrite(fd, Claim(holder, now, now + ttl_s).dumps(), 0)
        self._open[(key, holder)] = fd
        return LeaseGrant(True, holder, now + ttl_s)

    def release(self, key: str, holder: str) -> None:
        fd = self._open.pop((key, holder), None)
        if fd is not None:
            os.close(fd)  # closing drops the lock
