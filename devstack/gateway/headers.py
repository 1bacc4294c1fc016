"""HTTP header blocks read without the email package.

http.server and http.client hand every header block to ``email.parser``, some 10 us a block; a
proxied call reads two (the client's request, the worker's answer). ``read_headers`` reads a block
with http.client's limits and splits it into fields as the email package does (compat32 policy),
malformed lines included: tests compare the two on a table of blocks and on random ones.
"""
from __future__ import annotations

import http.client
import re
from typing import BinaryIO

MAX_LINE = 65536  # http.client's limit on one header line
MAX_HEADERS = 100  # and on the lines of a block, its empty line included (99 fields)
# The email package splits a block at CR, LF or CRLF, and ends it at the first line that is
# neither a field ("name:", the name printable ASCII without space), a continuation (leading
# blank) nor an mbox envelope ("From ").
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_FIELD_OR_FOLD = re.compile(r"From |[\041-\071\073-\176]*:|[\t ]")
# The usual block, "name: value" lines and nothing else, is split by one findall (twice as fast).
_PLAIN_BLOCK = re.compile(r"(?:[\041-\071\073-\176]+:[^\r\n]*\r?\n)*")
_PLAIN_FIELD = re.compile(r"([\041-\071\073-\176]+):[ \t]*([^\r\n]*)\r?\n")


class Headers:
    """A parsed header block: ``get`` is case-insensitive and gives the first value, as
    ``email.message.Message.get`` does; ``items`` gives every (name, value) in order."""
    __slots__ = ("_items", "_first")

    def __init__(self, items: list[tuple[str, str]]):
        self._items = items
        self._first: dict[str, str] = {}
        for name, value in items:
            self._first.setdefault(name.lower(), value)

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._first.get(name.lower(), default)

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)


def read_headers(fp: BinaryIO) -> Headers:
    """Read a header block through its empty line.

    Raises http.client's LineTooLong for a line over MAX_LINE bytes and HTTPException for more
    than MAX_HEADERS lines, as ``http.client.parse_headers`` does.
    """
    raw: list[bytes] = []
    while True:
        line = fp.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("header line")
        if len(raw) >= MAX_HEADERS:
            raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")
        if line in (b"\r\n", b"\n", b""):
            break
        raw.append(line)
    block = b"".join(raw).decode("iso-8859-1")
    if _PLAIN_BLOCK.fullmatch(block):
        return Headers(_PLAIN_FIELD.findall(block))
    return Headers(_fields(block))


def _fields(block: str) -> list[tuple[str, str]]:
    """(name, value) of each field in ``block``, as the email package's compat32 policy gives
    them: the value without the blanks after the colon; a folded value keeps its line breaks."""
    fields: list[tuple[str, list[str]]] = []
    current: list[str] | None = None  # the lines of the value a continuation extends
    for line in _LINE.findall(block):
        if not _FIELD_OR_FOLD.match(line):
            break
        if line[0] in " \t":
            if current is not None:  # a continuation with nothing to continue is dropped
                current.append(line)
            continue
        current = None
        if line.startswith("From ") or line[0] == ":":  # an mbox envelope, a missing name
            continue
        name, _, value = line.partition(":")
        current = [value.lstrip(" \t")]
        fields.append((name, current))
    return [(name, "".join(lines).rstrip("\r\n")) for name, lines in fields]
