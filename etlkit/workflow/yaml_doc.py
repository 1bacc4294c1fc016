"""YAML text -> plain Python data, refusing what a plain loader silently accepts.

PyYAML keeps the last of two equal keys, so ``topics: {a: ..., a: ...}`` would lose a definition
without a word, and it reads the keys ``on``, ``off``, ``yes`` and ``no`` as booleans. This loader
walks the composed node tree itself: keys stay the text written (as in JSON), and each duplicate key
is reported with its field path and both line numbers, every one, not only the first.

Workflows arrive over HTTP too (the workflow-manager function), so a hostile document must cost
no more than its size: an alias (``*name``) of a mapping or list is refused (nine nested aliases
of nine would otherwise expand to 9**9 nodes), and so is nesting deeper than the parser's stack.
"""
from __future__ import annotations

from typing import Any

import yaml

from .errors import FieldError

ROOT = "(document)"


def child_path(path: str, key: object) -> str:
    """``steps[1]`` + ``kind`` -> ``steps[1].kind``; integers become list indexes."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return str(key) if path == "" else f"{path}.{key}"


def _syntax_error(exc: yaml.YAMLError) -> FieldError:
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow at all
        return FieldError(ROOT, f"not valid YAML at character {exc.position}: "
                                f"character #x{exc.character:04x} is not allowed")
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc)
    return FieldError(ROOT, f"not valid YAML{where}: {problem}")


def load_yaml(text: str) -> tuple[Any, list[FieldError]]:
    """Parse one YAML document. Return ``(data, errors)``; ``data`` is ``None`` on a syntax error."""
    try:
        loader = yaml.SafeLoader(text)  # reads the text at once: a forbidden character fails here
    except yaml.YAMLError as exc:
        return None, [_syntax_error(exc)]
    try:
        node = loader.get_single_node()
        if node is None:
            return None, []
        errors: list[FieldError] = []
        return _construct(loader, node, "", errors, set()), errors
    except yaml.YAMLError as exc:
        return None, [_syntax_error(exc)]
    except RecursionError:
        return None, [FieldError(ROOT, "nested too deeply")]
    finally:
        loader.dispose()


def _construct(loader: yaml.SafeLoader, node: yaml.Node, path: str, errors: list[FieldError],
               seen: set[int]) -> Any:
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        if id(node) in seen:  # the composer shares one node between an anchor and its aliases
            errors.append(FieldError(path or ROOT, "aliases (*name) of a mapping or list are not "
                                                   "supported; repeat the value"))
            return None
        seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                errors.append(FieldError(path or ROOT, "merge keys (<<) are not supported; repeat the fields"))
                continue
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                errors.append(FieldError(path or ROOT, f"a mapping key must be a plain name (line {line})"))
                continue
            # Keys are text, as in JSON: YAML 1.1 would turn `on:` (an enrich setting) into True.
            key = key_node.value
            key_path = child_path(path, key)
            if key in first_line:
                errors.append(FieldError(key_path or ROOT, f"duplicate key (line {line}; first at line {first_line[key]})"))
                continue
            first_line[key] = line
            out[key] = _construct(loader, value_node, key_path, errors, seen)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, item, child_path(path, i), errors, seen)
                for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
