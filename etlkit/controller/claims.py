"""Where the workflows' claims on shared functions are kept (the rule is :mod:`.sharing`).

One document per workflow holds all its claims, and only that workflow's tick writes it (under
the workflow's lease): a post replaces the workflow's own document and nothing else, so two
workflows' ticks posting at the same instant cannot lose each other's claim (no read-modify-write
of a shared record, hence no compare-and-set needed).

* :class:`KafkaClaims`: the document under key ``<workflow>#claims`` on the state topic
  (compacted: the latest per key stays). Reading takes the latest document of every such key
  among the last :attr:`KafkaClaims.TAIL` records; a claim further back counts as expired (it
  takes more than ``TAIL`` state writes, about eight per tick, within a claim's life).
* :class:`FileClaims`: ``claims/<workflow>.json`` in the state folder, replaced atomically.
* :class:`LocalClaims`: the same in one process (test doubles, one-process stores).

Stores raise EdgeError("state"); a malformed document is a StateError naming it.
"""
from __future__ import annotations

import os
import pathlib
import threading
from collections.abc import Sequence

from .errors import EdgeError
from .sharing import Claim, dumps_claims, loads_claims
from .state import FileStateStore, KafkaStateStore

__all__ = ["LocalClaims", "FileClaims", "KafkaClaims"]

SUFFIX = "#claims"


class LocalClaims:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._docs: dict[str, bytes] = {}

    def post(self, workflow: str, claims: Sequence[Claim]) -> None:
        with self._lock:
            self._docs[workflow] = dumps_claims(claims)

    def read(self) -> list[Claim]:
        with self._lock:
            docs = dict(self._docs)
        return [c for w, raw in sorted(docs.items()) for c in loads_claims(raw, f"claims[{w}]")]


class FileClaims:
    """One file per workflow under ``<state folder>/claims``."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = pathlib.Path(folder) / "claims"
        self._files = FileStateStore(self.folder)

    def post(self, workflow: str, claims: Sequence[Claim]) -> None:
        self._files.save(workflow, dumps_claims(claims))

    def read(self) -> list[Claim]:
        try:
            paths = sorted(self.folder.glob("*.json"))
            docs = [(p.stem, p.read_bytes()) for p in paths]
        except FileNotFoundError:
            return []  # nothing posted yet (or a file replaced while listing: read next tick)
        except OSError as exc:
            raise EdgeError("state", f"reading {self.folder}: {exc}") from exc
        return [c for name, raw in docs for c in loads_claims(raw, f"{self.folder}/{name}.json")]


class KafkaClaims:
    """Documents on the state topic (see the module docstring)."""

    TAIL = 5000

    def __init__(self, store: KafkaStateStore) -> None:
        self.store = store

    def post(self, workflow: str, claims: Sequence[Claim]) -> None:
        self.store.append(f"{workflow}{SUFFIX}", dumps_claims(claims))

    def read(self) -> list[Claim]:
        docs = self.store.latest(SUFFIX, self.TAIL)
        return [c for key, raw in sorted(docs.items()) for c in loads_claims(raw, f"state[{key}]")]
