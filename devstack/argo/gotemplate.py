"""The part of Go's ``text/template`` (with sprig) that Sensor ``dataTemplate``s use.

Argo evaluates ``src.dataTemplate`` / ``contextTemplate`` (and data filter ``template``) with
``{"Input": <decoded JSON>}`` as dot, numbers decoded as float64. This module parses a template at
*load time* and refuses anything outside the subset below, naming what it found; it never hands a
manifest to Python ``eval`` or to a template engine with other semantics.

Supported, as Go evaluates it:

* text and ``{{ }}`` actions, ``{{-`` / ``-}}`` trimming, ``{{/* comments */}}``;
* fields ``.Input.a.b`` (a missing map key is "no value"; a field of nothing is an error) and ``.``;
* literals: Go strings ``"..."`` and ```raw```, numbers, ``true``, ``false``, ``nil``;
* pipelines ``x | f`` (the piped value is the last argument) and parentheses ``(now).UnixMilli``;
* functions: ``toJson``, ``toRawJson``, ``toString``, ``quote``, ``upper``, ``lower``, ``trim``,
  ``b64enc``, ``b64dec``, ``default``, ``now``, ``unixEpoch``; methods of ``now``: ``Unix``,
  ``UnixMilli``, ``UnixNano``.

Refused: ``if``/``range``/``with``/``define``/``template``/``block``, variables, comparison and
printf builtins, any other sprig function. ``now`` is the time passed to :meth:`Template.execute`,
so evaluation is deterministic. Pure: no I/O.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from . import gojson
from .gotime import go_time_string, rfc3339_nano


class TemplateError(ValueError):
    """Parse errors (at load time) and execution errors (Argo then falls back to key or value)."""


class GoInt(int):
    """An int64 from a Go method (``UnixMilli``): prints its digits, unlike a JSON number, which
    Go holds as a float64 and prints as ``1e+06``."""


class _NoValue:
    """Go's zero reflect.Value: a missing map key. Prints as ``<no value>``."""

    def __repr__(self) -> str:
        return "<no value>"


NO_VALUE = _NoValue()
_KEYWORDS = {"if", "else", "end", "range", "with", "define", "template", "block", "break",
             "continue", "and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "len", "index",
             "print", "printf", "println", "html", "js", "urlquery", "slice", "call"}
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[()|])
  | (?P<other>\S)
""", re.VERBOSE)
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
            "\\": "\\", '"': '"', "'": "'"}
_ESCAPE = re.compile(r"\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|([0-7]{3})|(.))")


def _unquote(text: str) -> str:
    def one(m: re.Match) -> str:
        hex2, hex4, hex8, octal, simple = m.groups()
        if simple is not None:
            if simple not in _ESCAPES:
                raise TemplateError(f"unknown escape \\{simple} in string {text}")
            return _ESCAPES[simple]
        return chr(int(hex2 or hex4 or hex8, 16) if octal is None else int(octal, 8))
    return _ESCAPE.sub(one, text[1:-1])


# --- nodes -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Field:
    names: tuple[str, ...]  # () is dot itself


@dataclass(frozen=True)
class _Literal:
    value: Any


@dataclass(frozen=True)
class _Call:
    name: str
    args: tuple


@dataclass(frozen=True)
class _Chain:  # (pipeline).Field.Field
    term: Any
    names: tuple[str, ...]


@dataclass(frozen=True)
class _Pipeline:
    commands: tuple


# --- functions -------------------------------------------------------------------------------

def _go_value_text(value: Any) -> str:
    """``fmt.Sprint`` of a template value."""
    if value is NO_VALUE:
        return "<no value>"
    if isinstance(value, datetime):
        return go_time_string(value)
    if isinstance(value, GoInt):
        return str(value)
    return gojson.print_value(value)


def _arg(value: Any) -> Any:
    # A missing key passed to a function arrives as a nil interface.
    return None if value is NO_VALUE else value


def _printed(value: Any) -> str:
    """What an action prints: a nil result (a JSON null) is ``<no value>``, as text/template
    turns a nil interface{} into the zero reflect.Value first (``fmt.Sprint`` would say <nil>)."""
    return "<no value>" if value is None else _go_value_text(value)


def _strval(value: Any) -> str:
    value = _arg(value)
    return value if isinstance(value, str) else _go_value_text(value)


def _need_str(name: str, value: Any) -> str:
    value = _arg(value)
    if not isinstance(value, str):
        kind = "nil" if value is None else type(value).__name__
        raise TemplateError(f"error calling {name}: wrong type for value; expected string; got {kind}")
    return value


def _json(value: Any, html: bool) -> str:
    value = _arg(value)
    if isinstance(value, datetime):
        value = rfc3339_nano(value)
    try:
        return gojson.dumps(value, sort_keys=True, html=html, float64=True)
    except (TypeError, ValueError):
        return ""  # sprig's toJson swallows the marshal error


def _go_quote(text: str) -> str:
    out = []
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                        "\t": "\\t", "\v": "\\v"}[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _empty(value: Any) -> bool:
    value = _arg(value)
    return value is None or value is False or value == 0 or value == "" or value == {} or value == []


def _default(default: Any, *given: Any) -> Any:
    return default if not given or _empty(given[0]) else given[0]


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "toJson": lambda v: _json(v, html=True),
    "toRawJson": lambda v: _json(v, html=False),
    "toString": _strval,
    "quote": lambda *vs: " ".join(_go_quote(_strval(v)) for v in vs if _arg(v) is not None),
    "upper": lambda s: _need_str("upper", s).upper(),
    "lower": lambda s: _need_str("lower", s).lower(),
    "trim": lambda s: _need_str("trim", s).strip(" \t\n\r\v\f"),
    "b64enc": lambda s: base64.b64encode(_need_str("b64enc", s).encode()).decode(),
    "b64dec": lambda s: _b64dec(_need_str("b64dec", s)),
    "default": _default,
    "unixEpoch": lambda t: str(_epoch_ns(_need_time("unixEpoch", t)) // 1_000_000_000),
}


def _epoch_ns(t: datetime) -> int:
    """Exact nanoseconds since the epoch (``timestamp()`` alone is a float and rounds)."""
    return int(t.replace(microsecond=0).timestamp()) * 1_000_000_000 + t.microsecond * 1_000


_TIME_METHODS = {
    "Unix": lambda t: GoInt(_epoch_ns(t) // 1_000_000_000),
    "UnixMilli": lambda t: GoInt(_epoch_ns(t) // 1_000_000),
    "UnixNano": lambda t: GoInt(_epoch_ns(t)),
}
_NO_ARGS = {"now"}


def _need_time(name: str, value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise TemplateError(f"error calling {name}: expected a time, got {type(_arg(value)).__name__}")
    return value


def _b64dec(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", errors="replace")
    except ValueError as exc:  # sprig returns the error text as the value
        return str(exc)


SUPPORTED = tuple(sorted([*FUNCTIONS, *_NO_ARGS]))


# --- parser ----------------------------------------------------------------------------------

class _Parser:
    def __init__(self, action: str, source: str):
        self.source = source
        self.tokens: list[tuple[str, str]] = []
        for m in _TOKEN.finditer(action):
            kind = m.lastgroup
            if kind == "space":
                continue
            if kind == "other":
                what = {"$": "variables ($x)", ":": "assignments (:=)", "'": "character literals"}
                raise TemplateError(f"template {source!r}: {what.get(m.group(), repr(m.group()))} "
                                    "not supported by the local runner")
            self.tokens.append((kind, m.group()))
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise TemplateError(f"template {self.source!r}: unexpected end of action")
        self.pos += 1
        return token

    def pipeline(self) -> _Pipeline:
        commands = [self.command()]
        while self.peek() == ("punct", "|"):
            self.take()
            commands.append(self.command())
        return _Pipeline(tuple(commands))

    def command(self) -> Any:
        kind, text = self.peek() or ("", "")
        if kind == "ident" and text not in ("true", "false", "nil"):
            self.take()
            if text in _KEYWORDS:
                raise TemplateError(f"template {self.source!r}: {text!r} is not supported by the "
                                    f"local runner (functions: {', '.join(SUPPORTED)})")
            if text not in FUNCTIONS and text not in _NO_ARGS:
                raise TemplateError(f"template {self.source!r}: function {text!r} is not supported "
                                    f"by the local runner (functions: {', '.join(SUPPORTED)})")
            args = []
            while self.peek() is not None and self.peek() not in (("punct", "|"), ("punct", ")")):
                args.append(self.operand())
            if text in _NO_ARGS and args:
                raise TemplateError(f"template {self.source!r}: {text} takes no arguments")
            return _Call(text, tuple(args))
        node = self.operand()
        if self.peek() is not None and self.peek() not in (("punct", "|"), ("punct", ")")):
            raise TemplateError(f"template {self.source!r}: can't give argument to non-function")
        return node

    def operand(self) -> Any:
        kind, text = self.take()
        if kind == "field":
            return _Field(tuple(n for n in text.split(".") if n))
        if kind == "string":
            return _Literal(_unquote(text))
        if kind == "raw":
            return _Literal(text[1:-1])
        if kind == "number":
            return _Literal(float(text) if any(c in text for c in ".eE") else int(text))
        if kind == "ident" and text in ("true", "false", "nil"):
            return _Literal({"true": True, "false": False, "nil": None}[text])
        if kind == "ident" and text in _NO_ARGS:
            return _Call(text, ())
        if (kind, text) == ("punct", "("):
            inner = self.pipeline()
            if self.take() != ("punct", ")"):
                raise TemplateError(f"template {self.source!r}: unclosed parenthesis")
            if self.peek() and self.peek()[0] == "field" and self.peek()[1] != ".":
                return _Chain(inner, tuple(n for n in self.take()[1].split(".") if n))
            return inner
        raise TemplateError(f"template {self.source!r}: unexpected {text!r} in action")


_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)


@dataclass(frozen=True)
class Template:
    """A parsed template: text pieces and pipelines, in order."""

    source: str
    pieces: tuple  # str | _Pipeline

    def execute(self, data: Any, now: datetime) -> str:
        """Evaluate with ``{"Input": data}`` as dot; ``TemplateError`` as Go would fail.

        ``data`` is decoded JSON; its numbers behave as Go's float64 whether int or float.
        """
        dot = {"Input": data}
        out = []
        for piece in self.pieces:
            out.append(piece if isinstance(piece, str) else _printed(_eval(piece, dot, now)))
        return "".join(out)


    def json_splice(self) -> tuple[str, str] | None:
        """``(before, after)`` when the template is text around ONE ``toJson .Input`` action
        (or ``.Input | toJson``), the shape of every step invocation payload; else None."""
        if len(self.pieces) != 3 or not all(isinstance(p, str) for p in self.pieces[::2]):
            return None
        commands = getattr(self.pieces[1], "commands", ())
        input_field = _Field(("Input",))
        if commands in ((_Call("toJson", (input_field,)),), (input_field, _Call("toJson", ()))):
            return self.pieces[0], self.pieces[2]
        return None


def parse(source: str) -> Template:
    """Parse ``source``; ``TemplateError`` says what is outside the supported subset."""
    if not isinstance(source, str):
        raise TemplateError("template: must be a string")
    pieces: list[Any] = []
    pos, trim_next = 0, False
    for m in _ACTION.finditer(source):
        text = source[pos:m.start()]
        if trim_next:
            text = text.lstrip()
        if m.group(1):
            text = text.rstrip()
        if text:
            pieces.append(text)
        body = m.group(2).strip()
        trim_next = bool(m.group(3))
        pos = m.end()
        if body.startswith("/*"):
            if not body.endswith("*/"):
                raise TemplateError(f"template {source!r}: unclosed comment")
            continue
        if not body:
            raise TemplateError(f"template {source!r}: missing value for command")
        parser = _Parser(body, source)
        pipeline = parser.pipeline()
        if parser.peek() is not None:
            raise TemplateError(f"template {source!r}: unexpected {parser.peek()[1]!r} in action")
        pieces.append(pipeline)
    tail = source[pos:]
    if trim_next:
        tail = tail.lstrip()
    if "{{" in tail:
        raise TemplateError(f"template {source!r}: unclosed action")
    if tail:
        pieces.append(tail)
    return Template(source, tuple(pieces))


# --- evaluation ------------------------------------------------------------------------------

def _field(value: Any, name: str) -> Any:
    if isinstance(value, dict):
        return value.get(name, NO_VALUE)
    if isinstance(value, datetime) and name in _TIME_METHODS:
        return _TIME_METHODS[name](value)
    if value is None or value is NO_VALUE:
        raise TemplateError(f"nil pointer evaluating interface {{}}.{name}")
    raise TemplateError(f"can't evaluate field {name} in type {type(value).__name__}")


def _eval(node: Any, dot: Any, now: datetime, piped: tuple = ()) -> Any:
    if isinstance(node, _Pipeline):
        value: tuple = ()
        for command in node.commands:
            value = (_eval(command, dot, now, value),)
        return value[0]
    if piped and not isinstance(node, _Call):
        raise TemplateError("can't give argument to non-function")
    if isinstance(node, _Field):
        value = dot
        for name in node.names:
            value = _field(value, name)
        return value
    if isinstance(node, _Literal):
        return node.value
    if isinstance(node, _Chain):
        value = _eval(node.term, dot, now)
        for name in node.names:
            value = _field(value, name)
        return value
    args = [_eval(a, dot, now) for a in node.args] + list(piped)
    if node.name == "now":
        if args:
            raise TemplateError("wrong number of args for now: want 0")
        return now
    try:
        return FUNCTIONS[node.name](*args)
    except TypeError as exc:
        raise TemplateError(f"wrong number of args for {node.name}: {exc}") from exc
