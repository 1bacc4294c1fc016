"""The aggregate's window state, shared by every replica, in the state database
(etlkit/state_db.py: ``STATE_URL``, SQLite on a laptop, PostgreSQL in a cluster, where a pod's
root filesystem is read-only and replicas run on other nodes). Both hold the same rows and
follow the same rules.

Why lanes: an invocation carries one batch of one input partition, and the partials and
progress of that partition (its *lane*, see etlkit/steps/windows.py) are all it changes. So an
invocation locks its lane's row only, and replicas serving different partitions run at once.
Closing a window needs every lane's partials: *settling* locks the head row and then every lane
(always in that order, so it cannot deadlock with a lane, which takes the head first too, shared),
merges, and runs only when a lane's watermark passed an open window, the run is over or a lane
ended: once per window, not once per call. Partials are read when the windows ask for them
(etlkit/steps/windows.py ``StoredWindows``): a call reads its lane's partials of the windows its
records go into, a settling the partials of the windows it closes, never every open one. On
SQLite every transaction takes the one database write lock (``BEGIN IMMEDIATE``): the same rules,
one writer at a time, on one host.

Nothing is produced inside a transaction that holds window state. What an invocation or a
settling emits is written to ``agg_outbox`` in the same transaction as the state it follows from,
then produced, then deleted once Kafka acknowledged it (on PostgreSQL under a lock on those
outbox rows only, so two replicas do not both produce an entry); a call answers 200 only when
its entries are gone. A call that failed
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

I/O module: its SQL runs through :class:`~.state_db.StateDb` (one connection per process).
"""
from __future__ import annotations

import json
import pathlib
import threading
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from .http import parse_json_body
from .outrecord import OutRecord, json_bytes, out_record
from .state_db import SqliteStateDb, StateDb, Transaction, open_state_db, present_tables, state_url
from .steps.windows import CloseFirst, StoredItem
from .warehouse.url import parse_database_url

MOVED = json.dumps("moved: this state is kept in tables agg_head, agg_lane and agg_window by a "
                   "newer etlkit (etlkit/state_store.py)")
_EMISSION, _LANE = 0, 1  # outbox kinds: window results first, so a lane's end marker follows them

_OUTBOX_ID_TYPES = {"sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT", "postgresql": "BIGSERIAL PRIMARY KEY"}


def tables(dialect: str) -> tuple[str, ...]:
    """The aggregate's tables in ``dialect``, as :meth:`~.state_db.StateDb.create_tables` takes
    them (the one place their names are written)."""
    return (
        "CREATE TABLE IF NOT EXISTS agg_head (name TEXT PRIMARY KEY, body TEXT, "
        "emissions BIGINT NOT NULL DEFAULT 0)",
        "CREATE TABLE IF NOT EXISTS agg_lane (name TEXT NOT NULL, part INTEGER NOT NULL, "
        "body TEXT NOT NULL, PRIMARY KEY (name, part))",
        "CREATE TABLE IF NOT EXISTS agg_window (name TEXT NOT NULL, part INTEGER NOT NULL, "
        "start BIGINT NOT NULL, gkey TEXT NOT NULL, body TEXT NOT NULL, "
        "PRIMARY KEY (name, part, start, gkey))",
        "CREATE INDEX IF NOT EXISTS agg_window_start ON agg_window (name, start)",
        f"CREATE TABLE IF NOT EXISTS agg_outbox (id {_OUTBOX_ID_TYPES[dialect]}, name TEXT NOT NULL, "
        "kind INTEGER NOT NULL, body TEXT NOT NULL)",
    )


# The layouts before (SQLite only), read once per step and then left holding MOVED.
LEGACY_TABLES = ("step_head", "step_part", "step_state")


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


def open_state_store(url: str | None = None) -> "StateStore":
    """The store ``url`` (default ``STATE_URL``) names; errors name ``STATE_URL`` and the rule."""
    target = parse_database_url(url or state_url(), "STATE_URL")
    if getattr(target, "path", None) == ":memory:":
        raise ValueError("STATE_URL: sqlite:///:memory: would give each replica its own state; "
                         "name a file")
    return StateStore(open_state_db(target, application_name="aggregate"))


class StateStore:
    """The aggregate's lanes, settling and outbox in the state database ``db``. Calls of one
    process take turns on its one connection; the tables are created by the first call."""

    def __init__(self, db: StateDb) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._ready = False

    @classmethod
    def sqlite(cls, path: pathlib.Path | str) -> "StateStore":
        return cls(SqliteStateDb(path))

    def close(self) -> None:
        self._db.close()

    def _tables(self) -> None:
        # On first use, not when opened: a database down at start is then a call's 503.
        if not self._ready:
            self._db.create_tables(tables(self._db.dialect))
            self._ready = True

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
        with self._lock:
            self._tables()
            try:
                try:
                    outcome = self._lane(name, lane, run, lane_entry)
                except _HeadIsNew:
                    outcome = self._lane(name, lane, run, lane_entry, first=True)
            except CloseFirst:  # the run was over before this batch: settle, then apply it
                settled += self._settle(name, settle, emission_entry)
                outcome = self._lane(name, lane, run, lane_entry)
            state = outcome.state if isinstance(outcome.state, dict) else {}
            due = state.get("due")
            # A lane that ended its partition settles whatever its view: two lanes ending at
            # once on PostgreSQL (each holding the head shared) each see the other still
            # running, so neither finds the run over; the settling, holding every lane, does.
            ended = any(item["partition"] == lane and item["ended"]
                        for item in state.get("partitions", ()))
            if due == "all" or ended or (
                    due is not None and self._oldest_start_ends_by(name, due, window_ms)):
                settled += self._settle(name, settle, emission_entry)
            self._drain(name, produce)
        return outcome, settled

    def _lane(self, name: str, lane: int, run: Callable[[Any], Any],
              lane_entry: Callable[[Any], Entry], *, first: bool = False) -> Any:
        """``run`` under this lane's lock; ``first``: the head row is new and this lane writes
        it, so it takes it exclusively (two lanes holding it shared could not both write it)."""
        with self._db.transaction() as tx:
            # On PostgreSQL a row inserted by a transaction not yet committed makes a second
            # inserter wait for it: two first calls of one lane then take turns, as later calls
            # do on its lock.
            tx.execute("INSERT INTO agg_head(name, body) VALUES (?, NULL) ON CONFLICT DO NOTHING",
                       (name,))
            tx.execute("INSERT INTO agg_lane(name, part, body) VALUES (?, ?, ?) "
                       "ON CONFLICT DO NOTHING", (name, lane, _empty_lane(lane)))
            (head,) = tx.fetch("SELECT body FROM agg_head WHERE name = ?", (name,),
                               lock="update" if first else "share")
            tx.fetch("SELECT part FROM agg_lane WHERE name = ? AND part = ?", (name, lane),
                     lock="update")
            if head[0] is None and not first:
                raise _HeadIsNew()
            stored = None
            if head[0] is None:  # no state yet in this layout: a state of the layout before?
                loaded = self._legacy(tx, name)
            else:
                stored = _Stored(tx, name, lane)
                loaded = {**_progress(tx, name, head[0]), "windows": stored}
            outcome = run(loaded)
            new = outcome.state
            if new is loaded or new is None:  # a duplicate: nothing changed
                return outcome
            legacy = stored is None
            _write(tx, name, None if legacy else {**loaded, "windows": stored.read},
                   new, lanes=None if legacy else {lane}, gkeys=None if legacy else stored.gkeys)
            if legacy:
                self._retire_legacy(tx, name)
            entry = lane_entry(outcome)
            if entry.records or entry.end_partitions:
                _queue(tx, name, _LANE, entry)
        return outcome

    def _oldest_start_ends_by(self, name: str, watermark: int,
                              window_ms: Callable[[], int]) -> bool:
        ((oldest,),) = self._db.query("SELECT min(start) FROM agg_window WHERE name = ?", (name,))
        return oldest is not None and oldest + window_ms() <= watermark

    def _settle(self, name: str, settle: Callable[[Any], tuple[list[Any], Any]],
                emission_entry: Callable[[list[Any], int], Entry]) -> list[Any]:
        with self._db.transaction() as tx:
            head = _first(tx.fetch("SELECT body, emissions FROM agg_head WHERE name = ?", (name,),
                                   lock="update"))
            if head is None or head[0] is None:
                return []
            tx.fetch("SELECT part FROM agg_lane WHERE name = ? ORDER BY part", (name,), lock="update")
            stored = _Stored(tx, name, None)
            loaded = {**_progress(tx, name, head[0]), "windows": stored}
            results, new = settle(loaded)
            number = head[1] + 1 if results else head[1]
            _write(tx, name, {**loaded, "windows": stored.read}, new, lanes=None, emissions=number,
                   gkeys=stored.gkeys)
            if results:
                _queue(tx, name, _EMISSION, emission_entry(results, number))
        return results

    def _drain(self, name: str, produce: Produce) -> None:
        """Produce every entry queued for ``name`` (this call's and any a failed call left),
        deleting each once Kafka acknowledged it.

        On PostgreSQL the entries are claimed (``FOR UPDATE``) for the produce: a replica
        draining at the same time waits, then finds them gone, instead of producing them a
        second time (harmless, the batch ids are the same, but a cost for every consumer); and
        what it queued after them still follows them on the topic. SQLite's one write lock
        would stop every lane for the produce: there two replicas may both produce an entry."""
        with self._db.claim() as tx:
            for number, body in tx.fetch("SELECT id, body FROM agg_outbox WHERE name = ? "
                                         "ORDER BY kind, id", (name,), lock="update"):
                entry = _entry_of(body)
                ends = entry.end_partitions
                produce(list(entry.records), entry.origin, end=bool(ends),
                        end_partitions={topic: tuple(parts) for topic, parts in ends.items()}
                        if ends else None)
                tx.execute("DELETE FROM agg_outbox WHERE id = ?", (number,))

    # -- the layout before -------------------------------------------------------------------
    def _legacy(self, tx: Transaction, name: str) -> Any:
        """The state the layout before kept for ``name`` (a dict of version 2), or None."""
        present = present_tables(tx, self._db.dialect, LEGACY_TABLES)
        if "step_head" in present:
            row = _first(tx.fetch("SELECT head, parts_field FROM step_head WHERE name = ?", (name,)))
            if row is not None:
                state = json.loads(row[0])
                if row[1] is not None and isinstance(state, dict):
                    state[row[1]] = [json.loads(body) for body, in tx.fetch(
                        "SELECT body FROM step_part WHERE name = ?", (name,))]
                return state
        if "step_state" in present:
            row = _first(tx.fetch("SELECT state FROM step_state WHERE name = ?", (name,)))
            if row is not None and row[0] != MOVED:
                return json.loads(row[0])
        return None

    def _retire_legacy(self, tx: Transaction, name: str) -> None:
        """Leave :data:`MOVED` where an older replica would read the state of before."""
        present = present_tables(tx, self._db.dialect, LEGACY_TABLES)
        if "step_head" in present:
            tx.execute("UPDATE step_head SET head = ?, parts_field = NULL WHERE name = ?",
                       (MOVED, name))
            tx.execute("DELETE FROM step_part WHERE name = ?", (name,))
        if "step_state" in present:
            tx.execute("UPDATE step_state SET state = ? WHERE name = ?", (MOVED, name))

    # -- reading -----------------------------------------------------------------------------
    def snapshot(self, name: str) -> dict[str, Any] | None:
        """The whole state of ``name`` (every lane), as :meth:`WindowState.from_dict` reads it;
        None when there is none."""
        with self._lock:
            self._tables()
            with self._db.transaction() as tx:
                head = _first(tx.fetch("SELECT body FROM agg_head WHERE name = ?", (name,)))
                if head is None or head[0] is None:
                    return self._legacy(tx, name)
                return _assemble(tx, name, head[0])

    def pending(self, name: str) -> int:
        """The outbox entries of ``name`` not yet acknowledged by Kafka."""
        with self._lock:
            self._tables()
            return self._db.query("SELECT count(*) FROM agg_outbox WHERE name = ?", (name,))[0][0]


class _HeadIsNew(Exception):
    """The step has no head row content yet: the lane starts again holding it exclusively."""


def _first(rows: list[tuple]) -> tuple | None:
    return rows[0] if rows else None


def _progress(tx: Transaction, name: str, head_text: str) -> dict[str, Any]:
    """The state dict but its windows: the head and every lane's progress."""
    state = json.loads(head_text)
    state["partitions"] = [json.loads(body) for body, in tx.fetch(
        "SELECT body FROM agg_lane WHERE name = ? ORDER BY part", (name,))]
    return state


def _assemble(tx: Transaction, name: str, head_text: str) -> dict[str, Any]:
    """The whole state dict: the head, every lane's progress and partials."""
    rows = tx.fetch("SELECT body FROM agg_window WHERE name = ? ORDER BY start, part, gkey",
                    (name,))
    return {**_progress(tx, name, head_text), "windows": _windows_of([body for body, in rows])}


def _windows_of(bodies: list[str]) -> list[dict[str, Any]]:
    """Stored partials, read as one JSON list (one parse for them all, not one per row). A sum
    of Decimals (numbers a double cannot hold) keeps its digits: json_bytes wrote them,
    parse_json_body reads them back as a Decimal (and every other number as a float)."""
    if not bodies:
        return []
    return parse_json_body(("[" + ",".join(bodies) + "]").encode(), "agg_window.body")


class _Stored:
    """The partials of ``lane`` (None: every lane's) in this transaction, read when the windows
    ask (etlkit/steps/windows.py StoredWindows): a call reads the windows its records go into,
    a settling the windows it closes. ``read``: every partial handed out, as stored, so that
    :func:`_write` writes back only what changed."""

    def __init__(self, tx: Transaction, name: str, lane: int | None) -> None:
        self._tx, self._name, self._lane = tx, name, lane
        self.read: list[dict[str, Any]] = []
        self.gkeys: dict[tuple[int, int, str], str] = {}  # match key -> stored key text
        if lane is None:
            ((self.open,),) = tx.fetch("SELECT count(*) FROM agg_window WHERE name = ?", (name,))
        else:
            ((self.open,),) = tx.fetch("SELECT count(*) FROM agg_window WHERE name = ? AND part = ?",
                                       (name, lane))

    def starting_at(self, start: int) -> list[StoredItem]:
        return self._items(self._tx.fetch(
            "SELECT start, part, gkey, body FROM agg_window WHERE name = ? AND part = ? "
            "AND start = ?", (self._name, self._lane, start)))

    def starting_by(self, last: int | None) -> list[StoredItem]:
        if last is None:
            rows = self._tx.fetch("SELECT start, part, gkey, body FROM agg_window WHERE name = ?",
                                  (self._name,))
        else:
            rows = self._tx.fetch("SELECT start, part, gkey, body FROM agg_window "
                                  "WHERE name = ? AND start <= ?", (self._name, last))
        return self._items(rows)

    def _items(self, rows: list[tuple]) -> list[StoredItem]:
        windows = _windows_of([body for _start, _part, _gkey, body in rows])
        self.read += windows
        items = []
        for (start, part, gkey, _body), window in zip(rows, windows):
            self.gkeys[_match_key(window)] = gkey
            items.append((start, part, window["key"], window["acc"], gkey))
        return items


def _write(tx: Transaction, name: str, old: dict[str, Any] | None, new: dict[str, Any], *,
           lanes: set[int] | None, emissions: int | None = None,
           gkeys: Mapping[tuple[int, int, str], str] | None = None) -> None:
    """Write what changed from ``old`` (None: nothing of it in these tables) to ``new``: the
    head (settling only: a lane never writes it), the lanes' progress, the partials.
    ``lanes``: the lanes this transaction holds (None: all); ``gkeys``: the stored key text of
    the partials read (:class:`_Stored`), so that only a new one's is written out."""
    head = {key: value for key, value in new.items()
            if key not in ("partitions", "windows", "due")}
    if old is None or emissions is not None:
        old_head = None if old is None else {k: v for k, v in old.items()
                                              if k not in ("partitions", "windows", "due")}
        if head != old_head or emissions is not None:
            tx.execute("UPDATE agg_head SET body = ?, emissions = coalesce(?, emissions) "
                       "WHERE name = ?", (_text(head), emissions, name))
    before = {} if old is None else {item["partition"]: item for item in old["partitions"]}
    for item in new["partitions"]:
        key = item["partition"]
        if before.get(key) != item and (lanes is None or key in lanes):
            tx.execute("INSERT INTO agg_lane(name, part, body) VALUES (?, ?, ?) ON CONFLICT "
                       "(name, part) DO UPDATE SET body = excluded.body", (name, key, _text(item)))
    # Matched by a cheap key (repr keeps true, 1 and 1.0 apart, as the stored JSON key does);
    # the stored key text is made only for the windows that changed or went.
    old_windows = {} if old is None else {_match_key(w): w for w in old["windows"]}
    seen, changed, texts = set(), [], {}
    for item in new["windows"]:
        key = _match_key(item)
        seen.add(key)
        if old_windows.get(key) != item:
            changed.append((name, *_window_key(key, item, gkeys, texts), _text(item)))
    if changed:
        tx.execute_many("INSERT INTO agg_window(name, part, start, gkey, body) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (name, part, start, gkey) "
                        "DO UPDATE SET body = excluded.body", changed)
    gone = [(name, *_window_key(key, item, gkeys, texts)) for key, item in old_windows.items()
            if key not in seen]
    if gone:
        tx.execute_many("DELETE FROM agg_window WHERE name = ? AND part = ? AND start = ? "
                        "AND gkey = ?", gone)


def _queue(tx: Transaction, name: str, kind: int, entry: Entry) -> None:
    tx.execute("INSERT INTO agg_outbox(name, kind, body) VALUES (?, ?, ?)",
               (name, kind, _entry_text(entry)))


def _empty_lane(lane: int) -> str:
    """A lane row before its first write (rolled back with it unless the lane wrote)."""
    return _text({"partition": lane, "high": None, "seen_at": None, "first": None,
                  "ended": False, "watermark": None, "applied": []})


def _match_key(item: Mapping[str, Any]) -> tuple[int, int, str]:
    return item.get("partition", 0), item["start"], repr(item["key"])


def _window_key(match: tuple[int, int, str], item: Mapping[str, Any],
                gkeys: Mapping[tuple[int, int, str], str] | None,
                texts: dict[str, str]) -> tuple[int, int, str]:
    """The stored key of ``item`` (its :func:`_match_key` ``match``): read with it
    (``gkeys``), else written out once per group key in ``texts`` (keyed by the key's repr,
    which keeps true, 1 and 1.0 apart as the JSON text does)."""
    gkey = gkeys.get(match) if gkeys else None
    if gkey is None:
        gkey = texts.get(match[2])
        if gkey is None:
            gkey = texts[match[2]] = json.dumps(item["key"], separators=(",", ":"),
                                                ensure_ascii=False)
    return match[0], match[1], gkey


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
