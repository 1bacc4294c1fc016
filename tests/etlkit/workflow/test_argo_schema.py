"""Every rendered Argo Events document validates against the official JSON schema of its kind.

The schema lives in ../shared (beside the checkout); without it these tests skip, as the shared
README says. The schema has no ``additionalProperties: false``, so the strict validator in
devstack.manifests adds the controller's own rules on top.
"""
from __future__ import annotations

import json
import jsonschema
import pytest
import yaml

from etlkit.workflow.parse import parse_workflow
from etlkit.workflow.render import render_workflow
from tests.conftest import REPO, SHARED

SCHEMA = SHARED / "schemas" / "argo-events-v1alpha1.schema.json"
KINDS = ("EventBus", "EventSource", "Sensor")


@pytest.fixture(scope="module")
def validators() -> dict[str, jsonschema.Draft7Validator]:
    if not SCHEMA.exists():
        pytest.skip(f"Argo Events JSON schema not found at {SCHEMA} (../shared is absent)")
    definitions = json.loads(SCHEMA.read_text())["definitions"]
    return {
        kind: jsonschema.Draft7Validator(
            {"$ref": f"#/definitions/io.argoproj.events.v1alpha1.{kind}", "definitions": definitions}
        )
        for kind in KINDS
    }


def _schema_errors(validators, doc: dict) -> list[str]:
    validator = validators[doc["kind"]]
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def _committed_argo_documents() -> list:
    folder = REPO / "argo-events"
    return [pytest.param(p, id=p.relative_to(folder).as_posix()) for p in sorted(folder.rglob("*.yaml"))]


@pytest.mark.parametrize("path", _committed_argo_documents())
def test_committed_document_matches_official_schema(validators, path):
    doc = yaml.safe_load(path.read_text())

    assert doc["apiVersion"] == "argoproj.io/v1alpha1" and doc["kind"] in KINDS
    assert _schema_errors(validators, doc) == []


def test_rendered_variants_match_official_schema(validators, make_doc, structural):
    """Shapes the examples do not use: several input topics, a cron tick."""
    doc = make_doc(scaling={"schedule": "*/2 * * * *"})
    doc["sources"][1]["topic"] = "shop-legacy"
    doc["topics"]["shop-legacy"] = {}

    files = render_workflow(parse_workflow(doc, validator=structural), 2)

    argo = [yaml.safe_load(f.text) for f in files if f.path.parts[0] == "argo-events"]
    assert {d["kind"] for d in argo} == {"EventSource", "Sensor"}
    assert {d["metadata"]["name"]: _schema_errors(validators, d) for d in argo} == {d["metadata"]["name"]: [] for d in argo}


def test_schema_check_can_fail(validators):
    """The validator is live: a trigger with a string retry step count is rejected."""
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Sensor",
        "metadata": {"name": "x"},
        "spec": {"dependencies": [], "triggers": [{"retryStrategy": {"steps": "three"}}]},
    }

    assert _schema_errors(validators, doc) == ["spec.triggers.0.retryStrategy.steps: 'three' is not of type 'integer'"]
