"""Step state kept between invocations (the aggregate's open windows), shared by all replicas.

A read-modify-write holds the database's write lock for its whole length (``BEGIN IMMEDIATE``),
so two replicas never interleave, and the state is saved only after the step's outputs were
acknowledged: a failed invocation leaves the previous state, and its retry starts from it.

Layout, in a small SQLite database:

* ``step_head``: one row per (workflow, step): the state's JSON (without its parts, see below)
  and ``write_id``, a random number drawn at every write. A replica that finds the ``write_id``
  it wrote or read last knows no other replica wrote since; a random id rather than a counter,
  so a state deleted and written anew never repeats an id that some replica remembers.
* ``step_part``: a state that says how it splits (:class:`PartedState`, the aggregate's: one
  part per open window) keeps the items of one list a row each, and a save writes only the
  items that changed since the state it followed and deletes the ones it dropped, in the same
  transaction as the head. Any other JSON value is kept whole in its head row.
* ``step_state``: the one-row-per-step layout of before. Such a row is migrated, not refused:
  the first read hands it to the step as it is (the aggregate reads that dict as it always
  did), and the first save moves it to the layout above. Every step this module wrote leaves
  :data:`MOVED` there, a JSON text that an older replica still running beside this one refuses
  (the aggregate answers 400 ``state: must be an object``) instead of starting again from no
  windows.

I/O module (sqlite3). STATE_URL is ``sqlite:///path``; it defaults to the run folder locally.
"""
from __future__ import annotations

import contextlib
import json
import os
import pathlib
import secrets
import sqlite3
import threading
from typing import Any, Iterable, Iterator, Protocol, Sequence, runtime_checkable

from .outrecord import json_bytes
from .paths import run_dir

MOVED = json.dumps("moved: this state is kept in tables step_head and step_part by a newer "
                   "etlkit (etlkit/state_store.py)")


def default_state_path() -> pathlib.Path:
    url = os.getenv("STATE_URL", "")
    if url.startswith("sqlite:///"):
        return pathlib.Path(url[len("sqlite:///"):])
    if url:
        raise ValueError("STATE_URL: only sqlite:///<path> is supported")
    return pathlib.Path(run_dir()) / "step-state.db"


@runtime_checkable
class PartedState(Protocol):
    """A dict state whose list ``state[parts_field]`` is kept one item per row.

    ``parts()`` names every item of that list with an id unique within the state.
    ``changes(base)`` is ``(written, removed)``: the items (id, item) added or changed and the
    ids dropped since ``base``, the state this one followed (removals apply first, so an id may
    be in both); or None when this state does not follow ``base``, and everything is written.
    """

    parts_field: str

    def parts(self) -> Iterable[tuple[str, Any]]: ...

    def changes(self, base: Any) -> tuple[Sequence[tuple[str, Any]], Sequence[str]] | None: ...


class StateStore:
    """Per-name JSON state in SQLite, read and replaced under the database's write lock.

    One connection, kept open: closing the last connection to a WAL database checkpoints and
    removes the log, a cost per call that only a short-lived process should pay, and one
    connection per thread would hold a page cache per thread. Calls of this process take turns
    on it (they would queue on the database's write lock anyway).
    The state last read or written under each name is kept with its ``write_id``: while the
    head row still holds that id (no other replica wrote), the same object is handed back
    without reading or parsing, which lets the aggregate step carry on with its window state
    (see WindowState.resume) and save only what a batch changed. So a caller must not change
    the state it is given; it saves a new one.
    """

    def __init__(self, path: pathlib.Path | None = None):
        self.path = pathlib.Path(path or default_state_path())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._known: dict[str, tuple[int, Any]] = {}  # name -> (write_id, its state)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # A few hundred small rows: a 256 KiB page cache holds them (the default is 2 MiB).
        self._db.execute("PRAGMA cache_size=-256")
        # parts_field: the key whose list is in step_part, NULL for a state kept whole.
        self._db.execute("CREATE TABLE IF NOT EXISTS step_head (name TEXT PRIMARY KEY, "
                         "write_id INTEGER NOT NULL, head TEXT NOT NULL, parts_field TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS step_part (name TEXT NOT NULL, "
                         "part TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (name, part)) "
                         "WITHOUT ROWID")
        self._db.execute("CREATE TABLE IF NOT EXISTS step_state (name TEXT PRIMARY KEY, "
                         "state TEXT NOT NULL)")

    @contextlib.contextmanager
    def locked(self, name: str) -> Iterator[tuple[Any, Any]]:
        """Yield (state, save): the current state (None at first) and a function to replace it.
        The new state is committed when the block ends without an exception."""
        with self._lock:
            yield from self._read_modify_write(name)

    def _read_modify_write(self, name: str) -> Iterator[tuple[Any, Any]]:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT write_id, head, parts_field FROM step_head WHERE name = ?",
                             (name,)).fetchone()
            known = self._known.get(name)
            if row is None:
                state = self._legacy(name)
            elif known is not None and known[0] == row[0]:
                state = known[1]
            else:
                state = self._read(name, row[1], row[2])
            pending: list[Any] = []
            yield state, pending.append
            if pending:
                # The parts on disk are those of the state handed out only if it was parted;
                # otherwise (no row yet, a whole or migrated state) the new one is written whole.
                on_disk = state if row is not None and row[2] is not None else _NOTHING
                state = pending[-1]
                self._known[name] = (self._write(name, state, on_disk, first=row is None), state)
            elif row is not None:
                self._known[name] = (row[0], state)
            db.execute("COMMIT")
        except BaseException:
            self._known.pop(name, None)
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _legacy(self, name: str) -> Any:
        row = self._db.execute("SELECT state FROM step_state WHERE name = ?", (name,)).fetchone()
        return None if row is None or row[0] == MOVED else json.loads(row[0])

    def _read(self, name: str, head: str, parts_field: str | None) -> Any:
        state = json.loads(head)
        if parts_field is not None:  # in the parts' id order, which need not be the list's
            state[parts_field] = [json.loads(body) for body, in self._db.execute(
                "SELECT body FROM step_part WHERE name = ?", (name,))]
        return state

    def _write(self, name: str, state: Any, on_disk: Any, *, first: bool) -> int:
        """Write ``state`` over the rows of ``on_disk`` (the state they hold, or _NOTHING when
        they hold no parts of it); return the new write_id."""
        db = self._db
        if isinstance(state, PartedState):
            parts_field = state.parts_field
            changes = None if on_disk is _NOTHING else state.changes(on_disk)
            if changes is None:
                db.execute("DELETE FROM step_part WHERE name = ?", (name,))
                written, removed = state.parts(), ()
            else:
                written, removed = changes
            db.executemany("DELETE FROM step_part WHERE name = ? AND part = ?",
                           [(name, part) for part in removed])
            # REPLACE: a row a part (no trigger, no foreign key), a fifth cheaper than an upsert.
            db.executemany("INSERT OR REPLACE INTO step_part(name, part, body) VALUES (?, ?, ?)",
                           [(name, part, _text(item)) for part, item in written])
            head = {key: value for key, value in state.items() if key != parts_field}
        else:
            parts_field, head = None, state
            db.execute("DELETE FROM step_part WHERE name = ?", (name,))
        write_id = secrets.randbits(63)
        db.execute("INSERT OR REPLACE INTO step_head(name, write_id, head, parts_field) "
                   "VALUES (?, ?, ?, ?)", (name, write_id, _text(head), parts_field))
        if first:
            db.execute("INSERT OR REPLACE INTO step_state(name, state) VALUES (?, ?)", (name, MOVED))
        return write_id


_NOTHING: Any = object()  # marks rows that hold no parts of the state handed out


def _text(value: Any) -> str:
    return json_bytes(value).decode()
