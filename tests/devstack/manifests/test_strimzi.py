"""Strimzi resources: structural rules and the ties between Kafka, node pools and topics."""
from __future__ import annotations

from typing import Any

import pytest

from .conftest import assert_named
from .example_repo import first

KAFKA = "k8s/kafka/kafka.yaml"
POOL = "k8s/kafka/node-pool.yaml"
TOPIC = "k8s/topics/orders-raw.yaml"
CLUSTER_LABEL = 'metadata.labels["strimzi.io/cluster"]'



def _broker(files: dict) -> dict[str, Any]:
    return first(files, KAFKA)["spec"]["kafka"]


def _listener(files: dict) -> dict[str, Any]:
    return _broker(files)["listeners"][0]


CASES = [
    pytest.param(KAFKA,
                 lambda f: first(f, KAFKA)["metadata"]["annotations"].pop("strimzi.io/kraft"),
                 'metadata.annotations["strimzi.io/kraft"]', "must be 'enabled'",
                 id="kafka-without-kraft-annotation"),
    pytest.param(KAFKA, lambda f: first(f, KAFKA)["spec"].update(zookeeper={"replicas": 3}),
                 "spec.zookeeper", "no ZooKeeper", id="kafka-with-zookeeper"),
    pytest.param(KAFKA, lambda f: _broker(f).update(replicas=3),
                 "spec.kafka.replicas", "belongs on the KafkaNodePool",
                 id="kafka-replicas-on-kafka"),
    pytest.param(KAFKA, lambda f: _broker(f).update(listener=[]),
                 "spec.kafka.listener", "unknown field", id="kafka-unknown-broker-field"),
    pytest.param(KAFKA, lambda f: first(f, KAFKA)["spec"].update(entityOperators={}),
                 "spec.entityOperators", "unknown field", id="kafka-unknown-spec-field"),
    pytest.param(KAFKA, lambda f: _broker(f).update(listeners=[]),
                 "spec.kafka.listeners", "at least one listener", id="kafka-no-listener"),
    pytest.param(KAFKA, lambda f: _listener(f).update(type="internel"),
                 "spec.kafka.listeners[0].type", "must be one of internal", id="listener-bad-type"),
    pytest.param(KAFKA, lambda f: _listener(f).update(port=9091),
                 "spec.kafka.listeners[0].port", "from 9092 up", id="listener-reserved-port"),
    pytest.param(KAFKA, lambda f: _listener(f).update(name="Plain-Text"),
                 "spec.kafka.listeners[0].name", "lower-case letters or digits",
                 id="listener-bad-name"),
    pytest.param(KAFKA, lambda f: _listener(f).pop("tls"),
                 "spec.kafka.listeners[0].tls", "is required", id="listener-without-tls-flag"),
    pytest.param(KAFKA, lambda f: _broker(f)["listeners"].append(dict(_listener(f))),
                 "spec.kafka.listeners[1].name", "duplicate listener name 'plain'",
                 id="listener-duplicate-name"),
    pytest.param(KAFKA, lambda f: _broker(f)["config"].update({"min.insync.replicas": 3}),
                 'spec.kafka.config["min.insync.replicas"]', "must be below default.replication",
                 id="kafka-min-isr-equals-replication"),
    pytest.param(KAFKA, lambda f: first(f, KAFKA).update(apiVersion="kafka.strimzi.io/v1alpha1"),
                 "apiVersion", "must be one of kafka.strimzi.io/v1",
                 id="kafka-unknown-api-version"),
    pytest.param(POOL, lambda f: first(f, POOL)["spec"].update(roles=["broker", "zookeeper"]),
                 "spec.roles", "one or both of controller, broker", id="pool-bad-role"),
    pytest.param(POOL, lambda f: first(f, POOL)["spec"].update(replicas=0),
                 "spec.replicas", "at least 1", id="pool-no-nodes"),
    pytest.param(POOL, lambda f: first(f, POOL)["spec"]["storage"].update(type="disk"),
                 "spec.storage.type", "ephemeral, persistent-claim, jbod", id="pool-bad-storage"),
    pytest.param(POOL, lambda f: first(f, POOL)["metadata"]["labels"].update(
                     {"strimzi.io/cluster": "main"}),
                 CLUSTER_LABEL, "names no Kafka resource (known: etl)", id="pool-unknown-cluster"),
    pytest.param(TOPIC, lambda f: first(f, TOPIC)["metadata"].pop("labels"),
                 CLUSTER_LABEL, "is required", id="topic-without-cluster-label"),
    pytest.param(TOPIC, lambda f: first(f, TOPIC)["metadata"]["labels"].update(
                     {"strimzi.io/cluster": "main"}),
                 CLUSTER_LABEL, "names no Kafka resource", id="topic-unknown-cluster"),
    pytest.param(TOPIC, lambda f: first(f, TOPIC)["metadata"].update(namespace="default"),
                 "metadata.namespace", "must be kafka", id="topic-outside-cluster-namespace"),
    pytest.param(TOPIC, lambda f: first(f, TOPIC)["spec"].update(replicas=1),
                 "spec.replicas", "at least min.insync.replicas (2)",
                 id="topic-replicas-below-min-isr"),
    pytest.param(TOPIC, lambda f: first(f, TOPIC)["spec"].update(replicas=4),
                 "spec.replicas", "only 3 brokers", id="topic-replicas-above-brokers"),
    pytest.param(TOPIC, lambda f: first(f, TOPIC)["spec"].pop("partitions"),
                 "spec.partitions", "must be set", id="topic-partitions-left-to-default"),
    pytest.param(TOPIC, lambda f: first(f, TOPIC)["spec"].update(topicName="orders raw"),
                 "spec.topicName", "must be a Kafka topic name", id="topic-name-with-space"),
    pytest.param(TOPIC, lambda f: first(f, TOPIC)["spec"].update(partition=3),
                 "spec.partition", "unknown field", id="topic-unknown-field"),
]


@pytest.mark.parametrize(("file", "mutate", "path", "rule"), CASES)
def test_strimzi_rule_names_path_and_rule(files, validate_repo, file, mutate, path, rule):
    mutate(files)
    assert_named(validate_repo(files), file, path, rule)


def test_topic_min_isr_override_is_respected(files, validate_repo):
    """A topic may lower min.insync.replicas for itself; then replicas 1 is consistent."""
    first(files, TOPIC)["spec"].update(replicas=1, config={"min.insync.replicas": 1})
    assert validate_repo(files).findings == ()


def test_topic_name_defaults_to_metadata_name(files, validate_repo):
    """spec.topicName wins over metadata.name for what EventSources may reference."""
    first(files, TOPIC)["metadata"]["name"] = "orders-raw-topic"
    assert validate_repo(files).findings != ()
    first(files, TOPIC)["spec"]["topicName"] = "orders-raw"
    assert validate_repo(files).findings == ()
