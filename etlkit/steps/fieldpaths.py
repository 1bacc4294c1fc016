"""Reading and writing dotted field paths in a copy of a record value, never in the original.

:class:`WorkingCopy` copies the top-level object once and any nested object only when it is
about to change (copy-on-write), so a map over wide records stays cheap and the input record
is never touched.
"""
from __future__ import annotations

from typing import Any

from .failures import RecordError
from .values import type_name

Path = tuple[str, ...]
ABSENT: Any = object()  # a default that no JSON value equals


def read_path(value: dict[str, Any], path: Path, default: Any = None) -> Any:
    """The value at ``path`` in ``value``; ``default`` when a key on the way is missing or null.

    Reading *through* a number, string or list is a :class:`RecordError`: the record does not
    have the shape the config expects.
    """
    if len(path) == 1:  # the common case, without the loop
        return value.get(path[0], default)
    current: Any = value
    for depth, key in enumerate(path):
        if current is None:
            return default
        if type(current) is not dict:
            raise RecordError(f"field {'.'.join(path)}: {'.'.join(path[:depth])} is a "
                              f"{type_name(current)}, not an object")
        current = current.get(key, ABSENT)
        if current is ABSENT:
            return default
    return current


class WorkingCopy:
    """A mutable copy of a record value, addressed by dotted paths (tuples of keys)."""

    __slots__ = ("root", "_owned")

    def __init__(self, value: dict[str, Any]) -> None:
        self.root = dict(value)
        self._owned = {id(self.root)}

    def get(self, path: Path, default: Any = None) -> Any:
        """The value at ``path``, or ``default`` when a key on the way is missing or null."""
        if len(path) == 1:  # the common case, without a second call
            return self.root.get(path[0], default)
        return read_path(self.root, path, default)

    def has(self, path: Path) -> bool:
        return self.get(path, ABSENT) is not ABSENT

    def set(self, path: Path, value: Any) -> None:
        """Write ``value`` at ``path``, creating missing (or null) objects on the way."""
        if len(path) == 1:
            self.root[path[0]] = value
        else:
            self._parent(path, create=True)[path[-1]] = value

    def pop(self, path: Path, default: Any = None) -> Any:
        """Remove and return the value at ``path`` (``default`` when absent)."""
        if len(path) == 1:
            return self.root.pop(path[0], default)
        if not self.has(path):
            return default
        return self._parent(path, create=False).pop(path[-1])

    def _parent(self, path: Path, *, create: bool) -> dict[str, Any]:
        current = self.root
        for depth, key in enumerate(path[:-1]):
            child = current.get(key)
            if type(child) is dict:
                if id(child) not in self._owned:
                    child = dict(child)
                    self._owned.add(id(child))
                    current[key] = child
            elif child is None and create:
                child = {}
                self._owned.add(id(child))
                current[key] = child
            else:
                raise RecordError(f"field {'.'.join(path)}: {'.'.join(path[: depth + 1])} is a "
                                  f"{type_name(child)}, not an object")
            current = child
        return current
