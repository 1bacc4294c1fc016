"""The workflow manager's Configs API over the gateway: versions, refusals, rendering."""
import uuid

from tests.conftest import REPO

# Edited as text: a YAML 1.1 round trip would turn the enrich step's `on:` key into `true`.
ORDERS = (REPO / "workflows" / "orders.yaml").read_text()


def _workflow(name, description="first version"):
    return ORDERS.replace("\nname: orders\n", f"\nname: {name}\n", 1).replace(
        "\ndescription: ", f"\ndescription: {description}. ", 1)


def test_create_read_update_history_delete(gateway):
    s, url = gateway
    base = f"{url}/function/workflow-manager/workflows"
    name = f"orders-{uuid.uuid4().hex[:6]}"
    resp = s.post(base, data=_workflow(name))
    assert resp.status_code == 201, resp.text
    assert resp.json() == {"name": name, "version": 1}
    assert name in [w["name"] for w in s.get(base).json()]
    second = _workflow(name, "second version")
    assert s.put(f"{base}/{name}?expected_version=1", data=second).json()["version"] == 2
    stale = s.put(f"{base}/{name}?expected_version=1", data=second)
    assert stale.status_code == 409
    assert "second version" in s.get(f"{base}/{name}").json()["document"]
    assert "second version" not in s.get(f"{base}/{name}?version=1").json()["document"]
    manifests = s.get(f"{base}/{name}/manifests").json()
    assert any(m["path"].startswith("argo-events/sensors/") for m in manifests)
    assert all(f"faas-etl.dev/workflow-version: \"2\"" in m["text"]
               for m in manifests if m["path"].startswith("argo-events/sensors/"))
    assert s.delete(f"{base}/{name}?expected_version=2").json()["deleted_at_version"] == 3
    assert s.get(f"{base}/{name}").status_code == 404
    assert [h["deleted"] for h in s.get(f"{base}/{name}/history").json()] == [False, False, True]


def test_a_broken_workflow_is_refused_with_every_error_and_nothing_stored(gateway):
    s, url = gateway
    base = f"{url}/function/workflow-manager/workflows"
    name = f"broken-{uuid.uuid4().hex[:6]}"
    doc = _workflow(name)
    doc = doc.replace("condition: \"number(amount) > 0", "condition: \"number(amount) >", 1)  # broken
    doc = doc.replace("kind: map\n", "kind: mapp\n", 1)                                      # unknown kind
    resp = s.post(base, data=doc)
    assert resp.status_code == 400
    errors = resp.json()["errors"]
    assert any(e.startswith("steps[0].condition") for e in errors), errors
    assert any(e.startswith("steps[1].kind") for e in errors), errors
    assert s.get(f"{base}/{name}").status_code == 404
    assert name not in [w["name"] for w in s.get(base).json()]
