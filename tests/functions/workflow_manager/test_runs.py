"""The workflow manager's Runner API over the gateway: refusals name the field and the rule, a
start creates the topics before it answers, a stop removes the wiring.

The session's stack runs no local reconciler, so a started run stays ``starting`` here; the
whole start-flow-stop-resume cycle is tests/e2e/test_workflow_runs.py.
"""
import uuid

import pytest
from confluent_kafka.admin import AdminClient

from tests.conftest import REPO

ORDERS = (REPO / "workflows" / "orders.yaml").read_text()


def _workflow(name):
    """The orders workflow under another name, with topics of its own (the session is shared)."""
    return ORDERS.replace("orders-", f"{name}-").replace("\nname: orders\n", f"\nname: {name}\n", 1)


@pytest.fixture
def api(gateway):
    s, url = gateway
    return s, f"{url}/function/workflow-manager"


def test_start_creates_the_topics_applies_and_stop_removes_the_wiring(api, local_stack):
    s, base = api
    name = f"run-{uuid.uuid4().hex[:6]}"
    assert s.post(f"{base}/workflows", data=_workflow(name)).status_code == 201
    resp = s.post(f"{base}/workflows/{name}/run")
    assert resp.status_code == 202, resp.text
    assert resp.json() == {"name": name, "version": 1, "state": "starting",
                           "reason": "not running: start version 1"}
    topics = AdminClient({"bootstrap.servers": local_stack.bootstrap}).list_topics(timeout=10).topics
    assert len(topics[f"{name}-raw"].partitions) == 6 and len(topics[f"{name}-dlq"].partitions) == 1
    assert (local_stack.run_dir / "argo-apply" / name / "manifests.yaml").is_file()
    again = s.post(f"{base}/workflows/{name}/run")
    assert (again.status_code, again.json()["reason"]) == (200, "already running version 1")
    assert {"name": name, "version": 1, "state": "starting"}.items() <= \
        next(r for r in s.get(f"{base}/runs").json() if r["name"] == name).items()
    status = s.get(f"{base}/workflows/{name}/run").json()
    assert status["state"] == "starting" and [st["name"] for st in status["steps"]][-1] == "sink"
    assert status["steps"][0]["inputs"][0]["backlog"] == 0  # the topic exists, empty
    stopped = s.delete(f"{base}/workflows/{name}/run")
    assert stopped.status_code == 200 and len(stopped.json()["removed"]) == 13
    assert not (local_stack.run_dir / "argo-apply" / name).exists()
    assert s.get(f"{base}/workflows/{name}/run").json()["state"] == "stopped"


@pytest.mark.parametrize(("method", "path", "status", "error"), [
    pytest.param("POST", "/workflows/no-such-flow/run", 404, "name: no workflow 'no-such-flow'", id="start-unknown"),
    pytest.param("GET", "/workflows/no-such-flow/run", 404, "name: no workflow 'no-such-flow'", id="status-unknown"),
    pytest.param("DELETE", "/workflows/no-such-flow/run", 404, "name: no workflow 'no-such-flow'", id="stop-unknown"),
    pytest.param("POST", "/workflows/no-such-flow/run?version=x", 400, "version: a whole number (digits 0-9), got 'x'",
                     id="bad-version"),
    pytest.param("PUT", "/workflows/no-such-flow/run", 404, "path: no route for PUT /workflows/no-such-flow/run",
                 id="no-such-route"),
])
def test_refusals_name_the_field_and_the_rule(api, method, path, status, error):
    s, base = api
    resp = s.request(method, f"{base}{path}")
    assert (resp.status_code, resp.json()) == (status, {"error": error})


def test_a_deleted_workflow_is_not_started_and_a_missing_version_is_named(api):
    s, base = api
    name = f"run-{uuid.uuid4().hex[:6]}"
    s.post(f"{base}/workflows", data=_workflow(name))
    missing = s.post(f"{base}/workflows/{name}/run?version=5")
    assert (missing.status_code, missing.json()["error"]) == (
        404, f"version: workflow '{name}' has no version 5 (latest is 1)")
    s.delete(f"{base}/workflows/{name}?expected_version=1")
    resp = s.post(f"{base}/workflows/{name}/run")
    assert resp.status_code == 409
    assert resp.json()["error"] == f"name: workflow '{name}' was deleted at version 2; create it again to run it"
    assert s.get(f"{base}/workflows/{name}/run").json()["reason"] == f"workflow '{name}' was deleted at version 2"
