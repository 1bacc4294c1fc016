"""What the validator reports: one small, sortable object per broken rule."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

PathPart = str | int
# What a rule yields: the path inside the document and the rule it breaks.
Problem = tuple[list[PathPart], str]

# Keys printed after a dot; anything else (dots, slashes: "strimzi.io/cluster") is bracketed so
# the path stays unambiguous.
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")

UNKNOWN_FIELD = "unknown field"
# Rules that only say "something is off here"; a specific rule at the same path supersedes them.
GENERIC_RULES = (UNKNOWN_FIELD, "schema: is required")


def format_path(parts: Sequence[PathPart]) -> str:
    """Render a document path the way people write it: ``spec.triggers[0].template.http.url``.

    >>> format_path(["metadata", "labels", "strimzi.io/cluster"])
    'metadata.labels["strimzi.io/cluster"]'
    """
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out


@dataclass(frozen=True, order=True)
class Finding:
    """One broken rule: where (file, document index, path inside it) and which rule.

    ``file`` is repo-relative when the file is inside the repo; ``index`` counts YAML documents
    from 0, empty ones included, so it matches what an editor shows between ``---`` lines.
    """

    file: str
    index: int
    path: str
    rule: str

    def __str__(self) -> str:
        return f"{self.file}[{self.index}] {self.path or '<document>'}: {self.rule}"


def at(file: str, index: int, parts: Sequence[PathPart], rule: str) -> Finding:
    """Build a Finding from path parts."""
    return Finding(file, index, format_path(parts), rule)


def located(file: str, index: int, problems: Iterable[Problem]) -> Iterator[Finding]:
    """The problems of one document as findings."""
    for parts, rule in problems:
        yield at(file, index, parts, rule)


def merged(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Sorted, without repeats; a generic rule yields to a specific rule at the same path.

    The schema and the controller rules may both notice one mistake (``policy`` under a trigger
    template, a missing ``topic``): the specific rule says what to do about it, so only it stays.
    """
    unique = set(findings)
    specific = {(f.file, f.index, f.path) for f in unique if not f.rule.startswith(GENERIC_RULES)}
    return tuple(sorted(f for f in unique
                        if not (f.rule.startswith(GENERIC_RULES)
                                and (f.file, f.index, f.path) in specific)))
