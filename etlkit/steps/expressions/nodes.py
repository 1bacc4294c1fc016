"""The syntax tree of the expression language: small frozen nodes, each with its source span.

``start``/``end`` are character offsets into the expression text, so an evaluation error can
quote the exact sub-expression that failed (``'amount > 5': cannot compare string with number``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

# Record metadata an expression may read as ``$name``; only ``$headers`` has fields below it.
META_FIELDS = ("key", "topic", "partition", "offset", "timestamp", "headers")
VALUE_ROOT = ""  # the root of a plain field: the record value


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ListLiteral:
    items: tuple["Node", ...]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Field:
    """A field of the record value (``root == ""``) or of its metadata (``root == "headers"``...).

    ``path`` holds object keys (str) and list indexes (int, negative counts from the end).
    """

    root: str
    path: tuple[str | int, ...]
    start: int
    end: int

    def dotted(self) -> str:
        """The field as a reader writes it: ``customer.items[0]`` or ``$headers.etl-source``."""
        text = "" if self.root == VALUE_ROOT else "$" + self.root
        for part in self.path:
            if isinstance(part, int):
                text += f"[{part}]"
            else:
                text = f"{text}.{part}" if text else part
        return text


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-" or "not"
    operand: "Node"
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Arith:
    """A left-to-right chain of one precedence level: ``first (op operand)*``.

    Chains are flat (not nested binary nodes) so ``a + b + c + ...`` stays one level deep.
    """

    first: "Node"
    rest: tuple[tuple[str, "Node"], ...]  # ops: + - at one level, * / % at the other
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Logical:
    """``a and b and c`` or ``a or b or c``, flat for the same reason as :class:`Arith`."""

    op: str  # "and" or "or"
    operands: tuple["Node", ...]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # == != < <= > >=
    left: "Node"
    right: "Node"
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Membership:
    negated: bool  # "not in"
    item: "Node"
    container: "Node"
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class NullCheck:
    negated: bool  # "is not null"
    operand: "Node"
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple["Node", ...]
    start: int
    end: int


Node = Union[Literal, ListLiteral, Field, Unary, Arith, Logical, Compare, Membership, NullCheck, Call]
