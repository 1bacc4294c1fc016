"""Reading a step's plain-dict config into typed values, with errors that name field and rule.

Every step parser reads its params through a :class:`ConfigReader`, so errors look alike
(``steps[2].params.window: expected a duration like '30s' (...), got 60``) and unknown keys (typos) are
refused instead of silently ignored.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, TypeVar

from ..durations import DURATION_RULE, parse_duration_ms
from .expressions import ParseError

T = TypeVar("T")
_MISSING: Any = object()


class ConfigError(ValueError):
    """A config value breaks a rule; ``field`` is its full path, ``rule`` what it must be."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class ConfigReader:
    """Typed reads from one config object located at ``where`` (e.g. ``steps[2].params``)."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(where, f"must be an object, got {type(data).__name__}")
        self.data = data
        self.where = where
        self._read: set[str] = set()

    def at(self, name: str) -> str:
        """The full path of key ``name``."""
        return f"{self.where}.{name}" if self.where else name

    def has(self, name: str) -> bool:
        return name in self.data and self.data[name] is not None

    def raw(self, name: str, default: Any = _MISSING) -> Any:
        """The value as given (``default`` when absent or null), for shapes read by the caller."""
        return self._get(name, default)

    def _get(self, name: str, default: Any) -> Any:
        self._read.add(name)
        value = self.data.get(name)
        if value is None:
            if default is _MISSING:
                raise ConfigError(self.at(name), "is required")
            return default
        return value

    def text(self, name: str, default: Any = _MISSING) -> Any:
        """A non-empty string."""
        value = self._get(name, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(self.at(name), "must be a non-empty string")
        return value

    def string(self, name: str, default: Any = _MISSING) -> Any:
        """Any string, empty included."""
        value = self._get(name, default)
        if not isinstance(value, str):
            raise ConfigError(self.at(name), "must be a string")
        return value

    def choice(self, name: str, options: tuple[str, ...], default: Any = _MISSING) -> Any:
        """One of ``options``."""
        value = self._get(name, default)
        if value not in options:
            raise ConfigError(self.at(name), "must be one of " + ", ".join(options))
        return value

    def integer(self, name: str, minimum: int, default: Any = _MISSING) -> Any:
        """An integer >= ``minimum``."""
        value = self._get(name, default)
        if type(value) is not int or value < minimum:
            raise ConfigError(self.at(name), f"must be an integer >= {minimum}")
        return value

    def duration_ms(self, name: str, *, positive: bool, default: Any = _MISSING) -> Any:
        """A duration with its unit (``250ms``, ``30s``, ``1m``, ``2h``, ``1d``), in milliseconds.

        The rule of every workflow duration (:mod:`etlkit.durations`): a bare number is refused,
        since ``window: 60`` could mean seconds or milliseconds.
        """
        value = self._get(name, default)
        if value is default and default is not _MISSING:
            return value
        try:
            millis = parse_duration_ms(value)
        except ValueError:
            raise ConfigError(self.at(name), f"{DURATION_RULE}, got {value!r}") from None
        if positive and millis == 0:
            raise ConfigError(self.at(name), f"must be more than 0, got {value!r}")
        return millis

    def text_list(self, name: str, default: Any = _MISSING, *, non_empty: bool = True) -> Any:
        """A list of non-empty strings without repeats."""
        value = self._get(name, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, list) or (non_empty and not value):
            raise ConfigError(self.at(name), "must be a non-empty list of strings" if non_empty
                              else "must be a list of strings")
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise ConfigError(f"{self.at(name)}[{i}]", "must be a non-empty string")
            if item in value[:i]:
                raise ConfigError(f"{self.at(name)}[{i}]", f"repeats {item!r}")
        return tuple(value)

    def mapping(self, name: str, default: Any = _MISSING) -> Any:
        """An object (returned as a dict, in its given key order)."""
        value = self._get(name, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(self.at(name), "must be an object")
        return dict(value)

    def child(self, name: str) -> "ConfigReader":
        """A reader over the object at key ``name``."""
        self._read.add(name)
        return ConfigReader(self.data.get(name), self.at(name))

    def compiled(self, name: str, compile_text: Callable[[str], T], where: str | None = None,
                 value: Any = _MISSING) -> T:
        """Compile the expression text at ``name`` (or ``value``); a parse error names its spot."""
        text = self.text(name) if value is _MISSING else value
        location = where or self.at(name)
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(location, "must be a non-empty expression")
        try:
            return compile_text(text)
        except ParseError as exc:
            raise ConfigError(location, f"invalid expression: {exc}") from None

    def finish(self) -> None:
        """Refuse keys nobody read: a typo must not silently mean 'use the default'."""
        unknown = sorted(set(self.data) - self._read, key=str)
        if not unknown:
            return
        if isinstance(unknown[0], bool):  # YAML 1.1 reads on/off/yes/no as booleans
            raise ConfigError(self.at(str(unknown[0])), "a key read as a boolean: YAML turns "
                              "on/off/yes/no into true/false; quote the key or use another name")
        raise ConfigError(self.at(str(unknown[0])), "is not a known setting")


def field_path(text: Any, where: str) -> tuple[str, ...]:
    """A dotted field path (``customer.address.country``) split into its segments."""
    if not isinstance(text, str) or not text:
        raise ConfigError(where, "must be a field name (dotted for nested fields)")
    parts = tuple(text.split("."))
    if any(not part for part in parts):
        raise ConfigError(where, f"{text!r} has an empty segment")
    return parts
