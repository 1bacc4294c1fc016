"""The Kubernetes edge against an emulated API server speaking the real REST API over HTTP.

The official client talks to kmock (plus a thin shim, tests/etlkit/controller/kube.py): nodes,
function Deployments and their pods are read, the scale subresource is written, placement is the
Deployment's node affinity, and the verbs the controller used are exactly those k8s/rbac grants.
"""
import json
import pathlib

import pytest
from kubernetes import client

from devstack.manifests import grants_of, load_file
from devstack.stackfile import load_stack
from etlkit.controller import ControllerConfig, ControllerRecord, EdgeError, Edges, parse_scaling, run_tick
from etlkit.controller.kubernetes import KubernetesPlatform

from .fakes import InlineMatcher, MemoryStore, Topics
from .kube import EmulatedApiServer, verbs_of
from .test_tick import G_RAW, RAW, envelope

REPO = pathlib.Path(__file__).resolve().parents[3]
NS = "openfaas-fn"


def _node(name, zone, cpu="2"):
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {
        "topology.kubernetes.io/region": "eu-west", "topology.kubernetes.io/zone": zone,
        "kubernetes.io/hostname": name}}, "status": {"allocatable": {"cpu": cpu, "pods": "110"}}}


def _deployment(name, replicas=1, cpu="250m"):
    labels = {"faas_function": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NS, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                         {"name": name, "image": f"ghcr.io/faas-etl/{name}:0.1.0",
                          "resources": {"requests": {"cpu": cpu}}}]}}},
            "status": {"replicas": replicas, "readyReplicas": replicas}}


def _pod(function, name, node, cpu="250m", ready=True):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NS, "labels": {"faas_function": function}},
            "spec": {"nodeName": node, "containers": [{"name": function, "image": "x",
                                                       "resources": {"requests": {"cpu": cpu}}}]},
            "status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "True" if ready else "False"}]}}


@pytest.fixture
def cluster():
    """Three nodes in two zones; filter on node-a, map on node-b, another function on node-c."""
    with EmulatedApiServer() as server:
        api = client.ApiClient(client.Configuration(host=server.url))
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        for name, zone in (("node-a", "zone-1"), ("node-b", "zone-1"), ("node-c", "zone-2")):
            core.create_node(_node(name, zone))
        for name in ("filter", "map"):
            apps.create_namespaced_deployment(NS, _deployment(name))
        core.create_namespaced_pod(NS, _pod("filter", "filter-7d9f-a1", "node-a"))
        core.create_namespaced_pod(NS, _pod("map", "map-5c4b-b1", "node-b"))
        core.create_namespaced_pod(NS, _pod("ingest", "ingest-1", "node-c", cpu="500m"))
        core.create_namespaced_pod(NS, _pod("map", "map-5c4b-pending", None, ready=False))
        server.seeded = len(server.calls)
        yield server, KubernetesPlatform.at(server.url, NS)


def test_nodes_come_with_their_labels_capacity_and_background_load(cluster):
    _, platform = cluster
    nodes = {n.name: n for n in platform.nodes(frozenset({"filter", "map"}))}
    assert sorted(nodes) == ["node-a", "node-b", "node-c"]
    c = nodes["node-c"]
    assert (c.region, c.zone, c.hostname, c.capacity) == ("eu-west", "zone-2", "node-c", 2.0)
    assert c.background_load == 0.5  # ingest's request, not ours to scale
    assert nodes["node-a"].background_load == 0.0  # filter is ours: counted as services


def test_a_function_is_its_deployment_and_its_scheduled_pods(cluster):
    _, platform = cluster
    fn = platform.function("map")
    assert fn.desired == 1 and fn.weight == 0.25
    assert [(r.id, r.node, r.ready) for r in fn.replicas] == [("map-5c4b-b1", "node-b", True)]
    assert fn.placement == {}  # no node affinity written yet
    with pytest.raises(EdgeError, match="function nope has no Deployment in openfaas-fn"):
        platform.function("nope")


def test_scaling_replaces_the_scale_subresource_with_the_version_just_read(cluster):
    server, platform = cluster
    platform.scale("map", 3)
    (deployment,) = [d for d in server.objects("deployments") if d["metadata"]["name"] == "map"]
    assert deployment["spec"]["replicas"] == 3
    put = [c for c in server.calls if c.method == "PUT"]
    assert [c.path for c in put] == [f"/apis/apps/v1/namespaces/{NS}/deployments/map/scale"]
    platform.scale("map", 3)  # already there: read, nothing written
    assert len([c for c in server.calls if c.method == "PUT"]) == 1


def test_placement_is_the_deployments_preferred_node_affinity(cluster):
    server, platform = cluster
    platform.place("map", {"node-b": 2, "node-c": 1})
    fn = platform.function("map")
    assert fn.placement == {"node-b": 100, "node-c": 50}
    (deployment,) = [d for d in server.objects("deployments") if d["metadata"]["name"] == "map"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["name"] == "map"  # merged


def _tick(server, topics, store, now):
    config = ControllerConfig.from_env({
        "KUBERNETES_SERVICE_HOST": "10.0.0.1", "KAFKA_BOOTSTRAP": "kafka:9092",
        "SCALING_POLICY": json.dumps({"forecast": "last"})})
    platform = KubernetesPlatform.at(server.url, NS)

    class Busy:
        seconds = {"filter": 0.0, "map": 0.0}

        def busy_seconds(self):
            return dict(self.seconds)

    busy = Busy()
    busy.seconds["filter"] = 15.0 if now else 0.0
    edges = Edges(topics, platform, busy, platform, InlineMatcher(), store)
    return run_tick(parse_scaling(envelope()), config, edges, now=now)


def test_a_tick_scales_and_places_through_the_api_with_exactly_the_granted_verbs(cluster):
    server, _ = cluster
    topics, store = Topics(), MemoryStore()
    assert _tick(server, topics, store, 0.0).status == "unchanged"
    topics.produce(RAW, 6000)
    topics.consume(G_RAW, RAW, 1500)
    result = _tick(server, topics, store, 15.0)
    assert result.status == "applied", result.reasons
    assert result.targets["filter"] == 3
    (filter_dep,) = [d for d in server.objects("deployments") if d["metadata"]["name"] == "filter"]
    assert filter_dep["spec"]["replicas"] == 3
    terms = filter_dep["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"]
    placed = {t["preference"]["matchExpressions"][0]["values"][0]: t["weight"] for t in terms}
    # Load relative to 2 cores: node-a has filter and node-b map (0.25 each), node-c ingest's
    # 0.5: the two new replicas go to node-a (tie, by name), then node-b.
    assert placed == {"node-a": 100, "node-b": 50}
    assert ControllerRecord.loads(store.values["orders"]).applied["filter"].replicas == 3
    # The next tick sees 3 desired but one pod: the new pods are not there yet, so it waits.
    topics.produce(RAW, 100)
    held = _tick(server, topics, store, 30.0)
    assert any(r.startswith("filter: held, settling: 1 of 3 replicas") for r in held.reasons)
    used = verbs_of(server.calls[server.seeded:])
    documents = [d for path in sorted((REPO / "k8s" / "rbac").glob("*.yaml"))
                 for d in load_file(path, REPO)[0]]
    # Bound for real: OpenFaaS Pro runs the function under the ServiceAccount its annotation
    # names (com.openfaas.serviceaccount; moved out of CE in openfaas/faas-netes commit 09d44a46),
    # that ServiceAccount exists in the functions' namespace, and the bindings grant it exactly
    # the verbs the client used.
    account = load_stack(REPO / "stack.yml").functions["autoscaler"].annotations[
        "com.openfaas.serviceaccount"]
    assert [(d.namespace, d.name) for d in documents if d.kind == "ServiceAccount"
            and d.name == account] == [(NS, account)]
    assert used == grants_of(documents, NS, account)


def test_an_unreachable_api_server_is_an_edge_error():
    platform = KubernetesPlatform.at("http://127.0.0.1:9", NS)
    platform.timeout_s = 1.0
    with pytest.raises(EdgeError) as err:
        platform.function("map")
    assert err.value.edge == "kubernetes"


def test_a_scale_changed_by_someone_else_since_it_was_read_is_a_conflict(cluster):
    server, platform = cluster
    other = KubernetesPlatform.at(server.url, NS)
    read = platform.apps.read_namespaced_deployment_scale

    def read_then_someone_scales(*args, **kw):
        scale = read(*args, **kw)
        other.scale("map", 4)  # a human (or an HPA) in between
        return scale

    platform.apps.read_namespaced_deployment_scale = read_then_someone_scales
    with pytest.raises(EdgeError, match="changed since it was read") as err:
        platform.scale("map", 2)
    assert err.value.edge == "kubernetes"
    assert other.function("map").desired == 4  # theirs stands, not overwritten
