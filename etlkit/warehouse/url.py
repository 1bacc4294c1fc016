"""Database URLs -> typed targets: ``sqlite:///path`` and ``postgresql://user@host:port/db``.

SQLite paths follow the common (SQLAlchemy) convention: three slashes then a relative path,
four slashes for an absolute one, so ``f"sqlite:///{path}"`` is right for both kinds of path;
``sqlite:///:memory:`` is a private in-memory database. A password is never kept in the URL
text a target shows: it is split out into a field that ``repr`` hides.
"""
from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass, field

from ..secrets import read_secret
from .errors import WarehouseError

WAREHOUSE_PASSWORD_SECRET = "warehouse-password"
_POSTGRES_SCHEMES = ("postgresql", "postgres")


class DatabaseUrlError(WarehouseError, ValueError):
    """A database URL that cannot be used; the message names the setting and the rule."""


@dataclass(frozen=True)
class SqliteTarget:
    path: str  # a file path, or ":memory:"


@dataclass(frozen=True)
class PostgresTarget:
    conninfo: str  # the URL without its password: safe to show
    password: str | None = field(default=None, repr=False)


def parse_database_url(url: str, setting: str = "WAREHOUSE_URL") -> SqliteTarget | PostgresTarget:
    """Parse ``url``; errors name ``setting`` (the variable the URL came from) and the rule."""
    if not isinstance(url, str) or "://" not in url:
        raise DatabaseUrlError(f"{setting}: must be a URL like sqlite:///path.db or postgresql://user@host:port/db")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "sqlite":
        if parts.netloc or parts.query or parts.fragment:
            raise DatabaseUrlError(f"{setting}: a sqlite URL is sqlite:///<path> (no host, query or fragment)")
        path = parts.path[1:]
        if not path:
            raise DatabaseUrlError(f"{setting}: the sqlite URL has no file path")
        return SqliteTarget(path)
    if parts.scheme in _POSTGRES_SCHEMES:
        if not parts.path.strip("/"):
            raise DatabaseUrlError(f"{setting}: the postgresql URL names no database (postgresql://host/<database>)")
        userinfo, at, hostport = parts.netloc.rpartition("@")
        user, colon, password = userinfo.partition(":")
        netloc = f"{user}{at}{hostport}" if at else hostport
        conninfo = urllib.parse.urlunsplit(("postgresql", netloc, parts.path, parts.query, ""))
        return PostgresTarget(conninfo, urllib.parse.unquote(password) if colon else None)
    raise DatabaseUrlError(f"{setting}: scheme {parts.scheme!r} is not one of sqlite, postgresql")


def resolve_reference(reference: str, field: str, secrets_dir: str | os.PathLike[str] | None = None) -> str:
    """The database URL a reference names: ``env:NAME`` (a variable of the function),
    ``secret:name`` (an OpenFaaS secret file, where a URL with a password belongs), or a URL
    itself (the step contract allows one). ``DatabaseUrlError`` names ``field`` when the
    reference leads to nothing; the message never shows a URL."""
    if reference.startswith("env:"):
        url = os.environ.get(reference[4:], "")
    elif reference.startswith("secret:"):
        url = read_secret(reference[7:], secrets_dir) or ""
    else:
        url = reference
    if not url.strip():
        shown = reference if reference.startswith(("env:", "secret:")) else "an empty URL"
        raise DatabaseUrlError(f"{field}: {shown} names no database URL")
    return url.strip()


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (for logs and error messages)."""
    parts = urllib.parse.urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    if not (at and colon):
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{hostport}"))
