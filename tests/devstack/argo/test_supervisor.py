"""The local reconciler: what the workflow-manager's local backend applies is run, restarted on
change and stopped on removal, against the real local stack (broker, gateway, a recorder)."""
from __future__ import annotations

import pytest
import yaml
from confluent_kafka.admin import AdminClient

from devstack.argo.supervisor import Action, Supervisor, plan
from etlkit.runs.local_backend import MANIFESTS, digest, read_status, write_status

from . import factory
from .stack_helpers import (DEFAULT_HEARTBEAT_SESSION_TIMEOUT_MS, RECORDER, committed, events_of, produce,
                            unique, wait_for)


@pytest.mark.parametrize(("desired", "running", "actions"), [
    pytest.param({"a": "1"}, {}, [Action("start", "a")], id="new-folder"),
    pytest.param({"a": "1"}, {"a": "1"}, [], id="unchanged"),
    pytest.param({"a": "2"}, {"a": "1"}, [Action("restart", "a")], id="changed-documents"),
    pytest.param({}, {"a": "1"}, [Action("stop", "a")], id="folder-gone"),
    pytest.param({"c": "1", "a": "1"}, {"b": "1"}, [Action("start", "a"), Action("stop", "b"),
                                                      Action("start", "c")], id="sorted-by-name"),
])
def test_plan(desired, running, actions):
    assert plan(desired, running) == actions


def _labelled(doc: dict, workflow: str) -> dict:
    doc["metadata"]["labels"] = {"faas-etl.dev/workflow": workflow}
    return doc


def _topic(name: str, workflow: str, partitions: int) -> dict:
    return {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaTopic",
            "metadata": {"name": name, "namespace": "kafka", "labels": {"faas-etl.dev/workflow": workflow}},
            "spec": {"partitions": partitions, "replicas": 3}}


def _apply(run_dir, workflow: str, *docs: dict) -> str:
    folder = run_dir / "argo-apply" / workflow
    folder.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump_all(docs, sort_keys=False)
    (folder / MANIFESTS).write_text(text)
    return text


def _wiring(workflow: str, topic: str, file: str) -> list[dict]:
    return [_labelled(factory.kafka_eventsource(topic, topic, f"g-{workflow}"), workflow),
            _labelled(factory.sensor(f"{workflow}-rec", topic, topic, RECORDER, query=f"?file={file}"), workflow)]


def test_a_folder_is_run_restarted_when_it_changes_and_stopped_when_it_goes(local_stack, record_dir, tmp_path):
    workflow, topic = unique("wf"), unique("sup-in")
    supervisor = Supervisor(tmp_path, local_stack.bootstrap, local_stack.url, local_stack.credentials,
                            session_timeout_ms=DEFAULT_HEARTBEAT_SESSION_TIMEOUT_MS)
    first, second = unique("sup-a"), unique("sup-b")
    text = _apply(tmp_path, workflow, _topic(topic, workflow, 2), *_wiring(workflow, topic, first))
    try:
        assert supervisor.reconcile() == [Action("start", workflow)]
        # The reconciler made the topic (a fresh broker has none), with its partitions.
        metadata = AdminClient({"bootstrap.servers": local_stack.bootstrap}).list_topics(timeout=10)
        assert len(metadata.topics[topic].partitions) == 2
        status = read_status(tmp_path / "argo-runs", workflow)
        assert (status["state"], status["digest"]) == ("running", digest(text))
        produce(local_stack.bootstrap, topic, [{"id": i} for i in range(4)])
        wait_for(lambda: len(events_of(record_dir, first)) == 4, 30, "4 events through the first runner")
        assert supervisor.reconcile() == []  # nothing changed: the same runner goes on

        _apply(tmp_path, workflow, _topic(topic, workflow, 2), *_wiring(workflow, topic, second))
        assert supervisor.reconcile() == [Action("restart", workflow)]
        produce(local_stack.bootstrap, topic, [{"id": i} for i in range(4, 6)])
        wait_for(lambda: len(events_of(record_dir, second)) == 2, 30, "2 events through the new runner")
        assert len(events_of(record_dir, first)) == 4  # resumed from the commits: nothing twice
        wait_for(lambda: committed(local_stack.bootstrap, f"g-{workflow}", topic, 2) == 6, 30, "6 commits")

        (tmp_path / "argo-apply" / workflow / MANIFESTS).unlink()
        (tmp_path / "argo-apply" / workflow).rmdir()
        assert supervisor.reconcile() == [Action("stop", workflow)]
        status = read_status(tmp_path / "argo-runs", workflow)
        assert status["state"] == "stopped" and status["runner"]["running"] is False
        assert status["runner"]["sensors"][f"{workflow}-rec"]["committed"] == 2  # its last counters
    finally:
        supervisor.stop()


def test_sensors_of_functions_not_served_are_skipped_and_none_runnable_fails_the_run(local_stack, tmp_path):
    workflow, topic = unique("wf"), unique("sup-none")
    wiring = _wiring(workflow, topic, "never")
    wiring[1]["spec"]["triggers"][0]["template"]["http"]["url"] = "http://gateway.openfaas:8080/function/nope"
    _apply(tmp_path, workflow, _topic(topic, workflow, 1), *wiring)
    supervisor = Supervisor(tmp_path, local_stack.bootstrap, local_stack.url, local_stack.credentials,
                            session_timeout_ms=DEFAULT_HEARTBEAT_SESSION_TIMEOUT_MS)
    try:
        supervisor.reconcile()
        status = read_status(tmp_path / "argo-runs", workflow)
        assert status["state"] == "failed"
        assert status["reason"] == (f"SelectionError: workflow {workflow!r}: no runnable Sensor labelled "
                                    f"faas-etl.dev/workflow={workflow} (skipped: {workflow}-rec)")
        assert supervisor.reconcile() == []  # the same documents are not retried in a loop
    finally:
        supervisor.stop()


def test_a_status_left_running_by_a_reconciler_that_died_is_marked_stopped(tmp_path):
    write_status(tmp_path / "argo-runs", "ghost", {"digest": "d", "state": "running", "runner": {}})
    supervisor = Supervisor(tmp_path, "127.0.0.1:9", "http://127.0.0.1:9", interval_s=60).start()
    supervisor.stop()
    status = read_status(tmp_path / "argo-runs", "ghost")
    assert (status["state"], status["reason"]) == ("stopped", "the reconciler restarted")
