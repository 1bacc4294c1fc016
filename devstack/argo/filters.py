"""Dependency data filters as a Sensor evaluates them (``pkg/sensors/dependencies/filter.go``),
for the filters the renderer emits and nothing else.

What ``etlkit/steps/expressions/pushdown.py`` writes into ``dependencies[].filters.data``, and so
all this module evaluates: a list of entries, and-ed; each ``{path, type, value, comparator}``
with ``path`` a dotted gjson path of plain keys (:func:`.gjson.parse_get_path`), and

* ``type: number``: comparator ``=``, ``<``, ``<=``, ``>`` or ``>=``; values Go floats, compared
  as float64 with gjson's ``Float()`` of the event value (numeric text parsed, true 1, else 0);
* ``type: string``: comparator ``=``; each value ``^`` + ``regexp.QuoteMeta(text)`` + ``$``, an
  anchored literal: it matches exactly ``text`` (Go's ``$`` is the end of the text, and the
  event's invalid UTF-8 bytes read as U+FFFD, as Go's regexp reads them);
* ``type: bool``: comparator ``=``; value ``true`` or ``false``, equal to gjson's ``Bool()``.

Several values in one entry are alternatives: the entry passes when any matches. A missing path
is an error: the event is dropped. Anything else (exprs, context filters, data filter templates,
``dataLogicalOperator`` and ``filtersLogicalOperator``, ``!=``, a pattern that is not an anchored
literal) is refused by :mod:`.sensor_spec` at load, since the real Argo Events is the reference.

:func:`compile_data_filter` raises ``ValueError`` for what is outside that, and for what Argo
would accept and then fail on for every event (an unparsable number, no values). Pure: no I/O.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

from . import gjson, gojson
from .yamlnode import unsupported

COMPARATORS = {"number": ("=", "<", "<=", ">", ">="), "string": ("=",), "bool": ("=",)}
_RE2_META = "\\.+*?()|[]{}^$"  # what Go's regexp.QuoteMeta escapes
_QUOTED_LITERAL = re.compile(r"\^((?:[^\\.+*?()|\[\]{}^$]|\\[\\.+*?()|\[\]{}^$])*)\$", re.DOTALL)
_INVALID_BYTE = re.compile("[\udc80-\udcff]")  # surrogateescape's byte 0x80-0xff


@dataclass(frozen=True)
class DataFilter:
    path: gjson.GetPath
    type: str  # string | number | bool
    values: tuple  # str (the literal) | float | bool, by type
    comparator: str = "="


@dataclass(frozen=True)
class FilterResult:
    passed: bool
    errors: tuple[str, ...] = ()


def quoted_literal(pattern: str) -> str:
    """The text of an anchored, ``QuoteMeta``-escaped pattern ``^...$``; ``ValueError`` otherwise."""
    match = _QUOTED_LITERAL.fullmatch(pattern) if isinstance(pattern, str) else None
    if match is None:
        raise ValueError(f"value {pattern!r}: not an anchored literal: "
                         + unsupported(f"'^' + regexp.QuoteMeta(text) + '$', each of {_RE2_META} escaped"))
    return re.sub(r"\\(.)", r"\1", match.group(1), flags=re.DOTALL)


def go_text(text: str) -> str:
    """``text`` as Go's regexp reads its bytes: an invalid byte (a surrogateescape) is U+FFFD."""
    return text if text.isascii() else _INVALID_BYTE.sub("\ufffd", text)


def compile_data_filter(path: str, type_: str, values: Sequence[str], comparator: str) -> DataFilter:
    """One ``filters.data`` entry; ``ValueError`` names the field and the rule."""
    if type_ not in COMPARATORS:
        raise ValueError(f"type {type_!r}: must be one of {', '.join(COMPARATORS)}")
    if comparator not in COMPARATORS[type_]:
        raise ValueError(f"comparator {comparator!r}: "
                         + unsupported(f"a {type_} filter takes {', '.join(COMPARATORS[type_])}"))
    if not values:
        raise ValueError("value: at least one value is required (Argo rejects every event otherwise)")
    if type_ == "number":
        compiled: tuple = tuple(gojson.parse_float(str(v)) for v in values)
    elif type_ == "string":
        compiled = tuple(quoted_literal(v) for v in values)
    else:
        if any(v not in ("true", "false") for v in values):
            raise ValueError(f"value {list(values)!r}: " + unsupported("a bool filter's values are true or false"))
        compiled = tuple(v == "true" for v in values)
    return DataFilter(gjson.parse_get_path(path), type_, compiled, comparator)


def _compare(comparator: str, left: float, right: float) -> bool:
    return {"=": left == right, ">": left > right, ">=": left >= right,
            "<": left < right, "<=": left <= right}[comparator]


def _one(f: DataFilter, data: Any, source: gjson.Source | None) -> tuple[bool, str | None]:
    found = gjson.get(data, f.path, source)
    if found is None:
        return False, f"path '{f.path.text}' does not exist"
    if f.type == "bool":
        return found.bool() in f.values, None
    if f.type == "number":
        event_value = found.float()
        return any(_compare(f.comparator, event_value, v) for v in f.values), None
    return go_text(found.string()) in f.values, None


def filter_event(filters: Sequence[DataFilter] | None, data: Any,
                 source: gjson.Source | None = None) -> FilterResult:
    """Whether an event passes its dependency's data filters, with the error Argo would log.

    Argo's loop over and-ed entries: the first error or miss decides. ``source``: the event
    data's JSON text (:meth:`.events.Event.source`), read when a string filter meets an object or
    an array, which Argo matches as the text that came, and where a path goes through duplicate
    keys.
    """
    for f in filters or ():
        passed, error = _one(f, data, source)
        if error is not None:
            return FilterResult(False, (f"data filter error ({error})",))
        if not passed:
            return FilterResult(False)
    return FilterResult(True)
