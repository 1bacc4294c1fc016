"""Warehouse test fixtures: each backend for real (SQLite in tmp_path, the session PostgreSQL).

The PostgreSQL fixtures come from tests/fixtures/postgres.py, registered in tests/conftest.py.
"""
from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg
import pytest

from etlkit.warehouse import Warehouse, open_warehouse


@dataclass
class Backend:
    """A warehouse under test plus an independent connection to read back what it stored."""

    name: str
    url: str
    warehouse: Warehouse
    query: Callable[[str], list[tuple]]

    def rows(self, table: str, order_by: str = "1") -> list[tuple]:
        return self.query(f'SELECT * FROM "{table}" ORDER BY {order_by}')


def _sqlite_query(path: str) -> Callable[[str], list[tuple]]:
    def query(statement: str) -> list[tuple]:
        with sqlite3.connect(path) as db:
            return db.execute(statement).fetchall()

    return query


def _postgres_query(url: str) -> Callable[[str], list[tuple]]:
    def query(statement: str) -> list[tuple]:
        with psycopg.connect(url, autocommit=True) as db:
            cursor = db.execute(statement)
            return cursor.fetchall() if cursor.description else []

    return query


def _backend(kind: str, request: pytest.FixtureRequest, tmp_path) -> Iterator[Backend]:
    if kind == "sqlite":
        path = str(tmp_path / "warehouse.db")
        url, query = f"sqlite:///{path}", _sqlite_query(path)
    else:
        url = request.getfixturevalue("postgres_url")
        query = _postgres_query(url)
    warehouse = open_warehouse(url)
    try:
        yield Backend(kind, url, warehouse, query)
    finally:
        warehouse.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path) -> Iterator[Backend]:
    """Each test runs once per backend, against a real database."""
    yield from _backend(request.param, request, tmp_path)


@pytest.fixture
def postgres_backend(request: pytest.FixtureRequest, tmp_path) -> Iterator[Backend]:
    yield from _backend("postgresql", request, tmp_path)


@pytest.fixture
def sqlite_backend(request: pytest.FixtureRequest, tmp_path) -> Iterator[Backend]:
    yield from _backend("sqlite", request, tmp_path)


@pytest.fixture
def table(request: pytest.FixtureRequest) -> str:
    """A table name unique to the test (the PostgreSQL database is shared by the session)."""
    return "t_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:16]
