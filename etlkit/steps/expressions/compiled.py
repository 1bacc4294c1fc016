"""Compiled expressions and conditions: parse once at config time, evaluate per record."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from ..failures import RecordError
from ..values import type_name
from .compiler import Evaluator, compile_tree
from .errors import EvalError
from .nodes import Field, Node
from .parser import children, parse

if TYPE_CHECKING:
    from ..record import Record


@dataclass(frozen=True)
class Expression:
    """An expression compiled from ``text``; :meth:`evaluate` runs it on one record value."""

    text: str
    tree: Node = field(repr=False, compare=False)
    _fn: Evaluator = field(repr=False, compare=False)

    def evaluate(self, value: Mapping[str, Any], record: "Record | None" = None) -> Any:
        """The expression's value for a record value; ``$key``/``$headers``... read ``record``.

        Raises :class:`EvalError` (a per-record failure) when the record's data does not fit.
        """
        try:
            return self._fn(value, record)
        except EvalError:
            raise
        except RecordError as exc:  # from the shared value helpers (too deep to compare...)
            raise EvalError(exc.reason) from None

    @property
    def evaluator(self) -> Evaluator:
        """The compiled closure :meth:`evaluate` calls, for a loop over records that saves a call
        per record: ``evaluator(value, record)``. It fails with a :class:`RecordError` whose
        ``reason`` is the one :meth:`evaluate`'s :class:`EvalError` would carry, though not
        always an EvalError itself."""
        return self._fn

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields the expression reads, sorted, as written (``customer.id``, ``$key``)."""
        found: set[str] = set()
        stack = [self.tree]
        while stack:
            node = stack.pop()
            if isinstance(node, Field):
                found.add(node.dotted())
            stack.extend(children(node))
        return tuple(sorted(found))


@dataclass(frozen=True)
class Condition(Expression):
    """An expression whose value must be ``true`` or ``false``."""

    def test(self, value: Mapping[str, Any], record: "Record | None" = None) -> bool:
        """Whether the record passes; :class:`EvalError` if it cannot be decided."""
        result = self.evaluate(value, record)
        if result is True or result is False:
            return result
        raise EvalError(f"condition {self.text!r} gave {type_name(result)}, expected true or false")


def compile_expression(text: str) -> Expression:
    """Parse and compile ``text``; :class:`ParseError` names the position of a mistake."""
    tree = parse(text)
    return Expression(text, tree, compile_tree(tree, text))


def compile_condition(text: str) -> Condition:
    """Like :func:`compile_expression`, for a condition (the result must be a bool)."""
    tree = parse(text)
    return Condition(text, tree, compile_tree(tree, text))
