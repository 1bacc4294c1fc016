"""A small, valid repository of every kind of manifest, built fresh for each test.

Kept as Python data (not YAML files under tests/) so the repository-wide YAML test never mistakes
these examples for the project's own manifests and their names never satisfy a real reference.
"""
from __future__ import annotations

import pathlib
from typing import Any

import yaml

Files = dict[str, list[dict[str, Any]]]

ARGO = "argoproj.io/v1alpha1"
STRIMZI = "kafka.strimzi.io/v1"
BOOTSTRAP = "etl-kafka-bootstrap.kafka.svc:9092"
GATEWAY = "http://gateway.openfaas:8080/function"
FOLDERS = ("template/python3-etl", "functions/filter", "functions/map", "controller-fn", "etlkit")


def _topic(name: str) -> dict[str, Any]:
    return {"apiVersion": STRIMZI, "kind": "KafkaTopic",
            "metadata": {"name": name, "namespace": "kafka",
                         "labels": {"strimzi.io/cluster": "etl"}},
            "spec": {"partitions": 3, "replicas": 3}}


def _container(name: str) -> dict[str, Any]:
    return {"name": name, "image": f"example/{name}:1.0",
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
            "resources": {"requests": {"memory": "64Mi", "cpu": "50m"},
                          "limits": {"memory": "128Mi"}}}


def valid_files() -> Files:
    """Relative path -> documents; every cross-reference between them resolves."""
    return {
        "stack.yml": [{
            "version": 1.0,
            "provider": {"name": "openfaas", "gateway": "http://127.0.0.1:8080"},
            "configuration": {"templates": [{"name": "python3-etl"}], "copy": ["./etlkit"]},
            "functions": {
                "filter": {"lang": "python3-etl", "handler": "./functions/filter",
                           "image": "example/filter:1.0",
                           "environment": {"KAFKA_BOOTSTRAP": BOOTSTRAP},
                           "labels": {"com.openfaas.scale.min": "1",
                                      "com.openfaas.scale.max": "5"},
                           "limits": {"memory": "128Mi"}},
                "map": {"lang": "python3-etl", "handler": "./functions/map",
                        "image": "example/map:1.0"},
                "autoscaler": {"lang": "python3-etl", "handler": "./controller-fn",
                               "image": "example/autoscaler:1.0",
                               "annotations": {"com.openfaas.serviceaccount": "autoscaler"}},
            }}],
        "argo-events/eventbus.yaml": [{
            "apiVersion": ARGO, "kind": "EventBus", "metadata": {"name": "default"},
            "spec": {"jetstream": {"version": "latest", "replicas": 3}}}],
        "argo-events/eventsource-orders.yaml": [{
            "apiVersion": ARGO, "kind": "EventSource", "metadata": {"name": "orders"},
            "spec": {"kafka": {"orders-raw": {
                "url": BOOTSTRAP, "topic": "orders-raw", "jsonBody": True,
                "consumerGroup": {"groupName": "orders-paid-only", "oldest": True,
                                  "rebalanceStrategy": "range"}}}}}],
        "argo-events/eventsource-ticks.yaml": [{
            "apiVersion": ARGO, "kind": "EventSource", "metadata": {"name": "ticks"},
            "spec": {"calendar": {"every-minute": {"schedule": "*/1 * * * *",
                                                   "timezone": "UTC"}}}}],
        "argo-events/sensor-orders.yaml": [{
            "apiVersion": ARGO, "kind": "Sensor", "metadata": {"name": "orders"},
            "spec": {
                "dependencies": [{"name": "raw", "eventSourceName": "orders",
                                  "eventName": "orders-raw"}],
                "triggers": [{
                    "template": {"name": "paid-only", "http": {
                        "url": f"{GATEWAY}/filter", "method": "POST",
                        "headers": {"Content-Type": "application/json"},
                        "payload": [{"src": {"dependencyName": "raw", "dataKey": "body"},
                                     "dest": "event.body"}]}},
                    "retryStrategy": {"steps": 3, "duration": "1s", "factor": 2},
                    "policy": {"status": {"allow": [200]}},
                    "atLeastOnce": True,
                    "dlqTrigger": {
                        "atLeastOnce": True,
                        "template": {"name": "paid-only-dlq", "kafka": {
                            "url": BOOTSTRAP, "topic": "orders-dlq",
                            "payload": [{"src": {"dependencyName": "raw", "dataKey": "body"},
                                         "dest": "payload"}]}}},
                }]}}],
        "k8s/kafka/kafka.yaml": [{
            "apiVersion": STRIMZI, "kind": "Kafka",
            "metadata": {"name": "etl", "namespace": "kafka",
                         "annotations": {"strimzi.io/node-pools": "enabled",
                                         "strimzi.io/kraft": "enabled"}},
            "spec": {"kafka": {"version": "4.0.0",
                               "listeners": [{"name": "plain", "port": 9092, "type": "internal",
                                              "tls": False}],
                               "config": {"default.replication.factor": 3,
                                          "min.insync.replicas": 2}},
                     "entityOperator": {"topicOperator": {}}}}],
        "k8s/kafka/node-pool.yaml": [{
            "apiVersion": STRIMZI, "kind": "KafkaNodePool",
            "metadata": {"name": "dual-role", "namespace": "kafka",
                         "labels": {"strimzi.io/cluster": "etl"}},
            "spec": {"replicas": 3, "roles": ["controller", "broker"],
                     "storage": {"type": "jbod", "volumes": [
                         {"id": 0, "type": "persistent-claim", "size": "10Gi"}]}}}],
        "k8s/topics/orders-raw.yaml": [_topic("orders-raw")],
        "k8s/topics/orders-dlq.yaml": [_topic("orders-dlq")],
        "k8s/rbac/service-account.yaml": [{
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "autoscaler", "namespace": "openfaas-fn"}}],
        "k8s/rbac/role.yaml": [{
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "autoscaler", "namespace": "openfaas-fn"},
            "rules": [{"apiGroups": ["apps"], "resources": ["deployments/scale"],
                       "verbs": ["get", "patch"]}]}],
        "k8s/network/policy.yaml": [{
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "postgres-ingress", "namespace": "etl-data"},
            "spec": {"podSelector": {"matchLabels": {"app": "postgres"}},
                     "policyTypes": ["Ingress"],
                     "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                         "kubernetes.io/metadata.name": "openfaas-fn"}}}],
                                  "ports": [{"protocol": "TCP", "port": 5432}]}]}}],
        "k8s/apps/deployment.yaml": [{
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "etl-data"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"securityContext": {"runAsNonRoot": True},
                                           "containers": [_container("web")]}}}}],
        "k8s/apps/statefulset.yaml": [{
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "etl-data"},
            "spec": {"serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                     "template": {"metadata": {"labels": {"app": "db"}},
                                  "spec": {"securityContext": {"runAsNonRoot": True},
                                           "containers": [_container("db")]}},
                     "volumeClaimTemplates": [{
                         "metadata": {"name": "data"},
                         "spec": {"accessModes": ["ReadWriteOnce"],
                                  "resources": {"requests": {"storage": "1Gi"}}}}]}}],
        "workflows/orders.yaml": [{"name": "orders", "free-form": ["anything", "goes"]}],
        "config/settings.yml": [{"any": {"plain": "yaml"}}],
    }


def first(files: Files, name: str) -> dict[str, Any]:
    """The first document of a file, for a test to break."""
    return files[name][0]


def write_repo(root: pathlib.Path, files: Files) -> pathlib.Path:
    """Write the files (and the folders stack.yml points at) under root; returns root."""
    for folder in FOLDERS:
        (root / folder).mkdir(parents=True, exist_ok=True)
    for relative, documents in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump_all(documents, sort_keys=False), encoding="utf-8")
    return root
