"""Tokenizer of the expression language: text -> list of tokens, in one linear pass.

Kinds: ``number``, ``string``, ``name`` (identifiers and keywords), ``quoted`` (a backtick-quoted
field name, for names that are not identifiers), ``meta`` (``$key``, ``$headers``...), ``op``
(punctuation) and a final ``end``. Every token keeps its start offset so errors point at it.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ...http import exact_number
from .errors import ParseError

TWO_CHAR_OPS = frozenset({"==", "!=", "<=", ">="})
ONE_CHAR_OPS = frozenset("<>()[],.+-*/%")
_WHITESPACE = frozenset(" \t\r\n")
_IDENT_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_IDENT_CHARS = _IDENT_START | frozenset("0123456789")
_DIGITS = frozenset("0123456789")
_HEX = frozenset("0123456789abcdefABCDEF")
_SIMPLE_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "/": "/", "n": "\n", "t": "\t", "r": "\r"}

# Operators people bring from other languages: say what to write instead of "unexpected".
_HINTS = {
    "=": "'==' to compare",
    "!": "'!=' to compare or 'not' to negate",
    "&": "'and'",
    "|": "'or'",
}


@dataclass(frozen=True, slots=True)
class Token:
    """One token: ``kind``, its source ``text``, its decoded ``value`` and start ``pos``."""

    kind: str
    text: str
    value: Any
    pos: int

    @property
    def end(self) -> int:
        """Offset just past the token."""
        return self.pos + len(self.text)

    def describe(self) -> str:
        """How an error message shows this token."""
        if self.kind == "end":
            return "end of expression"
        shown = self.text if len(self.text) <= 24 else self.text[:21] + "..."
        return repr(shown)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; raise :class:`ParseError` at the first invalid character."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in _WHITESPACE:
            i += 1
        elif ch in _DIGITS:
            i = _number(text, i, tokens)
        elif ch in _IDENT_START:
            j = i + 1
            while j < n and text[j] in _IDENT_CHARS:
                j += 1
            tokens.append(Token("name", text[i:j], text[i:j], i))
            i = j
        elif ch == '"' or ch == "'":
            i = _string(text, i, tokens)
        elif ch == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise ParseError(i, "a closing '`' for this field name", "end of expression")
            if end == i + 1:
                raise ParseError(i, "a field name between the backticks", "'``'")
            tokens.append(Token("quoted", text[i : end + 1], text[i + 1 : end], i))
            i = end + 1
        elif ch == "$":
            j = i + 1
            while j < n and text[j] in _IDENT_CHARS:
                j += 1
            if j == i + 1:
                raise ParseError(i + 1, "a metadata name after '$' (e.g. $key)", _char(text, i + 1))
            tokens.append(Token("meta", text[i:j], text[i + 1 : j], i))
            i = j
        elif text[i : i + 2] in TWO_CHAR_OPS:
            tokens.append(Token("op", text[i : i + 2], text[i : i + 2], i))
            i += 2
        elif ch in ONE_CHAR_OPS:
            tokens.append(Token("op", ch, ch, i))
            i += 1
        else:
            expected = _HINTS.get(ch, "a value, a field, or an operator")
            raise ParseError(i, expected, _char(text, i))
    tokens.append(Token("end", "", None, n))
    return tokens


def _char(text: str, i: int) -> str:
    return repr(text[i]) if i < len(text) else "end of expression"


def _digits(text: str, i: int) -> int:
    while i < len(text) and text[i] in _DIGITS:
        i += 1
    return i


def _number(text: str, start: int, tokens: list[Token]) -> int:
    i = _digits(text, start)
    is_float = False
    if i < len(text) and text[i] == ".":
        if i + 1 >= len(text) or text[i + 1] not in _DIGITS:
            raise ParseError(i + 1, "a digit after the decimal point", _char(text, i + 1))
        i = _digits(text, i + 1)
        is_float = True
    if i < len(text) and text[i] in "eE":
        j = i + 1
        if j < len(text) and text[j] in "+-":
            j += 1
        if j >= len(text) or text[j] not in _DIGITS:
            raise ParseError(j, "a digit in the exponent", _char(text, j))
        i = _digits(text, j)
        is_float = True
    if i < len(text) and text[i] in _IDENT_CHARS:
        raise ParseError(i, "an operator or space after the number", _char(text, i))
    literal = text[start:i]
    # Read as a record's number is (etlkit.http): a float only when it holds the literal exactly,
    # else a Decimal, so "amount > 0.1000000000000000000001" compares with every digit.
    value: int | float | Decimal = exact_number(literal) if is_float else int(literal)
    tokens.append(Token("number", literal, value, start))
    return i


def _string(text: str, start: int, tokens: list[Token]) -> int:
    quote = text[start]
    out: list[str] = []
    i, n = start + 1, len(text)
    while i < n:
        ch = text[i]
        if ch == quote:
            tokens.append(Token("string", text[start : i + 1], "".join(out), start))
            return i + 1
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        esc = text[i + 1] if i + 1 < n else ""
        if esc in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[esc])
            i += 2
        elif esc == "u":
            out.append(_unicode_escape(text, i))
            i += 6
        else:
            raise ParseError(i + 1, "an escape (\\\\, \\', \\\", \\n, \\t, \\r, \\uXXXX)",
                             _char(text, i + 1))
    raise ParseError(start, f"a closing {quote} for this string", "end of expression")


def _unicode_escape(text: str, i: int) -> str:
    digits = text[i + 2 : i + 6]
    if len(digits) != 4 or not all(c in _HEX for c in digits):
        raise ParseError(i + 2, "4 hex digits after \\u", repr(digits) if digits else "end of expression")
    code = int(digits, 16)
    # A lone surrogate cannot be encoded as UTF-8, so it could never match record text.
    if 0xD800 <= code <= 0xDFFF:
        raise ParseError(i, "a \\u escape outside the surrogate range D800-DFFF", repr(text[i : i + 6]))
    return chr(code)
