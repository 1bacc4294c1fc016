"""gjson paths (how Argo reads a value out of an event) and sjson paths (how it writes a payload).

Argo Events resolves ``dataKey``, ``contextKey``, data filter ``path`` and expr ``fields[].path``
with tidwall/gjson, and writes ``payload[].dest`` with tidwall/sjson. The runner works on decoded
JSON (Python values), so this module implements the part of both path languages our manifests
can use, and :func:`parse_get_path` / :func:`parse_set_path` refuse the rest *at load time* with
the reason, instead of resolving differently from Argo at run time.

gjson subset: ``a.b.c`` keys; ``\\`` escapes the next character; ``*`` and ``?`` wildcards in a
key (first matching key wins, as in gjson); an integer indexes an array; ``#`` is an array's
length and ``items.#.name`` collects ``name`` from each element; ``@this`` is the value itself.
Not supported (refused): queries ``#(...)``, pipes ``|``, other ``@`` modifiers, ``!`` literals,
``..`` JSON Lines.

sjson subset: ``a.b.c`` keys creating objects; ``\\`` escapes; an integer indexes (or creates and
pads) an array; ``-1`` appends; a leading ``:`` forces an object key (``users.:2313``).
Wildcards, ``#``, ``|`` and ``@`` are refused, as sjson refuses them.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from json.decoder import scanstring
from typing import Any, Callable, NamedTuple

from . import gojson


class PathError(ValueError):
    """A path this runner does not evaluate; the message says which part and why."""


@dataclass(frozen=True)
class _Part:
    text: str
    pattern: re.Pattern | None = None  # set when the key holds an unescaped * or ?
    force_key: bool = False  # sjson ':' prefix

    @property
    def wildcard(self) -> bool:
        return self.pattern is not None


def _split(path: str, *, allow_colon: bool) -> list[_Part]:
    """Keys of a dotted path; ``\\`` makes the next character literal (also ``.``, ``*``, ``?``)."""
    parts: list[_Part] = []
    text: list[str] = []
    regex: list[str] = []
    wildcard = force = False

    def close() -> None:
        pattern = re.compile("".join(regex), re.DOTALL) if wildcard else None
        parts.append(_Part("".join(text), pattern, force))

    i = 0
    while i < len(path):
        ch = path[i]
        if ch == "\\" and i + 1 < len(path):
            text.append(path[i + 1])
            regex.append(re.escape(path[i + 1]))
            i += 2
            continue
        if ch == ".":
            close()
            text, regex, wildcard, force = [], [], False, False
        elif ch == ":" and allow_colon and not text:
            force = True
        else:
            wildcard = wildcard or ch in "*?"
            text.append(ch)
            regex.append({"*": ".*", "?": "."}.get(ch) or re.escape(ch))
        i += 1
    close()
    return parts


@dataclass(frozen=True)
class GetPath:
    """A parsed gjson path; ``text`` is what the manifest said."""

    text: str
    parts: tuple[_Part, ...]


def parse_get_path(text: str) -> GetPath:
    if not isinstance(text, str) or not text:
        raise PathError("path: must be a non-empty string")
    if text.startswith(".."):
        raise PathError(f"path {text!r}: JSON Lines paths (..) are not supported")
    parts = _split(text, allow_colon=False)
    for part in parts:
        raw = part.text
        if raw == "":
            raise PathError(f"path {text!r}: empty key between dots")
        if raw.startswith("#(") or raw.startswith("#["):
            raise PathError(f"path {text!r}: gjson queries #(...) are not supported")
        if "|" in raw:
            raise PathError(f"path {text!r}: gjson pipes (|) are not supported")
        if raw.startswith("@") and raw != "@this":
            raise PathError(f"path {text!r}: gjson modifier {raw} is not supported (only @this)")
        if raw.startswith("!"):
            raise PathError(f"path {text!r}: gjson literals (!...) are not supported")
    return GetPath(text, tuple(parts))


@dataclass(frozen=True)
class Result:
    """What gjson found: the decoded value with gjson's type and conversions.

    ``text``: the value's JSON text as it stands in the event data, when known (gjson's ``Raw``
    of an object or array is that text, not a re-encoding: number spellings, escapes and
    duplicate keys stay as they came).
    """

    value: Any
    text: str | None = None

    @property
    def kind(self) -> str:
        """gjson's type name: Null, False, True, Number, String or JSON."""
        v = self.value
        if v is None:
            return "Null"
        if v is True:
            return "True"
        if v is False:
            return "False"
        if isinstance(v, (int, float)):
            return "Number"
        if isinstance(v, str):
            return "String"
        return "JSON"

    def raw(self) -> str:
        """The value's JSON text (gjson ``Raw``)."""
        return self.text if self.text is not None else gojson.dumps(self.value)

    def string(self) -> str:
        """gjson ``String()``: text as is, numbers without exponent, JSON as raw, null empty."""
        kind = self.kind
        if kind == "Null":
            return ""
        if kind in ("True", "False"):
            return kind.lower()
        if kind == "Number":
            return str(self.value) if isinstance(self.value, int) else gojson.float_text(self.value)
        if kind == "String":
            return self.value
        return self.raw()

    def float(self) -> float:
        """gjson ``Float()``: numbers, true as 1, numeric text parsed, anything else 0."""
        kind = self.kind
        if kind == "Number":
            return float(self.value)
        if kind == "True":
            return 1.0
        if kind == "String":
            try:
                return gojson.parse_float(self.value)
            except gojson.FloatRangeError as exc:
                return exc.value  # gjson ignores ParseFloat's error and keeps its ±Inf
            except ValueError:
                return 0.0
        return 0.0

    def bool(self) -> bool:
        """gjson ``Bool()``: true, non-zero numbers, text ParseBool accepts as true once lowered
        (so ``tRuE`` too, which ParseBool alone refuses)."""
        kind = self.kind
        if kind == "True":
            return True
        if kind == "Number":
            return self.value != 0
        if kind == "String":
            try:
                return gojson.parse_bool(self.value.lower())
            except ValueError:
                return False
        return False

    def go_value(self) -> Any:
        """gjson ``Value()``: like the decoded value but every number a float64."""
        return to_go_value(self.value)


def to_go_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict):
        return {k: to_go_value(v) for k, v in value.items()}
    return [to_go_value(v) for v in value]


_MISSING = object()


def _step(value: Any, part: _Part) -> Any:
    key = part.text
    if key == "@this":
        return value
    if isinstance(value, dict):
        if part.wildcard:
            for name in value:
                if part.pattern.fullmatch(name):
                    return value[name]
            return _MISSING
        return value.get(key, _MISSING)
    if isinstance(value, list) and key.isdigit():
        index = int(key)
        return value[index] if index < len(value) else _MISSING
    return _MISSING


def _walk(value: Any, parts: tuple[_Part, ...]) -> Any:
    for i, part in enumerate(parts):
        if part.text == "#" and isinstance(value, list):
            rest = parts[i + 1:]
            if not rest:
                return len(value)
            found = [_walk(item, rest) for item in value]
            return [item for item in found if item is not _MISSING]
        value = _step(value, part)
        if value is _MISSING:
            return _MISSING
    return value


class Source(NamedTuple):
    """The JSON text a decoded value came from, for what gjson reads off the text itself."""

    text: Callable[[], str]  # the compact text
    decode: Callable[[str], Any]  # a value's text decoded as the value was
    duplicate_keys: bool = False  # some object has a key twice: a path may go through any of them


def get(value: Any, path: GetPath, source: Source | None = None) -> Result | None:
    """The value at ``path`` inside ``value`` (decoded JSON), or None when it does not exist.

    With the ``source`` text, an object or array found carries its raw text
    (:attr:`Result.text`), and where ``value`` had duplicate keys (decoded: the first of each) a
    path the first ones do not lead through is searched through the others, as gjson does.
    """
    found = _walk(value, path.parts)
    if found is _MISSING:
        if source is None or not source.duplicate_keys:
            return None
        raw = raw_at(source.text(), path)
        return None if raw is None else Result(source.decode(raw), raw)
    if source is not None and isinstance(found, (dict, list)):
        return Result(found, raw_at(source.text(), path))
    return Result(found)


_DECODER = json.JSONDecoder()


def _value_end(text: str, start: int) -> int:
    return _DECODER.raw_decode(text, start)[1]


def raw_at(text: str, path: GetPath) -> str | None:
    """The text of the value at ``path`` in compact JSON ``text`` as gjson finds it, or None for
    a path of wildcards, ``#`` or ``@this`` (the caller re-encodes then).

    gjson's search: the first key that matches the last part wins; where more parts follow, each
    key that matches is tried in turn (a duplicate key after one the rest does not resolve in)."""
    if any(part.wildcard or part.text in ("#", "@this") for part in path.parts):
        return None
    return _raw_at(text, 0, path.parts)


def _raw_at(text: str, start: int, parts: tuple[_Part, ...]) -> str | None:
    part, rest = parts[0], parts[1:]
    i = start + 1
    if text[start] == "{":
        while text[i] != "}":
            key, i = scanstring(text, i + 1)
            value_start = i + 1  # past the ':'
            value_end = _value_end(text, value_start)
            if key == part.text:
                if not rest:
                    return text[value_start:value_end]
                if text[value_start] in "{[":
                    found = _raw_at(text, value_start, rest)
                    if found is not None:
                        return found
            i = value_end + (text[value_end] == ",")
    elif text[start] == "[" and part.text.isdigit():
        index, n = int(part.text), 0
        while text[i] != "]":
            value_end = _value_end(text, i)
            if n == index:
                if not rest:
                    return text[i:value_end]
                return _raw_at(text, i, rest) if text[i] in "{[" else None
            n, i = n + 1, value_end + (text[value_end] == ",")
    return None


# --- sjson -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SetPath:
    text: str
    parts: tuple[_Part, ...]


_INDEX = re.compile(r"-1|\d+")


def parse_set_path(text: str) -> SetPath:
    if not isinstance(text, str) or not text:
        raise PathError("dest: must be a non-empty string")
    parts = _split(text, allow_colon=True)
    for part in parts:
        if part.text == "" and not part.force_key:
            raise PathError(f"dest {text!r}: empty key between dots")
        if part.wildcard:
            raise PathError(f"dest {text!r}: wildcards are not allowed in an sjson path")
        if not part.force_key and (part.text.startswith("#") or part.text.startswith("@")
                                   or "|" in part.text):
            raise PathError(f"dest {text!r}: {part.text} is not allowed in an sjson path")
    return SetPath(text, tuple(parts))


def _is_index(part: _Part) -> bool:
    return not part.force_key and bool(_INDEX.fullmatch(part.text))


def _put(container: Any, part: _Part, rest: tuple[_Part, ...], value: Any) -> Any:
    if isinstance(container, list) and _is_index(part):
        index = len(container) if part.text == "-1" else int(part.text)
        while len(container) <= index:
            container.append(None)
        container[index] = _assign(container[index], rest, value)
        return container
    if not isinstance(container, dict):
        # sjson builds an array for an index key where nothing is, an object otherwise.
        if _is_index(part):
            return _put([], part, rest, value)
        container = {}
    container[part.text] = _assign(container.get(part.text), rest, value)
    return container


def _assign(current: Any, parts: tuple[_Part, ...], value: Any) -> Any:
    if not parts:
        return value
    return _put(current, parts[0], parts[1:], value)


def set_value(doc: Any, path: SetPath, value: Any) -> Any:
    """``doc`` with ``value`` stored at ``path`` (created as needed); ``doc`` may be None.

    ``doc`` is changed in place when it is a container; use the return value.
    """
    return _assign(doc, path.parts, value)
