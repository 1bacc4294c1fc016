"""PostgreSQL-only behaviour: secrets, reconnection across server restarts, no rewrite on replay."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from etlkit.warehouse import Column, ColumnType, WarehouseError, WarehouseMisconfigured, WarehouseUnavailable, open_warehouse
from etlkit.warehouse.sink import handle_sink
from tests.etlkit.warehouse.conftest import Backend
from tests.fixtures.postgres import PostgresServer

COLUMNS = [Column("qty", ColumnType.INTEGER), Column("doc", ColumnType.JSON)]


def test_replay_rewrites_nothing_but_a_change_is_applied(postgres_backend: Backend, table: str):
    warehouse = postgres_backend.warehouse
    warehouse.ensure_table(table, COLUMNS, "id")
    warehouse.upsert(table, "id", [{"id": "a", "qty": 1, "doc": {"x": [1]}}, {"id": "b", "qty": 2}])
    versions = postgres_backend.query(f'SELECT "id", xmin::text FROM "{table}" ORDER BY 1')

    warehouse.upsert(table, "id", [{"id": "a", "qty": 1, "doc": {"x": [1]}}, {"id": "b", "qty": 5}])

    after = postgres_backend.query(f'SELECT "id", xmin::text FROM "{table}" ORDER BY 1')
    assert after[0] == versions[0]  # identical row: not rewritten
    assert after[1] != versions[1]  # changed row: rewritten
    assert postgres_backend.query(f'SELECT "qty" FROM "{table}" WHERE "id" = \'b\'') == [(5,)]


def test_password_comes_from_the_secret_file(postgres_server: PostgresServer, tmp_path, table: str):
    (tmp_path / "warehouse-password").write_text(postgres_server.password + "\n")
    warehouse = open_warehouse(postgres_server.url_without_password, secrets_dir=tmp_path)
    try:
        warehouse.ensure_table(table, COLUMNS, "id")
        assert warehouse.upsert(table, "id", [{"id": "a", "qty": 1}]) == 1
        assert postgres_server.password not in repr(warehouse)
    finally:
        warehouse.close()


def test_wrong_password_is_not_retry_worthy_and_not_shown(postgres_server: PostgresServer, tmp_path, table: str):
    (tmp_path / "warehouse-password").write_text("not-the-password-x9\n")
    warehouse = open_warehouse(postgres_server.url_without_password, secrets_dir=tmp_path)
    with pytest.raises(WarehouseError) as refused:
        warehouse.count(table)
    assert isinstance(refused.value, WarehouseMisconfigured)
    assert "password authentication failed" in str(refused.value)
    assert "not-the-password-x9" not in str(refused.value)
    warehouse.close()


def test_unreachable_server_is_retry_worthy(tmp_path, table: str):
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    warehouse = open_warehouse(f"postgresql://etl:pw@127.0.0.1:{port}/etl")
    with pytest.raises(WarehouseUnavailable):
        warehouse.ensure_table(table, COLUMNS, "id")
    warehouse.close()


def test_survives_a_server_restart_between_batches(postgres_server: PostgresServer, postgres_backend: Backend, table: str):
    warehouse = postgres_backend.warehouse
    warehouse.ensure_table(table, COLUMNS, "id")
    warehouse.upsert(table, "id", [{"id": "a", "qty": 1}])

    postgres_server.restart()  # the warehouse's connection is now dead, unknown to it

    assert warehouse.upsert(table, "id", [{"id": "b", "qty": 2}]) == 1
    assert warehouse.count(table) == 2


def test_reports_unavailable_while_down_then_recovers(postgres_server: PostgresServer, postgres_backend: Backend, table: str):
    warehouse = postgres_backend.warehouse
    warehouse.ensure_table(table, COLUMNS, "id")
    postgres_server.stop()
    try:
        with pytest.raises(WarehouseUnavailable):
            warehouse.upsert(table, "id", [{"id": "a", "qty": 1}])
    finally:
        postgres_server.start()
    assert warehouse.upsert(table, "id", [{"id": "a", "qty": 1}]) == 1  # retrying the batch works
    assert warehouse.count(table) == 1


def test_sqlite_use_never_imports_psycopg(tmp_path):
    program = (
        "import sys; import etlkit.sources; from etlkit.warehouse import open_warehouse; "
        f"open_warehouse('sqlite:///{tmp_path}/w.db').close(); "
        "print('psycopg' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_rotated_password_secret_is_read_at_reconnection(postgres_backend: Backend, postgres_server: PostgresServer, tmp_path, table: str):
    role = table + "_role"
    postgres_backend.query(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD 'first-secret'")
    secret = tmp_path / "warehouse-password"
    secret.write_text("first-secret\n")
    url = f"postgresql://{role}@127.0.0.1:{postgres_server.port}/{postgres_server.database}"
    warehouse = open_warehouse(url, secrets_dir=tmp_path)
    try:
        warehouse.ensure_table(table, COLUMNS, "id")
        postgres_backend.query(f"ALTER ROLE {role} PASSWORD 'second-secret'")
        secret.write_text("second-secret\n")
        postgres_backend.query(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'")

        assert warehouse.upsert(table, "id", [{"id": "a", "qty": 1}]) == 1  # reconnected with the new secret
    finally:
        warehouse.close()
        postgres_backend.query(f"DROP OWNED BY {role}")
        postgres_backend.query(f"DROP ROLE {role}")


def test_key_too_long_for_the_index_is_a_bad_row_not_an_outage(postgres_backend: Backend, table: str):
    import base64
    import random

    from etlkit.warehouse import load_batch

    huge_key = base64.b64encode(random.Random(3).randbytes(9000)).decode()  # incompressible, > 2.7 kB
    rows = [{"id": "a", "qty": 1}, {"id": huge_key, "qty": 2}, {"id": "c", "qty": 3}]
    result = load_batch(postgres_backend.warehouse, table, "id", rows, columns=COLUMNS)
    assert [r.index for r in result.rejected] == [1]
    assert "index row" in result.rejected[0].reason
    assert postgres_backend.warehouse.count(table) == 2


def test_refused_credentials_answer_a_5xx_the_sensor_retries(postgres_server: PostgresServer, tmp_path, table: str):
    """A wrong password secret is the deployment's fault, not the records': the loader answers
    500 (docs/contracts.md: 4xx for bad input, 5xx for faults worth a retry), so the Sensor's
    policy (allow [200]) retries and then dead-letters the message instead of taking a 4xx that
    blames the request. On main it answered 400 (issue 16, item 9)."""
    (tmp_path / "warehouse-password").write_text("not-the-password-x9\n")
    warehouse = open_warehouse(postgres_server.url_without_password, secrets_dir=tmp_path)
    step = {"kind": "sink", "name": "load", "table": table, "key": "id", "url": "env:UNUSED",
            "dead_letter": "dlq"}
    body = json.dumps({"workflow": "w", "version": 1, "step": json.dumps(step), "id": None,
                       "event": {"topic": "t", "key": "", "partition": 0, "headers": {},
                                 "body": {"id": "a", "n": 1}}}).encode()
    try:
        answer = handle_sink(body, 5, lambda *_a, **_k: None, lambda _url: warehouse)
    finally:
        warehouse.close()
    assert answer["statusCode"] == 500
    error = json.loads(answer["body"])["error"]
    assert "password authentication failed" in error and "not-the-password-x9" not in error
