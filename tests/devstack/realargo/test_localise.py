"""devstack.realargo.localise: the two cluster addresses swapped for local ones, nothing else."""
from __future__ import annotations

import copy

import pytest

from devstack.pipeline.selection import Document, read_documents
from devstack.realargo.localise import (CLUSTER_GATEWAY, CLUSTER_KAFKA, LocaliseError, local_addresses,
                                        localise)

MAPPING = local_addresses("10.213.7.1:9092", "10.213.7.1:8080")


def _sensor(trigger: dict) -> Document:
    return Document("sensors/s.yaml", {"apiVersion": "argoproj.io/v1alpha1", "kind": "Sensor",
                                       "metadata": {"name": "s", "namespace": "argo-events"},
                                       "spec": {"dependencies": [{"name": "d", "eventSourceName": "e",
                                                                  "eventName": "e"}],
                                                "triggers": [trigger]}})


def _kafka_source(url: str) -> Document:
    return Document("event-sources/e.yaml", {"kind": "EventSource", "metadata": {"name": "e"},
                                             "spec": {"eventBusName": "default",
                                                      "kafka": {"e": {"url": url, "topic": "t"}}}})


def test_every_committed_address_is_mapped_and_nothing_else_changes(repo_root):
    docs = [d for d in read_documents(repo_root / "argo-events") if d.kind in ("EventSource", "Sensor")]
    out = localise(docs, MAPPING)
    text = repr([d.body for d in out])
    assert CLUSTER_KAFKA not in text and "gateway.openfaas" not in text
    assert "http://10.213.7.1:8080/function/filter" in text
    for before, after in zip(docs, out):
        assert before.file == after.file
        # the same document once the local addresses are put back
        back = repr(after.body).replace("10.213.7.1:9092", CLUSTER_KAFKA).replace(
            "10.213.7.1:8080", CLUSTER_GATEWAY)
        assert back == repr(before.body)


def test_the_input_documents_are_not_changed():
    doc = _sensor({"template": {"name": "t", "http": {"url": "http://gateway.openfaas:8080/function/f"}}})
    kept = copy.deepcopy(doc.body)
    localise([doc], MAPPING)
    assert doc.body == kept


@pytest.mark.parametrize("url, want", [
    pytest.param("http://gateway.openfaas:8080/function/f/sub?x=1", "http://10.213.7.1:8080/function/f/sub?x=1",
                 id="path-and-query-kept"),
    pytest.param("http://gateway.openfaas:8080", "http://10.213.7.1:8080", id="no-path"),
])
def test_http_trigger_urls(url, want):
    out = localise([_sensor({"template": {"name": "t", "http": {"url": url}}})], MAPPING)
    assert out[0].body["spec"]["triggers"][0]["template"]["http"]["url"] == want


def test_kafka_dlq_trigger_and_event_source_bootstrap():
    trigger = {"template": {"name": "t", "http": {"url": "http://gateway.openfaas:8080/function/f"}},
               "dlqTrigger": {"template": {"name": "dlq", "kafka": {"url": CLUSTER_KAFKA, "topic": "dlq"}}}}
    sensor, source = localise([_sensor(trigger), _kafka_source(f"{CLUSTER_KAFKA},{CLUSTER_KAFKA}")], MAPPING)
    assert sensor.body["spec"]["triggers"][0]["dlqTrigger"]["template"]["kafka"]["url"] == "10.213.7.1:9092"
    assert source.body["spec"]["kafka"]["e"]["url"] == "10.213.7.1:9092"  # each server once


@pytest.mark.parametrize("doc, field", [
    pytest.param(_sensor({"template": {"name": "t", "http": {"url": "http://gateway.other:8080/function/f"}}}),
                 "spec.triggers[0].template.http.url", id="unknown-gateway-host"),
    pytest.param(_sensor({"template": {"name": "t", "http": {"url": "http://gateway.openfaas/function/f"}}}),
                 "spec.triggers[0].template.http.url", id="default-port-80-is-another-address"),
    pytest.param(_sensor({"template": {"name": "t", "http": {"url": "https://gateway.openfaas:8080/f"}}}),
                 None, id="https-on-8080-is-mapped-too"),
    pytest.param(_kafka_source(f"{CLUSTER_KAFKA},kafka-2.elsewhere:9092"), "spec.kafka.e.url",
                 id="one-unknown-bootstrap-server"),
    pytest.param(_sensor({"template": {"name": "t", "k8s": {"operation": "create"}}}),
                 "spec.triggers[0].template.k8s", id="trigger-kind-not-run-locally"),
    pytest.param(Document("e.yaml", {"kind": "EventSource", "metadata": {"name": "e"},
                                     "spec": {"webhook": {"e": {"port": "12000"}}}}),
                 "spec.webhook", id="event-source-kind-not-run-locally"),
])
def test_anything_that_would_go_elsewhere_is_refused(doc, field):
    if field is None:
        localise([doc], MAPPING)
        return
    with pytest.raises(LocaliseError) as err:
        localise([doc], MAPPING)
    assert field in str(err.value) and doc.file in str(err.value)
