"""``open_warehouse(url)``: the one place a URL becomes a connected warehouse backend."""
from __future__ import annotations

import os

from .protocol import Warehouse
from .url import WAREHOUSE_PASSWORD_SECRET, PostgresTarget, parse_database_url, read_secret


def open_warehouse(
    url: str,
    *,
    secrets_dir: str | os.PathLike[str] | None = None,
    password_secret: str = WAREHOUSE_PASSWORD_SECRET,
) -> Warehouse:
    """The warehouse for ``sqlite:///path`` or ``postgresql://user@host:port/db``.

    The PostgreSQL password is the URL's own if it has one, else the content of the secret
    file ``password_secret`` (under ``secrets_dir``, ``$OPENFAAS_SECRETS_DIR`` or
    /var/openfaas/secrets, read at each connection so a rotated secret is picked up), else none
    (trust or .pgpass). It is never logged nor shown in a repr or an error message. PostgreSQL
    connects lazily, on the first operation.
    """
    target = parse_database_url(url)
    if isinstance(target, PostgresTarget):
        from .postgres_backend import PostgresWarehouse  # psycopg only when PostgreSQL is used

        if target.password is not None:
            return PostgresWarehouse(target)
        return PostgresWarehouse(target, password=lambda: read_secret(password_secret, secrets_dir))
    from .sqlite_backend import SqliteWarehouse

    return SqliteWarehouse(target.path)
