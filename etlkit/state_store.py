"""The aggregate's window state, shared by every replica: SQLite (the embedded default) or
PostgreSQL (a cluster: a pod's root filesystem is read-only and replicas run on other nodes).

``STATE_URL`` is ``sqlite:///path`` or ``postgresql://user@host:port/db`` (read by
etlkit/warehouse/url.py ``parse_database_url``; a password comes from the OpenFaaS secret
``state-password`` when the URL has none: in a cluster the state database, etlkit/state_db.py). Both hold the same rows and follow the same rules.

Why lanes: an invocation carries one batch of one input partition, and the partials and
progress of that partition (its *lane*, see etlkit/steps/windows.py) are all it changes. So an
invocation locks its lane's row only, and replicas serving different partitions run at once.
Closing a window needs every lane's partials: *settling* locks the head row and then every lane
(always in that order, so it cannot deadlock with a lane, which takes the head first too, shared),
merges, and runs only when a lane's watermark passed an open window or the run is over: once per
window, not once per call. On SQLite every transaction takes the one database write lock
(``BEGIN IMMEDIATE``): the same rules, one writer at a time, on one host.

Nothing is produced inside a transaction that holds window state. What an invocation or a
settling emits is written to ``agg_outbox`` in the same transaction as the state it follows from,
then produced, then deleted once Kafka acknowledged it (on PostgreSQL under a lock on those
outbox rows only, so two replicas do not both produce an entry); a call answers 200 only when its entries are gone. A call that failed
after its commit is retried: its batch is then a duplicate, and it produces the entries left,
with their batch ids (the lane's from the input identity, a settling's from the step and its
emission number in the head row), so a consumer drops what it had. Settling marks the windows
it closed (their partials deleted, the head's watermark moved past them) in the transaction that
queues their results: a window is emitted once across replicas.

Layout (one database, rows keyed by ``<workflow>/<step>``): ``agg_head`` (version, config,
watermark, emission count), ``agg_lane`` (a partition's progress: high mark, idleness, end,
applied batch ids), ``agg_window`` (a partial: partition, window start, group key, accumulators),
``agg_outbox``. A state written by the layout before (tables ``step_head``/``step_part`` or
``step_state``) is read on the first call and moved into these tables in its transaction; its
old rows then hold :data:`MOVED`, JSON text that an older replica still running refuses
(``state: must be an object``, 400) instead of starting again from no windows.

I/O module: sqlite3, and psycopg through etlkit/warehouse/postgres_connection.py.
"""
from __future__ import annotations

import contextlib
import json
import os
import pathlib
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

from .http import exact_number
from .outrecord import OutRecord, json_bytes, out_record
from .paths import run_dir
from .steps.windows import CloseFirst
from .state_db import STATE_PASSWORD_SECRET
from .warehouse.url import PostgresTarget, parse_database_url

MOVED = json.dumps("moved: this state is kept in tables agg_head, agg_lane and agg_window by a "
                   "newer etlkit (etlkit/state_store.py)")
_EMISSION, _LANE = 0, 1  # outbox kinds: window results first, so a lane's end marker follows them


class StateUnavailable(RuntimeError):
    """The state database could not be reached or failed mid-call; the call is worth a retry."""


@dataclass(frozen=True)
class Entry:
    """What one transaction queued: ``records`` written as batches from ``origin``, and the end
    markers ``end_partitions`` (topic -> partitions) of an input partition that ended."""

    origin: str
    records: Sequence[OutRecord]
    end_partitions: Mapping[str, Sequence[int]] | None = None


class Produce:
    """The narrow view of etlkit.kafka_io.produce_batches the store needs."""

    def __call__(self, records: list[OutRecord], origin: str, *, end: bool = False,
                 end_partitions: Mapping[str, Sequence[int]] | None = None) -> None: ...


def default_state_url() -> str:
    """``STATE_URL``, or a SQLite file in the run folder (a laptop)."""
    return os.getenv("STATE_URL", "") or f"sqlite:///{pathlib.Path(run_dir()) / 'step-state.db'}"


def open_state_store(url: str | None = None) -> "StateStore":
    """The store ``url`` (default ``STATE_URL``) names; errors name ``STATE_URL`` and the rule."""
    target = parse_database_url(url or default_state_url(), "STATE_URL")
    if isinstance(target, PostgresTarget):
        return StateStore(_Postgres(target))
    if target.path == ":memory:":
        raise ValueError("STATE_URL: sqlite:///:memory: would give each replica its own state; "
                         "name a file")
    return StateStore(_Sqlite(pathlib.Path(target.path)))


class StateStore:
    """The aggregate's lanes, settling and outbox over one backend (:class:`_Sqlite` or
    :class:`_Postgres`). Calls of one process take turns on its one connection."""

    def __init__(self, backend: "_Sqlite | _Postgres") -> None:
        self._db = backend
        self._lock = threading.Lock()

    @classmethod
    def sqlite(cls, path: pathlib.Path | str) -> "StateStore":
        return cls(_Sqlite(pathlib.Path(path)))

    def close(self) -> None:
        self._db.close()

    # -- one invocation ----------------------------------------------------------------------
    def invoke(self, name: str, partition: int | None, *, run: Callable[[Any], Any],
               settle: Callable[[Any], tuple[list[Any], Any]],
               lane_entry: Callable[[Any], Entry], emission_entry: Callable[[list[Any], int], Entry],
               window_ms: Callable[[], int], produce: Produce) -> tuple[Any, list[Any]]:
        """Run one batch of ``partition`` in its lane, settle if it made a window due, produce
        what is queued; return ``run``'s outcome and the results this call's settling closed.

        ``run(state) -> outcome`` (lane mode: the state holds every lane's progress and this
        lane's partials; the outcome's state is the lane's new state, with ``"due"``);
        ``settle(state) -> (results, state)`` with every lane in hand; ``lane_entry(outcome)`` and
        ``emission_entry(results, number)`` say what to produce. ``window_ms()``: the window size,
        to tell whether a window is due without reading them all."""
        lane, settled = partition or 0, []
        with self._lock, self._db.guard():
            try:
                try:
                    outcome = self._lane(name, lane, run, lane_entry)
                except _HeadIsNew:
                    outcome = self._lane(name, lane, run, lane_entry, first=True)
            except CloseFirst:  # the run was over before this batch: settle, then apply it
                settled += self._settle(name, settle, emission_entry)
                outcome = self._lane(name, lane, run, lane_entry)
            due = outcome.state.get("due") if isinstance(outcome.state, dict) else None
            if due == "all" or (due is not None and self._oldest_start_ends_by(name, due, window_ms)):
                settled += self._settle(name, settle, emission_entry)
            self._drain(name, produce)
        return outcome, settled

    def _lane(self, name: str, lane: int, run: Callable[[Any], Any],
              lane_entry: Callable[[Any], Entry], *, first: bool = False) -> Any:
        """``run`` under this lane's lock; ``first``: the head row is new and this lane writes
        it, so it takes it exclusively (two lanes holding it shared could not both write it)."""
        db = self._db
        with db.transaction():
            db.ensure_rows(name, lane, _empty_lane(lane))
            head = db.one("SELECT body FROM agg_head WHERE name = ?"
                          + (db.update if first else db.share), (name,))
            db.one("SELECT part FROM agg_lane WHERE name = ? AND part = ?" + db.update,
                   (name, lane))
            if head[0] is None and not first:
                raise _HeadIsNew()
            if head[0] is None:  # no state yet in this layout: a state of the layout before?
                loaded, legacy = db.legacy(name), True
            else:
                loaded, legacy = self._assemble(name, head[0], lane), False
            outcome = run(loaded)
            new = outcome.state
            if new is loaded or new is None:  # a duplicate: nothing changed
                return outcome
            self._write(name, None if legacy else loaded, new, lanes=None if legacy else {lane})
            if legacy:
                db.retire_legacy(name)
            entry = lane_entry(outcome)
            if entry.records or entry.end_partitions:
                db.queue(name, _LANE, entry)
        return outcome

    def _assemble(self, name: str, head_text: str, lane: int | None) -> dict[str, Any]:
        """The state dict: the head, every lane's progress, the partials of ``lane`` (None:
        every lane's)."""
        db = self._db
        state = json.loads(head_text)
        state["partitions"] = [json.loads(body) for body, in db.all(
            "SELECT body FROM agg_lane WHERE name = ? ORDER BY part", (name,))]
        if lane is None:
            rows = db.all("SELECT body FROM agg_window WHERE name = ? ORDER BY start, part, gkey",
                          (name,))
        else:
            rows = db.all("SELECT body FROM agg_window WHERE name = ? AND part = ? "
                          "ORDER BY start, gkey", (name, lane))
        # A sum of Decimals (numbers a double cannot hold) keeps its digits: json_bytes wrote
        # them, exact_number reads them back as a Decimal (and every other number as a float).
        state["windows"] = [json.loads(body, parse_float=exact_number) for body, in rows]
        return state

    def _oldest_start_ends_by(self, name: str, watermark: int,
                              window_ms: Callable[[], int]) -> bool:
        row = self._db.one("SELECT min(start) FROM agg_window WHERE name = ?", (name,))
        return row is not None and row[0] is not None and row[0] + window_ms() <= watermark

    def _settle(self, name: str, settle: Callable[[Any], tuple[list[Any], Any]],
                emission_entry: Callable[[list[Any], int], Entry]) -> list[Any]:
        db = self._db
        with db.transaction():
            head = db.one("SELECT body, emissions FROM agg_head WHERE name = ?" + db.update, (name,))
            if head is None or head[0] is None:
                return []
            db.all("SELECT part FROM agg_lane WHERE name = ? ORDER BY part" + db.update, (name,))
            loaded = self._assemble(name, head[0], None)
            results, new = settle(loaded)
            number = head[1] + 1 if results else head[1]
            self._write(name, loaded, new, lanes=None, emissions=number)
            if results:
                db.queue(name, _EMISSION, emission_entry(results, number))
        return results

    def _write(self, name: str, old: dict[str, Any] | None, new: dict[str, Any], *,
               lanes: set[int] | None, emissions: int | None = None) -> None:
        """Write what changed from ``old`` (None: nothing of it in these tables) to ``new``:
        the head (settling only: a lane never writes it), the lanes' progress, the partials.
        ``lanes``: the lanes this transaction holds (None: all)."""
        db = self._db
        head = {key: value for key, value in new.items()
                if key not in ("partitions", "windows", "due")}
        if old is None or emissions is not None:
            old_head = None if old is None else {k: v for k, v in old.items()
                                                  if k not in ("partitions", "windows", "due")}
            if head != old_head or emissions is not None:
                db.run("UPDATE agg_head SET body = ?, emissions = coalesce(?, emissions) "
                       "WHERE name = ?", (_text(head), emissions, name))
        before = {} if old is None else {item["partition"]: item for item in old["partitions"]}
        for item in new["partitions"]:
            key = item["partition"]
            if before.get(key) != item and (lanes is None or key in lanes):
                db.upsert_lane(name, key, _text(item))
        # Matched by a cheap key (repr keeps true, 1 and 1.0 apart, as the stored JSON key
        # does); the stored key text is written only for the windows that changed or went: a
        # call sees every open partial of its lane, and most of them are unchanged.
        old_windows = {} if old is None else {_match_key(w): w for w in old["windows"]}
        seen = set()
        for item in new["windows"]:
            key = _match_key(item)
            seen.add(key)
            if old_windows.get(key) != item:
                db.upsert_window(name, _window_key(item), _text(item))
        gone = [(name, *_window_key(item)) for key, item in old_windows.items() if key not in seen]
        if gone:
            db.many("DELETE FROM agg_window WHERE name = ? AND part = ? AND start = ? AND gkey = ?",
                    gone)

    def _drain(self, name: str, produce: Produce) -> None:
        """Produce every entry queued for ``name`` (this call's and any a failed call left),
        deleting each once Kafka acknowledged it.

        On PostgreSQL the entries are claimed (``FOR UPDATE``) for the produce: a replica
        draining at the same time waits, then finds them gone, instead of producing them a
        second time (harmless, the batch ids are the same, but a cost for every consumer); and
        what it queued after them still follows them on the topic. SQLite's one write lock
        would stop every lane for the produce: there two replicas may both produce an entry."""
        db = self._db
        with db.draining():
            for number, body in db.all("SELECT id, body FROM agg_outbox WHERE name = ? "
                                       "ORDER BY kind, id" + db.update, (name,)):
                entry = _entry_of(body)
                ends = entry.end_partitions
                produce(list(entry.records), entry.origin, end=bool(ends),
                        end_partitions={topic: tuple(parts) for topic, parts in ends.items()}
                        if ends else None)
                db.run("DELETE FROM agg_outbox WHERE id = ?", (number,))

    # -- reading -----------------------------------------------------------------------------
    def snapshot(self, name: str) -> dict[str, Any] | None:
        """The whole state of ``name`` (every lane), as :meth:`WindowState.from_dict` reads it;
        None when there is none."""
        db = self._db
        with self._lock, db.guard(), db.transaction():
            head = db.one("SELECT body FROM agg_head WHERE name = ?", (name,))
            if head is None or head[0] is None:
                return db.legacy(name)
            return self._assemble(name, head[0], None)

    def pending(self, name: str) -> int:
        """The outbox entries of ``name`` not yet acknowledged by Kafka."""
        with self._lock, self._db.guard():
            return self._db.one("SELECT count(*) FROM agg_outbox WHERE name = ?", (name,))[0]


class _HeadIsNew(Exception):
    """The step has no head row content yet: the lane starts again holding it exclusively."""


def _empty_lane(lane: int) -> str:
    """A lane row before its first write (rolled back with it unless the lane wrote)."""
    return _text({"partition": lane, "high": None, "seen_at": None, "first": None,
                  "ended": False, "watermark": None, "applied": []})


def _match_key(item: Mapping[str, Any]) -> tuple[int, int, str]:
    return item.get("partition", 0), item["start"], repr(item["key"])


def _window_key(item: Mapping[str, Any]) -> tuple[int, int, str]:
    return (item.get("partition", 0), item["start"],
            json.dumps(item["key"], separators=(",", ":"), ensure_ascii=False))


def _text(value: Any) -> str:
    return json_bytes(value).decode()


def _entry_text(entry: Entry) -> str:
    records = [[r.topic, r.value.decode(), None if r.key is None else r.key.decode(),
                [[h, v.decode()] for h, v in r.headers], r.timestamp_ms, r.partition]
               for r in entry.records]
    return json.dumps({"origin": entry.origin, "records": records,
                       "end": {t: list(p) for t, p in entry.end_partitions.items()}
                       if entry.end_partitions else None}, ensure_ascii=False)


def _entry_of(text: str) -> Entry:
    data = json.loads(text)
    records = [out_record(topic, value.encode(), None if key is None else key.encode(),
                          tuple((h, v.encode()) for h, v in headers), stamp, part)
               for topic, value, key, headers, stamp, part in data["records"]]
    return Entry(data["origin"], records, data["end"])


# -- backends --------------------------------------------------------------------------------

_TABLES = (
    "CREATE TABLE IF NOT EXISTS agg_head (name TEXT PRIMARY KEY, body TEXT, "
    "emissions BIGINT NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS agg_lane (name TEXT NOT NULL, part INTEGER NOT NULL, "
    "body TEXT NOT NULL, PRIMARY KEY (name, part))",
    "CREATE TABLE IF NOT EXISTS agg_window (name TEXT NOT NULL, part INTEGER NOT NULL, "
    "start BIGINT NOT NULL, gkey TEXT NOT NULL, body TEXT NOT NULL, "
    "PRIMARY KEY (name, part, start, gkey))",
    "CREATE INDEX IF NOT EXISTS agg_window_start ON agg_window (name, start)",
)


class _Sqlite:
    """One connection to a WAL database; every transaction takes the write lock at once."""

    share = update = ""  # BEGIN IMMEDIATE already holds the one write lock

    def __init__(self, path: pathlib.Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, timeout=30, isolation_level=None,
                                     check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        for statement in _TABLES:
            self._conn.execute(statement)
        self._conn.execute("CREATE TABLE IF NOT EXISTS agg_outbox (id INTEGER PRIMARY KEY "
                           "AUTOINCREMENT, name TEXT NOT NULL, kind INTEGER NOT NULL, "
                           "body TEXT NOT NULL)")

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:  # locked past the timeout, disk trouble
            raise StateUnavailable(f"state: {exc}") from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def draining(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()  # each delete commits by itself

    def one(self, sql: str, args: tuple) -> Any:
        return self._conn.execute(sql, args).fetchone()

    def all(self, sql: str, args: tuple) -> list[Any]:
        return self._conn.execute(sql, args).fetchall()

    def run(self, sql: str, args: tuple) -> None:
        self._conn.execute(sql, args)

    def many(self, sql: str, rows: list[tuple]) -> None:
        self._conn.executemany(sql, rows)

    def ensure_rows(self, name: str, lane: int, empty: str) -> None:
        self._conn.execute("INSERT OR IGNORE INTO agg_head(name, body) VALUES (?, NULL)", (name,))
        self._conn.execute("INSERT OR IGNORE INTO agg_lane(name, part, body) VALUES (?, ?, ?)",
                           (name, lane, empty))

    def upsert_lane(self, name: str, part: int, body: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO agg_lane(name, part, body) VALUES (?, ?, ?)",
                           (name, part, body))

    def upsert_window(self, name: str, key: tuple[int, int, str], body: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO agg_window(name, part, start, gkey, body) "
                           "VALUES (?, ?, ?, ?, ?)", (name, *key, body))

    def queue(self, name: str, kind: int, entry: Entry) -> None:
        self._conn.execute("INSERT INTO agg_outbox(name, kind, body) VALUES (?, ?, ?)",
                           (name, kind, _entry_text(entry)))

    def _has(self, table: str) -> bool:
        return self.one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                        (table,)) is not None

    def legacy(self, name: str) -> Any:
        """The state the layout before kept for ``name`` (a dict of version 2), or None."""
        if self._has("step_head"):
            row = self.one("SELECT head, parts_field FROM step_head WHERE name = ?", (name,))
            if row is not None:
                state = json.loads(row[0])
                if row[1] is not None and isinstance(state, dict):
                    state[row[1]] = [json.loads(body) for body, in self.all(
                        "SELECT body FROM step_part WHERE name = ?", (name,))]
                return state
        if self._has("step_state"):
            row = self.one("SELECT state FROM step_state WHERE name = ?", (name,))
            if row is not None and row[0] != MOVED:
                return json.loads(row[0])
        return None

    def retire_legacy(self, name: str) -> None:
        """Leave :data:`MOVED` where an older replica would read the state of before."""
        if self._has("step_head"):
            self.run("UPDATE step_head SET head = ?, parts_field = NULL WHERE name = ?",
                     (MOVED, name))
            self.run("DELETE FROM step_part WHERE name = ?", (name,))
        if self._has("step_state"):
            self.run("UPDATE step_state SET state = ? WHERE name = ?", (MOVED, name))

    def close(self) -> None:
        self._conn.close()


class _Postgres:
    """A lazily (re)opened connection (etlkit/warehouse/postgres_connection.py): a server
    restart fails the call in flight (503, StateUnavailable) and the next call reconnects.
    Row locks: a lane takes the head row FOR SHARE and its lane row FOR UPDATE; settling takes
    the head and every lane FOR UPDATE."""

    share, update = " FOR SHARE", " FOR UPDATE"

    def __init__(self, target: PostgresTarget) -> None:
        from .secrets import read_secret
        from .warehouse.postgres_connection import LazyPostgresConnection

        self._connection = LazyPostgresConnection(
            target, application_name="faas-etl-aggregate",
            password=lambda: target.password or read_secret(STATE_PASSWORD_SECRET))
        self._ready = False

    def _conn(self) -> Any:
        conn = self._connection.get()
        if not self._ready:
            with conn.transaction():
                # One creator at a time: replicas starting together would race on CREATE.
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('faas-etl agg tables'))")
                for statement in _TABLES:
                    conn.execute(statement)
                conn.execute("CREATE TABLE IF NOT EXISTS agg_outbox (id BIGSERIAL PRIMARY KEY, "
                             "name TEXT NOT NULL, kind INTEGER NOT NULL, body TEXT NOT NULL)")
            self._ready = True
        return conn

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        import psycopg

        try:
            yield
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            self._connection.close()  # the next call opens a new one
            raise StateUnavailable(f"state: {exc}".strip()) from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._conn().transaction():
            yield

    def draining(self) -> contextlib.AbstractContextManager[None]:
        return self.transaction()

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("?", "%s")

    def one(self, sql: str, args: tuple) -> Any:
        return self._conn().execute(self._sql(sql), args).fetchone()

    def all(self, sql: str, args: tuple) -> list[Any]:
        return self._conn().execute(self._sql(sql), args).fetchall()

    def run(self, sql: str, args: tuple) -> None:
        self._conn().execute(self._sql(sql), args)

    def many(self, sql: str, rows: list[tuple]) -> None:
        with self._conn().cursor() as cursor:
            cursor.executemany(self._sql(sql), rows)

    def ensure_rows(self, name: str, lane: int, empty: str) -> None:
        # A row inserted by a transaction not yet committed makes a second inserter wait for
        # it: two first calls of one lane then take turns, as later calls do on its lock.
        self.run("INSERT INTO agg_head(name, body) VALUES (?, NULL) ON CONFLICT DO NOTHING",
                 (name,))
        self.run("INSERT INTO agg_lane(name, part, body) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                 (name, lane, empty))

    def upsert_lane(self, name: str, part: int, body: str) -> None:
        self.run("INSERT INTO agg_lane(name, part, body) VALUES (?, ?, ?) ON CONFLICT "
                 "(name, part) DO UPDATE SET body = excluded.body", (name, part, body))

    def upsert_window(self, name: str, key: tuple[int, int, str], body: str) -> None:
        self.run("INSERT INTO agg_window(name, part, start, gkey, body) VALUES (?, ?, ?, ?, ?) "
                 "ON CONFLICT (name, part, start, gkey) DO UPDATE SET body = excluded.body",
                 (name, *key, body))

    def queue(self, name: str, kind: int, entry: Entry) -> None:
        self.run("INSERT INTO agg_outbox(name, kind, body) VALUES (?, ?, ?)",
                 (name, kind, _entry_text(entry)))

    def legacy(self, name: str) -> None:
        return None  # the layout before was SQLite only

    def retire_legacy(self, name: str) -> None:
        pass

    def close(self) -> None:
        self._connection.close()
