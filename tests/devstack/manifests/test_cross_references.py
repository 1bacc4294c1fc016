"""Every cross-reference between stack.yml, k8s/, argo-events/, the Grafana scrape config and the
READMEs resolves: each in-cluster address names a Service that exists, in its namespace, on one of
its ports; each NetworkPolicy in front of it lets the caller's namespace through on that port;
each secret a function or pod mounts is created by an instruction of k8s/README.md (faas-netes
refuses to deploy a function whose secret is missing, and a pod with a missing secretKeyRef does
not start). Issue 16 item 5: on main WAREHOUSE_URL named `warehouse.etl-data.svc` (the Service is
`postgres`), sql-source's secret `sql-source-password` had no instruction, the dashboard (in
`openfaas`, beside the gateway) was refused by the PostgreSQL and Kafka policies and the scrape
config's `faas-etl-dashboard` had no Service.

Services that the platforms create, not k8s/:

* OpenFaaS chart (openfaas/faas-netes, chart/openfaas/templates/gateway-svc.yaml and
  prometheus-svc.yaml): `gateway` port 8080 and `prometheus` port 9090 in the release namespace
  `openfaas`; the gateway pods are labelled `app: gateway`.
* Strimzi (strimzi-kafka-operator, documentation of listeners: `<cluster>-kafka-bootstrap` in the
  Kafka's namespace on each listener port; broker pods labelled `strimzi.io/cluster`,
  `strimzi.io/kind: Kafka`, `strimzi.io/name: <cluster>-kafka`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

# Who calls from where: the functions run in openfaas-fn, the Sensors and EventSources in
# argo-events, the chart's Prometheus and the dashboard in openfaas (k8s/README.md).
CALLERS = {"stack.yml": "openfaas-fn", "argo-events": "argo-events",
           "grafana/prometheus-scrape.yml": "openfaas", "README.md": "openfaas", "k8s/README.md": "openfaas-fn"}
ADDRESS = re.compile(r"(?<![\w.-])(?P<service>[a-z0-9]([-a-z0-9]*[a-z0-9])?)\.(?P<namespace>[a-z0-9-]+)"
                     r"(?:\.svc(?:\.cluster\.local)?)?:(?P<port>\d+)")
SECRET_INSTRUCTION = re.compile(r"kubectl create secret generic (?P<name>[a-z0-9.-]+) -n (?P<namespace>[a-z0-9-]+)")


@dataclass(frozen=True)
class Service:
    name: str
    namespace: str
    ports: frozenset[int]
    pods: dict  # the labels of the pods behind it


def _docs(repo_root, *folders):
    for folder in folders:
        for path in sorted((repo_root / folder).rglob("*.yaml")):
            yield from (d for d in yaml.safe_load_all(path.read_text()) if d)


def _services(repo_root) -> dict[tuple[str, str], Service]:
    found = {(d["metadata"]["name"], d["metadata"]["namespace"]):
             Service(d["metadata"]["name"], d["metadata"]["namespace"],
                     frozenset(p["port"] for p in d["spec"]["ports"]), d["spec"].get("selector") or {})
             for d in _docs(repo_root, "k8s") if d["kind"] == "Service"}
    for kafka in (d for d in _docs(repo_root, "k8s/kafka") if d["kind"] == "Kafka"):
        name, namespace = kafka["metadata"]["name"], kafka["metadata"]["namespace"]
        ports = frozenset(listener["port"] for listener in kafka["spec"]["kafka"]["listeners"])
        found[(f"{name}-kafka-bootstrap", namespace)] = Service(
            f"{name}-kafka-bootstrap", namespace, ports,
            {"strimzi.io/cluster": name, "strimzi.io/kind": "Kafka", "strimzi.io/name": f"{name}-kafka"})
    found[("gateway", "openfaas")] = Service("gateway", "openfaas", frozenset({8080}), {"app": "gateway"})
    found[("prometheus", "openfaas")] = Service("prometheus", "openfaas", frozenset({9090}), {"app": "prometheus"})
    return found


def _admits(policies: list[dict], service: Service, caller: str, port: int) -> bool:
    """Kubernetes NetworkPolicy semantics for ingress: no policy selecting the pods admits all;
    otherwise some rule of a selecting policy must admit the caller's namespace on the port."""
    selecting = [p for p in policies if p["metadata"]["namespace"] == service.namespace
                 and (p["spec"]["podSelector"].get("matchLabels") or {}).items() <= service.pods.items()]
    if not selecting:
        return True
    for rule in (r for p in selecting for r in p["spec"].get("ingress") or []):
        ports = {p.get("port") for p in rule.get("ports") or []}
        if ports and port not in ports:
            continue
        for peer in rule.get("from") or [{}]:
            namespaces = peer.get("namespaceSelector")
            if namespaces is None and caller == service.namespace:
                return True  # a podSelector-only peer: pods of the policy's own namespace
            if namespaces is not None and (namespaces.get("matchLabels") or {}).get(
                    "kubernetes.io/metadata.name", caller) == caller:
                return True
    return False


def _addresses(repo_root):
    for source, caller in CALLERS.items():
        paths = sorted((repo_root / source).rglob("*.yaml")) if (repo_root / source).is_dir() else [repo_root / source]
        for path in paths:
            for match in ADDRESS.finditer(path.read_text()):
                yield path.relative_to(repo_root).as_posix(), caller, match


def test_every_address_service_network_path_and_secret_resolves(repo_root):
    namespaces = {d["metadata"]["name"] for d in _docs(repo_root, "k8s/namespaces")}
    services = _services(repo_root)
    policies = [d for d in _docs(repo_root, "k8s") if d["kind"] == "NetworkPolicy"]
    problems = []
    checked = 0
    for source, caller, match in _addresses(repo_root):
        name, namespace, port = match["service"], match["namespace"], int(match["port"])
        if namespace not in namespaces:
            continue  # not a cluster address (host:port of a local run, a file name)
        checked += 1
        service = services.get((name, namespace))
        if service is None:
            problems.append(f"{source}: {match[0]}: no Service {name!r} in {namespace}")
        elif port not in service.ports:
            problems.append(f"{source}: {match[0]}: Service {name!r} serves {sorted(service.ports)}")
        elif not _admits(policies, service, caller, port):
            problems.append(f"{source}: {match[0]}: no NetworkPolicy lets {caller} reach {name}:{port}")
    assert checked >= 10, "the scan found almost no cluster address: the pattern is broken"

    created = {(m["name"], m["namespace"]) for m in SECRET_INSTRUCTION.finditer((repo_root / "k8s/README.md").read_text())}
    stack = yaml.safe_load((repo_root / "stack.yml").read_text())
    for function, spec in stack["functions"].items():
        for secret in spec.get("secrets") or []:
            if (secret, "openfaas-fn") not in created:
                problems.append(f"stack.yml: {function} mounts secret {secret!r}, which no "
                                "`kubectl create secret generic ... -n openfaas-fn` of k8s/README.md creates")
    for doc in _docs(repo_root, "k8s"):
        for ref in re.findall(r"secretKeyRef': \{'name': '([^']+)'", str(doc)):
            if (ref, doc["metadata"].get("namespace")) not in created:
                problems.append(f"k8s: {doc['kind']}/{doc['metadata']['name']} reads secret {ref!r}, "
                                f"which k8s/README.md never creates in {doc['metadata'].get('namespace')}")
    assert not problems, "\n".join(problems)
