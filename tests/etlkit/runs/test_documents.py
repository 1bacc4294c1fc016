"""A run's documents: parsed from the rendered manifests, ordered for applying, stamped."""
import pytest
import yaml

from etlkit.runs.documents import (DocumentError, applied_version, parse_documents, stamp, started_at,
                                   to_yaml, wiring)

from .conftest import ORDERS, documents_of


def test_the_orders_run_is_its_topics_then_sensors_then_event_sources():
    """A Sensor's consumer must exist before its EventSource publishes (DeliverNew)."""
    docs = documents_of(ORDERS, 1)
    kinds = [d.kind for d in docs]
    assert kinds == ["KafkaTopic"] * 6 + ["Sensor"] * 7 + ["EventSource"] * 6
    assert [d.name for d in docs if d.kind == "EventSource"] == sorted(
        ["orders-orders-raw", "orders-orders-paid", "orders-orders-clean", "orders-orders-enriched",
         "orders-orders-by-country", "orders-ticks"])
    assert {d.namespace for d in docs} == {"kafka", "argo-events"}
    assert {d.workflow for d in docs} == {"orders"}
    assert all(d.kind != "EventBus" for d in docs)  # shared by every workflow, not a run's


def test_stamping_marks_the_wiring_with_version_and_start_and_leaves_topics_as_rendered():
    docs = documents_of(ORDERS, 4, started_at="2026-03-01T10:00:00.000000Z")
    assert applied_version(docs) == 4
    assert started_at(docs) == "2026-03-01T10:00:00.000000Z"
    topics = [d for d in docs if d.kind == "KafkaTopic"]
    assert all("faas-etl.dev/started-at" not in d.annotations for d in topics)
    unstamped = parse_documents([("t.yaml", to_yaml(topics))])
    assert [d.body for d in unstamped] == [d.body for d in topics]  # YAML round trip keeps them


@pytest.mark.parametrize(("versions", "expected"), [
    pytest.param(["1", "1"], 1, id="one-version"),
    pytest.param(["1", "2"], None, id="mixed-after-a-half-move"),
    pytest.param([None, "1"], None, id="one-unstamped"),
    pytest.param([], None, id="nothing-applied"),
])
def test_applied_version(versions, expected):
    docs = []
    for i, version in enumerate(versions):
        annotations = {} if version is None else {"faas-etl.dev/workflow-version": version}
        docs.append({"apiVersion": "argoproj.io/v1alpha1", "kind": "Sensor",
                     "metadata": {"name": f"s{i}", "namespace": "argo-events", "annotations": annotations}})
    assert applied_version(parse_documents([("s.yaml", yaml.safe_dump_all(docs))])) == expected


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("apiVersion: argoproj.io/v1\nkind: Sensor\nmetadata: {name: s, namespace: n}\n",
                 "s.yaml: apiVersion: must be argoproj.io/v1alpha1 for a Sensor", id="wrong-api-version"),
    pytest.param("apiVersion: argoproj.io/v1alpha1\nkind: Sensor\nmetadata: {name: s}\n",
                 "s.yaml: metadata: name and namespace are required", id="no-namespace"),
    pytest.param("apiVersion: argoproj.io/v1alpha1\nkind: Sensor\nmetadata: {name: s, namespace: n}\n---\n"
                 "apiVersion: argoproj.io/v1alpha1\nkind: Sensor\nmetadata: {name: s, namespace: n}\n",
                 "Sensor/s: defined twice", id="twice"),
])
def test_a_document_a_run_cannot_apply_is_named(text, message):
    with pytest.raises(DocumentError) as err:
        parse_documents([("s.yaml", text)])
    assert str(err.value) == message


def test_wiring_is_what_a_stop_removes():
    assert {d.kind for d in wiring(documents_of(ORDERS, 1))} == {"EventSource", "Sensor"}
