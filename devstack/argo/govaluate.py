"""A safe evaluator for the govaluate expressions of a dependency's ``filters.exprs``.

Argo evaluates ``exprs[].expr`` with Knetic/govaluate over parameters named by ``fields`` (their
values decoded by gjson, so numbers are float64). This is a small recursive-descent parser over
that language (never Python ``eval``), parsed at load time so an unsupported construct is refused
before any event arrives.

Supported with govaluate's rules: number, string (``'..'`` or ``".."``, ``\\`` escapes the next
character) and bool literals; parameters (``name``, ``a.b``, ``[any-name]``); parentheses;
``!`` and unary ``-``; ``* / %`` and ``**``; ``+ -`` (``+`` concatenates when either side is a
string); ``== !=`` (deep equality, no type coercion); ``> >= < <=`` on two numbers or two strings;
``=~ !~`` (regular expression on a string); ``in`` against a ``(a, b, c)`` list; ``&&`` and ``||``
short-circuited, bools only. A type mismatch is an evaluation error, as in govaluate (Argo then
drops the event). Refused: ternaries, ``??``, bitwise operators, functions, date literals.
Pure: no I/O.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

from . import gojson


class ExprError(ValueError):
    """Parse errors (load time) and evaluation errors (the event is then filtered out)."""


_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d*)?|\.\d+)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<escaped>\[[^\]]*\])
  | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<op>&&|\|\||==|!=|>=|<=|=~|!~|\*\*|\?\?|<<|>>|[-+*/%!<>(),?:&|^~])
""", re.VERBOSE)
_REFUSED = {"?": "ternary operators", ":": "ternary operators", "??": "the ?? operator",
            "<<": "bit shifts", ">>": "bit shifts", "&": "bitwise operators",
            "|": "bitwise operators", "^": "bitwise operators", "~": "bitwise operators"}
_COMPARATORS = ("==", "!=", ">", ">=", "<", "<=", "=~", "!~", "in")
_PRECEDENCE = (("||",), ("&&",), _COMPARATORS, ("+", "-"), ("*", "/", "%"), ("**",))


@dataclass(frozen=True)
class Expression:
    """A parsed expression; ``variables`` are the parameter names it reads."""

    source: str
    tree: tuple
    variables: frozenset[str]

    def evaluate(self, parameters: Mapping[str, Any]) -> Any:
        return _eval(self.tree, parameters)


def _tokens(source: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if not m:
            raise ExprError(f"expression {source!r}: unexpected character {source[pos]!r} at {pos}")
        pos = m.end()
        kind, text = m.lastgroup, m.group()
        if kind == "space":
            continue
        if kind == "op" and text in _REFUSED:
            raise ExprError(f"expression {source!r}: {_REFUSED[text]} ({text}): not supported")
        if kind == "name" and text.lower() == "in":
            kind = "op"
            text = "in"
        out.append((kind, text))
    return out


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.tokens = _tokens(source)
        self.pos = 0
        self.variables: set[str] = set()

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise ExprError(f"expression {self.source!r}: unexpected end")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def accept(self, *ops: str) -> str | None:
        token = self.peek()
        if token and token[0] == "op" and token[1] in ops:
            self.pos += 1
            return token[1]
        return None

    def parse(self) -> tuple:
        tree = self.binary()
        if self.peek() is not None:
            raise ExprError(f"expression {self.source!r}: unexpected {self.peek()[1]!r}")
        return tree

    def binary(self, level: int = 0) -> tuple:
        """Left-associative binary operators, loosest first (govaluate's precedence)."""
        if level == len(_PRECEDENCE):
            return self.prefix()
        left = self.binary(level + 1)
        while op := self.accept(*_PRECEDENCE[level]):
            left = (op, left, self.binary(level + 1))
        return left

    def prefix(self) -> tuple:
        if self.accept("!"):
            return ("!", self.prefix())
        if self.accept("-"):
            return ("neg", self.prefix())
        return self.primary()

    def primary(self) -> tuple:
        kind, text = self.take()
        if kind == "number":
            return ("lit", float(text))
        if kind == "string":
            return ("lit", re.sub(r"\\(.)", r"\1", text[1:-1]))
        if kind == "name" and text in ("true", "false"):
            return ("lit", text == "true")
        if kind in ("name", "escaped"):
            name = text[1:-1] if kind == "escaped" else text
            self.variables.add(name)
            return ("var", name)
        if (kind, text) == ("op", "("):
            items = [self.binary()]
            while self.accept(","):
                items.append(self.binary())
            if not self.accept(")"):
                raise ExprError(f"expression {self.source!r}: unbalanced parenthesis")
            return items[0] if len(items) == 1 else ("list", tuple(items))
        raise ExprError(f"expression {self.source!r}: unexpected {text!r}")


def parse(source: str) -> Expression:
    if not isinstance(source, str) or not source.strip():
        raise ExprError("expression: must be a non-empty string")
    parser = _Parser(source)
    tree = parser.parse()
    return Expression(source, tree, frozenset(parser.variables))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _numbers(op: str, left: Any, right: Any) -> tuple[float, float]:
    if not (_is_number(left) and _is_number(right)):
        raise ExprError(f"value '{left}' or '{right}' cannot be used with the operator '{op}'")
    return float(left), float(right)


def _equal(left: Any, right: Any) -> bool:
    if _is_number(left) and _is_number(right):
        return float(left) == float(right)
    if type(left) is not type(right):
        return False
    return left == right


def _eval(node: tuple, params: Mapping[str, Any]) -> Any:
    op = node[0]
    if op == "lit":
        return node[1]
    if op == "var":
        if node[1] not in params:
            raise ExprError(f"No parameter '{node[1]}' found.")
        return params[node[1]]
    if op == "list":
        return [_eval(item, params) for item in node[1]]
    if op == "!":
        value = _eval(node[1], params)
        if not isinstance(value, bool):
            raise ExprError(f"value '{value}' cannot be used with the modifier '!', it is not a bool")
        return not value
    if op == "neg":
        value = _eval(node[1], params)
        if not _is_number(value):
            raise ExprError(f"value '{value}' cannot be used with the modifier '-', it is not a number")
        return -float(value)
    if op in ("&&", "||"):
        left = _eval(node[1], params)
        if not isinstance(left, bool):
            raise ExprError(f"value '{left}' cannot be used with the logical operator '{op}', it is not a bool")
        if (op == "&&" and not left) or (op == "||" and left):
            return left
        right = _eval(node[2], params)
        if not isinstance(right, bool):
            raise ExprError(f"value '{right}' cannot be used with the logical operator '{op}', it is not a bool")
        return right
    left, right = _eval(node[1], params), _eval(node[2], params)
    return _binary(op, left, right)


def _binary(op: str, left: Any, right: Any) -> Any:
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    if op in (">", ">=", "<", "<="):
        if isinstance(left, str) and isinstance(right, str):
            a, b = left, right
        else:
            a, b = _numbers(op, left, right)
        return {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op]
    if op in ("=~", "!~"):
        if not (isinstance(left, str) and isinstance(right, str)):
            raise ExprError(f"value '{left}' or '{right}' cannot be used with the comparator '{op}'")
        try:
            found = re.search(right, left, re.ASCII) is not None
        except re.error as exc:
            raise ExprError(f"invalid regular expression {right!r}: {exc}") from exc
        return found if op == "=~" else not found
    if op == "in":
        if not isinstance(right, list):
            raise ExprError(f"value '{right}' cannot be used with the comparator 'in', it is not an array")
        return any(_equal(left, item) for item in right)
    if op == "+" and (isinstance(left, str) or isinstance(right, str)):
        return _text(left) + _text(right)
    a, b = _numbers(op, left, right)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b if b else math.copysign(math.inf, a) if a else math.nan
    if op == "%":
        return math.fmod(a, b) if b else math.nan
    return a ** b


def _text(value: Any) -> str:
    return value if isinstance(value, str) else gojson.print_value(value)
