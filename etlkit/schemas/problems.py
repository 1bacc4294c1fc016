"""The one shape of every schema problem: the field it is about and the rule it breaks."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class FieldProblem:
    """``path`` of the field (``customer.items[2].sku``; empty for the whole record) and
    ``rule``, what is wrong there. Sorting orders problems by path."""

    path: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path or '(record)'}: {self.rule}"
