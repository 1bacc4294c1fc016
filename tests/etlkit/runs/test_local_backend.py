"""The local backend: a folder per workflow, written atomically, judged by the reconciler's status."""
from __future__ import annotations

import pytest
from confluent_kafka.admin import AdminClient

from etlkit.runs import ApplyFailed
from etlkit.runs.kafka_topics import KafkaTopicMaker
from etlkit.runs.local_backend import (MANIFESTS, LocalBackend, digest, local_runtime, read_status,
                                       write_status)

from .conftest import ORDERS, ORDERS_V2, documents_of


class Topics:
    """Records what it was asked to create; ``refuse`` makes it fail as Kafka would."""

    def __init__(self):
        self.created: dict[str, int] = {}
        self.refuse = False

    def create(self, topics):
        if self.refuse:
            raise ApplyFailed("KafkaTopic/orders-by-country", "Kafka at 127.0.0.1:9 did not answer")
        self.created.update(topics)


@pytest.fixture
def local(tmp_path):
    topics = Topics()
    return LocalBackend(tmp_path / "argo-apply", tmp_path / "argo-runs", topics), topics


def _running_status(text, **runner):
    return {"digest": digest(text), "state": "running", "skipped": [{"sensor": "orders-autoscaler",
                                                                      "reason": "calls autoscaler"}],
            "runner": {"sensors": {"orders-paid-only": {"events_in": 12, "triggered": 12}},
                       "subscriptions": [{"sensor": "orders-paid-only", "alive": True}], **runner}}


def test_apply_creates_the_topics_then_writes_every_document_in_one_file(local, tmp_path):
    backend, topics = local
    docs = documents_of(ORDERS, 1)
    backend.apply("orders", docs)
    assert topics.created == {"orders-raw": 6, "orders-paid": 6, "orders-clean": 6, "orders-enriched": 6,
                              "orders-by-country": 3, "orders-dlq": 1}
    folder = tmp_path / "argo-apply" / "orders"
    assert sorted(p.name for p in folder.iterdir()) == [MANIFESTS]  # no temporary file left
    run = backend.applied()["orders"]
    assert (run.version, run.runtime.state) == (1, "starting")
    assert [d.ref for d in run.documents] == [d.ref for d in docs if d.kind != "KafkaTopic"]
    assert run.runtime.reason == "waiting for the local reconciler (faas-etl up) to pick it up"


def test_a_topic_kafka_refuses_fails_the_apply_before_any_document_is_written(local, tmp_path):
    backend, topics = local
    topics.refuse = True
    with pytest.raises(ApplyFailed, match="KafkaTopic/orders-by-country: Kafka at 127.0.0.1:9"):
        backend.apply("orders", documents_of(ORDERS, 1))
    assert not (tmp_path / "argo-apply" / "orders").exists()


def test_the_reconcilers_status_makes_it_running_with_per_sensor_counters(local, tmp_path):
    backend, _ = local
    backend.apply("orders", documents_of(ORDERS, 1))
    text = (tmp_path / "argo-apply" / "orders" / MANIFESTS).read_text()
    write_status(tmp_path / "argo-runs", "orders", _running_status(text))
    runtime = backend.applied("orders")["orders"].runtime
    assert runtime.state == "running"
    assert runtime.sensors == {"orders-paid-only": {"events_in": 12, "triggered": 12}}
    assert runtime.skipped == (("orders-autoscaler", "calls autoscaler"),)
    backend.apply("orders", documents_of(ORDERS_V2, 2))  # new documents: not run yet
    assert backend.applied("orders")["orders"].runtime.state == "starting"


def test_delete_removes_the_folder_and_the_run_is_stopping_until_the_reconciler_stopped_it(local, tmp_path):
    backend, _ = local
    backend.apply("orders", documents_of(ORDERS, 1))
    text = (tmp_path / "argo-apply" / "orders" / MANIFESTS).read_text()
    write_status(tmp_path / "argo-runs", "orders", _running_status(text))
    removed = backend.delete("orders")
    assert len(removed) == 13 and removed[-1] == "Sensor/orders-with-customer"
    assert not (tmp_path / "argo-apply" / "orders").exists()
    assert list((tmp_path / "argo-apply").iterdir()) == []  # the renamed folder is gone too
    run = backend.applied()["orders"]
    assert (run.documents, run.runtime.state) == ((), "stopping")
    write_status(tmp_path / "argo-runs", "orders", {**read_status(tmp_path / "argo-runs", "orders"),
                                                    "state": "stopped"})
    assert backend.applied() == {}
    assert backend.delete("orders") == ()


@pytest.mark.parametrize(("applied", "status", "state", "reason"), [
    pytest.param("d1", None, "starting", "waiting for the local reconciler (faas-etl up) to pick it up",
                 id="not-picked-up"),
    pytest.param("d2", {"digest": "d1", "state": "running"}, "starting",
                 "the local reconciler has not run these documents yet", id="older-documents-running"),
    pytest.param("d1", {"digest": "d1", "state": "failed", "reason": "SelectionError: no runnable Sensor"},
                 "failed", "SelectionError: no runnable Sensor", id="failed"),
    pytest.param("d1", {"digest": "d1", "state": "running", "runner": {"subscriptions": [
        {"sensor": "orders-sink", "alive": False}, {"sensor": "orders-paid-only", "alive": True}]}},
                 "failed", "the runner's subscriptions of orders-sink stopped", id="a-subscription-died"),
    pytest.param("d1", {"digest": "d1", "state": "running", "runner": {}}, "running", "", id="running"),
    pytest.param(None, {"digest": "d1", "state": "running"}, "stopping",
                 "the local reconciler is stopping its runner", id="removed-still-running"),
    pytest.param(None, {"digest": "d1", "state": "stopped"}, "stopped", "", id="stopped"),
    pytest.param(None, None, "stopped", "", id="never-ran"),
])
def test_local_runtime(applied, status, state, reason):
    runtime = local_runtime(applied, status)
    assert (runtime.state, runtime.reason) == (state, reason)


def test_topics_are_created_on_the_broker_once_with_their_partitions(broker):
    maker = KafkaTopicMaker(broker.bootstrap)
    maker.create({"runs-a": 3, "runs-b": 1})
    maker.create({"runs-a": 3, "runs-c": 2})  # existing ones left alone, the new one made
    metadata = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=10).topics
    assert {t: len(metadata[t].partitions) for t in ("runs-a", "runs-b", "runs-c")} == \
        {"runs-a": 3, "runs-b": 1, "runs-c": 2}


def test_tansu_keeps_the_producer_s_stamp_where_kafka_stamps_the_append(broker):
    """The stand-in's difference, stated: the topics are created with the rendered
    ``message.timestamp.type: LogAppendTime`` (tests/devstack/test_kafka_broker.py checks that
    Apache Kafka then stamps the append time); Tansu 0.6 accepts the setting and keeps the
    producer's CreateTime. No record is lost by it: Tansu has no time retention."""
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka import TIMESTAMP_CREATE_TIME

    KafkaTopicMaker(broker.bootstrap).create({"runs-stamped": 1})
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    producer.produce("runs-stamped", b"{}", timestamp=1_717_236_000_000)  # 2024-06-01
    assert producer.flush(10) == 0
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "runs-stamped"})
    try:
        consumer.assign([TopicPartition("runs-stamped", 0, 0)])
        message = consumer.poll(15)
    finally:
        consumer.close()
    assert message is not None and message.timestamp() == (TIMESTAMP_CREATE_TIME, 1_717_236_000_000)


def test_an_unreachable_broker_is_named_with_the_topic():
    with pytest.raises(ApplyFailed) as err:
        KafkaTopicMaker("127.0.0.1:9", timeout_s=1.0).create({"runs-x": 1})
    assert err.value.document == "KafkaTopic/runs-x"
    assert "Kafka at 127.0.0.1:9 did not answer" in err.value.reason
