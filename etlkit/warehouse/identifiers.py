"""SQL identifiers: validated against one strict pattern, then always double-quoted.

Values are always bound as parameters; identifiers cannot be, so a table or column name is
checked here before it reaches any SQL text. The pattern admits no quote, space or dot, which
makes ``"name"`` quoting injection-proof in both SQLite and PostgreSQL, and caps the length at
PostgreSQL's 63-byte limit so no backend silently truncates a name.
"""
from __future__ import annotations

import re

from .errors import WarehouseError

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


class InvalidIdentifier(WarehouseError, ValueError):
    """A table or column name that is not a safe SQL identifier; the message names it."""


def check_identifier(name: object, what: str = "identifier") -> str:
    """Return ``name`` if it matches ``^[A-Za-z_][A-Za-z0-9_]{0,62}$``, else raise.

    ``what`` says which kind of name it is ("table", "column", ...) so the error names both.
    """
    if not isinstance(name, str) or _IDENTIFIER.fullmatch(name) is None:
        raise InvalidIdentifier(
            f"{what} {name!r}: must match ^[A-Za-z_][A-Za-z0-9_]{{0,62}}$ "
            "(a letter or underscore, then up to 62 letters, digits or underscores)"
        )
    return name


def quote(name: str, what: str = "identifier") -> str:
    """The checked name in double quotes, ready for SQL text."""
    return f'"{check_identifier(name, what)}"'
