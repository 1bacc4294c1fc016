"""Which manifests a workflow run hands the runner, and which topics it creates."""
import pathlib

import pytest

from devstack.argo.manifests import CalendarSource, KafkaSource, load_manifests, plan_subscriptions
from devstack.pipeline.selection import (Document, SelectionError, called_functions, choose_documents,
                                         read_documents, workflow_topics, write_documents)
from devstack.stackfile import load_stack

REPO = pathlib.Path(__file__).resolve().parents[3]


def _doc(kind, name, workflow="shop", url=None, file=None):
    body = {"apiVersion": "argoproj.io/v1alpha1", "kind": kind,
            "metadata": {"name": name, "labels": {"faas-etl.dev/workflow": workflow}}}
    if url is not None:
        body["spec"] = {"triggers": [{"template": {"name": "t", "http": {"url": url}}}]}
    return Document(file or f"{name}.yaml", body)


@pytest.mark.parametrize(("url", "functions"), [
    pytest.param("http://gateway.openfaas:8080/function/filter", ["filter"], id="sync"),
    pytest.param("http://gateway.openfaas:8080/async-function/map/x?y=1", ["map"], id="async-with-path"),
    pytest.param("http://example.com/hook", [], id="not-the-gateway"),
])
def test_called_functions(url, functions):
    assert called_functions(_doc("Sensor", "s", url=url).body) == functions


def test_a_sensor_calling_an_undeployed_function_is_skipped_with_the_reason():
    docs = [_doc("EventSource", "shop-raw"), _doc("Sensor", "shop-clean", url="http://g/function/filter"),
            _doc("Sensor", "shop-autoscaler", url="http://g/function/autoscaler"),
            _doc("Sensor", "other-clean", workflow="other", url="http://g/function/filter"),
            Document("bus.yaml", {"kind": "EventBus", "metadata": {"name": "default"}})]
    selection = choose_documents(docs, "shop", deployed={"filter"})
    assert [d.name for d in selection.documents] == ["shop-raw", "shop-clean"]
    assert selection.sensors == ("shop-clean",)
    assert [(s.sensor, s.reason) for s in selection.skipped] == \
        [("shop-autoscaler", "calls autoscaler, which the gateway does not serve")]


def test_nothing_runnable_is_an_error_naming_the_workflow():
    docs = [_doc("Sensor", "shop-autoscaler", url="http://g/function/autoscaler")]
    with pytest.raises(SelectionError, match="workflow 'shop': no runnable Sensor .*skipped: shop-autoscaler"):
        choose_documents(docs, "shop", deployed=set())


def test_topics_come_from_the_workflows_kafka_topics():
    docs = [Document("a.yaml", {"kind": "KafkaTopic", "metadata": {"name": "shop-raw", "labels": {
                "faas-etl.dev/workflow": "shop"}}, "spec": {"partitions": 6, "replicas": 3}}),
            Document("b.yaml", {"kind": "KafkaTopic", "metadata": {"name": "x", "labels": {
                "faas-etl.dev/workflow": "other"}}, "spec": {"partitions": 2}})]
    assert workflow_topics(docs, "shop") == {"shop-raw": 6}


@pytest.mark.parametrize("partitions", [0, "6", True, None], ids=["zero", "text", "bool", "missing"])
def test_a_topic_without_a_partition_count_is_refused_naming_the_field(partitions):
    doc = Document("t.yaml", {"kind": "KafkaTopic", "metadata": {"name": "t", "labels": {
        "faas-etl.dev/workflow": "shop"}}, "spec": {"partitions": partitions}})
    with pytest.raises(SelectionError, match=r"t.yaml: spec.partitions: must be a positive integer"):
        workflow_topics([doc], "shop")


def test_the_committed_orders_manifests_run_everything(tmp_path):
    deployed = set(load_stack(REPO / "stack.yml").functions)
    argo = REPO / "argo-events"
    selection = choose_documents(read_documents(argo), "orders", deployed)
    assert [s.sensor for s in selection.skipped] == []  # the autoscaler is deployed too (issue 6)
    written = write_documents(selection.documents, argo, tmp_path / "argo")
    # Whole files are copied as committed, comments included.
    assert (written / "sensors" / "orders-sink.yaml").read_text() == (argo / "sensors" / "orders-sink.yaml").read_text()
    subs = plan_subscriptions(load_manifests(written))
    # One subscription per lane (a partition of the input: docs/contracts.md "Lanes"), all in the
    # input's one group.
    kafka = sorted({(s.sensor.name, s.source.topic, s.group) for s in subs if isinstance(s.source, KafkaSource)})
    lanes = {topic: sum(1 for s in subs if isinstance(s.source, KafkaSource) and s.source.topic == topic)
             for topic in {s.source.topic for s in subs if isinstance(s.source, KafkaSource)}}
    assert lanes == {"orders-raw": 6, "orders-paid": 6, "orders-clean": 6, "orders-enriched": 6,
                     "orders-by-country": 3}
    assert kafka == [("orders-normalise", "orders-paid", "faas-etl.orders.orders-paid"),
                     ("orders-paid-only", "orders-raw", "faas-etl.orders.orders-raw"),
                     ("orders-per-country", "orders-enriched", "faas-etl.orders.orders-enriched"),
                     ("orders-sink", "orders-by-country", "faas-etl.orders.orders-by-country"),
                     ("orders-with-customer", "orders-clean", "faas-etl.orders.orders-clean")]
    assert [s.sensor.name for s in subs if isinstance(s.source, CalendarSource)] == [
        "orders-autoscaler", "orders-legacy-orders"]
    assert workflow_topics(read_documents(REPO / "k8s" / "topics"), "orders") == {
        "orders-raw": 6, "orders-paid": 6, "orders-clean": 6, "orders-enriched": 6,
        "orders-by-country": 3, "orders-dlq": 1}


def test_a_partly_chosen_file_keeps_only_the_chosen_documents(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "both.yaml").write_text("# comment\nkind: EventSource\nmetadata: {name: a}\n---\n"
                                      "kind: Sensor\nmetadata: {name: b}\n")
    docs = read_documents(source)
    out = write_documents([docs[0]], source, tmp_path / "out")
    assert [d.name for d in read_documents(out)] == ["a"]
    assert "# comment" not in (out / "both.yaml").read_text()


def test_operations_pick_single_sensors_and_the_rest_are_skipped_as_not_asked_for():
    docs = [_doc("EventSource", "shop-raw"), _doc("Sensor", "shop-clean", url="http://g/function/filter"),
            _doc("Sensor", "shop-sink", url="http://g/function/warehouse-loader")]
    for doc, operation in ((docs[1], "clean"), (docs[2], "sink")):
        doc.body["metadata"]["labels"]["faas-etl.dev/operation"] = operation
    selection = choose_documents(docs, "shop", {"filter", "warehouse-loader"}, operations=["sink"])
    assert selection.sensors == ("shop-sink",)
    assert [(s.sensor, s.reason) for s in selection.skipped] == [("shop-clean", "not one of the operations asked for")]
