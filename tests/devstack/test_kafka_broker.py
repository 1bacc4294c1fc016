"""Real Apache Kafka (devstack.kafka_broker): records and offsets survive what they must survive.

One node (the session's ``apache_kafka``): an idempotent acks=all round trip, loopback-only
listeners (an extra one added beside them: the pods' bridge listener), committed offsets kept
across a restart, a start failure that names its log; without
the broker, a skip on a laptop and a failure under CI. Three
nodes (slow): a node killed with SIGKILL and restarted under a steady acks=all stream loses and
duplicates nothing.
"""
from __future__ import annotations

import collections
import ipaddress
import os
import pathlib
import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource

from devstack.broker import BrokerError, create_topics
from devstack.kafka_broker import ApacheKafka, add_listener
from devstack.kafka_tools import consume_all
from devstack.localstack import LocalStack
from tests.fixtures.kafka import require_kafka

# Idempotence makes the producer's retries (after a lost connection or a leader change) land
# once and in order; acks=all waits for every in-sync replica.
SAFE_PRODUCER = {"acks": "all", "enable.idempotence": True, "linger.ms": 5,
                 "message.timeout.ms": 30000}


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def produce(bootstrap: str, topic: str, values: list[bytes], partitions: int = 1) -> list:
    """Produce each value (to partition i % partitions, in order); return the delivery reports."""
    reports = []
    producer = Producer({"bootstrap.servers": bootstrap, **SAFE_PRODUCER})
    for i, value in enumerate(values):
        producer.produce(topic, value, partition=i % partitions,
                         on_delivery=lambda err, msg: reports.append((err, msg)))
        producer.poll(0)
    assert producer.flush(40) == 0, "records still unacknowledged after 40 s"
    return reports


def listening_addresses(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket process ``pid`` listens on (from /proc)."""
    inodes = set()
    for fd in pathlib.Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd) if fd.is_symlink() else ""
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("tcp", "tcp6"):
        for line in pathlib.Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            hex_ip, hex_port = local.split(":")
            raw = bytes.fromhex(hex_ip)  # 32-bit words in host (little-endian) order
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            ip = ipaddress.ip_address(raw)
            if ip.version == 6 and ip.ipv4_mapped:
                ip = ip.ipv4_mapped
            found.add((str(ip), int(hex_port, 16)))
    return found


def test_idempotent_acks_all_records_are_read_back_exactly(apache_kafka):
    topic, count = unique("roundtrip"), 2000
    create_topics(apache_kafka.bootstrap, {topic: 3})
    reports = produce(apache_kafka.bootstrap, topic, [b"%d" % i for i in range(count)], 3)
    assert [err for err, _ in reports if err] == []
    acked = {(msg.partition(), msg.offset(), msg.value()) for _, msg in reports}
    assert len(acked) == count

    got = consume_all(apache_kafka.bootstrap, topic, count)
    assert len(got) == count  # nothing lost, nothing extra
    assert {(m.partition(), m.offset(), m.value()) for m in got} == acked


def test_a_topic_we_create_is_stamped_when_the_broker_appends(apache_kafka):
    """A message written with an old timestamp (a window result stamped with its 2024 event
    time) is stamped by the broker with the time it appended it: the topic config every topic
    of ours gets (etlkit.workflow.model.TOPIC_CONFIG, the rendered KafkaTopics' and the local
    creation's). Retention then counts from that stamp (apache/kafka 3.9.0,
    core/src/main/scala/kafka/log/UnifiedLog.scala deleteRetentionMsBreachedSegments: a segment
    goes once now - its largest timestamp > retention.ms), so the message is kept retention.ms
    from when it was written. Under CreateTime it would stay 1717236000000."""
    from confluent_kafka import TIMESTAMP_LOG_APPEND_TIME

    topic = unique("stamped")
    create_topics(apache_kafka.bootstrap, {topic: 1})
    before = int(time.time() * 1000)
    producer = Producer({"bootstrap.servers": apache_kafka.bootstrap, **SAFE_PRODUCER})
    producer.produce(topic, b"{}", timestamp=1_717_236_000_000)  # 2024-06-01
    assert producer.flush(20) == 0
    (message,) = consume_all(apache_kafka.bootstrap, topic, 1)
    kind, stamp = message.timestamp()
    assert kind == TIMESTAMP_LOG_APPEND_TIME and before - 1000 <= stamp <= time.time() * 1000 + 1000


def test_every_listener_is_on_loopback(apache_kafka):
    listening = listening_addresses(apache_kafka.pid)
    ports = {port for _, port in listening}
    assert int(apache_kafka.bootstrap.rsplit(":", 1)[1]) in ports
    assert len(ports) >= 2  # the client listener and the controller listener
    assert {ip for ip, _ in listening} == {"127.0.0.1"}


def test_committed_offsets_and_records_survive_a_restart(apache_kafka):
    topic, group = unique("restart"), unique("group")
    create_topics(apache_kafka.bootstrap, {topic: 1})
    produce(apache_kafka.bootstrap, topic, [b"%d" % i for i in range(10)])
    consumer_config = {"bootstrap.servers": apache_kafka.bootstrap, "group.id": group,
                       "enable.auto.commit": False, "auto.offset.reset": "earliest"}
    consumer = Consumer(consumer_config)
    consumer.commit(offsets=[TopicPartition(topic, 0, 6)], asynchronous=False)
    consumer.close()
    bootstrap, pid = apache_kafka.bootstrap, apache_kafka.pid

    apache_kafka.stop_node(1)
    assert not apache_kafka.alive()
    apache_kafka.start_node(1)

    assert (apache_kafka.bootstrap, apache_kafka.alive()) == (bootstrap, True)
    assert apache_kafka.pid != pid
    consumer = Consumer(consumer_config)
    try:
        [committed] = consumer.committed([TopicPartition(topic, 0)], timeout=15)
        assert committed.offset == 6
        consumer.assign([TopicPartition(topic, 0)])  # from the committed offset
        rest, deadline, settle = [], time.monotonic() + 15, 0.0
        while time.monotonic() < deadline and (len(rest) < 4 or time.monotonic() < settle):
            msg = consumer.poll(0.1)
            if msg is not None and not msg.error():
                rest.append(msg.value())
                settle = time.monotonic() + 0.5  # anything more would be a duplicate
        assert rest == [b"6", b"7", b"8", b"9"]
    finally:
        consumer.close()
    assert [m.value() for m in consume_all(apache_kafka.bootstrap, topic, 10)] == [
        b"%d" % i for i in range(10)]


def test_a_pod_listener_is_added_beside_the_loopback_one():
    text = ("listeners=PLAINTEXT://127.0.0.1:1,CONTROLLER://127.0.0.1:2\n"
            "advertised.listeners=PLAINTEXT://127.0.0.1:1\n"
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\nnode.id=1\n")
    assert add_listener(text, "PODS", "10.213.7.1:3").splitlines() == [
        "listeners=PLAINTEXT://127.0.0.1:1,CONTROLLER://127.0.0.1:2,PODS://10.213.7.1:3",
        "advertised.listeners=PLAINTEXT://127.0.0.1:1,PODS://10.213.7.1:3",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,PODS:PLAINTEXT",
        "node.id=1"]
    with pytest.raises(ValueError, match="advertised.listeners"):
        add_listener("listeners=PLAINTEXT://127.0.0.1:1\nlistener.security.protocol.map=x\n", "PODS", "a:1")


def test_a_start_failure_names_the_log_and_quotes_it(tmp_path):
    require_kafka()
    kafka = ApacheKafka(data_dir=tmp_path / "data", log_dir=tmp_path / "logs",
                        settings={"num.io.threads": "many"})
    with pytest.raises(BrokerError) as failure:
        kafka.start(timeout=30)
    message = str(failure.value)
    assert str(tmp_path / "logs" / "kafka-node-1.log") in message
    assert "num.io.threads" in message  # Kafka's own complaint, quoted from the log
    assert not kafka.alive()


@pytest.mark.parametrize("ci, outcome", [("true", pytest.fail.Exception),
                                         (None, pytest.skip.Exception)],
                         ids=["ci-fails", "laptop-skips"])
def test_without_the_broker_a_laptop_skips_and_ci_fails(monkeypatch, tmp_path, ci, outcome):
    monkeypatch.setenv("FAAS_ETL_TOOLS", str(tmp_path))  # an empty tools folder
    if ci:
        monkeypatch.setenv("CI", ci)
    else:
        monkeypatch.delenv("CI", raising=False)
    with pytest.raises(outcome, match="kafka/libs is missing: run `make tools`"):
        require_kafka()


class Stream(threading.Thread):
    """Produce record i to partition i % partitions every ``gap`` seconds until stopped."""

    def __init__(self, bootstrap: str, topic: str, partitions: int, gap: float = 0.002):
        super().__init__(daemon=True)
        self.producer = Producer({"bootstrap.servers": bootstrap, **SAFE_PRODUCER})
        self.topic, self.partitions, self.gap = topic, partitions, gap
        self.acked: list[tuple[int, int, bytes]] = []
        self.failed: list[tuple[bytes, str]] = []
        self.sent = 0
        self.unflushed: int | None = None  # records still unacknowledged after the final flush
        self.halt = threading.Event()

    def report(self, err, msg) -> None:
        if err:
            self.failed.append((msg.value(), str(err)))
        else:
            self.acked.append((msg.partition(), msg.offset(), msg.value()))

    def run(self) -> None:
        while not self.halt.is_set():
            self.producer.produce(self.topic, b"%d" % self.sent,
                                  partition=self.sent % self.partitions, on_delivery=self.report)
            self.sent += 1
            self.producer.poll(self.gap)
        self.unflushed = self.producer.flush(40)
        self.producer = None  # destroyed here, while the cluster is still up to say goodbye to

    def wait_acked(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.acked) >= count, f"only {len(self.acked)} of {count} acknowledged"


def partitions_of(bootstrap: str, topic: str) -> dict[int, tuple[int, list, list]]:
    """partition -> (leader, replicas, in-sync replicas), as the cluster reports them."""
    metadata = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=10)
    return {p.id: (p.leader, sorted(p.replicas), sorted(p.isrs))
            for p in metadata.topics[topic].partitions.values()}


@pytest.mark.slow
def test_three_nodes_lose_and_duplicate_nothing_when_one_is_killed(tmp_path):
    require_kafka()
    topic, partitions = unique("faults"), 3
    with ApacheKafka(nodes=3, log_dir=tmp_path) as kafka:
        assert len(kafka.bootstrap.split(",")) == 3
        # As `faas-etl run/up --real --kafka-nodes 3` create the workflow's topics.
        LocalStack(kafka_bootstrap=kafka.bootstrap, replication_factor=3).create_topics({topic: partitions})
        layout = partitions_of(kafka.bootstrap, topic)
        assert {p: (r, i) for p, (_, r, i) in layout.items()} == {
            p: ([1, 2, 3], [1, 2, 3]) for p in range(partitions)}
        admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
        [config] = admin.describe_configs([ConfigResource("topic", topic)]).values()
        assert config.result(10)["min.insync.replicas"].value == "2"
        del admin
        victim = layout[0][0]  # partition 0's leader: its partitions must fail over

        stream = Stream(kafka.bootstrap, topic, partitions)
        stream.start()
        try:
            stream.wait_acked(300)
            kafka.kill_node(victim)
            acked_at_kill = len(stream.acked)

            # With one node of three down, acks=all (min.insync.replicas=2) still succeeds.
            reports = produce(kafka.bootstrap, topic, [b"down-%d" % p for p in range(partitions)],
                              partitions)
            assert [err for err, _ in reports if err] == []
            stream.wait_acked(acked_at_kill + 300)
            assert not kafka.node_alive(victim)
            assert all(leader != victim for leader, _, _ in
                       partitions_of(kafka.bootstrap, topic).values())

            kafka.start_node(victim)  # same ports, same data: log recovery, then it rejoins
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if all(isr == [1, 2, 3] for _, _, isr in
                       partitions_of(kafka.bootstrap, topic).values()):
                    break
                time.sleep(0.2)
            else:
                pytest.fail(f"node {victim} did not rejoin every ISR: "
                            f"{partitions_of(kafka.bootstrap, topic)}")
            stream.wait_acked(len(stream.acked) + 300)
        finally:
            stream.halt.set()
            stream.join(60)

        assert (stream.unflushed, stream.failed) == (0, [])
        expected = {(m.partition(), m.offset(), m.value()) for _, m in reports} | set(stream.acked)
        assert len(expected) == stream.sent + partitions
        got = consume_all(kafka.bootstrap, topic, len(expected), timeout=30)
        read = [(m.partition(), m.offset(), m.value()) for m in got]
        duplicates = [v for v, n in collections.Counter(v for _, _, v in read).items() if n > 1]
        assert duplicates == []
        assert set(read) == expected  # every acknowledged record, where it was acknowledged
        for p in range(partitions):  # and in the order it was sent
            sent = [int(v) for q, _, v in sorted(read) if q == p and not v.startswith(b"down")]
            assert sent == sorted(sent)
