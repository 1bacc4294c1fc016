"""Recursive-descent parser: expression text -> syntax tree (:mod:`.nodes`).

Grammar, lowest precedence first::

    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := sum [ ("==" | "!=" | "<" | "<=" | ">" | ">=") sum
                      | ["not"] "in" sum
                      | "is" ["not"] "null" ]          -- comparisons do not chain
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/" | "%") unary)*
    unary      := "-" unary | primary
    primary    := number | string | "true" | "false" | "null" | "[" [expr ("," expr)*] "]"
                | "(" expr ")" | name "(" [expr ("," expr)*] ")" | field
    field      := (name | `quoted name` | $meta) ("." (name | `quoted`) | "[" index "]")*
    index      := ["-"] integer | string

Hostile input is bounded: the text length, the parser's recursion and the depth of the tree it
returns are all limited, and every failure is a :class:`ParseError` naming a position.
"""
from __future__ import annotations

from typing import Any, Callable

from ..numbers import NUMBER_TYPES, negate
from .errors import ParseError
from .functions import FUNCTIONS
from .nodes import (META_FIELDS, VALUE_ROOT, Arith, Call, Compare, Field, ListLiteral, Literal,
                    Logical, Membership, Node, NullCheck, Unary)
from .tokens import Token, tokenize

MAX_LENGTH = 4096  # characters of expression text
# Nesting levels, in the parser and in the finished tree. One level costs the recursive descent
# about 16 Python frames, so 32 levels stay far below the interpreter's recursion limit even
# when parsing starts deep inside a caller's stack.
MAX_DEPTH = 32
KEYWORDS = frozenset({"and", "or", "not", "in", "is", "null", "true", "false"})
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_CONSTANTS = {"true": True, "false": False, "null": None}


def parse(text: str) -> Node:
    """Parse ``text`` into a syntax tree, or raise :class:`ParseError`."""
    if not isinstance(text, str):
        raise ParseError(0, "expression text", type(text).__name__)
    if len(text) > MAX_LENGTH:
        raise ParseError(MAX_LENGTH, f"at most {MAX_LENGTH} characters", f"{len(text)} characters")
    parser = _Parser(tokenize(text))
    if parser.peek.kind == "end":
        raise ParseError(0, "an expression", "end of expression")
    try:
        node = parser.expr()
    except RecursionError:  # a backstop only: MAX_DEPTH is meant to stop well before this
        raise ParseError(parser.peek.pos, f"at most {MAX_DEPTH} nested levels", "deeper nesting") from None
    if parser.peek.kind != "end":
        raise ParseError(parser.peek.pos, "an operator or end of expression", parser.peek.describe())
    _check_tree_depth(node)
    return node


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.i]

    def _next(self) -> Token:
        token = self.tokens[self.i]
        if token.kind != "end":
            self.i += 1
        return token

    def _is(self, text: str, offset: int = 0) -> bool:
        token = self.tokens[min(self.i + offset, len(self.tokens) - 1)]
        return token.text == text and token.kind in ("op", "name")

    def _expect(self, text: str, expected: str) -> Token:
        if not self._is(text):
            raise ParseError(self.peek.pos, expected, self.peek.describe())
        return self._next()

    def _nested(self, token: Token, parse: Callable[[], Any]) -> Any:
        """``parse()`` one nesting level deeper, refusing past MAX_DEPTH (at ``token``)."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError(token.pos, f"at most {MAX_DEPTH} nested levels", "deeper nesting")
        node = parse()
        self.depth -= 1
        return node

    # -- boolean levels ------------------------------------------------------------------
    def expr(self) -> Node:
        return self._nested(self.peek, self._or)

    def _or(self) -> Node:
        return self._joined("or", self._and)

    def _and(self) -> Node:
        return self._joined("and", self._not)

    def _joined(self, keyword: str, operand: Callable[[], Node]) -> Node:
        operands = [operand()]
        while self._is(keyword):
            self._next()
            operands.append(operand())
        return _logical(keyword, operands)

    def _not(self) -> Node:
        if not self._is("not"):
            return self._comparison()
        token = self._next()
        operand = self._nested(token, self._not)
        return Unary("not", operand, token.pos, operand.end)

    def _comparison(self) -> Node:
        node = self._comparison_once()
        if self.peek.kind == "op" and self.peek.text in _COMPARISONS:
            if isinstance(node, (Compare, Membership, NullCheck)):
                raise ParseError(self.peek.pos, "'and' between comparisons (a < b and b < c)",
                                 self.peek.describe())
        return node

    def _comparison_once(self) -> Node:
        left = self._sum()
        token = self.peek
        if token.kind == "op" and token.text in _COMPARISONS:
            self._next()
            right = self._sum()
            return Compare(token.text, left, right, left.start, right.end)
        if self._is("in") or (self._is("not") and self._is("in", 1)):
            negated = self._next().text == "not"
            if negated:
                self._next()
            container = self._sum()
            return Membership(negated, left, container, left.start, container.end)
        if self._is("is"):
            self._next()
            negated = self._is("not")
            if negated:
                self._next()
            null = self._expect("null", "'null' after 'is'" if not negated else "'null' after 'is not'")
            return NullCheck(negated, left, left.start, null.end)
        return left

    # -- arithmetic levels ---------------------------------------------------------------
    def _sum(self) -> Node:
        return self._chain(self._product, ("+", "-"))

    def _product(self) -> Node:
        return self._chain(self._unary, ("*", "/", "%"))

    def _chain(self, operand, ops: tuple[str, ...]) -> Node:
        first = operand()
        rest: list[tuple[str, Node]] = []
        while self.peek.kind == "op" and self.peek.text in ops:
            op = self._next().text
            rest.append((op, operand()))
        if not rest:
            return first
        return Arith(first, tuple(rest), first.start, rest[-1][1].end)

    def _unary(self) -> Node:
        if not self._is("-"):
            return self._primary()
        token = self._next()
        operand = self._nested(token, self._unary)
        if isinstance(operand, Literal) and type(operand.value) in NUMBER_TYPES:
            return Literal(negate(operand.value), token.pos, operand.end)  # "-5" is a number, not an op
        return Unary("-", operand, token.pos, operand.end)

    # -- primaries -----------------------------------------------------------------------
    def _primary(self) -> Node:
        token = self.peek
        if token.kind in ("number", "string"):
            self._next()
            return Literal(token.value, token.pos, token.end)
        if token.kind == "name" and token.text in _CONSTANTS:
            self._next()
            return Literal(_CONSTANTS[token.text], token.pos, token.end)
        if self._is("("):
            self._next()
            inner = self.expr()
            self._expect(")", "')' to close the '(' at position %d" % token.pos)
            return inner
        if self._is("["):
            self._next()
            items = self._items("]", token)
            return ListLiteral(tuple(items), token.pos, self.tokens[self.i - 1].end)
        if token.kind == "name" and token.text not in KEYWORDS and self._is("(", 1):
            return self._call()
        if token.kind in ("name", "quoted", "meta"):
            if token.kind == "name" and token.text in KEYWORDS:
                raise ParseError(token.pos, "a value (a keyword as field name needs backticks)",
                                 token.describe())
            return self._field()
        raise ParseError(token.pos, "a value (number, string, true/false/null, field, '(' or '[')",
                         token.describe())

    def _items(self, closer: str, opener: Token) -> list[Node]:
        items: list[Node] = []
        if self._is(closer):
            self._next()
            return items
        while True:
            items.append(self.expr())
            if self._is(","):
                self._next()
                continue
            self._expect(closer, f"',' or '{closer}' to close the '{opener.text}' at position {opener.pos}")
            return items

    def _call(self) -> Node:
        name = self._next()
        function = FUNCTIONS.get(name.text)
        if function is None:
            known = ", ".join(sorted(FUNCTIONS))
            raise ParseError(name.pos, f"a known function ({known})", name.describe())
        opener = self._next()
        args = self._nested(opener, lambda: self._items(")", opener))
        if len(args) < function.min_args or (function.max_args is not None
                                              and len(args) > function.max_args):
            raise ParseError(name.pos, f"{name.text}() with {function.arity_text()}",
                             f"{len(args)} argument(s)")
        return Call(name.text, tuple(args), name.pos, self.tokens[self.i - 1].end)

    def _field(self) -> Field:
        head = self._next()
        path: list[str | int] = []
        if head.kind == "meta":
            if head.value not in META_FIELDS:
                raise ParseError(head.pos, "one of " + ", ".join("$" + m for m in META_FIELDS),
                                 head.describe())
            root = head.value
        else:
            root = VALUE_ROOT
            path.append(head.value)
        end = head.end
        while True:
            if self._is("."):
                self._next()
                part = self.peek
                if part.kind not in ("name", "quoted"):
                    raise ParseError(part.pos, "a field name after '.'", part.describe())
                path.append(self._next().value)
                end = part.end
            elif self._is("["):
                self._next()
                path.append(self._index())
                end = self._expect("]", "']' after the index").end
            else:
                break
        if root != VALUE_ROOT and root != "headers" and path:
            raise ParseError(head.end, f"nothing after ${root} (only $headers has fields)",
                             self.tokens[self.i - 1].describe())
        return Field(root, tuple(path), head.pos, end)

    def _index(self) -> str | int:
        token = self._next()
        if token.kind == "string":
            return token.value
        sign = 1
        if token.text == "-" and token.kind == "op":
            sign, token = -1, self._next()
        if token.kind == "number" and type(token.value) is int:
            return sign * token.value
        raise ParseError(token.pos, "a list index (integer) or a quoted key", token.describe())


def _logical(op: str, operands: list[Node]) -> Node:
    if len(operands) == 1:
        return operands[0]
    return Logical(op, tuple(operands), operands[0].start, operands[-1].end)


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of ``node``, in source order."""
    if isinstance(node, Arith):
        return (node.first, *(operand for _, operand in node.rest))
    if isinstance(node, Logical):
        return node.operands
    if isinstance(node, (Compare,)):
        return (node.left, node.right)
    if isinstance(node, Membership):
        return (node.item, node.container)
    if isinstance(node, (Unary, NullCheck)):
        return (node.operand,)
    if isinstance(node, (ListLiteral,)):
        return node.items
    if isinstance(node, Call):
        return node.args
    return ()


def _check_tree_depth(root: Node) -> None:
    # Iterative on purpose: the compiled closures nest as deep as the tree, so the tree depth
    # is what bounds the evaluator's recursion, and checking it must not recurse itself.
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ParseError(node.start, f"at most {MAX_DEPTH} nested levels", "deeper nesting")
        stack.extend((child, depth + 1) for child in children(node))
