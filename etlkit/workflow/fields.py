"""Typed reads of one YAML mapping that record each problem and carry on, so every error is found.

Each getter returns the value, or ``None`` after appending a :class:`FieldError` that names the
field path and the rule. The parser builds objects only when no error was recorded, so a ``None``
never reaches a dataclass.
"""
from __future__ import annotations

import re
from typing import Any, Collection, Iterator, Mapping

from ..durations import parse_duration_ms
from .errors import FieldError
from .yaml_doc import ROOT, child_path


def describe(value: Any) -> str:
    """How an error shows a wrong value: ``string 'six'``, ``integer 5``, ``a list``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"string {shown!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


class Fields:
    """One mapping of the document at ``path``; keys outside ``known`` are errors (typos never pass).

    ``known=None`` accepts any key: a mapping keyed by names, such as ``topics``. ``removed`` maps
    a field that no longer exists to the rule its error gives (why, and what to do instead).
    """

    def __init__(
        self,
        value: Any,
        path: str,
        errors: list[FieldError],
        known: Collection[str] | None,
        removed: Mapping[str, str] | None = None,
    ) -> None:
        self.path = path
        self.errors = errors
        self.data: dict[str, Any] = {}
        if value is None:
            return  # an absent or empty section: every field takes its default or is "required"
        if not isinstance(value, dict):
            self.fail(path, f"expected a mapping, got {describe(value)}")
            return
        self.data = value
        for key in value if known is not None else ():
            if removed and key in removed:
                self.fail(self.at(key), removed[key])
            elif key not in known:
                self.fail(self.at(key), f"unknown field (expected one of {', '.join(sorted(known))})")

    def at(self, key: str) -> str:
        """The path of ``key`` in this mapping."""
        return child_path(self.path, key)

    def fail(self, path: str, rule: str) -> None:
        """Record one problem; always returns ``None`` so a getter can ``return self.fail(...)``."""
        self.errors.append(FieldError(path or ROOT, rule))

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def raw(self, key: str) -> Any:
        return self.data.get(key)

    def _missing(self, key: str, required: bool, default: Any) -> Any:
        if required:
            self.fail(self.at(key), "required")
        return default

    def string(
        self,
        key: str,
        *,
        required: bool = True,
        default: str | None = None,
        pattern: re.Pattern[str] | None = None,
        rule: str = "",
        max_len: int | None = None,
    ) -> str | None:
        """A string; with ``pattern`` it must match (``rule`` says how), blank strings never pass."""
        value = self.data.get(key)
        if value is None:
            return self._missing(key, required, default)
        if not isinstance(value, str):
            return self.fail(self.at(key), f"expected a string, got {describe(value)}")
        if not value.strip():
            return self.fail(self.at(key), "must not be blank")
        if max_len is not None and len(value) > max_len:
            return self.fail(self.at(key), f"at most {max_len} characters, got {len(value)}")
        if pattern is not None and not pattern.match(value):
            return self.fail(self.at(key), f"{value!r} {rule}")
        return value

    def integer(self, key: str, *, default: int | None = None, minimum: int, maximum: int | None = None) -> int | None:
        """A whole number within ``[minimum, maximum]``; ``default`` when absent (required if ``None``)."""
        value = self.data.get(key)
        if value is None:
            return self._missing(key, default is None, default)
        if isinstance(value, bool) or not isinstance(value, int):
            return self.fail(self.at(key), f"expected an integer, got {describe(value)}")
        return self._in_range(key, value, minimum, maximum)

    def number(self, key: str, *, default: float, minimum: float, maximum: float | None = None) -> float | None:
        """A number (integer or decimal) within ``[minimum, maximum]``."""
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return self.fail(self.at(key), f"expected a number, got {describe(value)}")
        checked = self._in_range(key, value, minimum, maximum)
        return None if checked is None else float(checked)

    def duration_ms(self, key: str, *, default: int | None = None, minimum_ms: int = 1) -> int | None:
        """A duration such as ``30s`` in milliseconds (see :mod:`.durations`)."""
        value = self.data.get(key)
        if value is None:
            return self._missing(key, default is None, default)
        try:
            ms = parse_duration_ms(value)
        except ValueError as exc:
            return self.fail(self.at(key), f"{exc}, got {describe(value)}")
        if ms < minimum_ms:
            return self.fail(self.at(key), f"must be at least {minimum_ms} ms, got {value}")
        return ms

    def section(
        self, key: str, known: Collection[str] | None, *, required: bool = False, removed: Mapping[str, str] | None = None
    ) -> "Fields":
        """The mapping under ``key`` (empty when absent, so its fields fall back to defaults)."""
        if required and key not in self.data:
            self.fail(self.at(key), "required")
        return Fields(self.data.get(key), self.at(key), self.errors, known, removed)

    def items(self, key: str, *, required: bool = True) -> Iterator[tuple[str, Any]]:
        """``(path, item)`` for each element of the list under ``key``."""
        value = self.data.get(key)
        if value is None:
            self._missing(key, required, None)
            return
        if not isinstance(value, list):
            self.fail(self.at(key), f"expected a list, got {describe(value)}")
            return
        if required and not value:
            self.fail(self.at(key), "must have at least one entry")
        for i, item in enumerate(value):
            yield child_path(self.at(key), i), item

    def _in_range(self, key: str, value: Any, minimum: Any, maximum: Any) -> Any:
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
            return self.fail(self.at(key), f"must be {bound}, got {value}")
        return value
