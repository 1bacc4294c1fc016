"""Strimzi custom resources, checked by light structural rules of ours.

kubernetes-validate skips custom resources and the Strimzi CRD schemas are not on these machines,
so we check what a mistake would cost most: identity (apiVersion, kind, name), the ties between
resources (``strimzi.io/cluster``), the listener and node-pool shape, KRaft-only settings, and
replication settings that would make producers with ``acks=all`` fail.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

from .documents import Document
from .findings import UNKNOWN_FIELD, Finding, PathPart, Problem, located
from .tolerant import mapping, sequence
from .versions import STRIMZI_API_VERSION

# Only v1: the one version every Strimzi release of the matrix serves (versions.py).
API_VERSIONS = (STRIMZI_API_VERSION,)
KINDS = ("Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser", "KafkaConnect", "KafkaConnector",
         "KafkaMirrorMaker2", "KafkaBridge", "KafkaRebalance")
CLUSTER_LABEL = "strimzi.io/cluster"
KRAFT_ANNOTATIONS = {"strimzi.io/node-pools": "enabled", "strimzi.io/kraft": "enabled"}
LISTENER_TYPES = ("internal", "route", "loadbalancer", "nodeport", "ingress", "cluster-ip")
NODE_ROLES = ("controller", "broker")
STORAGE_TYPES = ("ephemeral", "persistent-claim", "jbod")
# Strimzi keeps 9090 (KRaft controllers), 9091 (replication), 9404 (metrics) and 9999 (JMX).
RESERVED_PORTS = (9404, 9999)
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LISTENER_NAME = re.compile(r"^[a-z0-9]{1,11}$")
TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")

# The v1 schemas (strimzi 1.0.0 packaging/install/cluster-operator/04*-Crd-*.yaml): v1 dropped
# Kafka's zookeeper and jmxTrans, and spec.kafka's replicas and storage (node pools own them).
KNOWN_SPEC_KEYS: dict[str, frozenset[str]] = {
    "Kafka": frozenset({"kafka", "entityOperator", "cruiseControl", "kafkaExporter", "clusterCa",
                        "clientsCa", "maintenanceTimeWindows"}),
    "KafkaNodePool": frozenset({"replicas", "roles", "storage", "resources", "jvmOptions",
                                "template"}),
    "KafkaTopic": frozenset({"partitions", "replicas", "config", "topicName"}),
}
KNOWN_KAFKA_KEYS = frozenset({
    "version", "metadataVersion", "image", "listeners", "config",
    "authorization", "rack", "brokerRackInitImage", "livenessProbe", "readinessProbe",
    "jvmOptions", "jmxOptions", "resources", "metricsConfig", "logging", "template",
    "tieredStorage", "quotas"})
# Set on the KafkaNodePool when node pools are used; ignored (or rejected) on the Kafka.
NODE_POOL_OWNED_KEYS = ("replicas", "storage")


def _count(value: Any) -> bool:
    """A whole number of at least 1 (YAML's true is not a count)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def topic_name(doc: Document) -> str:
    """The Kafka topic a KafkaTopic creates: spec.topicName, else metadata.name."""
    return str(doc.spec.get("topicName") or doc.name)


def strimzi_findings(doc: Document) -> Iterator[Finding]:
    """Identity rules for every Strimzi resource, then the rules of its kind."""
    return located(doc.file, doc.index, strimzi_problems(doc))


def strimzi_problems(doc: Document) -> Iterator[Problem]:
    """See :func:`strimzi_findings`."""
    if doc.api_version not in API_VERSIONS:
        yield ["apiVersion"], f"must be one of {', '.join(API_VERSIONS)}"
    if doc.kind not in KINDS:
        yield ["kind"], f"not a Strimzi kind ({', '.join(KINDS)})"
        return
    if not DNS_LABEL.match(doc.name):
        yield ["metadata", "name"], "is required and must be a DNS label"
    if not isinstance(doc.body.get("spec"), dict):
        yield ["spec"], "is required"
        return
    for key in sorted(set(doc.spec) - KNOWN_SPEC_KEYS.get(doc.kind, frozenset(doc.spec))):
        yield ["spec", key], f"{UNKNOWN_FIELD} (not a {doc.kind} setting)"
    if doc.kind != "Kafka" and not mapping(doc.metadata.get("labels")).get(CLUSTER_LABEL):
        yield (["metadata", "labels", CLUSTER_LABEL],
               "is required: it names the Kafka cluster this resource belongs to")
    rules = KIND_RULES.get(doc.kind)
    yield from rules(doc) if rules else ()


def kafka_problems(doc: Document) -> Iterator[Problem]:
    """KRaft with node pools; listeners well formed and distinct; sane replication settings."""
    annotations = mapping(doc.metadata.get("annotations"))
    for key, value in KRAFT_ANNOTATIONS.items():
        if annotations.get(key) != value:
            yield ["metadata", "annotations", key], f"must be {value!r} (KRaft with node pools)"
    if "zookeeper" in doc.spec:
        yield ["spec", "zookeeper"], "KRaft clusters have no ZooKeeper: remove it"
    kafka = doc.spec.get("kafka")
    if not isinstance(kafka, dict):
        yield ["spec", "kafka"], "is required"
        return
    for key in sorted(set(kafka) - KNOWN_KAFKA_KEYS):
        yield ["spec", "kafka", key], f"{UNKNOWN_FIELD} (not a Kafka broker setting)"
    for key in NODE_POOL_OWNED_KEYS:
        if key in kafka:
            yield ["spec", "kafka", key], "belongs on the KafkaNodePool when node pools are used"
    yield from _listener_problems(kafka.get("listeners"))
    config = mapping(kafka.get("config"))
    replication = config.get("default.replication.factor")
    min_isr = config.get("min.insync.replicas")
    if isinstance(replication, int) and isinstance(min_isr, int) and min_isr >= replication:
        yield (["spec", "kafka", "config", "min.insync.replicas"],
               f"must be below default.replication.factor ({replication}): otherwise one broker "
               "down blocks every acks=all producer")


def _listener_problems(listeners: Any) -> Iterator[Problem]:
    parts: list[PathPart] = ["spec", "kafka", "listeners"]
    if not isinstance(listeners, list) or not listeners:
        yield parts, "must list at least one listener"
        return
    names: set[str] = set()
    ports: set[int] = set()
    for position, listener in enumerate(listeners):
        here = [*parts, position]
        listener = mapping(listener)
        name, port = listener.get("name"), listener.get("port")
        if not isinstance(name, str) or not LISTENER_NAME.match(name):
            yield [*here, "name"], "must be 1-11 lower-case letters or digits"
        elif name in names:
            yield [*here, "name"], f"duplicate listener name {name!r}"
        if not isinstance(port, int) or port < 9092 or port in RESERVED_PORTS:
            yield [*here, "port"], "must be a port from 9092 up, except 9404 and 9999"
        elif port in ports:
            yield [*here, "port"], f"port {port} is used by another listener"
        if listener.get("type") not in LISTENER_TYPES:
            yield [*here, "type"], f"must be one of {', '.join(LISTENER_TYPES)}"
        if not isinstance(listener.get("tls"), bool):
            yield [*here, "tls"], "is required (true or false)"
        if isinstance(name, str):
            names.add(name)
        if isinstance(port, int):
            ports.add(port)


def node_pool_problems(doc: Document) -> Iterator[Problem]:
    """At least one node, known roles, a storage type."""
    replicas = doc.spec.get("replicas")
    if not _count(replicas):
        yield ["spec", "replicas"], "must be a whole number of nodes, at least 1"
    roles = doc.spec.get("roles")
    if not isinstance(roles, list) or not roles or any(role not in NODE_ROLES for role in roles):
        yield ["spec", "roles"], f"must list one or both of {', '.join(NODE_ROLES)}"
    storage = mapping(doc.spec.get("storage"))
    if storage.get("type") not in STORAGE_TYPES:
        yield ["spec", "storage", "type"], f"must be one of {', '.join(STORAGE_TYPES)}"
    volume_ids = [mapping(v).get("id") for v in sequence(storage.get("volumes"))]
    if any(volume_ids.count(volume_id) > 1 for volume_id in volume_ids):
        yield ["spec", "storage", "volumes"], "volume ids must be distinct"


def topic_problems(doc: Document) -> Iterator[Problem]:
    """A legal topic name; partitions and replicas set explicitly."""
    name_path: list[PathPart] = (["spec", "topicName"] if "topicName" in doc.spec
                                 else ["metadata", "name"])
    if not TOPIC_NAME.match(topic_name(doc)) or topic_name(doc) in (".", ".."):
        yield name_path, "must be a Kafka topic name: 1-249 of letters, digits, '.', '_', '-'"
    for key in ("partitions", "replicas"):
        if not _count(doc.spec.get(key)):
            # Explicit, never the broker default: the contract says topics are created on purpose.
            yield ["spec", key], "must be set to a whole number, at least 1"


KIND_RULES = {"Kafka": kafka_problems, "KafkaNodePool": node_pool_problems,
              "KafkaTopic": topic_problems}
