"""Where an incremental source keeps its position, and who may pull it: the state database.

A `Cursor` is the (cursor column value, key value) of the last row delivered. Values keep
their type across a restart (ints, text, floats, decimals, dates and date-times are encoded
with a tag, as are UUIDs), because the next query compares them with the column in SQL.

Both live in the state database (etlkit/state_db.py, STATE_URL) so every replica sees them:

* ``source_cursors``: a row per source, its cursor as JSON. ``advance`` is a compare-and-set:
  it moves the cursor only from the position the caller read, so two pulls that read the same
  page can never both advance, nor move the cursor backwards.
* ``source_leases``: a row per source, who is pulling it and until when. A calendar trigger
  without ``atLeastOnce`` runs every tick in its own goroutine (argo-events v1.9.11
  pkg/sensors/listener.go), so a tick can start while the previous one still publishes: the
  second finds the lease held and does nothing, instead of publishing the same page again. A
  lease expires (a holder that died frees the source ``ttl_ms`` later) and is renewed at every
  page, so a long tick keeps it while a stalled one loses it.
"""
from __future__ import annotations

import datetime as dt
import decimal
import json
import re
import uuid
from dataclasses import dataclass
from typing import Protocol

from ..state_db import StateDb

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


@dataclass(frozen=True)
class Cursor:
    """Position after the last delivered row: its cursor column value and its key."""

    value: object
    key: object


class CursorMoved(Exception):
    """``advance`` found another position than the one the caller read."""


class CursorStore(Protocol):
    def get(self, name: str) -> Cursor | None:
        """The committed cursor of source ``name``; None before its first commit."""
        ...

    def advance(self, name: str, expected: Cursor | None, cursor: Cursor) -> None:
        """Commit ``cursor`` for source ``name`` durably if the committed one is still
        ``expected`` (None: no commit yet); else :class:`CursorMoved`, nothing written."""
        ...


class SourceLeases(Protocol):
    def acquire(self, name: str, holder: str, now_ms: int, ttl_ms: int) -> bool:
        """Take or renew the lease of source ``name`` for ``holder`` until ``now_ms + ttl_ms``;
        False while another holder's lease has not expired."""
        ...

    def release(self, name: str, holder: str) -> None:
        """Give the lease up, if ``holder`` still has it."""
        ...


def encode_value(value: object) -> object:
    """A cursor value as JSON, tagging the types JSON lacks so they decode to the same type."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, uuid.UUID):
        return {"$uuid": str(value)}
    raise TypeError(f"cursor value of type {type(value).__name__} cannot be stored")


def decode_value(encoded: object) -> object:
    if isinstance(encoded, dict):
        ((tag, text),) = encoded.items()
        decoders = {
            "$datetime": dt.datetime.fromisoformat,
            "$date": dt.date.fromisoformat,
            "$decimal": decimal.Decimal,
            "$uuid": uuid.UUID,
        }
        return decoders[tag](text)
    return encoded


def check_source_name(name: str) -> str:
    """Source names: letters, digits, ``_ . -``, not starting with a dot (they name files elsewhere)."""
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise ValueError(f"source name {name!r}: must match {_NAME.pattern}")
    return name


def encoded_cursor(cursor: Cursor) -> str:
    """The stored text of ``cursor``: deterministic, so equal cursors compare equal as text."""
    return json.dumps({"value": encode_value(cursor.value), "key": encode_value(cursor.key)}, sort_keys=True)


TABLES = (
    "CREATE TABLE IF NOT EXISTS source_cursors (source TEXT PRIMARY KEY, position TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS source_leases (source TEXT PRIMARY KEY, holder TEXT NOT NULL, "
    "expires_ms BIGINT NOT NULL)",
)


class StateDbCursorStore:
    """:class:`CursorStore` and :class:`SourceLeases` in the state database."""

    def __init__(self, db: StateDb) -> None:
        self._db = db
        db.create_tables(TABLES)

    def get(self, name: str) -> Cursor | None:
        rows = self._db.query("SELECT position FROM source_cursors WHERE source = ?", (check_source_name(name),))
        if not rows:
            return None
        document = json.loads(rows[0][0])
        return Cursor(decode_value(document["value"]), decode_value(document["key"]))

    def advance(self, name: str, expected: Cursor | None, cursor: Cursor) -> None:
        position = encoded_cursor(cursor)  # before the transaction: an unstorable value writes nothing
        with self._db.transaction() as tx:
            if expected is None:
                changed = tx.execute("INSERT INTO source_cursors (source, position) VALUES (?, ?) "
                                     "ON CONFLICT (source) DO NOTHING", (check_source_name(name), position))
            else:
                changed = tx.execute("UPDATE source_cursors SET position = ? WHERE source = ? AND position = ?",
                                     (position, check_source_name(name), encoded_cursor(expected)))
        if not changed:
            raise CursorMoved(f"source {name!r}: the committed cursor is no longer {expected}")

    def acquire(self, name: str, holder: str, now_ms: int, ttl_ms: int) -> bool:
        with self._db.transaction() as tx:
            return bool(tx.execute(
                "INSERT INTO source_leases (source, holder, expires_ms) VALUES (?, ?, ?) "
                "ON CONFLICT (source) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms "
                "WHERE source_leases.holder = excluded.holder OR source_leases.expires_ms <= ?",
                (check_source_name(name), holder, now_ms + ttl_ms, now_ms)))

    def release(self, name: str, holder: str) -> None:
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM source_leases WHERE source = ? AND holder = ?", (check_source_name(name), holder))
