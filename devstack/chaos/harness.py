"""A chaos run: steady writes and reads while faults strike on schedule, then the books.

1. ``ChaosStack.up()``: warehouse, broker behind its proxy, gateway and functions, runner.
2. Warm-up: writers and readers start; the measurement starts once a read has seen a record in
   the warehouse (the data path works end to end before anything is broken).
3. For ``duration_s``: the faults of :func:`~.config.schedule`, each timed (:class:`Fault`).
4. The writers stop creating records; a batch not yet acknowledged keeps being retried for up
   to ``give_up_s``, then counts as unacknowledged. The readers stop.
5. Drain: until the warehouse holds every acknowledged record and its row count stays put.
6. The data check (:mod:`.datacheck`) over the whole table, the dead letters, and the
   availability figures (:mod:`.measure`), as a :class:`~.report.ChaosReport`.
"""
from __future__ import annotations

import pathlib
import threading
import time
from typing import Callable

from etlkit.warehouse.identifiers import quote

from . import datacheck
from .config import COMPONENTS, REAL_COMPONENTS, ChaosConfig, schedule
from .environment import ChaosStack, dead_letters, warehouse_rows
from .faults import INJECTORS
from .load import Clock, Ledger, OpLog, Reader, Writer, is_bad
from .measure import Fault, Op, Read
from .report import ChaosReport, build_report
from .workflow import KEY, expected_row

WARM_UP_TIMEOUT_S = 120.0
GIVE_UP_S = 60.0         # after the run, an unacknowledged batch is retried this much longer
DRAIN_SETTLE_READS = 3   # equal row counts in a row, once every acknowledged record is in
DRAIN_STUCK_S = 20.0     # or a count that stopped moving for this long, short of that


class ChaosError(RuntimeError):
    """The run could not be carried out (the stack did not come up, the data path never
    carried a record); the message says which part."""


def run(config: ChaosConfig, run_dir: pathlib.Path,
        say: Callable[[str], None] = lambda msg: None) -> ChaosReport:
    if config.real:  # the real binaries (issue 15): its own stack, faults and components
        from .realenv import RealChaosStack
        from .realfaults import REAL_INJECTORS

        with RealChaosStack(run_dir, config, say) as env:
            return _measure(env, config, say, REAL_INJECTORS, REAL_COMPONENTS)
    with ChaosStack(run_dir, config, say) as env:
        return _measure(env, config, say, INJECTORS, COMPONENTS)


def _measure(env: ChaosStack, config: ChaosConfig, say: Callable[[str], None],
             injectors: dict[str, Callable], components: tuple[str, ...]) -> ChaosReport:
    path = env.path
    clock = Clock()
    ledger, log = Ledger(clock, config.bad_every), OpLog()
    stop_writing, give_up, stop_reading = threading.Event(), threading.Event(), threading.Event()
    write_period = config.writers / config.write_rate
    read_period = config.readers / config.read_rate
    writers = [Writer(i, env.ingest_url, env.auth, ledger, log, period_s=write_period,
                      batch=config.batch_records, timeout_s=config.request_timeout_s,
                      backoff_s=config.backoff_s, stop=stop_writing, give_up=give_up,
                      offset_s=i * write_period / config.writers)
               for i in range(config.writers)]
    readers = [Reader(i, env.postgres.url, None, path.table, log, clock, period_s=read_period,
                      backoff_s=config.backoff_s, stop=stop_reading,
                      offset_s=i * read_period / config.readers)
               for i in range(config.readers)]
    for thread in (*writers, *readers):
        thread.start()
    try:
        _wait(lambda: any(r.rows > 0 for r in readers), WARM_UP_TIMEOUT_S,
              "the data path to carry a first record into the warehouse")
        origin = clock.now()
        say(f"measuring for {config.duration_s:g}s from here: {config.writers} writers, "
            f"{config.write_rate:g} requests/s of {config.batch_records} records; "
            f"{config.readers} readers, {config.read_rate:g} queries/s")
        faults = _inject(env, config, clock, origin, say, injectors)
        _sleep_until(clock, origin + config.duration_s)
        window_end = clock.now() - origin
    finally:
        stop_writing.set()
        for writer in writers:
            writer.join(GIVE_UP_S)
        give_up.set()
        for writer in writers:
            writer.join(config.request_timeout_s + 5)
        stop_reading.set()
        for reader in readers:
            reader.join(10)
    say(f"writers stopped: {len(ledger.content)} records created, {len(ledger.acked)} acknowledged")
    # the rows to wait for: every acknowledged record but the bad ones, which end as dead letters
    landing = sum(not is_bad(ledger.content[i]) for i in ledger.acked)
    drained_s = _drain(env, landing, say, config.drain_timeout_s, path.table)
    rows = warehouse_rows(env.postgres.url, path.table)
    bad = {i for i, r in ledger.content.items() if is_bad(r)}
    check = datacheck.check({i: expected_row(r) for i, r in ledger.content.items() if i not in bad},
                            set(ledger.acked) - bad,
                            [(str(row[KEY]), {k: v for k, v in row.items() if k != KEY})
                             for row in rows])
    entries = dead_letters(env.bootstrap, path.dead_letter)
    letter_check = datacheck.check_letters(bad & set(ledger.acked), entries)
    letters = [letter for _identity, letter in entries]
    shifted_ops = [Op(o.kind, o.start - origin, o.end - origin, o.ok, o.error, o.client)
                   for o in log.ops if o.start >= origin and o.start <= origin + window_end]
    shifted_reads = [Read(r.at - origin, r.newest_seq) for r in log.reads if r.at >= origin]
    created = {seq: at - origin for seq, at in ledger.created_at.items()}
    return build_report(config, window_end, shifted_ops, shifted_reads, faults, created, check,
                        letters, rejected=dict(ledger.rejected), drained_s=drained_s,
                        components=components, runner_starts=env.runner_starts,
                        when=_when(ledger, check, origin), letter_check=letter_check)


def _when(ledger: Ledger, check: datacheck.DataCheck, origin: float) -> dict[str, list]:
    """For each sampled problem id, when its record was created and acknowledged (seconds of
    the measurement): which fault it sat next to."""
    out = {}
    for name, ids in check.samples.items():
        out[name] = [{"id": i,
                      "created_s": round(ledger.created_at[ledger.content[i]["seq"]] - origin, 3)
                      if i in ledger.content else None,
                      "acked_s": round(ledger.acked[i] - origin, 3) if i in ledger.acked else None}
                     for i in ids]
    return out


def _inject(env: ChaosStack, config: ChaosConfig, clock: Clock, origin: float,
            say: Callable[[str], None], injectors: dict[str, Callable]) -> list[Fault]:
    faults = []
    for planned in schedule(config):
        _sleep_until(clock, origin + planned.at_s)
        at = clock.now()
        detail = injectors[planned.fault](env, config, planned)
        done = clock.now()
        faults.append(Fault(planned.fault, planned.component, at - origin, done - origin, detail))
        say(f"  {at - origin:6.1f}s  {planned.fault}: {detail} ({done - at:.2f}s)")
    return faults


def _drain(env: ChaosStack, landing: int, say: Callable[[str], None], timeout: float,
           table: str) -> float:
    """Wait until the table holds at least every acknowledged record and its count settles;
    the seconds waited (a shortfall is left for the data check to name)."""
    import psycopg

    started = time.monotonic()
    last, same, moved_at = -1, 0, started
    while time.monotonic() - started < timeout:
        try:
            with psycopg.connect(env.postgres.url, connect_timeout=5) as conn:
                count = conn.execute(f"SELECT count(*) FROM {quote(table)}").fetchone()[0]
        except psycopg.Error:
            count = -1
        now = time.monotonic()
        if count != last:
            moved_at = now
        same = same + 1 if count == last and count >= landing else 0
        last = count
        if same >= DRAIN_SETTLE_READS:
            return now - started
        if count >= 0 and now - moved_at > DRAIN_STUCK_S:
            say(f"drain: the warehouse stopped at {count} rows, {landing} acknowledged to land")
            return now - started
        time.sleep(0.5)
    say(f"drain: the warehouse did not settle at >= {landing} rows within {timeout:g}s")
    return time.monotonic() - started


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise ChaosError(f"waited {timeout:g}s for {what}")
        time.sleep(0.1)


def _sleep_until(clock: Clock, at: float) -> None:
    while (left := at - clock.now()) > 0:
        time.sleep(min(left, 0.5))
