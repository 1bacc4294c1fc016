"""What the controller remembers between ticks, as plain JSON-able data.

The controller persists it (``to_dict``) after each tick and reads it back (``from_dict``)
before the next, so decisions survive a restart: the forecast window of each source, the
services the scheduler added to each operation (the only ones it may remove, newest first),
and the recommendations inside the scale-in window.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import StateError

__all__ = ["AddedService", "OperationState", "SourceState", "ControllerState"]

STATE_VERSION = 1


@dataclass(frozen=True)
class AddedService:
    """A service the scheduler added, where it placed it, and when."""

    service_id: str
    node: str
    added_at: float


@dataclass(frozen=True)
class OperationState:
    """Per operation: added services (oldest first), id counter, scale-in window, velocity."""

    added: tuple[AddedService, ...] = ()
    next_index: int = 0
    recommendations: tuple[tuple[float, int], ...] = ()  # (time, count), oldest first
    velocity: float | None = None  # last measured mean velocity per service


@dataclass(frozen=True)
class SourceState:
    """Per source: the forecast window (oldest first) and since when it has been idle."""

    history: tuple[float, ...] = ()
    idle_since: float | None = None


@dataclass(frozen=True)
class ControllerState:
    """All memory of the scheduler; empty for the first tick."""

    sources: Mapping[str, SourceState] = field(default_factory=dict)
    operations: Mapping[str, OperationState] = field(default_factory=dict)

    def source(self, name: str) -> SourceState:
        return self.sources.get(name, SourceState())

    def operation(self, name: str) -> OperationState:
        return self.operations.get(name, OperationState())

    def to_dict(self) -> dict[str, Any]:
        """Plain data (sorted keys) for ``json.dumps``."""
        return {
            "version": STATE_VERSION,
            "sources": {
                name: {"history": list(s.history), "idle_since": s.idle_since}
                for name, s in sorted(self.sources.items())
            },
            "operations": {
                name: {
                    "added": [[a.service_id, a.node, a.added_at] for a in o.added],
                    "next_index": o.next_index,
                    "recommendations": [[t, c] for t, c in o.recommendations],
                    "velocity": o.velocity,
                }
                for name, o in sorted(self.operations.items())
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ControllerState:
        """Read back :meth:`to_dict` output.

        Raises
        ------
        StateError
            Naming the first field that is missing or of the wrong kind.
        """
        if not isinstance(data, Mapping):
            raise StateError("state", "must be a JSON object")
        if data.get("version") != STATE_VERSION:
            raise StateError("state.version", f"must be {STATE_VERSION}", data.get("version"))
        where = "state"
        try:
            sources = {}
            for name, s in data.get("sources", {}).items():
                where = f"state.sources[{name}]"
                sources[str(name)] = SourceState(
                    tuple(_finite(v, f"{where}.history") for v in s["history"]),
                    _optional_float(s.get("idle_since")))
            operations = {}
            for name, o in data.get("operations", {}).items():
                where = f"state.operations[{name}]"
                operations[str(name)] = OperationState(
                    tuple(AddedService(str(i), str(n), float(t)) for i, n, t in o["added"]),
                    int(o["next_index"]),
                    tuple((float(t), int(c)) for t, c in o["recommendations"]),
                    _optional_float(o.get("velocity")))
        except StateError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StateError(where, f"is malformed ({exc!r})") from exc
        return cls(sources, operations)


def _finite(value: Any, field_name: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise StateError(field_name, "must hold finite numbers", value)
    return number


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)
