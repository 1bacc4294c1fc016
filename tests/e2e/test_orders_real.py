"""Issue 14's must-show: the orders workflow end to end on the real Argo Events processes.

The same input as test_orders_workflow.py (tests/e2e/expected.py's SAMPLE: 200 orders POSTed to
ingest, workflows/data/orders.csv streamed by file-source, 100 legacy_orders rows pulled on the
calendar tick) and the same answers (the exact window rows, dead letters by step and reason, the
counts of every step), but every committed EventSource and Sensor of the data path runs as the
real ``argo-events`` v1.9.11 binary (devstack/realargo): each in its own pod network namespace,
fed what the controller feeds a pod, on a nats-server JetStream EventBus; the broker is Apache
Kafka 4.1 (one KRaft node, a second listener on the pods' bridge) and the gateway listens on
the bridge. The real Sensors call the functions once per Kafka message (a record batch, or a
plain record from a foreign producer), through the gateway without credentials.

Replay, as in the stand-in test: the warehouse loader's input is to be delivered again, here by
rewinding the real ``orders-by-country`` EventSource's consumer group (the Kafka group is the
EventSource's). On the real processes what that delivers depends on which lane reads a partition
again (JetStream's duplicate window drops a re-published id); either way no row is added. The
window results outlive the committed topic retention: their records carry their 2024 event time,
but every topic of ours is stamped by the broker at append (``message.timestamp.type:
LogAppendTime``, etlkit.workflow.model.TOPIC_CONFIG), so Kafka's retention counts from when they
were written.
"""
from __future__ import annotations

import pathlib
import time

import pytest
import yaml
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

from devstack.demo import WORKFLOW, drive_orders
from devstack.kafka_tools import consume_all, consume_records
from devstack.pipeline.kafka_edge import messages_on
from devstack.pipeline.run import WorkflowRun, data_path
from devstack.pipeline.summary import summary_of
from etlkit import wire
from etlkit.workflow import load_workflow
from tests.fixtures.realargo import require_real_argo

from .expected import EXPECTED, SAMPLE, assert_books, assert_dead_letters, assert_windows, warehouse_rows

pytestmark = pytest.mark.slow
REPO = pathlib.Path(__file__).resolve().parents[2]
# Over devstack.realstack.LOCAL_KAFKA (no time retention, as Tansu): retention checked every
# second, for the retention test at the end, which applies the committed topic config.
LOCAL_KAFKA = {"log.retention.check.interval.ms": 1000}
RETENTION_FIRST_CHECK_S = 30  # Kafka's LogManager makes its first retention pass 30 s after start


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """One stack, the real Argo processes and one full run; yields (stack, run, summary, url, kafka)."""
    from devstack.realargo.runner import GROUP_RELEASE_S
    from devstack.realstack import real_stack

    require_real_argo(kafka=True)
    run_dir = tmp_path_factory.mktemp("e2e-real")
    url = f"sqlite:///{run_dir / 'warehouse.db'}"
    workflow = load_workflow(WORKFLOW)
    # release_s: the replay test restarts the runner on the same consumer groups.
    with real_stack(run_dir, kafka_data=run_dir / "kafka", kafka_settings=LOCAL_KAFKA,
                    extra_env={"WAREHOUSE_URL": url}, release_s=GROUP_RELEASE_S) as parts:
        parts.kafka.started_at = time.monotonic()
        run = WorkflowRun(parts.stack, workflow, warehouse_url=url, runner_factory=parts.runner_factory)
        try:
            run.prepare(data_path(workflow))
            started = time.monotonic()
            records, seconds = drive_orders(run, SAMPLE, batch=100)
            summary = summary_of(workflow.name, run.books(), table=workflow.sink.table, warehouse=url,
                                 elapsed_s=time.monotonic() - started, throughput=(records, seconds),
                                 skipped=run.skipped, runner=run.runner.counters)
            yield parts.stack, run, summary, url, parts.kafka
        finally:
            if run.runner is not None:
                run.runner.release_s = 0  # no replay follows: no wait for the dead members to expire
            run.close()

def test_the_warehouse_holds_exactly_the_windows_of_the_stand_in_run(real_run):
    _stack, _run, _summary, url, _kafka = real_run
    assert_windows(warehouse_rows(url))


def test_dead_letters_are_exactly_those_of_the_stand_in_run(real_run):
    stack, _run, _summary, _url, _kafka = real_run
    letters = consume_records(stack.bootstrap, "orders-dlq", sum(EXPECTED.dead.values()), timeout=30)
    assert_dead_letters(r.value for r in letters)


def test_every_step_balances_as_in_the_stand_in_run(real_run):
    _stack, _run, summary, _url, _kafka = real_run
    assert_books(summary)


def test_each_real_sensor_called_its_function_once_per_kafka_message(real_run):
    """The Kafka EventSource makes one event of each message (argo-events pkg/eventsources/
    sources/kafka/start.go processOne) and the Sensor one call of each event: per operation, one
    successful trigger per message on its input topics (their offsets: a record batch or a plain
    record alike), none failed, nothing dead-lettered by a Sensor (the steps dead-letter bad
    records themselves; the books count records)."""
    stack, run, _summary, _url, _kafka = real_run
    counters = run.runner.counters
    inputs = {step.name: step.inputs for step in run.workflow.steps}
    inputs[run.workflow.sink.name] = run.workflow.sink.inputs
    assert sorted(inputs) == ["normalise", "paid-only", "per-country", "sink", "with-customer"]
    for operation, topics in inputs.items():
        messages = sum(messages_on(stack.bootstrap, topic, run.topics[topic]) for topic in topics)
        c = counters[f"orders-{operation}"]
        assert messages > 0 and (c["events_in"], c["triggered"], c["failed"], c["dead_lettered"]) == \
            (messages, messages, 0, 0), operation


def test_replaying_the_loaders_input_adds_no_row(real_run):
    """A replay by rewinding the loader's group, on the real path. What it delivers depends on the
    lanes: the EventSource publishes each record under the id <es>:<event>:<url>:<topic>:
    <partition>:<offset> (pkg/eventsources/sources/kafka/start.go genUniqueID, sent as Nats-Msg-Id
    by pkg/eventbus/jetstream/eventsource/source_conn.go), and <event> is the lane that read it:
    a partition read again by the same lane is dropped by JetStream as a duplicate within the
    stream's duplicates window, one read by another lane after the restart's rebalance is
    delivered. `faas-etl replay` re-produces instead, which always delivers. Either way the
    loader applies each batch id once: no row is added, nothing is dead-lettered."""
    _stack, run, _summary, url, _kafka = real_run
    before = warehouse_rows(url)
    again = run.replay("sink")
    run.wait_drained(timeout=60)
    counters = run.runner.counters["orders-sink"]  # the restarted processes' own counters
    assert again == len(EXPECTED.windows)  # records, in the batch messages of the sink's input
    messages = sum(run.reader.messages_on(topic) for topic in run.workflow.sink.inputs)
    assert counters["events_in"] == counters["triggered"] <= messages and counters["dead_lettered"] == 0
    after = warehouse_rows(url)
    assert after == before and len(after) == len(EXPECTED.windows)
    assert run.books().balanced


def _low_watermarks(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "e2e-real-watermarks"})
    try:
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[0] for p in range(partitions)}
    finally:
        consumer.close()


def _committed_topic_config(topic: str) -> dict[str, str]:
    doc = yaml.safe_load((REPO / "k8s" / "topics" / f"{topic}.yaml").read_text())
    return {k: str(v) for k, v in doc["spec"]["config"].items() if k == "retention.ms"}


def _stamps(bootstrap: str, topic: str) -> list[tuple[int, int, int]]:
    """(partition, Kafka timestamp, records) of every message on ``topic``, from its start."""
    return [(m.partition(), m.timestamp()[1], len(wire.unbatch(m.value(), m.headers())[1]))
            for m in consume_all(bootstrap, topic, messages_on(bootstrap, topic, 3), timeout=30)]


def test_window_results_outlive_the_committed_topic_retention(real_run):
    """Runs last: it applies the committed retention (30d) to orders-by-country, whose window
    results carry their 2024 event time in the batch: Kafka deletes a segment once its largest
    message timestamp is older than retention.ms (apache/kafka 3.9.0, core/src/main/scala/kafka/
    log/UnifiedLog.scala deleteRetentionMsBreachedSegments), and the topic, created as the
    committed KafkaTopic says (LogAppendTime), stamps each message when it was appended."""
    stack, _run, _summary, _url, kafka = real_run
    admin = AdminClient({"bootstrap.servers": stack.bootstrap})
    committed = _committed_topic_config("orders-by-country")
    config = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in committed.items()]
    for future in admin.incremental_alter_configs(
            [ConfigResource(ResourceType.TOPIC, "orders-by-country", incremental_configs=config)]).values():
        future.result(15)
    # The broker checks retention every second here, but not before 30 s after its start.
    time.sleep(max(0.0, kafka.started_at + RETENTION_FIRST_CHECK_S - time.monotonic()) + 3)
    low = _low_watermarks(stack.bootstrap, "orders-by-country", 3)
    assert low == {0: 0, 1: 0, 2: 0}, f"orders-by-country's window results were deleted up to offsets {low}"
    # Kafka deletes a segment once its newest timestamp is older than the retention: a message of
    # window results must be stamped within it, or the segment holding only such goes.
    oldest = time.time() * 1000 - int(committed["retention.ms"])
    expiring = [(p, stamp) for p, stamp, records in _stamps(stack.bootstrap, "orders-by-country")
                if records and stamp < oldest]
    assert not expiring, f"window results stamped before the retention of now: {expiring[:3]}"
