"""References between files: what one manifest names must exist in another.

A Sensor that depends on an EventSource nobody deployed, an HTTP trigger that calls a function
stack.yml does not define, a Kafka topic no KafkaTopic creates: each is accepted by the API server
and fails only when the first event arrives. The :class:`Catalog` lists what the repository
defines; :func:`reference_findings` checks one document's references against it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

from .argo_rules import event_sources
from .documents import Document, Family
from .findings import Finding, PathPart, Problem, located
from .strimzi import CLUSTER_LABEL, topic_name
from .tolerant import mapping, sequence

GATEWAY_URL = re.compile(r"^http://gateway\.openfaas(?:\.svc(?:\.cluster\.local)?)?:8080"
                         r"/(?:async-)?function/(?P<function>[^/?#]+)")
GATEWAY_FORM = "http://gateway.openfaas:8080/function/<fn>"
BOOTSTRAP_HOST = re.compile(r"^(?P<cluster>[a-z0-9]([-a-z0-9]*[a-z0-9])?)-kafka-bootstrap"
                            r"(?:\.(?P<namespace>[a-z0-9-]+))?(?:\.svc(?:\.cluster\.local)?)?$")
DEFAULT_EVENT_BUS = "default"
SERVICE_ACCOUNT_ANNOTATION = "com.openfaas.serviceaccount"
FUNCTION_NAMESPACE = "openfaas-fn"
# The functions' bootstrap servers (docs/contracts.md, "Environment of every function").
BOOTSTRAP_VARIABLE = "KAFKA_BOOTSTRAP"


@dataclass(frozen=True)
class KafkaCluster:
    """What clients and topics need to know about a Strimzi Kafka cluster."""

    name: str
    namespace: str | None
    listener_ports: frozenset[int]
    brokers: int
    min_insync_replicas: int | None


@dataclass(frozen=True)
class Catalog:
    """Names the repository defines, gathered from every document."""

    event_sources: Mapping[str, frozenset[str]]
    event_buses: frozenset[str]
    functions: frozenset[str] | None
    topics: frozenset[str]
    kafka_clusters: Mapping[str, KafkaCluster]
    service_accounts: frozenset[tuple[str | None, str]]


def build_catalog(documents: Sequence[Document]) -> Catalog:
    """Collect the names every cross-reference may point at."""
    sources: dict[str, set[str]] = {}
    buses: set[str] = set()
    functions: set[str] | None = None
    topics: set[str] = set()
    accounts: set[tuple[str | None, str]] = set()
    brokers: dict[str, int] = {}
    for doc in documents:
        if doc.family is Family.STACK:
            functions = (functions or set()) | set(mapping(mapping(doc.body).get("functions")))
        elif doc.kind == "EventSource" and doc.family is Family.ARGO:
            sources.setdefault(doc.name, set()).update(name for _, name, _ in event_sources(doc))
        elif doc.kind == "EventBus" and doc.family is Family.ARGO:
            buses.add(doc.name)
        elif doc.kind == "KafkaTopic" and doc.family is Family.STRIMZI:
            topics.add(topic_name(doc))
        elif doc.kind == "KafkaNodePool" and doc.family is Family.STRIMZI:
            cluster = str(mapping(doc.metadata.get("labels")).get(CLUSTER_LABEL))
            replicas = doc.spec.get("replicas")
            if "broker" in sequence(doc.spec.get("roles")) and isinstance(replicas, int):
                brokers[cluster] = brokers.get(cluster, 0) + replicas
        elif doc.kind == "ServiceAccount" and doc.family is Family.KUBERNETES:
            accounts.add((doc.namespace, doc.name))
    clusters = {doc.name: _kafka_cluster(doc, brokers.get(doc.name, 0)) for doc in documents
                if doc.kind == "Kafka" and doc.family is Family.STRIMZI}
    return Catalog(event_sources={k: frozenset(v) for k, v in sources.items()},
                   event_buses=frozenset(buses),
                   functions=frozenset(functions) if functions is not None else None,
                   topics=frozenset(topics), kafka_clusters=clusters,
                   service_accounts=frozenset(accounts))


def _kafka_cluster(doc: Document, brokers: int) -> KafkaCluster:
    kafka = mapping(doc.spec.get("kafka"))
    ports = frozenset(port for listener in sequence(kafka.get("listeners"))
                      if isinstance(port := mapping(listener).get("port"), int))
    min_isr = mapping(kafka.get("config")).get("min.insync.replicas")
    return KafkaCluster(doc.name, doc.namespace, ports, brokers,
                        min_isr if isinstance(min_isr, int) else None)


def reference_findings(doc: Document, catalog: Catalog) -> Iterator[Finding]:
    """Every reference of one document that the catalog cannot resolve."""
    checks = {("Sensor", Family.ARGO): _sensor_problems,
              ("EventSource", Family.ARGO): _eventsource_problems,
              ("KafkaTopic", Family.STRIMZI): _topic_problems,
              ("KafkaNodePool", Family.STRIMZI): _node_pool_problems}
    check = _stack_problems if doc.family is Family.STACK else checks.get((doc.kind, doc.family))
    yield from located(doc.file, doc.index, check(doc, catalog) if check else ())


def _known(names: Any) -> str:
    listed = sorted(names)
    return f"known: {', '.join(listed)}" if listed else "none is defined"


def _event_bus_problems(doc: Document, catalog: Catalog) -> Iterator[Problem]:
    bus = doc.spec.get("eventBusName") or DEFAULT_EVENT_BUS
    if not isinstance(bus, str):
        return  # a wrong type is the schema's finding
    if bus not in catalog.event_buses:
        parts: list[PathPart] = ["spec", "eventBusName"] if "eventBusName" in doc.spec else ["spec"]
        yield parts, f"needs an EventBus named {bus!r} ({_known(catalog.event_buses)})"


def _eventsource_problems(doc: Document, catalog: Catalog) -> Iterator[Problem]:
    yield from _event_bus_problems(doc, catalog)
    for event_name, config in mapping(doc.spec.get("kafka")).items():
        parts: list[PathPart] = ["spec", "kafka", event_name]
        yield from _kafka_endpoint_problems(mapping(config), parts, catalog)


def _sensor_problems(doc: Document, catalog: Catalog) -> Iterator[Problem]:
    yield from _event_bus_problems(doc, catalog)
    for position, dependency in enumerate(sequence(doc.spec.get("dependencies"))):
        dependency = mapping(dependency)
        parts: list[PathPart] = ["spec", "dependencies", position]
        source, event = dependency.get("eventSourceName"), dependency.get("eventName")
        if not (isinstance(source, str) and isinstance(event, str)):
            continue  # a wrong type is the schema's finding
        if source not in catalog.event_sources:
            yield ([*parts, "eventSourceName"],
                   f"names no EventSource in the repository ({_known(catalog.event_sources)})")
        elif event not in catalog.event_sources[source]:
            yield ([*parts, "eventName"], f"EventSource {source!r} defines no event {event!r} "
                                          f"({_known(catalog.event_sources[source])})")
    for position, trigger in enumerate(sequence(doc.spec.get("triggers"))):
        yield from _trigger_problems(mapping(trigger), ["spec", "triggers", position], catalog)


def _trigger_problems(trigger: Mapping[str, Any], parts: list[PathPart], catalog: Catalog
                      ) -> Iterator[Problem]:
    template = mapping(trigger.get("template"))
    url = mapping(template.get("http")).get("url")
    if isinstance(url, str) and url:
        here = [*parts, "template", "http", "url"]
        match = GATEWAY_URL.match(url)
        if not match:
            yield here, f"must call a function through the OpenFaaS gateway: {GATEWAY_FORM}"
        elif catalog.functions is None:
            yield here, "no stack.yml defines the functions this URL calls"
        elif match["function"] not in catalog.functions:
            yield (here, f"function {match['function']!r} is not in stack.yml "
                         f"({_known(catalog.functions)})")
    if "kafka" in template:
        yield from _kafka_endpoint_problems(mapping(template["kafka"]),
                                            [*parts, "template", "kafka"], catalog)
    if "dlqTrigger" in trigger:
        yield from _trigger_problems(mapping(trigger["dlqTrigger"]), [*parts, "dlqTrigger"],
                                     catalog)


def _kafka_endpoint_problems(config: Mapping[str, Any], parts: list[PathPart], catalog: Catalog
                             ) -> Iterator[Problem]:
    """The topic must be declared; a Strimzi bootstrap address must name a real listener."""
    topic = config.get("topic")
    if isinstance(topic, str) and topic and topic not in catalog.topics:
        yield ([*parts, "topic"], f"topic {topic!r} has no KafkaTopic manifest under k8s/ "
                                  "(topics are never auto-created)")
    yield from _bootstrap_problems(config.get("url"), [*parts, "url"], catalog)


def _bootstrap_problems(servers: Any, parts: list[PathPart], catalog: Catalog
                        ) -> Iterator[Problem]:
    """Each ``<cluster>-kafka-bootstrap[.<namespace>...]:<port>`` address names a declared Strimzi
    cluster, in its namespace, on one of its listener ports. Other hosts are not ours to judge."""
    if not (isinstance(servers, str) and catalog.kafka_clusters):
        return
    for address in filter(None, (a.strip() for a in servers.split(","))):
        host, _, port = address.rpartition(":")
        match = BOOTSTRAP_HOST.match(host)
        if not match:
            continue
        cluster = catalog.kafka_clusters.get(match["cluster"])
        if cluster is None:
            yield parts, f"{address} names no Kafka cluster ({_known(catalog.kafka_clusters)})"
        elif match["namespace"] and cluster.namespace and match["namespace"] != cluster.namespace:
            yield parts, f"Kafka {cluster.name!r} lives in namespace {cluster.namespace}"
        elif not port.isdigit() or int(port) not in cluster.listener_ports:
            yield (parts, f"{address}: Kafka {cluster.name!r} listens on "
                          f"{', '.join(map(str, sorted(cluster.listener_ports)))}")


def _cluster_of(doc: Document, catalog: Catalog) -> tuple[KafkaCluster | None, list[Problem]]:
    name = mapping(doc.metadata.get("labels")).get(CLUSTER_LABEL)
    cluster = catalog.kafka_clusters.get(name) if isinstance(name, str) else None
    if name is not None and cluster is None:
        return None, [(["metadata", "labels", CLUSTER_LABEL],
                       f"names no Kafka resource ({_known(catalog.kafka_clusters)})")]
    if cluster and doc.namespace and cluster.namespace and doc.namespace != cluster.namespace:
        return cluster, [(["metadata", "namespace"],
                          f"must be {cluster.namespace}, the namespace of Kafka {cluster.name!r} "
                          "(its operator watches only there)")]
    return cluster, []


def _node_pool_problems(doc: Document, catalog: Catalog) -> Iterator[Problem]:
    yield from _cluster_of(doc, catalog)[1]


def _topic_problems(doc: Document, catalog: Catalog) -> Iterator[Problem]:
    cluster, problems = _cluster_of(doc, catalog)
    yield from problems
    replicas = doc.spec.get("replicas")
    if cluster is None or not isinstance(replicas, int):
        return
    if cluster.brokers and replicas > cluster.brokers:
        yield (["spec", "replicas"], f"Kafka {cluster.name!r} has only {cluster.brokers} brokers")
    min_isr = mapping(doc.spec.get("config")).get("min.insync.replicas",
                                                   cluster.min_insync_replicas)
    if isinstance(min_isr, int) and replicas < min_isr:
        yield (["spec", "replicas"], f"must be at least min.insync.replicas ({min_isr}): "
                                     "otherwise every acks=all write fails")


def _stack_problems(doc: Document, catalog: Catalog) -> Iterator[Problem]:
    for name, function in mapping(mapping(doc.body).get("functions")).items():
        here: list[PathPart] = ["functions", name]
        environment = mapping(mapping(function).get("environment"))
        yield from _bootstrap_problems(environment.get(BOOTSTRAP_VARIABLE),
                                       [*here, "environment", BOOTSTRAP_VARIABLE], catalog)
        account = mapping(mapping(function).get("annotations")).get(SERVICE_ACCOUNT_ANNOTATION)
        if isinstance(account, str) and not ({(FUNCTION_NAMESPACE, account), (None, account)}
                                             & catalog.service_accounts):
            yield ([*here, "annotations", SERVICE_ACCOUNT_ANNOTATION],
                   f"no ServiceAccount {account!r} in {FUNCTION_NAMESPACE} under k8s/")
