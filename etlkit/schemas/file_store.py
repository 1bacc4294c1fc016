"""A :class:`~.store.SchemaStore` in one JSON file, safe for several processes on one host.

The file is ``{"format": 1, "subjects": {"<subject>": [<schema v1>, <schema v2>, ...]}}``. An
append holds an exclusive ``flock`` on a sibling ``.lock`` file for its read-check-write, and
writes a temporary file in the same folder that replaces the old one by ``os.replace`` after an
fsync: a reader sees the old file or the new one, never half of one, even across a crash.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

from ..http import exact_number
from ..outrecord import compact_json_text
from .store import Schema, check_next_version

FORMAT = 1


class StoreCorrupt(Exception):
    """The store file is not what this module writes; the message names the problem."""


class JsonFileSchemaStore:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock_path = self.path.with_name(self.path.name + ".lock")

    def load(self) -> dict[str, list[Schema]]:
        """Every subject's versions; an absent file is an empty store."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text, parse_float=exact_number)  # a schema's long decimal kept exact
        except ValueError as exc:
            raise StoreCorrupt(f"{self.path}: not JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise StoreCorrupt(f"{self.path}: format: must be {FORMAT}")
        subjects = data.get("subjects")
        if not isinstance(subjects, dict) or not all(
                isinstance(v, list) and all(isinstance(s, (dict, bool)) for s in v)
                for v in subjects.values()):
            raise StoreCorrupt(f"{self.path}: subjects: must map names to lists of schemas")
        return subjects

    def append(self, subject: str, version: int, schema: Schema) -> None:
        """Add ``version`` of ``subject`` (see :class:`~.store.SchemaStore`)."""
        with self._locked():
            subjects = self.load()
            check_next_version(subjects, subject, version)
            subjects.setdefault(subject, []).append(schema)
            self._write({"format": FORMAT, "subjects": subjects})

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write(self, data: Any) -> None:
        folder = self.path.parent
        handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=folder,
                                             prefix=f".{self.path.name}.", suffix=".tmp", delete=False)
        try:
            with handle:
                try:
                    text = json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1)
                except TypeError:  # a Decimal in a schema: the exact writer, compact
                    text = compact_json_text(data, sort_keys=True, ensure_ascii=False)
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(handle.name, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(handle.name)
            raise
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)  # make the rename itself durable
        finally:
            os.close(directory)
