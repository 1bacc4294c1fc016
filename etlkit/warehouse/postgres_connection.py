"""One lazily opened PostgreSQL connection that reopens itself after it is lost.

Shared by the warehouse backend and the SQL source's reader. The password is asked for at
every (re)connection, so a rotated secret file is picked up without a restart. An I/O edge:
it imports psycopg, and only modules that are themselves PostgreSQL edges import it.
"""
from __future__ import annotations

from collections.abc import Callable

import psycopg

from .url import PostgresTarget

# Connection failures carry no SQLSTATE; these server answers mean a wrong URL or secret, which
# retrying at once will not fix.
_CONFIGURATION_FAILURES = (
    "password authentication failed",
    "no password supplied",
    "does not exist",
    "permission denied",
    "pg_hba.conf",
)


def is_configuration_failure(error: BaseException) -> bool:
    """True for a connection refused because of credentials, role or database name."""
    return not getattr(error, "sqlstate", None) and any(failure in str(error) for failure in _CONFIGURATION_FAILURES)


class LazyPostgresConnection:
    """``get()`` returns a live connection, opening one when there is none or it broke.

    ``reused`` tells whether the last ``get()`` handed out a connection opened earlier: a
    failure on such a connection may just mean it went stale while idle (server restart).
    """

    def __init__(
        self,
        target: PostgresTarget,
        *,
        password: Callable[[], str | None] | None = None,
        application_name: str,
        connect_timeout_s: int = 10,
        **options: object,
    ) -> None:
        self.target = target
        self._password = password or (lambda: target.password)
        self._options = dict(options, application_name=application_name, connect_timeout=connect_timeout_s)
        self._connection: psycopg.Connection | None = None
        self.reused = False

    def get(self) -> psycopg.Connection:
        connection = self._connection
        if connection is not None and not connection.closed and not connection.broken:
            self.reused = True
            return connection
        self.close()
        password = self._password()
        secret = {"password": password} if password is not None else {}
        self._connection = psycopg.connect(self.target.conninfo, autocommit=True, **self._options, **secret)
        self.reused = False
        return self._connection

    @property
    def alive(self) -> bool:
        """An open connection that has not failed (without a round trip)."""
        connection = self._connection
        return connection is not None and not connection.closed and not connection.broken

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection = None
