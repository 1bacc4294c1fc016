"""Errors of a workflow definition: each names the field path and the rule it broke."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class FieldError:
    """One problem: ``path`` is where (``steps[1].kind``), ``rule`` what is wrong there."""

    path: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}: {self.rule}"


class WorkflowInvalid(ValueError):
    """A definition broke one or more rules; ``errors`` holds every one, in document order."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors)
        super().__init__("\n".join(str(e) for e in self.errors))
