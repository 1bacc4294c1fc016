"""Push a condition down to an Argo Events Sensor: ``dependencies[].filters.data`` entries.

How Argo evaluates a data filter (argo-events ``pkg/sensors/dependencies/filter.go``): the path
is a gjson path into the event data (for a Kafka EventSource with ``jsonBody: true`` that is
``{topic, key, partition, body, timestamp, headers}``); a missing path rejects the event;
``number`` values are compared as float64 with the comparator; ``bool`` values by equality;
``string`` values are *unanchored regular expressions* matched against the text (only ``=`` and
``!=``); several values in one entry are alternatives (any may match); entries are and-ed.

The contract of :func:`to_argo_filters`: **every record the condition keeps also passes the
filters** (the Sensor never drops what the step would emit). The Sensor may let through more
than the condition keeps (a number written as text, say), so the filter step still runs the full
condition; and a record the step would dead-letter (``amount`` missing or text in ``amount > 5``)
may be dropped silently by the Sensor instead: push down only where that trade is acceptable.

What qualifies, and why the rest does not:

* ``field OP constant`` (either side) with a number constant and ``== < <= > >=``, a string or
  bool constant and ``==``; strings become anchored, escaped patterns (``^FR$``);
* ``field in [constants of one type]`` and ``or`` of equalities on one field: one entry whose
  values are the alternatives;
* ``and`` of those: one entry each.
* Never ``!=`` / ``not in`` / ``not`` / ``is null``: true for a missing field here, while Argo
  rejects a missing path. Never a number of magnitude >= 2**53: float64 would round it, and a
  strict ``>`` could then fail on a record the step keeps. Never ``$offset``/``$timestamp``
  (not in Argo's event data in this form), nor a field name outside ``[A-Za-z0-9_-]``
  (gjson gives ``. * ? | # @`` meanings).
"""
from __future__ import annotations

import re
from typing import Any

from .nodes import VALUE_ROOT, Compare, Field, ListLiteral, Literal, Logical, Membership, Node
from .parser import parse

_FLIP = {"==": "==", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_ARGO_COMPARATOR = {"==": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_SAFE_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
_ARGO_ROOTS = {"key": "key", "topic": "topic", "partition": "partition"}
_EXACT_FLOAT_LIMIT = 2**53
# The characters Go's regexp.QuoteMeta escapes: the RE2 metacharacters.
_RE2_META = frozenset("\\.+*?()|[]{}^$")


def to_argo_filters(condition: Any, *, partial: bool = False) -> list[dict[str, Any]] | None:
    """Argo ``filters.data`` entries implied by ``condition``, or ``None`` if not expressible.

    ``condition`` is condition text, a compiled :class:`Condition` or a parsed tree. With
    ``partial=True``, the conjuncts that qualify are returned even when others do not (still a
    necessary condition); ``None`` only when none qualifies.

    >>> to_argo_filters("amount >= 10 and country in ['FR', 'DE']")  # doctest: +NORMALIZE_WHITESPACE
    [{'path': 'body.amount', 'type': 'number', 'value': ['10'], 'comparator': '>='},
     {'path': 'body.country', 'type': 'string', 'value': ['^FR$', '^DE$'], 'comparator': '='}]
    """
    tree = _tree_of(condition)
    filters = []
    for conjunct in _conjuncts(tree):
        entry = _entry(conjunct)
        if entry is None:
            if not partial:
                return None
            continue
        filters.append(entry)
    return filters or None


def _tree_of(condition: Any) -> Node:
    if isinstance(condition, str):
        return parse(condition)
    return getattr(condition, "tree", condition)


def _conjuncts(node: Node) -> list[Node]:
    if isinstance(node, Logical) and node.op == "and":
        return [part for operand in node.operands for part in _conjuncts(operand)]
    return [node]


def _entry(node: Node) -> dict[str, Any] | None:
    if isinstance(node, Compare):
        return _comparison(node)
    alternatives = _alternatives(node)
    if not alternatives:
        return None
    paths = {(path, kind) for path, kind, _ in alternatives}
    if len(paths) != 1:
        return None
    (path, kind), = paths
    values = list(dict.fromkeys(value for _, _, value in alternatives))  # keep order, no repeats
    return {"path": path, "type": kind, "value": values, "comparator": "="}


def _alternatives(node: Node) -> list[tuple[str, str, str]] | None:
    """Equality alternatives ``(path, type, value)`` of ``x == c``, ``x in [...]`` and ``or``s."""
    if isinstance(node, Logical) and node.op == "or":
        found: list[tuple[str, str, str]] = []
        for operand in node.operands:
            part = _alternatives(operand)
            if not part:
                return None
            found.extend(part)
        return found
    if isinstance(node, Compare) and node.op == "==":
        entry = _comparison(node)
        return [(entry["path"], entry["type"], entry["value"][0])] if entry else None
    if isinstance(node, Membership) and not node.negated and isinstance(node.container, ListLiteral):
        path = _argo_path(node.item)
        items = node.container.items
        if path is None or not items or not all(isinstance(i, Literal) for i in items):
            return None
        found = []
        for item in items:
            typed = _argo_value(item.value, "==")
            if typed is None:
                return None
            found.append((path, *typed))
        return found
    return None


def _comparison(node: Compare) -> dict[str, Any] | None:
    op, field_node, constant = node.op, node.left, node.right
    if isinstance(field_node, Literal) and not isinstance(constant, Literal):
        field_node, constant = constant, field_node
        op = _FLIP.get(op, op)
    if op not in _ARGO_COMPARATOR or not isinstance(constant, Literal):
        return None
    path = _argo_path(field_node)
    typed = _argo_value(constant.value, op)
    if path is None or typed is None:
        return None
    kind, value = typed
    return {"path": path, "type": kind, "value": [value], "comparator": _ARGO_COMPARATOR[op]}


def _argo_path(node: Node) -> str | None:
    if not isinstance(node, Field):
        return None
    if node.root == VALUE_ROOT:
        prefix = "body"
    elif node.root in _ARGO_ROOTS and not node.path:
        return _ARGO_ROOTS[node.root]
    elif node.root == "headers" and len(node.path) == 1:
        prefix = "headers"
    else:
        return None
    segments = [prefix]
    for part in node.path:
        if isinstance(part, int):
            if part < 0:
                return None
            segments.append(str(part))
        elif _SAFE_SEGMENT.fullmatch(part):
            segments.append(part)
        else:
            return None
    return ".".join(segments)


def _argo_value(value: Any, op: str) -> tuple[str, str] | None:
    kind = type(value)
    if kind is bool:
        return ("bool", "true" if value else "false") if op == "==" else None
    if kind is int or kind is float:
        if abs(value) >= _EXACT_FLOAT_LIMIT:
            return None
        return ("number", repr(value))
    if kind is str and op == "==":
        return ("string", "^" + quote_meta(value) + "$")
    return None


def quote_meta(text: str) -> str:
    """Escape ``text`` for a Go (RE2) regular expression, as Go's ``regexp.QuoteMeta`` does."""
    return "".join("\\" + ch if ch in _RE2_META else ch for ch in text)
