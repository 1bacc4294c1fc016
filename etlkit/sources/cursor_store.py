"""Where an incremental source keeps its position: a narrow get/put Protocol and a file store.

A `Cursor` is the (cursor column value, key value) of the last row delivered. Values keep
their type across a restart (ints, text, floats, decimals, dates and date-times are encoded
with a tag, as are UUIDs), because the next query compares them with the column in SQL.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import json
import os
import re
import tempfile
import uuid
from dataclasses import dataclass
from typing import Protocol

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


@dataclass(frozen=True)
class Cursor:
    """Position after the last delivered row: its cursor column value and its key."""

    value: object
    key: object


class CursorStore(Protocol):
    def get(self, name: str) -> Cursor | None:
        """The committed cursor of source ``name``; None before its first commit."""
        ...

    def put(self, name: str, cursor: Cursor) -> None:
        """Commit ``cursor`` for source ``name`` durably (survives a crash once returned)."""
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
    """Source names become file names: letters, digits, ``_ . -``, not starting with a dot."""
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise ValueError(f"source name {name!r}: must match {_NAME.pattern}")
    return name


class FileCursorStore:
    """One small JSON file per source in ``folder``, replaced atomically on every commit.

    Write to a temp file in the same folder, fsync it, rename over the old file, fsync the
    folder: after a crash the file holds either the old or the new cursor, never a torn one.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = os.fspath(folder)
        os.makedirs(self.folder, exist_ok=True)

    def _path(self, name: str) -> str:
        return os.path.join(self.folder, f"{check_source_name(name)}.cursor.json")

    def get(self, name: str) -> Cursor | None:
        try:
            with open(self._path(name), encoding="utf-8") as stored:
                document = json.load(stored)
        except FileNotFoundError:
            return None
        return Cursor(decode_value(document["value"]), decode_value(document["key"]))

    def put(self, name: str, cursor: Cursor) -> None:
        document = json.dumps({"value": encode_value(cursor.value), "key": encode_value(cursor.key)}, sort_keys=True)
        descriptor, temporary = tempfile.mkstemp(dir=self.folder, prefix=".cursor-", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as staged:
                staged.write(document)
                staged.flush()
                os.fsync(staged.fileno())
            os.replace(temporary, self._path(name))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        folder = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
