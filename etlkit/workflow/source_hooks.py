"""The hook through which the parser checks a source's settings with the source library (``etlkit.sources``).

A source's library config (:meth:`~.model._Source.library_params`) is what its function will
parse when it runs; parsing it here too means a typo fails ``create``, not the first tick.
"""
from __future__ import annotations

from types import ModuleType
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

from .step_hooks import optional_module

# Source kind -> the library's config class that parses it (``from_spec``); others have none.
CONFIG_CLASSES = {"file": "FileSourceConfig", "sql": "SqlSourceConfig"}


@runtime_checkable
class SourceValidator(Protocol):
    def source_errors(self, kind: str, params: Mapping[str, Any]) -> Sequence[str]:
        """Problems with one source's library config, each ``"<library field>: <rule>"``."""
        ...


class NoSourceChecks:
    """The stand-in when the source library is absent: the parser's own checks only."""

    def source_errors(self, kind: str, params: Mapping[str, Any]) -> Sequence[str]:
        return []


class SourceLibraryValidator:
    """``FileSourceConfig.from_spec`` / ``SqlSourceConfig.from_spec`` of the library as a validator."""

    def __init__(self, library: ModuleType) -> None:
        self._library = library

    def source_errors(self, kind: str, params: Mapping[str, Any]) -> Sequence[str]:
        config_class = getattr(self._library, CONFIG_CLASSES.get(kind, ""), None)
        if config_class is None:
            return []
        try:
            config_class.from_spec(params)
        except self._library.SourceConfigError as exc:
            return [str(exc)]
        return []


def default_source_validator() -> SourceValidator:
    """The source library's parsers when ``etlkit.sources`` is there, else no extra checks."""
    library = optional_module("..sources")
    if library is not None and hasattr(library, "SourceConfigError"):
        return SourceLibraryValidator(library)
    return NoSourceChecks()
