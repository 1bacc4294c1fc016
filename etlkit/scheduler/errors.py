"""Named exceptions of the scheduler core.

Every error names the culprit (a field path such as ``policy.safety`` or ``costs[2, 3]``) and
the rule it broke, so a bad config or a bad solver instance is fixed from the message alone.
"""
from __future__ import annotations

from typing import Any

__all__ = [
    "SchedulerError",
    "SchedulerInputError",
    "PolicyError",
    "ObservationError",
    "StateError",
    "MatchingInputError",
    "require",
]

_NO_VALUE = object()


class SchedulerError(ValueError):
    """Base class of every error raised by :mod:`etlkit.scheduler`."""


class SchedulerInputError(SchedulerError):
    """An input broke a rule.

    Parameters
    ----------
    field : str
        Path of the culprit, e.g. ``"policy.window"`` or ``"supplies[3]"``.
    rule : str
        The rule in words, e.g. ``"must be >= 3"``.
    value : Any, optional
        The offending value, shown in the message when given.
    """

    def __init__(self, field: str, rule: str, value: Any = _NO_VALUE) -> None:
        self.field = field
        self.rule = rule
        self.value = None if value is _NO_VALUE else value
        got = "" if value is _NO_VALUE else f" (got {value!r})"
        super().__init__(f"{field}: {rule}{got}")


class PolicyError(SchedulerInputError):
    """A :class:`~etlkit.scheduler.model.Policy` field is invalid."""


class ObservationError(SchedulerInputError):
    """An observation (nodes, services, sources) is invalid or inconsistent."""


class StateError(SchedulerInputError):
    """A persisted controller state cannot be read back."""


class MatchingInputError(SchedulerInputError):
    """A transport instance (supplies, demands, costs, forbidden pairs, caps) is invalid."""


def require(ok: bool, error: type[SchedulerInputError], field: str, rule: str,
            value: Any = _NO_VALUE) -> None:
    """Raise ``error(field, rule, value)`` unless ``ok``: keeps validation phases one line each."""
    if not ok:
        raise error(field, rule, value)
