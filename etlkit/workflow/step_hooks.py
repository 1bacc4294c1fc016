"""The narrow hook through which the workflow layer uses the step library (``etlkit.steps``).

:class:`StepValidator` checks one step's kind, condition and params. A registry module
``etlkit.steps.registry`` with ``step_kinds()``/``step_errors()`` satisfies it as is; the step
library as it stands (``STEP_KINDS``, ``parse_step``, ``ConfigError``) is adapted by
:class:`StepLibraryValidator`; without either, :class:`StructuralStepValidator` checks kind
names and the fields every step of a kind needs. :func:`default_step_validator` finds it; only a
missing module falls back, an import that fails inside the step library is an error worth seeing.

There is no filter pushdown into Sensor data filters: a Kafka message is a record batch
(docs/contracts.md, "Records on Kafka"), so a filter path ``body.<field>`` names no record field
and every condition runs in the filter function.
"""
from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Any, Collection, Mapping, Protocol, Sequence, runtime_checkable

BUILTIN_STEP_KINDS: tuple[str, ...] = ("aggregate", "enrich", "filter", "map")


@runtime_checkable
class StepValidator(Protocol):
    """What the parser asks of the step library."""

    def step_kinds(self) -> Collection[str]:
        """Every step kind there is a function for."""
        ...

    def step_errors(self, kind: str, condition: str | None, params: Mapping[str, Any]) -> Sequence[str]:
        """Problems with one step of a known ``kind``, each ``"<path in the step>: <rule>"``.

        Paths are relative to the step (``condition``, ``params.window``); the parser prefixes
        ``steps[i].``. An empty sequence means the step is valid.
        """
        ...


class StructuralStepValidator:
    """The stand-in until ``etlkit.steps.registry`` exists: kinds and required fields, no semantics."""

    def step_kinds(self) -> Collection[str]:
        return BUILTIN_STEP_KINDS

    def step_errors(self, kind: str, condition: str | None, params: Mapping[str, Any]) -> Sequence[str]:
        problems: list[str] = []
        if kind == "filter":
            if condition is None:
                problems.append("condition: required for a filter step")
            else:
                problem = condition_shape_problem(condition)
                if problem:
                    problems.append(f"condition: {problem}")
        elif condition is not None:
            problems.append(f"condition: only filter steps take a condition (this is a {kind} step)")
        if kind != "filter" and not params:
            problems.append(f"params: a {kind} step needs params saying what to do")
        return problems


def condition_shape_problem(text: str) -> str | None:
    """The first shape problem of a condition (blank, unclosed quote or bracket), or ``None``.

    Only what any expression language rejects; the step library's parser checks the grammar.
    """
    if not text.strip():
        return "must not be blank"
    closing = {"(": ")", "[": "]"}
    stack: list[tuple[str, int]] = []
    quote: tuple[str, int] | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if quote is not None:
            if ch == "\\":
                i += 1
            elif ch == quote[0]:
                quote = None
        elif ch in "'\"":
            quote = (ch, i)
        elif ch in closing:
            stack.append((ch, i))
        elif ch in ")]":
            if not stack or closing[stack[-1][0]] != ch:
                return f"unexpected {ch!r} at position {i}"
            stack.pop()
        i += 1
    if quote is not None:
        return f"unclosed {quote[0]} quote opened at position {quote[1]}"
    if stack:
        return f"unclosed {stack[-1][0]!r} opened at position {stack[-1][1]}"
    return None


def optional_module(relative: str) -> ModuleType | None:
    """Import ``relative`` (to this package) or ``None`` when that module or its parent is absent."""
    full = importlib.util.resolve_name(relative, __package__)
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (full == exc.name or full.startswith(exc.name + ".")):
            return None
        raise


class StepLibraryValidator:
    """The step library's own parser (``parse_step(kind, params, condition, where)``) as a validator.

    The library raises :class:`ConfigError` at its first problem, with a path relative to
    ``where``; given ``where=""`` that is already the step-relative path the parser expects.
    """

    def __init__(self, library: ModuleType) -> None:
        self._library = library

    def step_kinds(self) -> Collection[str]:
        return tuple(self._library.STEP_KINDS)

    def step_errors(self, kind: str, condition: str | None, params: Mapping[str, Any]) -> Sequence[str]:
        try:
            self._library.parse_step(kind, params, condition, "")
        except self._library.ConfigError as exc:
            return [str(exc)]
        return []


def default_step_validator() -> StepValidator:
    """The step library's rules when it is there, else the structural stand-in."""
    registry = optional_module("..steps.registry")
    if registry is not None and isinstance(registry, StepValidator):
        return registry
    library = optional_module("..steps")
    if library is not None and all(hasattr(library, a) for a in ("STEP_KINDS", "parse_step", "ConfigError")):
        return StepLibraryValidator(library)
    return StructuralStepValidator()
