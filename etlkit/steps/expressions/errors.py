"""Errors of the expression language: one for the text, one for a record."""
from __future__ import annotations

from ..failures import RecordError


class ParseError(ValueError):
    """The expression text is not valid; raised once, when a step's config is parsed.

    ``position`` is the 0-based character offset of the problem, ``expected`` what the parser
    wanted there and ``found`` what it saw, so a config error can point at the exact spot.
    """

    def __init__(self, position: int, expected: str, found: str) -> None:
        super().__init__(f"position {position}: expected {expected}, found {found}")
        self.position = position
        self.expected = expected
        self.found = found


class EvalError(RecordError):
    """Evaluating a valid expression on one record failed (a type error, a division by zero).

    It is a per-record failure: the step dead-letters the record with this reason and goes on.
    """
