"""Named errors of the controller: bad configuration, and edges that could not be reached.

A :class:`ConfigError` names the field and the rule, like the scheduler's input errors; an
:class:`EdgeError` names the edge (``kafka``, ``gateway``, ``kubernetes``, ``state``) and what
failed there, so a tick that stops early says exactly why.
"""
from __future__ import annotations

__all__ = ["ConfigError", "EdgeError", "ApplyError", "FunctionMissing"]


class ConfigError(ValueError):
    """The envelope or the environment breaks a rule; ``field`` is the path of the culprit."""

    def __init__(self, field: str, rule: str) -> None:
        self.field, self.rule = field, rule
        super().__init__(f"{field}: {rule}")


class EdgeError(RuntimeError):
    """An edge (Kafka, the gateway, the Kubernetes API, the state store) did not answer."""

    def __init__(self, edge: str, detail: str) -> None:
        self.edge, self.detail = edge, detail
        super().__init__(f"{edge}: {detail}")


class ApplyError(EdgeError):
    """An action of the plan failed on the platform; nothing after it was applied."""


class FunctionMissing(EdgeError):
    """The platform answered, but runs no function of that name (it is held, not fatal)."""
