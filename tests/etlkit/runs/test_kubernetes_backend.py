"""The Kubernetes backend against kmock, an emulated API server speaking the real REST API over
HTTP (no cluster runs here; tests/etlkit/controller/kube.py adds replace and custom resources).

The official client creates, replaces and deletes Argo Events Sensors and EventSources and
Strimzi KafkaTopics; a stop keeps the topics; a start failing midway is undone; the verbs used
are exactly those k8s/rbac grants the workflow-manager's ServiceAccount.
"""
from __future__ import annotations

import json

import pytest
from kubernetes import client

from devstack.manifests import grants_of, load_file
from etlkit.runs import ApplyFailed, Edges, RunFailed, Runs
from etlkit.runs.kubernetes_backend import KubernetesBackend, cluster_runtime
from tests.conftest import REPO
from tests.etlkit.controller.kube import EmulatedApiServer, verbs_of

from .conftest import ORDERS, ORDERS_V2, ORDERS_V3, documents_of

CUSTOM = ("argoproj.io/v1alpha1/sensors", "argoproj.io/v1alpha1/eventsources",
          "kafka.strimzi.io/v1/kafkatopics")


@pytest.fixture
def api():
    with EmulatedApiServer(resources=CUSTOM) as server:
        yield server, KubernetesBackend.at(server.url)


def _names(server, plural, namespace):
    return sorted(o["metadata"]["name"] for o in server.objects(plural) if o["metadata"]["namespace"] == namespace)


def _calls(server, method):
    return [c.path for c in server.calls if c.method == method]


def test_apply_creates_topics_event_sources_and_sensors_in_their_namespaces(api):
    server, backend = api
    backend.apply("orders", documents_of(ORDERS, 1))
    assert _names(server, "kafkatopics", "kafka") == sorted(
        ["orders-raw", "orders-paid", "orders-clean", "orders-enriched", "orders-by-country", "orders-dlq"])
    assert len(_names(server, "eventsources", "argo-events")) == 6
    assert "orders-paid-only" in _names(server, "sensors", "argo-events")
    run = backend.applied("orders")["orders"]
    assert (run.version, len(run.documents)) == (1, 13)
    # No Argo Events controller here: nothing reported the objects deployed yet.
    assert run.runtime.state == "starting"
    assert run.runtime.reason.startswith("waiting for the Argo Events controller to deploy EventSource/")


def test_a_new_version_replaces_what_changed_and_deletes_what_it_no_longer_has(api):
    server, backend = api
    backend.apply("orders", documents_of(ORDERS, 1))
    seeded = len(server.calls)
    backend.apply("orders", documents_of(ORDERS_V2, 2))
    later = server.calls[seeded:]
    puts = sorted(c.path.rsplit("/", 1)[1] for c in later if c.method == "PUT")
    deletes = [c.path for c in later if c.method == "DELETE"]
    assert deletes == ["/apis/argoproj.io/v1alpha1/namespaces/argo-events/sensors/orders-legacy-orders"]
    assert "orders-per-country" in puts and "orders-ticks" in puts  # stamped wiring: every one replaced
    assert not [c for c in later if c.method == "PUT" and "kafkatopics" in c.path]  # same topics: untouched
    (sensor,) = [o for o in server.objects("sensors") if o["metadata"]["name"] == "orders-per-country"]
    payload = {p["dest"]: p["src"] for p in sensor["spec"]["triggers"][0]["template"]["http"]["payload"]}
    assert payload["version"]["value"] == "2" and json.loads(payload["step"]["value"])["params"]["window"] == "2m"
    assert sensor["metadata"]["resourceVersion"] == "2"  # replaced once, with the version listed
    assert backend.applied("orders")["orders"].version == 2


def test_stop_deletes_event_sources_then_sensors_and_keeps_the_topics(api):
    """Nothing is published once the Sensors that would take it are gone."""
    server, backend = api
    backend.apply("orders", documents_of(ORDERS, 1))
    seeded = len(server.calls)
    removed = backend.delete("orders")
    assert len(removed) == 13
    deletes = [c.path.split("/")[-2] for c in server.calls[seeded:] if c.method == "DELETE"]
    assert deletes == ["eventsources"] * 6 + ["sensors"] * 7
    assert server.objects("sensors") == [] and server.objects("eventsources") == []
    assert len(server.objects("kafkatopics")) == 6  # the data and the offsets stay
    assert backend.applied() == {}
    assert backend.delete("orders") == ()


def _runs(backend, configs):
    return Runs(configs, backend, Edges(None, None), now=lambda: "2026-01-01T00:00:00Z")


def _other_workflows(server, kind_plural, name):
    api = client.CustomObjectsApi(client.ApiClient(client.Configuration(host=server.url)))
    api.create_namespaced_custom_object("argoproj.io", "v1alpha1", "argo-events", kind_plural, {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Sensor" if kind_plural == "sensors" else "EventSource",
        "metadata": {"name": name, "namespace": "argo-events",
                     "labels": {"app.kubernetes.io/part-of": "faas-etl", "faas-etl.dev/workflow": "other"}},
        "spec": {}})


def test_a_start_stopped_by_a_name_another_workflow_owns_is_undone(api, configs):
    server, backend = api
    _other_workflows(server, "eventsources", "orders-orders-raw")
    configs.create(ORDERS)
    with pytest.raises(RunFailed) as err:
        _runs(backend, configs).start("orders")
    answer = err.value.to_dict()
    assert answer["error"].startswith("EventSource/orders-orders-raw: not created (HTTP 409")
    # Every Sensor went first, then the EventSources up to the refused one; all of it removed.
    assert answer["undone"] == ("removed what this start applied: EventSource/orders-orders-by-country, "
                                "EventSource/orders-orders-clean, EventSource/orders-orders-enriched, "
                                "EventSource/orders-orders-paid, "
                                "Sensor/orders-autoscaler, Sensor/orders-legacy-orders, Sensor/orders-normalise, "
                                "Sensor/orders-paid-only, Sensor/orders-per-country, Sensor/orders-sink, "
                                "Sensor/orders-with-customer")
    assert _names(server, "eventsources", "argo-events") == ["orders-orders-raw"]  # only the other's
    assert backend.applied("orders") == {}


def test_a_move_stopped_midway_restores_the_version_that_ran(api, configs):
    server, backend = api
    configs.create(ORDERS_V2)
    runs = _runs(backend, configs)
    assert runs.start("orders")[0] == 202
    before = {o["metadata"]["name"]: o["spec"] for o in server.objects("sensors")}
    _other_workflows(server, "sensors", "orders-host")  # version 3 adds a Sensor of that name
    configs.update("orders", ORDERS_V3, 1)
    with pytest.raises(RunFailed) as err:
        runs.start("orders")
    assert err.value.to_dict()["error"].startswith("Sensor/orders-host: not created (HTTP 409")
    assert err.value.to_dict()["undone"] == "restored what ran before (version 1)"
    after = {o["metadata"]["name"]: o["spec"] for o in server.objects("sensors")
             if o["metadata"]["labels"]["faas-etl.dev/workflow"] == "orders"}
    assert after == before
    assert backend.applied("orders")["orders"].version == 1


def test_the_verbs_used_are_exactly_those_k8s_rbac_grants(api, configs):
    server, backend = api
    configs.create(ORDERS)
    runs = _runs(backend, configs)
    runs.start("orders")
    configs.update("orders", ORDERS_V2.replace("partitions: 6, replication: 3, retention: 7d",
                                                "partitions: 8, replication: 3, retention: 7d"), 1)
    runs.start("orders")  # replaces wiring and grows a topic; deletes a Sensor
    runs.status("orders")
    runs.list()
    runs.stop("orders")
    documents = [d for path in sorted((REPO / "k8s" / "rbac").glob("*.yaml")) for d in load_file(path, REPO)[0]]
    granted = grants_of(documents, "openfaas-fn", "workflow-manager")
    assert verbs_of(server.calls) == granted


def test_the_runtime_follows_the_argo_events_controllers_conditions(api):
    server, backend = api
    backend.apply("orders", documents_of(ORDERS, 1))
    for key, obj in list(server.emulator.objects.items()):
        if key[0].plural in ("sensors", "eventsources"):
            obj.patch({"status": {"conditions": [{"type": "Deployed", "status": "True"}]}})
    assert backend.applied("orders")["orders"].runtime.state == "running"


@pytest.mark.parametrize(("conditions", "state", "reason"), [
    pytest.param([[{"type": "Deployed", "status": "True"}]] * 2, "running", "", id="all-deployed"),
    pytest.param([[{"type": "Deployed", "status": "True"}], []], "starting",
                 "waiting for the Argo Events controller to deploy Sensor/s1", id="one-not-reported"),
    pytest.param([[{"type": "Deployed", "status": "True"}],
                  [{"type": "TriggersProvided", "status": "False", "message": "no triggers"}]], "failed",
                 "Sensor/s1: TriggersProvided is False (no triggers)", id="one-refused"),
    pytest.param([[{"type": "Deployed", "status": "Unknown"}], [{"type": "Deployed", "status": "True"}]],
                 "starting", "waiting for the Argo Events controller to deploy Sensor/s0", id="unknown"),
])
def test_cluster_runtime(conditions, state, reason):
    objects = [{"kind": "Sensor", "metadata": {"name": f"s{i}"}, "status": {"conditions": c}}
               for i, c in enumerate(conditions)]
    runtime = cluster_runtime(objects)
    assert (runtime.state, runtime.reason) == (state, reason)


def test_an_unreachable_api_server_is_named():
    backend = KubernetesBackend.at("http://127.0.0.1:9", timeout_s=1.0)
    with pytest.raises(ApplyFailed) as err:
        backend.apply("orders", documents_of(ORDERS, 1))
    assert err.value.document == "kafkatopics.kafka.strimzi.io"
    assert err.value.reason.startswith("not listed (")


def test_a_document_for_another_namespace_is_refused_before_anything_is_written(api):
    server, backend = api
    docs = documents_of(ORDERS, 1)
    odd = docs[-1]
    moved = type(odd)(odd.kind, odd.name, "default", {**odd.body, "metadata": {**odd.body["metadata"],
                                                                               "namespace": "default"}})
    with pytest.raises(ApplyFailed) as err:
        backend.apply("orders", (*docs[:-1], moved))
    assert str(err.value) == ("EventSource/orders-ticks: metadata.namespace: must be 'argo-events', "
                              "the namespace this backend manages EventSources in")
    assert server.calls == []


def test_a_replace_of_an_object_changed_since_it_was_listed_is_a_conflict(api):
    server, backend = api
    backend.apply("orders", documents_of(ORDERS, 1))
    listed = backend._list  # noqa: SLF001 - someone edits a Sensor between our list and our replace

    def list_then_someone_edits(kind, selector):
        found = listed(kind, selector)
        if kind == "Sensor":
            for key, obj in list(server.emulator.objects.items()):
                if key[2] == "orders-sink":
                    obj.patch({"metadata": {"resourceVersion": "99"}})
        return found

    backend._list = list_then_someone_edits
    with pytest.raises(ApplyFailed) as err:
        backend.apply("orders", documents_of(ORDERS_V2, 2))
    assert str(err.value).startswith("Sensor/orders-sink: not replaced (HTTP 409 Conflict")
