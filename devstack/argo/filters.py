"""Dependency filters as a Sensor evaluates them (``pkg/sensors/dependencies/filter.go``).

Data filters: ``path`` is a gjson path over the event data; a missing path is an error (the event
is dropped); the entry passes when *any* of its ``value``s matches: ``number`` values compare as
float64 with the comparator (default ``=``), ``string`` values are unanchored regular expressions
(``=`` passes on a match, ``!=`` on a value that does not match; Go's syntax, see :mod:`.re2`),
``bool`` values by equality with gjson's ``Bool()`` of the event value.
Entries combine with ``dataLogicalOperator`` (``and`` by default, ``or``). Exprs: govaluate
expressions over ``fields`` (name -> path); a missing path is an error; an expression passes when
it evaluates to ``true``; combined with ``exprLogicalOperator``. The groups (exprs, data, context)
combine with the dependency's ``filtersLogicalOperator``. An error in any group drops the event,
also with ``or`` where another group passed: ``Filter`` returns false with every error of
``filterEvent`` (so the Sensor's "passed but with filtering error" log is never reached).

Compile functions turn manifest values into frozen filters and raise ``ValueError`` for what Argo
would accept and then fail on every event (an unparsable number, a bad regex, no values), or
would silently ignore (a comparator on a bool). Pure: no I/O.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from . import gjson, gojson, govaluate, re2
from .gotemplate import Template, TemplateError

COMPARATORS = ("=", "!=", ">", ">=", "<", "<=")


@dataclass(frozen=True)
class DataFilter:
    path: gjson.GetPath
    type: str  # string | number | bool
    values: tuple  # re.Pattern | float | bool, by type
    comparator: str = "="
    template: Template | None = None


@dataclass(frozen=True)
class ExprFilter:
    expression: govaluate.Expression
    fields: tuple[tuple[str, gjson.GetPath], ...]


@dataclass(frozen=True)
class ContextFilter:
    type: str = ""
    subject: str = ""
    source: str = ""
    datacontenttype: str = ""


@dataclass(frozen=True)
class DependencyFilter:
    data: tuple[DataFilter, ...] = ()
    data_or: bool = False
    exprs: tuple[ExprFilter, ...] = ()
    exprs_or: bool = False
    context: ContextFilter | None = None
    filters_or: bool = False


@dataclass(frozen=True)
class FilterResult:
    passed: bool
    errors: tuple[str, ...] = ()


def compile_regex(pattern: str) -> re.Pattern:
    """A Go (RE2) regular expression as a Python pattern that matches the same texts (:mod:`.re2`)."""
    return re2.compile(pattern)


def compile_data_filter(path: str, type_: str, values: Sequence[str], comparator: str = "",
                        template: Template | None = None) -> DataFilter:
    comparator = comparator or "="
    if comparator not in COMPARATORS:
        raise ValueError(f"comparator {comparator!r}: must be one of {', '.join(COMPARATORS)}")
    if not values:
        raise ValueError("value: at least one value is required (Argo rejects every event otherwise)")
    if type_ == "number":
        compiled: tuple = tuple(gojson.parse_float(str(v)) for v in values)
    elif type_ == "string":
        if comparator not in ("=", "!="):
            raise ValueError(f"comparator {comparator!r}: string filters only use = or != "
                             "(Argo drops every event otherwise)")
        compiled = tuple(compile_regex(str(v)) for v in values)
    elif type_ == "bool":
        if comparator != "=":
            raise ValueError(f"comparator {comparator!r}: Argo ignores comparators on bool filters; "
                             "use = and the value you want")
        compiled = tuple(gojson.parse_bool(str(v)) for v in values)
    else:
        raise ValueError(f"type {type_!r}: must be string, number or bool")
    return DataFilter(gjson.parse_get_path(path), type_, compiled, comparator, template)


def compile_expr_filter(expr: str, fields: Sequence[tuple[str, str]]) -> ExprFilter:
    expression = govaluate.parse(expr)
    names = {name for name, _ in fields}
    unknown = sorted(expression.variables - names)
    if unknown:
        raise ValueError(f"expr {expr!r} reads {', '.join(unknown)} but fields name only "
                         f"{', '.join(sorted(names)) or 'nothing'}")
    return ExprFilter(expression, tuple((name, gjson.parse_get_path(path)) for name, path in fields))


def _compare(comparator: str, left: float, right: float) -> bool:
    return {"=": left == right, "!=": left != right, ">": left > right, ">=": left >= right,
            "<": left < right, "<=": left <= right}[comparator]


def _one_data(f: DataFilter, data: Any, now: datetime,
              source: gjson.Source | None) -> tuple[bool, str | None]:
    found = gjson.get(data, f.path, source)
    if found is None:
        return False, f"path '{f.path.text}' does not exist"
    if f.template is not None:
        try:
            out = f.template.execute(found.string(), now)
        except TemplateError as exc:
            return False, str(exc)
        if out in ("", "<no value>"):
            return False, f"template evaluated to empty string or no value: '{f.template.source}'"
        found = gjson.Result(out)
    if f.type == "bool":
        return any(v == found.bool() for v in f.values), None
    if f.type == "number":
        event_value = found.float()
        return any(_compare(f.comparator, event_value, v) for v in f.values), None
    text = re2.go_text(found.string())
    if f.comparator == "=":
        return any(p.search(text) for p in f.values), None
    return any(not p.search(text) for p in f.values), None


def _combine(outcomes: list[tuple[bool, str | None]], use_or: bool, group: str) -> tuple[bool, str | None]:
    """Argo's loop: with and, the first error or miss decides; with or, the first pass does."""
    errors = []
    for passed, error in outcomes:
        if error is not None:
            if not use_or:
                return False, f"{group} filter error ({error})"
            errors.append(error)
            continue
        if use_or and passed:
            return True, None
        if not use_or and not passed:
            return False, None
    if use_or:
        return False, (f"{group} filter errors [{' / '.join(errors)}]" if errors else None)
    return True, None


def _one_expr(f: ExprFilter, data: Any, source: gjson.Source | None) -> tuple[bool, str | None] | None:
    params = {}
    for name, path in f.fields:
        found = gjson.get(data, path, source)
        if found is None:
            return False, f"path '{path.text}' does not exist"
        params[name] = found.go_value()
    if not params:
        return None  # Argo skips an expression with no fields
    try:
        return f.expression.evaluate(params) is True, None
    except govaluate.ExprError as exc:
        return False, str(exc)


def filter_event(f: DependencyFilter | None, data: Any, context: dict[str, Any],
                 now: datetime, source: gjson.Source | None = None) -> FilterResult:
    """Whether an event passes its dependency's filters, with the errors Argo would log.

    ``source``: the event data's JSON text (:meth:`.events.Event.source`), read when a string
    filter meets an object or an array, which Argo matches as the text that came, and where a
    path goes through duplicate keys.
    """
    if f is None:
        return FilterResult(True)
    groups: list[tuple[bool, bool, str | None]] = []  # (configured, passed, error)
    if f.exprs:
        outcomes = [o for o in (_one_expr(e, data, source) for e in f.exprs) if o is not None]
        passed, error = _combine(outcomes, f.exprs_or, "expr")
        groups.append((True, passed, error))
    if f.data:
        passed, error = _combine([_one_data(d, data, now, source) for d in f.data], f.data_or, "data")
        groups.append((True, passed, error))
    if f.context is not None:
        c = f.context
        passed = all(not want or context.get(name) == want for name, want in (
            ("type", c.type), ("subject", c.subject), ("source", c.source),
            ("datacontenttype", c.datacontenttype)))
        groups.append((True, passed, None))
    errors = tuple(error for _, _, error in groups if error)
    if errors:  # Filter() drops on any error, even where filterEvent's "or" said pass
        return FilterResult(False, errors if f.filters_or else errors[:1])
    if f.filters_or:
        return FilterResult(any(passed for _, passed, _ in groups))
    return FilterResult(all(passed for _, passed, _ in groups))
