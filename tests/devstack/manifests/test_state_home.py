"""Where the functions keep state in a cluster: stack.yml, k8s/ and the README agree, and the
k8s/ script that creates the state database works on a real PostgreSQL.

Upstream rules relied on (no Kubernetes runs here, so they are encoded as checks):

* faas-netes 0.18.17 ``pkg/k8s/securityContext.go`` ``ConfigureReadOnlyRootFilesystem``: with
  ``readOnlyRootFilesystem`` the only writable path of a function is an emptyDir at ``/tmp``
  (the pod's own, gone with it).
* faas-cli 0.18.12 ``vendor/github.com/openfaas/go-sdk/stack/schema.go`` ``type Function``:
  a stack.yml function has ``environment`` and ``secrets`` but no volumes, so nothing shared can
  be mounted; a secret is a file at ``/var/openfaas/secrets/<name>``.
* The official postgres image's ``docker-entrypoint.sh`` (docker-library/postgres) sources the
  ``*.sh`` files of ``/docker-entrypoint-initdb.d`` once, when it initialises an empty data folder.
"""
from __future__ import annotations

import os
import pathlib
import re
import subprocess
import urllib.parse

import psycopg
import pytest
import yaml

from devstack.stackfile import load_stack
from etlkit.schemas import StateDbSchemaStore
from etlkit.sources import StateDbCursorStore, StateDbSampleStore
from etlkit.state_db import STATE_PASSWORD_SECRET, open_state_db
from etlkit.warehouse.url import PostgresTarget, parse_database_url
from etlkit.workflow import StateDbWorkflowStore

REPO = pathlib.Path(__file__).resolve().parents[3]
# The functions whose state this room moved (the aggregate's window state is etlkit/state_store.py).
STATEFUL = ("ingest", "schema-registry", "sql-source", "metrics-collector", "workflow-manager")
FILE_INPUTS = ("enrich", "file-source")
ROLE, DATABASE = "faas_etl_state", "state"


def _k8s(relative: str) -> dict:
    return yaml.safe_load((REPO / "k8s" / relative).read_text())


@pytest.fixture(scope="module")
def stack():
    return load_stack(REPO / "stack.yml")


@pytest.mark.parametrize("name", STATEFUL + FILE_INPUTS)
def test_no_function_expects_a_writable_or_mounted_path(stack, name):
    """Only /tmp is writable and it is the pod's own: no setting may name another folder."""
    for key, value in stack.functions[name].environment.items():
        path = value[len("sqlite:///"):] if value.startswith("sqlite:///") else value
        assert not path.startswith("/") or path.startswith("/tmp/"), f"{name}.environment.{key}: {value}"


@pytest.mark.parametrize("name", STATEFUL)
def test_state_url_is_the_state_database_with_its_secret(stack, name):
    function = stack.functions[name]
    target = parse_database_url(function.environment.get("STATE_URL", ""), setting=f"{name}.STATE_URL")
    assert isinstance(target, PostgresTarget) and target.password is None  # the password: a secret
    url = urllib.parse.urlsplit(target.conninfo)
    service = _k8s("postgres/service.yaml")
    assert url.hostname == f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local"
    assert url.port == service["spec"]["ports"][0]["port"]
    assert (url.username, url.path) == (ROLE, f"/{DATABASE}")
    assert STATE_PASSWORD_SECRET in function.secrets


def test_the_readme_creates_both_secrets_with_one_password():
    text = (REPO / "k8s" / "README.md").read_text()
    assert re.search(rf"kubectl create secret generic {STATE_PASSWORD_SECRET} -n openfaas-fn\s*\\\s*\n\s*"
                     rf"--from-literal={STATE_PASSWORD_SECRET}=\"\$STATE_PASSWORD\"", text)
    assert re.search(r"kubectl create secret generic state-postgres -n etl-data "
                     r"--from-literal=password=\"\$STATE_PASSWORD\"", text)
    env = {e["name"]: e for e in _k8s("postgres/statefulset.yaml")["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["STATE_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "state-postgres", "key": "password"}


def test_the_statefulset_mounts_the_init_script_where_the_entrypoint_runs_it():
    pod = _k8s("postgres/statefulset.yaml")["spec"]["template"]["spec"]
    (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["mountPath"] == "/docker-entrypoint-initdb.d"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["configMap"]["name"] == _k8s("postgres/state-database-init.yaml")["metadata"]["name"]


def _run_init_script(server, password: str) -> None:
    """The ConfigMap's script as the entrypoint runs it (sourced by bash, psql on the server)."""
    (script,) = _k8s("postgres/state-database-init.yaml")["data"].values()
    env = {"PATH": os.environ["PATH"], "POSTGRES_USER": server.user, "POSTGRES_DB": server.database,
           "STATE_PASSWORD": password, "PGHOST": "127.0.0.1", "PGPORT": str(server.port),
           "PGPASSWORD": server.password}
    result = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_the_init_script_makes_a_state_database_every_store_can_use(postgres_server):
    _run_init_script(postgres_server, "s3cret 'quoted'")
    _run_init_script(postgres_server, "s3cret 'quoted'")  # by hand on a warehouse that exists: no error
    secrets = pathlib.Path(postgres_server.data_dir).parent / "function-secrets"
    secrets.mkdir(exist_ok=True)
    (secrets / STATE_PASSWORD_SECRET).write_text("s3cret 'quoted'\n")
    state_url = f"postgresql://{ROLE}@127.0.0.1:{postgres_server.port}/{DATABASE}"
    db = open_state_db(parse_database_url(state_url, "STATE_URL"), secrets_dir=secrets)
    try:
        for store in (StateDbSchemaStore, StateDbCursorStore, StateDbSampleStore, StateDbWorkflowStore):
            store(db)  # creates its table as the state role
        StateDbSchemaStore(db).append("orders", 1, {"type": "object"})
        assert StateDbSchemaStore(db).load() == {"orders": [{"type": "object"}]}
    finally:
        db.close()
    with pytest.raises(psycopg.OperationalError, match="permission denied"):  # not the warehouse
        psycopg.connect(f"postgresql://{ROLE}@127.0.0.1:{postgres_server.port}/{postgres_server.database}",
                        password="s3cret 'quoted'").close()
