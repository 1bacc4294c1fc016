"""Values written into YAML text so that no value, however hostile, can change the document's structure.

Templates keep their comments (so they are text templates, not ``yaml.dump``), which means every
inserted value must be a self-contained YAML scalar or flow collection. JSON is one (YAML 1.2 is a
superset of JSON) once two YAML habits are met: the characters it treats differently inside a
double-quoted scalar are escaped (line separators it would fold, U+0085, U+2028, U+2029, and
characters it does not allow raw: controls, surrogates, U+FEFF, U+FFFE, U+FFFF), and floats carry
a dot (YAML 1.1 readers take ``1e-05`` for a string).
"""
from __future__ import annotations

import json
import math
import re
from typing import Any, Mapping


class YamlText(str):
    """Text already made safe to insert into a YAML template (the renderer refuses anything else)."""


# Characters YAML does not take raw (or folds) inside a double-quoted scalar or a comment.
_NOT_RAW_IN_YAML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\u007f-\u009f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")
_PRINTABLE_ASCII = re.compile(r"^[\x20-\x7e]*$")


def _escaped(text: str) -> str:
    return _NOT_RAW_IN_YAML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _node(value: Any) -> str:
    if value is None or isinstance(value, (bool, str)):
        # json.dumps already escapes C0 controls in strings; the rest only occur inside strings,
        # where \uXXXX means the same to YAML as to JSON.
        return _escaped(json.dumps(value, ensure_ascii=False))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} has no YAML/JSON form that Argo or Kubernetes accept")
        text = repr(value)
        mantissa, e, exponent = text.partition("e")
        # YAML 1.1 (PyYAML, many tools) reads 1e-05 as a string: its floats need a dot.
        return f"{mantissa}.0e{exponent}" if e and "." not in mantissa else text
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("mapping keys must be strings")
        return "{" + ", ".join(f"{_node(k)}: {_node(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_node(v) for v in value) + "]"
    raise TypeError(f"cannot write a {type(value).__name__} into YAML")


def to_yaml_value(value: Any) -> YamlText:
    """Any JSON-like value as one YAML flow node: strings double-quoted, mappings as ``{...}``."""
    return YamlText(_node(value))


def to_single_quoted(text: str) -> YamlText:
    """Printable-ASCII text as a single-quoted YAML scalar: readable for long JSON-ish strings.

    In single quotes only ``'`` is special (it is doubled); anything outside printable ASCII is
    refused rather than risked, since line breaks fold there and cannot be escaped.
    """
    if not isinstance(text, str) or not _PRINTABLE_ASCII.match(text):
        raise ValueError("single-quoted YAML values must be printable ASCII text")
    return YamlText("'" + text.replace("'", "''") + "'")


def to_comment(text: Any) -> YamlText:
    """Text for after a ``#``: one line (so it can never end the comment), no raw control characters."""
    return YamlText(_escaped(" ".join(str(text).split())))
