"""A YAML value with where it came from, so every manifest error names file, path and rule."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping

RENDERER = "etlkit/workflow/render.py"


def unsupported(emitted: str) -> str:
    """The rule of a refused construct: the local runner does what the renderer emits, no more."""
    return f"not supported by the local runner (only what {RENDERER} emits: {emitted})"


class ManifestError(ValueError):
    """A manifest the runner cannot run as Argo would: ``<file>: <path>: <rule>``."""

    def __init__(self, file: str, path: str, rule: str):
        super().__init__(f"{file}: {path}: {rule}" if path else f"{file}: {rule}")
        self.file, self.path, self.rule = file, path, rule


@dataclass(frozen=True)
class Node:
    file: str
    path: str
    value: Any

    def error(self, rule: str) -> ManifestError:
        return ManifestError(self.file, self.path, rule)

    @property
    def present(self) -> bool:
        return self.value is not None

    def child(self, key: str | int) -> "Node":
        if isinstance(key, int):
            path = f"{self.path}[{key}]"
            value = self.value[key] if isinstance(self.value, list) and key < len(self.value) else None
        else:
            path = f"{self.path}.{key}" if self.path else key
            value = self.value.get(key) if isinstance(self.value, Mapping) else None
        return Node(self.file, path, value)

    def mapping(self, allowed: Iterable[str], *, ignored: Iterable[str] = (),
                refused: Mapping[str, str] | None = None, required: bool = False) -> "Node":
        """Check the keys: ``allowed`` are read, ``ignored`` are cluster-only settings, ``refused``
        name a feature the runner does not implement (with why), anything else is a typo."""
        if self.value is None:
            if required:
                raise self.error("is required")
            return self
        if not isinstance(self.value, Mapping):
            raise self.error("must be a mapping")
        allowed, ignored, refused = set(allowed), set(ignored), dict(refused or {})
        for key in self.value:
            if key in refused and self.value[key] not in (None, [], {}, ""):
                raise self.child(str(key)).error(refused[key])
            if key not in allowed and key not in ignored and key not in refused:
                raise self.child(str(key)).error(
                    f"unknown field (expected one of {', '.join(sorted(allowed | ignored))})")
        return self

    def items(self, *, required: bool = False) -> Iterator["Node"]:
        if self.value is None:
            if required:
                raise self.error("is required")
            return
        if not isinstance(self.value, list):
            raise self.error("must be a list")
        for i in range(len(self.value)):
            yield self.child(i)

    def string(self, *, required: bool = False, default: str = "") -> str:
        if self.value is None:
            if required:
                raise self.error("is required")
            return default
        if not isinstance(self.value, str):
            raise self.error("must be a string")
        if required and not self.value.strip():
            raise self.error("must not be empty")
        return self.value

    def boolean(self, default: bool = False) -> bool:
        if self.value is None:
            return default
        if not isinstance(self.value, bool):
            raise self.error("must be true or false")
        return self.value

    def integer(self, *, default: int = 0, minimum: int | None = None) -> int:
        if self.value is None:
            return default
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self.error("must be an integer")
        if minimum is not None and self.value < minimum:
            raise self.error(f"must be at least {minimum}")
        return self.value

    def string_map(self) -> tuple[tuple[str, str], ...]:
        if self.value is None:
            return ()
        if not isinstance(self.value, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in self.value.items()):
            raise self.error("must map text to text (quote numbers)")
        return tuple(sorted(self.value.items()))

    def parsed(self, parse, *args) -> Any:
        """``parse(value, *args)``, a ``ValueError`` becoming this node's error."""
        try:
            return parse(self.value, *args)
        except ValueError as exc:
            raise self.error(str(exc)) from exc
