"""Checks shared by the sources' typed configs: each error names the field and the rule."""
from __future__ import annotations

from collections.abc import Mapping


class SourceConfigError(ValueError):
    """A source configuration that breaks a rule; the message is ``<field>: <rule>``."""


def require_text(spec: Mapping[str, object], name: str) -> str:
    value = spec.get(name)
    if not isinstance(value, str) or not value:
        raise SourceConfigError(f"{name}: required, a non-empty string")
    return value


def optional_text(spec: Mapping[str, object], name: str) -> str | None:
    value = spec.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise SourceConfigError(f"{name}: must be a non-empty string when given")
    return value


def bounded_int(spec: Mapping[str, object], name: str, default: int, low: int, high: int) -> int:
    value = spec.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SourceConfigError(f"{name}: must be an integer from {low} to {high}")
    return value


def reject_unknown(spec: Mapping[str, object], known: frozenset[str], where: str) -> None:
    """Typos must not pass silently: an unknown field is an error naming it."""
    unknown = sorted(set(spec) - known)
    if unknown:
        raise SourceConfigError(f"{unknown[0]}: unknown field of {where} (known: {', '.join(sorted(known))})")
