"""Go's text forms of JSON values and numbers, so payloads match what a Sensor builds.

Argo Events is Go: event data is marshalled by ``encoding/json``, values picked by gjson, and
templates print with ``fmt``. Each has its own number text, and a step function that compares
bodies (or a test that does) sees the difference, so this module reproduces them:

* :func:`dumps` is ``encoding/json.Marshal``: compact, ``<``, ``>`` and ``&`` escaped as
  ``\\u003c``..., floats in ``'f'`` form between 1e-6 and 1e21 and ``'e'`` outside;
* :func:`float_text` is ``strconv.FormatFloat(x, 'f', -1, 64)`` (gjson's ``String()`` of a number
  that is not a plain integer);

Pure: no I/O.
"""
from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any

HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
# Number texts where Python's repr differs from Go's: integral floats ("2.0") and exponent forms
# ("1e-05", "1e+16"). A false alarm inside a string only costs the slow path.
_SUSPECT = re.compile(r"\d\.0(?![0-9])|\d[eE][+-]")
_LONG_INT = re.compile(r"\d{16}")
EXACT_INT = 2 ** 53


def _digits(x: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of abs(x) and the decimal point position (Go's digs.dp).

    Python's repr and Go's shortest formatting both pick the shortest string that reads back as
    the same float, so the digits agree.
    """
    sign, digits, exponent = Decimal(repr(abs(x))).normalize().as_tuple()
    text = "".join(map(str, digits)) or "0"
    return text, len(text) + int(exponent)


def _fixed(digits: str, dp: int) -> str:
    if digits == "0":
        return "0"
    if dp <= 0:
        return "0." + "0" * -dp + digits
    if dp >= len(digits):
        return digits + "0" * (dp - len(digits))
    return digits[:dp] + "." + digits[dp:]


def _exponent(digits: str, dp: int) -> str:
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    exp = dp - 1 if digits != "0" else 0
    return f"{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def _sign(x: float) -> str:
    return "-" if math.copysign(1.0, x) < 0 else ""


def float_text(x: float) -> str:
    """``strconv.FormatFloat(x, 'f', -1, 64)``: shortest digits, never an exponent."""
    if math.isnan(x) or math.isinf(x):
        return "NaN" if math.isnan(x) else ("+Inf" if x > 0 else "-Inf")
    return _sign(x) + _fixed(*_digits(x))


def json_float(x: float) -> str:
    """A float64 as ``encoding/json`` writes it; NaN and infinities are an error there too."""
    if math.isnan(x) or math.isinf(x):
        raise ValueError(f"json: unsupported value: {x!r}")
    digits, dp = _digits(x)
    if x != 0 and not 1e-6 <= abs(x) < 1e21:
        text = _exponent(digits, dp)
        # Go cleans e-09 to e-9 (negative exponents only).
        text = re.sub(r"e-0(\d)$", r"e-\1", text)
        return _sign(x) + text
    return _sign(x) + _fixed(digits, dp)


def _string(s: str, html: bool) -> str:
    text = json.dumps(s, ensure_ascii=False)
    return escape_html(text) if html else text


def _slow_dumps(value: Any, sort_keys: bool, html: bool, float64: bool) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return json_float(float(value)) if float64 and abs(value) >= EXACT_INT else str(value)
    if isinstance(value, float):
        return json_float(value)
    if isinstance(value, str):
        return _string(value, html)
    if isinstance(value, dict):
        items = sorted(value.items()) if sort_keys else value.items()
        return "{" + ",".join(f"{_string(str(k), html)}:{_slow_dumps(v, sort_keys, html, float64)}"
                              for k, v in items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_slow_dumps(v, sort_keys, html, float64) for v in value) + "]"
    raise TypeError(f"json: unsupported type {type(value).__name__}")


def dumps(value: Any, *, sort_keys: bool = False, html: bool = True, float64: bool = False) -> str:
    """``json.Marshal`` of a JSON-shaped Python value. ``sort_keys`` as Go does for maps.

    Ints keep their digits (a ``json.RawMessage`` body does), unless ``float64``: then, as for a
    value gjson decoded (every number a float64), an int beyond 2**53 prints rounded like Go.
    Floats take Go's text. Fast path: the C encoder, whose output differs from Go's only in
    number texts the ``_SUSPECT`` pattern finds (then the exact, slower encoder runs).

    A string holding bytes of invalid UTF-8 (decoded with ``surrogateescape``, as a Go string
    holds them) writes each as ``\\ufffd``, as Go does.
    """
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys,
                          allow_nan=False)
    except ValueError as exc:
        raise ValueError(f"json: unsupported value: {exc}") from exc
    if _needs_go_numbers(text, float64):
        text = _slow_dumps(value, sort_keys, html, float64)
    elif html:
        text = escape_html(text)
    if not text.isascii() and _INVALID_BYTE.search(text):
        text = _INVALID_BYTE.sub(r"\\ufffd", text)
    return text


_INVALID_BYTE = re.compile("[\udc80-\udcff]")  # surrogateescape's byte 0x80-0xff


def _needs_go_numbers(text: str, float64: bool = False) -> bool:
    """Whether a C-encoded JSON text may hold a number whose Go text differs (then the exact,
    slower encoder must run). A false alarm inside a string only costs that slower path."""
    # Substring tests first: they are memchr-fast, the regular expressions scan char by char.
    if (".0" in text or "e-" in text or "e+" in text or "E-" in text or "E+" in text) and _SUSPECT.search(text):
        return True
    return float64 and _LONG_INT.search(text) is not None


def escape_html(text: str) -> str:
    """Go's HTML escaping of an encoded JSON text: ``<``, ``>``, ``&``, U+2028 and U+2029 occur
    only inside JSON strings, so replacing them everywhere is exact."""
    for char, escaped in HTML_ESCAPES.items():
        if char in text:
            text = text.replace(char, escaped)
    return text
