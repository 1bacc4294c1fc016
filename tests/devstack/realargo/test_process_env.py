"""devstack.realargo.process: what the controller gives a pod (pure), as the binary reads it."""
from __future__ import annotations

import base64
import json

import pytest
import yaml

from devstack.realargo.eventbus import bus_config
from devstack.realargo.process import (KUBECONFIG_TEMPLATE, POD_KUBECONFIG, object_copy, pod_env,
                                       pod_name)

SENSOR = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Sensor",
          "metadata": {"name": "orders-sink", "namespace": "argo-events", "labels": {"a": "b"},
                       "annotations": {"faas-etl.dev/workflow-version": "1"}},
          "spec": {"dependencies": [{"name": "d", "eventSourceName": "e", "eventName": "e"}]}}
EVENTBUS = {"kind": "EventBus", "metadata": {"name": "default"}, "spec": {"jetstream": {"version": "2.10.29"}}}


def _decoded(value: str) -> dict:
    return json.loads(base64.b64decode(value))


def test_a_sensor_pod_gets_the_controller_variables():
    bus = bus_config(EVENTBUS, "nats://10.213.7.1:4222")
    env = pod_env(SENSOR, bus, "orders-sink-sensor-1")
    assert set(env) == {"SENSOR_OBJECT", "EVENTBUS_SUBJECT", "POD_NAME", "LEADER_ELECTION", "EVENTBUS_CONFIG",
                        "KUBECONFIG"}
    # buildDeployment's copy: name, namespace and spec only (labels and annotations are not passed)
    assert _decoded(env["SENSOR_OBJECT"]) == {"metadata": {"name": "orders-sink", "namespace": "argo-events"},
                                              "spec": SENSOR["spec"]}
    assert env["EVENTBUS_SUBJECT"] == "eventbus-argo-events"
    assert env["POD_NAME"] == "orders-sink-sensor-1"
    assert env["LEADER_ELECTION"] == ""
    assert _decoded(env["EVENTBUS_CONFIG"]) == bus
    assert env["KUBECONFIG"] == POD_KUBECONFIG


def test_an_event_source_pod_gets_its_object_under_its_own_variable():
    source = {**SENSOR, "kind": "EventSource", "metadata": {**SENSOR["metadata"], "name": "orders-raw"}}
    env = pod_env(source, {}, pod_name(source, 3))
    assert "SENSOR_OBJECT" not in env
    assert _decoded(env["EVENTSOURCE_OBJECT"])["metadata"] == {"name": "orders-raw", "namespace": "argo-events"}
    assert env["POD_NAME"] == "orders-raw-eventsource-3"


def test_the_leader_election_annotation_is_passed_on():
    annotated = {**SENSOR, "metadata": {**SENSOR["metadata"],
                                        "annotations": {"events.argoproj.io/leader-election": "k8s"}}}
    assert pod_env(annotated, {}, "p")["LEADER_ELECTION"] == "k8s"


def test_only_sensors_and_event_sources_run():
    with pytest.raises(ValueError, match="EventBus"):
        pod_env(EVENTBUS, {}, "p")


def test_object_copy_of_a_document_without_spec():
    assert object_copy({"metadata": {"name": "x"}}) == {"metadata": {"name": "x", "namespace": None}, "spec": {}}


def test_the_kubeconfig_points_at_an_unreachable_loopback_api_server():
    config = yaml.safe_load(KUBECONFIG_TEMPLATE.format(server="https://127.0.0.1:1", namespace="argo-events"))
    assert config["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:1"
    assert config["current-context"] == "none"
    assert config["contexts"][0]["context"]["namespace"] == "argo-events"
