"""The two Go ``text/template`` (sprig) actions the renderer writes into a ``dataTemplate``.

Argo evaluates ``src.dataTemplate`` with ``{"Input": <event data decoded as JSON>}`` as dot,
numbers decoded as float64. What we emit (:mod:`etlkit.workflow.invocation`) is text around

* ``{{ toJson .Input }}``: sprig's ``toJson``, ``json.Marshal`` of the decoded event data (keys
  sorted, ``<>&`` escaped, every number a float64); a value it cannot marshal prints nothing;
* ``{{ (now).UnixMilli }}``: the current time in epoch milliseconds (the dead letter's ``at``).

This module parses a template at *load time* and refuses any other action (other fields,
functions, pipelines, trimming, comments, control structures), naming it, so a manifest never
runs here with semantics Argo does not give it. ``now`` is the time passed to
:meth:`Template.execute`, so evaluation is deterministic. Pure: no I/O.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import gojson
from .yamlnode import unsupported

TO_JSON = ("toJson", ".Input")
UNIX_MILLI = ("(now).UnixMilli",)
ACTIONS = {TO_JSON: "{{ toJson .Input }}", UNIX_MILLI: "{{ (now).UnixMilli }}"}
_ACTION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


class TemplateError(ValueError):
    """A template outside the two actions (at load time)."""


def _to_json(value: Any) -> str:
    try:
        return gojson.dumps(value, sort_keys=True, html=True, float64=True)
    except (TypeError, ValueError):
        return ""  # sprig's toJson swallows the marshal error


def _epoch_ms(t: datetime) -> int:
    """Exact milliseconds since the epoch (``timestamp()`` alone is a float and rounds)."""
    return int(t.replace(microsecond=0).timestamp()) * 1000 + t.microsecond // 1000


@dataclass(frozen=True)
class Template:
    """A parsed template: text pieces and actions (:data:`TO_JSON`, :data:`UNIX_MILLI`), in order."""

    source: str
    pieces: tuple  # str | tuple[str, ...]

    def execute(self, data: Any, now: datetime) -> str:
        """The text with ``data`` as ``.Input`` and ``now`` as the time."""
        return "".join(piece if isinstance(piece, str) else
                       _to_json(data) if piece == TO_JSON else str(_epoch_ms(now))
                       for piece in self.pieces)

    @property
    def reads_input(self) -> bool:
        """Whether the text prints ``.Input`` (else ``execute`` ignores its ``data``)."""
        return TO_JSON in self.pieces

    def json_splice(self) -> tuple[str, str] | None:
        """``(before, after)`` when the template is text around ONE ``toJson .Input`` action,
        the shape of every step invocation payload; else None."""
        if len(self.pieces) == 3 and self.pieces[1] == TO_JSON and all(
                isinstance(p, str) for p in self.pieces[::2]):
            return self.pieces[0], self.pieces[2]
        return None


def parse(source: str) -> Template:
    """Parse ``source``; ``TemplateError`` names an action outside the two."""
    if not isinstance(source, str):
        raise TemplateError("template: must be a string")
    pieces: list[Any] = []
    pos = 0
    for m in _ACTION.finditer(source):
        if m.start() > pos:
            pieces.append(source[pos:m.start()])
        action = tuple(m.group(1).split())
        if action not in ACTIONS:
            raise TemplateError(f"template action {m.group(0)!r}: {unsupported(', '.join(ACTIONS.values()))}")
        pieces.append(action)
        pos = m.end()
    tail = source[pos:]
    if "{{" in tail:
        raise TemplateError(f"template {source!r}: unclosed action")
    if tail:
        pieces.append(tail)
    return Template(source, tuple(pieces))
