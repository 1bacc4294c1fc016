"""The steady load of a chaos run: writers into the ingest function, readers of the warehouse.

A **writer** sends a batch of new records at a steady pace (no catching up after a stall: a
real sender does not burst) and retries the same batch, with exponential backoff and jitter,
until the ingest function acknowledges it. Only an answer that says "accepted" for a record
acknowledges it; any other outcome (a 5xx, a timeout, a refused connection) means nothing may
be assumed and the batch is sent again, so a record is never lost by its sender. A retry can
deliver a record twice to Kafka: the warehouse's upsert by id makes that harmless, which the
data check verifies. When the run ends, a batch still not acknowledged after ``give_up`` is
left as *unacknowledged* in the ledger: the sender was never told "ok".

A **reader** asks the warehouse ``count(*)`` and the newest record's seq, over one connection
it reopens after a failure, with the same backoff.

Every attempt of either is an :class:`~.measure.Op`; the ledger keeps every record created.
"""
from __future__ import annotations

import random
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Callable

import requests

from etlkit.warehouse.identifiers import quote

from .measure import READ, WRITE, Op, Read


BAD_N = "not a number"  # a bad record's n: the map step's derive n * 2 dead-letters it


def is_bad(record: dict) -> bool:
    return record.get("n") == BAD_N


class Clock:
    """Seconds on the monotonic clock; one instance shared by everything in a run."""

    def now(self) -> float:
        return time.monotonic()


class Ledger:
    """Every record the writers created, when, and whether it was acknowledged (thread-safe)."""

    def __init__(self, clock: Clock, bad_every: int = 0):
        self.clock = clock
        # Every ``bad_every``-th record (0: none) carries an ``n`` the map step cannot double:
        # it must end as a dead letter with its reason, never in the warehouse.
        self.bad_every = bad_every
        self._lock = threading.Lock()
        self._seq = 0
        self.content: dict[str, dict] = {}      # id -> the record as sent
        self.created_at: dict[int, float] = {}  # seq -> when created
        self.acked: dict[str, float] = {}       # id -> when acknowledged
        self.rejected: dict[str, str] = {}      # id -> the reason ingest gave

    def new_batch(self, writer: int, size: int) -> list[dict]:
        now = self.clock.now()
        batch = []
        with self._lock:
            for _ in range(size):
                self._seq += 1
                bad = self.bad_every > 0 and self._seq % self.bad_every == 0
                record = {"id": f"w{writer}-{self._seq:09d}", "seq": self._seq, "writer": writer,
                          "n": BAD_N if bad else random.randrange(1_000_000),
                          "payload": secrets.token_hex(12)}
                self.content[record["id"]] = record
                self.created_at[self._seq] = now
                batch.append(record)
        return batch

    def ack(self, ids: list[str]) -> None:
        now = self.clock.now()
        with self._lock:
            for record_id in ids:
                self.acked.setdefault(record_id, now)

    def reject(self, record_id: str, reason: str) -> None:
        with self._lock:
            self.rejected[record_id] = reason


class OpLog:
    """Every attempt of every client, appended from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.ops: list[Op] = []
        self.reads: list[Read] = []

    def add(self, op: Op, read: Read | None = None) -> None:
        with self._lock:
            self.ops.append(op)
            if read is not None:
                self.reads.append(read)


def backoff(attempt: int, first: float, cap: float, rand: Callable[[], float]) -> float:
    """Exponential backoff with full jitter in its upper half: ``first * 2**attempt``, at most
    ``cap``, then a random point between half of that and all of it (clients that failed
    together do not retry together)."""
    ceiling = min(cap, first * 2 ** min(attempt, 30))
    return ceiling / 2 + rand() * ceiling / 2


@dataclass(frozen=True)
class Answer:
    """What one ingest answer means for a batch: the ids acknowledged, rejected (with reasons),
    and whether the rest must be sent again (the error saying why)."""
    acked: tuple[str, ...]
    rejected: tuple[tuple[str, str], ...]
    retry: bool
    error: str = ""


def interpret(status: int, doc: object, ids: list[str]) -> Answer:
    """Read an ingest answer (see functions/ingest/handler.py) for a batch of ``ids``. Pure.

    200/207/400 carry a result per record; anything else acknowledges nothing.
    """
    results = doc.get("results") if isinstance(doc, dict) else None
    if status in (200, 207, 400) and isinstance(results, list) and len(results) == len(ids):
        acked, rejected = [], []
        for record_id, result in zip(ids, results):
            state = result.get("status") if isinstance(result, dict) else None
            if state == "accepted":
                acked.append(record_id)
            else:
                rejected.append((record_id, str((result or {}).get("error", "no reason"))))
        return Answer(tuple(acked), tuple(rejected), retry=False,
                      error="" if not rejected else f"HTTP {status}: {rejected[0][1]}")
    error = doc.get("error") if isinstance(doc, dict) else None
    return Answer((), (), retry=True, error=f"HTTP {status}" + (f": {error}" if error else ""))


class Writer(threading.Thread):
    def __init__(self, index: int, url: str, auth: tuple[str, str], ledger: Ledger, log: OpLog,
                 *, period_s: float, batch: int, timeout_s: float, backoff_s: tuple[float, float],
                 stop: threading.Event, give_up: threading.Event, offset_s: float = 0.0):
        super().__init__(name=f"chaos-writer-{index}", daemon=True)
        self.index, self.url, self.auth = index, url, auth
        self.ledger, self.log = ledger, log
        self.period_s, self.batch, self.timeout_s, self.backoff_s = period_s, batch, timeout_s, backoff_s
        self.stop, self.give_up, self.offset_s = stop, give_up, offset_s
        self.rand = random.Random(index).random

    def run(self) -> None:
        clock = self.ledger.clock
        with requests.Session() as session:
            session.auth = self.auth
            next_at = clock.now() + self.offset_s
            while not self.stop.wait(max(0.0, next_at - clock.now())):
                self._deliver(session, self.ledger.new_batch(self.index, self.batch))
                next_at = max(next_at + self.period_s, clock.now())

    def _deliver(self, session: requests.Session, batch: list[dict]) -> None:
        clock = self.ledger.clock
        pending = batch
        attempt = 0
        while pending and not self.give_up.is_set():
            ids = [r["id"] for r in pending]
            start = clock.now()
            try:
                resp = session.post(self.url, json=pending, timeout=(3.0, self.timeout_s))
                try:
                    doc = resp.json()
                except ValueError:
                    doc = None
                answer = interpret(resp.status_code, doc, ids)
            except requests.RequestException as exc:
                answer = Answer((), (), retry=True, error=type(exc).__name__)
            end = clock.now()
            self.ledger.ack(list(answer.acked))
            for record_id, reason in answer.rejected:
                self.ledger.reject(record_id, reason)
            self.log.add(Op(WRITE, start, end, ok=not answer.retry and not answer.rejected,
                            error=answer.error, client=self.index))
            if not answer.retry:
                return
            self.give_up.wait(backoff(attempt, *self.backoff_s, self.rand))
            attempt += 1


class Reader(threading.Thread):
    """Queries the warehouse table over its own PostgreSQL connection."""

    def __init__(self, index: int, conninfo: str, password: str | None, table: str, log: OpLog,
                 clock: Clock, *, period_s: float, backoff_s: tuple[float, float],
                 stop: threading.Event, offset_s: float = 0.0):
        super().__init__(name=f"chaos-reader-{index}", daemon=True)
        self.index, self.conninfo, self.password = index, conninfo, password
        self.query = f"SELECT count(*), max(seq) FROM {quote(table, 'table')}"
        self.log, self.clock = log, clock
        self.period_s, self.backoff_s, self.stop, self.offset_s = period_s, backoff_s, stop, offset_s
        self.rand = random.Random(1000 + index).random
        self.rows = 0  # the latest count seen

    def run(self) -> None:
        import psycopg  # only the harness needs the driver here

        conn = None
        failures = 0
        next_at = self.clock.now() + self.offset_s
        while not self.stop.wait(max(0.0, next_at - self.clock.now())):
            start = self.clock.now()
            try:
                if conn is None:
                    conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=3,
                                           options="-c statement_timeout=5000",
                                           **({"password": self.password} if self.password else {}))
                count, newest = conn.execute(self.query).fetchone()
            except (psycopg.Error, OSError) as exc:
                self.log.add(Op(READ, start, self.clock.now(), ok=False,
                                error=f"{type(exc).__name__}: {str(exc).strip()[:120]}",
                                client=self.index))
                if conn is not None:
                    conn.close()
                    conn = None
                next_at = self.clock.now() + backoff(failures, *self.backoff_s, self.rand)
                failures += 1
                continue
            failures = 0
            self.rows = count
            end = self.clock.now()
            self.log.add(Op(READ, start, end, ok=True, client=self.index), Read(end, newest))
            next_at = max(next_at + self.period_s, end)
        if conn is not None:
            conn.close()
