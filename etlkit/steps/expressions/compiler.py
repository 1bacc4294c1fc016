"""Compile a syntax tree once into nested closures ``fn(value, record) -> result``.

Evaluation then costs a few Python calls per node and no tree walking. Each closure checks
types the JSON way (see :mod:`..values`) and raises :class:`EvalError` quoting the failing
sub-expression, e.g. ``'amount > 5': cannot compare string with number``.

Semantics in one place:

* a missing field (or a missing list index) reads as ``null``; reading a field *of* a number or
  a string is an error;
* ``==``/``!=`` never fail: values of different types are simply not equal;
* ``< <= > >=`` need two numbers or two strings; anything else (``null`` included) is an error;
* ``and``/``or``/``not`` need ``true``/``false``; they short-circuit left to right;
* numbers (int, float, and the Decimal of a number a double cannot hold) compare and compute by
  the one rule of :mod:`..numbers`: exactly, a float as its shortest text, a Decimal in a
  computation making it exact decimal arithmetic;
* arithmetic needs numbers (``+`` also joins two strings); ``null`` in arithmetic gives ``null``;
  division by zero, non-finite results and oversized results are errors;
* ``x in c``: ``c`` a list (element equality as ``==``), a string (substring) or an object
  (key present); ``null`` container gives ``null``.
"""
from __future__ import annotations

import operator
from decimal import Decimal
from typing import Any, Callable

from ..failures import RecordError
from ..numbers import MAX_INT_BITS, NUMBER_TYPES, arithmetic, comparable, equal, negate as negative
from ..values import hash_key, strict_equal, type_name
from .errors import EvalError
from .functions import FUNCTIONS
from .nodes import (VALUE_ROOT, Arith, Call, Compare, Field, ListLiteral, Literal, Logical,
                    Membership, Node, NullCheck, Unary)

Evaluator = Callable[[Any, Any], Any]

# Results beyond these are refused: they would make one record cost unbounded time or memory
# (``s + s + s ...`` on a long string; numbers: MAX_INT_BITS and the others in ..numbers).
__all__ = ["MAX_INT_BITS", "MAX_STRING_CHARS", "Evaluator", "compile_tree"]
MAX_STRING_CHARS = 1_000_000

_ORDERINGS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def compile_tree(node: Node, text: str, *, specialise: bool = True) -> Evaluator:
    """Compile ``node`` (parsed from ``text``) into an evaluator closure.

    ``specialise``: use the cheaper closures for common shapes (a one-argument call, a
    comparison with a literal, membership in a list of strings). Off, every node gets its
    general closure: the oracle the specialised ones are tested against.
    """
    return _Compiler(text, specialise).compile(node)


class _Compiler:
    def __init__(self, text: str, specialise: bool = True) -> None:
        self.text = text
        self.specialise = specialise

    def quote(self, node: Node) -> str:
        return self._span(node.start, node.end)

    def _span(self, start: int, end: int) -> str:
        snippet = self.text[start:end]
        return repr(snippet if len(snippet) <= 60 else snippet[:57] + "...")

    def compile(self, node: Node) -> Evaluator:
        method = getattr(self, "_" + type(node).__name__.lower())
        return method(node)

    # -- values ----------------------------------------------------------------------------
    def _literal(self, node: Literal) -> Evaluator:
        value = node.value
        return lambda v, r: value

    def _listliteral(self, node: ListLiteral) -> Evaluator:
        if all(isinstance(item, Literal) for item in node.items):
            constant = [item.value for item in node.items]
            return lambda v, r: list(constant)  # a fresh list: outputs never share one object
        items = [self.compile(item) for item in node.items]
        return lambda v, r: [item(v, r) for item in items]

    def _field(self, node: Field) -> Evaluator:
        path, where = node.path, node.dotted()
        if node.root == VALUE_ROOT:
            if len(path) == 1:
                key = path[0]
                return lambda v, r: v.get(key)
            return lambda v, r: _walk(v, path, where)
        attribute = node.root
        if attribute == "headers":
            if path:
                return lambda v, r: _walk(r.headers, path, where) if r is not None else None
            return lambda v, r: dict(r.headers) if r is not None else None  # never share it
        return lambda v, r: getattr(r, attribute) if r is not None else None

    def _call(self, node: Call) -> Evaluator:
        args = [self.compile(arg) for arg in node.args]
        quoted = self.quote(node)
        if node.name == "coalesce":  # lazy: a later argument is only read when needed
            def coalesce(v: Any, r: Any) -> Any:
                for arg in args:
                    value = arg(v, r)
                    if value is not None:
                        return value
                return None
            return coalesce
        impl = FUNCTIONS[node.name].impl
        is_concat = node.name == "concat"
        if self.specialise and len(args) == 1 and not is_concat:
            (arg,) = args

            def call_one(v: Any, r: Any) -> Any:  # no argument list to build per record
                value = arg(v, r)
                try:
                    return impl(value)
                except RecordError as exc:
                    raise EvalError(f"{quoted}: {exc.reason}") from None
            return call_one

        def call(v: Any, r: Any) -> Any:
            values = [arg(v, r) for arg in args]
            try:
                result = impl(*values)
            except RecordError as exc:
                raise EvalError(f"{quoted}: {exc.reason}") from None
            if is_concat and len(result) > MAX_STRING_CHARS:
                raise EvalError(f"{quoted}: result longer than {MAX_STRING_CHARS} characters")
            return result
        return call

    # -- operators -------------------------------------------------------------------------
    def _unary(self, node: Unary) -> Evaluator:
        operand, quoted = self.compile(node.operand), self.quote(node)
        if node.op == "not":
            def negate(v: Any, r: Any) -> bool:
                value = operand(v, r)
                if value is True:
                    return False
                if value is False:
                    return True
                raise EvalError(f"{quoted}: 'not' needs true or false, got {type_name(value)}")
            return negate

        def minus(v: Any, r: Any) -> Any:
            value = operand(v, r)
            if type(value) in NUMBER_TYPES:
                return negative(value)
            if value is None:
                return None
            raise EvalError(f"{quoted}: cannot negate {type_name(value)}")
        return minus

    def _arith(self, node: Arith) -> Evaluator:
        first = self.compile(node.first)
        steps = [(op, self.compile(operand), self._span(node.start, operand.end))
                 for op, operand in node.rest]
        if self.specialise and len(steps) == 1:  # "a / b": no loop for one operator
            (op, second, quoted), = steps
            return lambda v, r: _arith(op, first(v, r), second(v, r), quoted)

        def arith(v: Any, r: Any) -> Any:
            acc = first(v, r)
            for op, operand, quoted in steps:
                acc = _arith(op, acc, operand(v, r), quoted)
            return acc
        return arith

    def _logical(self, node: Logical) -> Evaluator:
        operands = [(self.compile(o), self.quote(o)) for o in node.operands]
        stop = node.op == "or"  # the operand value that decides the result early
        go_on = not stop

        def logical(v: Any, r: Any) -> bool:
            for operand, quoted in operands:
                value = operand(v, r)
                if value is stop:
                    return stop
                if value is not go_on:
                    raise EvalError(f"{quoted}: '{node.op}' needs true or false, got "
                                    f"{type_name(value)}")
            return go_on
        return logical

    def _compare(self, node: Compare) -> Evaluator:
        left, right, quoted = self.compile(node.left), self.compile(node.right), self.quote(node)
        if node.op in ("==", "!="):
            negate = node.op == "!="
            if isinstance(node.right, Literal):
                return _equals_constant(left, node.right.value, negate)
            return lambda v, r: strict_equal(left(v, r), right(v, r)) is not negate
        order = _ORDERINGS[node.op]
        constant = node.right.value if isinstance(node.right, Literal) else None
        if self.specialise and type(constant) in (int, float, Decimal, str):
            return _compare_constant(left, order, constant, quoted)

        def compare(v: Any, r: Any) -> bool:
            a, b = left(v, r), right(v, r)
            ta, tb = type(a), type(b)
            if ta in NUMBER_TYPES and tb in NUMBER_TYPES:
                if ta is not tb:
                    a, b = comparable(a, b)
                return order(a, b)
            if ta is str and tb is str:
                return order(a, b)
            raise EvalError(f"{quoted}: cannot compare {type_name(a)} with {type_name(b)}")
        return compare

    def _membership(self, node: Membership) -> Evaluator:
        item, quoted, negated = self.compile(node.item), self.quote(node), node.negated
        container_node = node.container
        if isinstance(container_node, ListLiteral) and all(
                isinstance(x, Literal) for x in container_node.items):
            values = [x.value for x in container_node.items]
            if self.specialise and all(type(value) is str for value in values):
                texts = frozenset(values)  # only a string can be among strings
                return lambda v, r: ((type(found := item(v, r)) is str) and found in texts) is not negated
            keys = frozenset(hash_key(value) for value in values)
            return lambda v, r: (hash_key(item(v, r)) in keys) is not negated
        container = self.compile(container_node)

        def member(v: Any, r: Any) -> Any:
            found = _contains(container(v, r), item(v, r), quoted)
            return found if found is None else found is not negated
        return member

    def _nullcheck(self, node: NullCheck) -> Evaluator:
        operand, negated = self.compile(node.operand), node.negated
        return lambda v, r: (operand(v, r) is None) is not negated


def _walk(current: Any, path: tuple[str | int, ...], where: str) -> Any:
    for part in path:
        if current is None:
            return None
        if type(part) is str:
            if type(current) is not dict:
                raise EvalError(f"{where}: cannot read field {part!r} of {type_name(current)}")
            current = current.get(part)
        else:
            if type(current) is not list:
                raise EvalError(f"{where}: cannot index {type_name(current)} with [{part}]")
            if not -len(current) <= part < len(current):
                return None
            current = current[part]
    return current


def _equals_constant(left: Evaluator, constant: Any, negate: bool) -> Evaluator:
    # The common "field == literal" shape, without the generic deep-equality call.
    kind = type(constant)
    if kind in (list, dict):
        return lambda v, r: strict_equal(left(v, r), constant) is not negate
    numeric = kind in NUMBER_TYPES
    plain = _plain_number(constant)

    def equals(v: Any, r: Any) -> bool:
        value = left(v, r)
        tv = type(value)
        if tv is kind or (plain and (tv is int or tv is float)):
            same = value == constant
        else:
            same = numeric and tv in NUMBER_TYPES and equal(value, constant)
        return same is not negate
    return equals


def _plain_number(constant: Any) -> bool:
    """Whether ``constant`` is an int or a float under 2**53, which Python's own operators
    compare exactly with any int or float (see ..numbers.comparable)."""
    kind = type(constant)
    return (kind is int or kind is float) and -2.0 ** 53 < constant < 2.0 ** 53


def _compare_constant(left: Evaluator, order: Callable[[Any, Any], bool], constant: Any,
                      quoted: str) -> Evaluator:
    # "field < literal" without calling a closure for the literal: a number or a string.
    if type(constant) is str:
        def compare_text(v: Any, r: Any) -> bool:
            a = left(v, r)
            if type(a) is str:
                return order(a, constant)
            raise EvalError(f"{quoted}: cannot compare {type_name(a)} with string")
        return compare_text

    constant_kind, plain = type(constant), _plain_number(constant)

    def compare_number(v: Any, r: Any) -> bool:
        a = left(v, r)
        kind = type(a)
        if kind is constant_kind or (plain and (kind is int or kind is float)):
            return order(a, constant)
        if kind in NUMBER_TYPES:
            return order(*comparable(a, constant))
        raise EvalError(f"{quoted}: cannot compare {type_name(a)} with number")
    return compare_number


def _arith(op: str, a: Any, b: Any, quoted: str) -> Any:
    ta, tb = type(a), type(b)
    if ta in NUMBER_TYPES and tb in NUMBER_TYPES:
        try:
            return arithmetic(op, a, b)
        except RecordError as exc:
            raise EvalError(f"{quoted}: {exc.reason}") from None
    if op == "+" and ta is str and tb is str:
        if len(a) + len(b) > MAX_STRING_CHARS:
            raise EvalError(f"{quoted}: result longer than {MAX_STRING_CHARS} characters")
        return a + b
    if a is None or b is None:
        return None
    raise EvalError(f"{quoted}: cannot apply '{op}' to {type_name(a)} and {type_name(b)}")


def _contains(container: Any, item: Any, quoted: str) -> bool | None:
    kind = type(container)
    if kind is list:
        key = hash_key(item)
        if key is not None:
            return any(hash_key(x) == key for x in container)
        return any(strict_equal(item, x) for x in container)
    if container is None:
        return None
    if kind is str or kind is dict:
        if item is None:
            return None
        if type(item) is not str:
            raise EvalError(f"{quoted}: 'in' a {type_name(container)} needs a string, got "
                            f"{type_name(item)}")
        return item in container
    raise EvalError(f"{quoted}: 'in' needs a list, string or object, got {type_name(container)}")
