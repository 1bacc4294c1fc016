"""Go's ``regexp`` (RE2 syntax) as a Python ``re`` pattern that matches the same texts.

A string data filter's values are Go regular expressions (``regexp.Compile``, then ``Match``:
unanchored). Python's ``re`` reads most of them alike, except (each checked against the real
code in tests/devstack/argo/test_conformance.py):

* ``$`` outside ``(?m)`` is the end of the text in Go; Python's also matches before a final
  newline (``^FR$`` matches ``"FR\\n"``): written ``\\Z`` here. Go's ``\\z`` is Python's ``\\Z``;
  Go has no ``\\Z``.
* ``\\s`` is ``[\\t\\n\\f\\r ]`` in Go (no vertical tab); ``\\d``, ``\\w``, ``\\b`` are ASCII in
  Go; ``(?i)`` folds case in Unicode in both; ``\\x{FFFD}`` is Python's ``\\U0000fffd``.
* Go matches bytes: each byte of invalid UTF-8 is one U+FFFD there (:func:`go_text` gives a
  string those bytes were decoded into, with ``surrogateescape``, as Go's regexp sees it).

Refused (``ValueError``), being either not RE2 or read otherwise by Python: lookaround and
backreferences, ``\\Z``, POSIX classes ``[[:alpha:]]``, the ungreedy flag ``U`` (Python's ``U`` is
another flag), ``(?m)`` anywhere but at the very start, and ``\\S``, ``\\D``, ``\\W`` inside a class.
"""
from __future__ import annotations

import re

_NOT_RE2 = re.compile(r"\(\?<?[=!]|\\[1-9]")  # lookarounds and backreferences
_FLAGS = re.compile(r"\(\?([A-Za-z-]+)[:)]")
_LEADING_MULTILINE = re.compile(r"\(\?[a-zA-Z]*m[a-zA-Z]*\)")
_SPACE = r"\t\n\f\r "
_OUTSIDE = {"z": r"\Z", "s": f"[{_SPACE}]", "S": f"[^{_SPACE}]", "d": "[0-9]", "D": "[^0-9]",
            "w": "[0-9A-Za-z_]", "W": "[^0-9A-Za-z_]", "b": r"(?a:\b)", "B": r"(?a:\B)"}
_INSIDE = {"s": _SPACE, "d": "0-9", "w": "0-9A-Za-z_"}


def translate(pattern: str) -> str:
    """The Python pattern for a Go one; ``ValueError`` saying why for what is refused."""
    if _NOT_RE2.search(pattern):
        raise ValueError(f"regular expression {pattern!r} uses lookaround or backreferences, "
                         "which Go's RE2 rejects")
    multiline = False
    for match in _FLAGS.finditer(pattern):
        flags = match.group(1)
        if "U" in flags:
            raise ValueError(f"regular expression {pattern!r}: the ungreedy flag U is not supported "
                             "by the local runner")
        if "m" in flags:
            if match.start() != 0 or not _LEADING_MULTILINE.match(pattern):
                raise ValueError(f"regular expression {pattern!r}: (?m) is supported only at the very "
                                 "start by the local runner")
            multiline = True
    out: list[str] = []
    in_class, class_opened = False, False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            escaped = pattern[i + 1]
            if escaped == "Z":
                raise ValueError(f"regular expression {pattern!r}: Go has no \\Z (use \\z or $)")
            if escaped == "x" and pattern.startswith("{", i + 2):  # \x{FFFD}: Python's \U0000FFFD
                close = pattern.find("}", i + 3)
                digits = pattern[i + 3:close] if close > 0 else ""
                if not digits or len(digits) > 6 or not all(c in "0123456789abcdefABCDEF" for c in digits) \
                        or int(digits, 16) > 0x10FFFF:
                    raise ValueError(f"regular expression {pattern!r}: invalid escape \\x{{{digits}")
                out.append(f"\\U{int(digits, 16):08x}")
                class_opened = False
                i = close + 1
                continue
            if in_class:
                if escaped in "SDW":
                    raise ValueError(f"regular expression {pattern!r}: \\{escaped} inside a class is "
                                     "not supported by the local runner")
                out.append(_INSIDE.get(escaped, ch + escaped))
            else:
                out.append(_OUTSIDE.get(escaped, ch + escaped))
            class_opened = False
            i += 2
            continue
        if in_class:
            if ch == "[" and pattern.startswith("[:", i):
                raise ValueError(f"regular expression {pattern!r}: POSIX classes like [[:alpha:]] "
                                 "are not supported by the local runner")
            if ch == "]" and not class_opened:
                in_class = False
            elif ch in "[&~|":  # literals in Go; Python reads them as set operations to come
                ch = "\\" + ch
            class_opened = class_opened and ch == "^"
        elif ch == "[":
            in_class, class_opened = True, True
        elif ch == "$" and not multiline:
            out.append(r"\Z")
            i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def compile(pattern: str) -> re.Pattern:  # noqa: A001 - re.compile's twin
    """``regexp.Compile(pattern)`` as a Python pattern (``search`` is Go's ``Match``)."""
    translated = translate(pattern)
    try:
        return re.compile(translated)
    except re.error as exc:
        raise ValueError(f"regular expression {pattern!r}: {exc}") from exc


_INVALID_BYTE = re.compile("[\udc80-\udcff]")  # surrogateescape's byte 0x80-0xff


def go_text(text: str) -> str:
    """``text`` as Go's regexp reads its bytes: an invalid byte (a surrogateescape) is U+FFFD."""
    return text if text.isascii() else _INVALID_BYTE.sub("\ufffd", text)
