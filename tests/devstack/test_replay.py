"""faas-etl replay: a range produced again unchanged (same etl-batch ids, so the audit sees
redeliveries and no new data), a plain message kept under the Argo event id it had, dead letters
back to their topics under ids that a second replay repeats; on a real broker (Tansu)."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from devstack.audit import RawMessage, audit, seen_of
from devstack.audit_cli import main as cli
from devstack.broker import EmbeddedBroker, create_topics
from devstack.replay import Range, ReplayError, again, dead_letter_records, range_records, ranges
from devstack.topic_io import produce_exact, read_topics
from etlkit import wire
from etlkit.outrecord import json_bytes, out_record
from etlkit.workflow.parse import parse_workflow
from tests.devstack.test_audit import PARTITIONS, URL, WORKFLOW, count, laid_out, source_batches


def message(partition: int, offset: int, stamp: int) -> RawMessage:
    return RawMessage("raw", partition, offset, None, b'{"records":[]}', ((wire.BATCH_HEADER, b"x"),), stamp)


@pytest.mark.parametrize("options, error", [
    ({}, "exactly one of --from-offset or --from-time"),
    ({"from_offset": 1, "from_time_ms": 5}, "exactly one"),
    ({"from_offset": -1}, "--from-offset: must be 0 or more"),
    ({"from_offset": 5, "to_offset": 4}, "--to-offset: must not be below"),
], ids=["no-start", "two-starts", "negative-offset", "end-before-start"])
def test_a_range_that_cannot_be_is_refused_naming_the_option(options, error):
    with pytest.raises(ReplayError, match=error):
        ranges([0], "raw", [], **options)


def test_from_time_starts_each_partition_at_its_first_message_that_recent():
    messages = [message(0, 0, 10), message(0, 1, 30), message(1, 0, 20), message(1, 1, 25)]
    assert ranges([0, 1], "raw", messages, from_time_ms=25) == [Range("raw", 0, 1), Range("raw", 1, 1)]
    assert ranges([0, 1], "raw", messages, from_time_ms=31) == []


def test_a_range_is_its_offsets_from_start_to_before_end():
    messages = [message(0, n, n) for n in range(5)] + [message(1, 0, 0)]
    chosen = range_records(messages, [Range("raw", 0, 1, 3)], URL)
    assert [(r.partition, r.value) for r in chosen] == [(0, b'{"records":[]}')] * 2
    assert len(range_records(messages, [Range("raw", 0, 3)], URL)) == 2


def test_a_batch_goes_back_unchanged_and_a_plain_message_keeps_its_argo_event_id():
    batch = laid_out(source_batches())[0]
    assert tuple(again(batch, URL)) == (batch.topic, batch.value, batch.key, batch.headers, batch.timestamp_ms,
                                        batch.partition)
    plain = RawMessage("raw", 1, 7, b"k1", b'{"id": "k1"}', (("etl-source", b"kcat"),), 99)
    rec = again(plain, URL)
    identity, entries, end = wire.unbatch(rec.value, rec.headers)
    # argo-events pkg/eventsources/sources/kafka/start.go genUniqueID
    assert identity == f"raw:raw:{URL}:raw:1:7" and rec.partition == 1 and not end
    assert entries == [{"key": "k1", "time": 99, "headers": {"etl-source": "kcat", "etl-event-time": "99"}, "value": {"id": "k1"}}]


def letters() -> list[RawMessage]:
    """A function's two letters (one batch) and a Sensor's letter for a whole batch (plain)."""
    function = [out_record("shop-dlq", json_bytes({"step": "tidy", "reason": "bad", "payload": {"id": f"k{i}"},
                                                   "topic": "raw", "key": f"k{i}", "at": 1}), None, (), 1, 0)
                for i in (1, 2)]
    batch = source_batches()[0]
    sensor = out_record("shop-dlq", json_bytes({"step": "tidy", "reason": "gave up", "topic": "raw",
                                                "payload": json.loads(batch.value), "key": "",
                                                "partition": batch.partition, "at": "5"}), None, (), None, 0)
    return laid_out(wire.batches(function, "letters-1", count) + [sensor])


def test_dead_letters_go_back_to_their_topics_under_repeatable_ids():
    out = dead_letter_records(letters(), count)
    assert out == dead_letter_records(letters(), count)  # a second replay: the same ids, the same bytes
    decoded = [wire.unbatch(r.value, r.headers) for r in out]
    values = sorted(e["value"]["id"] for _i, entries, _e in decoded for e in entries)
    original = source_batches()[0]
    assert values == sorted(["k1", "k2"] + [e["value"]["id"] for e in wire.unbatch(original.value,
                                                                                    original.headers)[1]])
    assert {r.topic for r in out} == {"raw"}
    # the Sensor's letter: the whole batch, on its partition
    assert any(r.partition == original.partition and wire.unbatch(r.value, r.headers)[1]
               == wire.unbatch(original.value, original.headers)[1] for r in out)
    assert dead_letter_records(letters(), count, topic="clean") == []


def test_a_dead_letter_naming_no_topic_is_refused():
    bad = laid_out(wire.batches([out_record("shop-dlq", json_bytes({"step": "tidy", "payload": {}}), None, (),
                                            None, 0)], "l", count))
    with pytest.raises(ReplayError, match="names no topic"):
        dead_letter_records(bad, count)


# -- on a real broker ------------------------------------------------------------------------

@pytest.fixture
def broker(tmp_path):
    """A broker of its own per test (Tansu starts in well under a second): each test counts
    what is on a topic."""
    with EmbeddedBroker(log_path=tmp_path / "broker.log") as running:
        create_topics(running.bootstrap, PARTITIONS)
        yield running.bootstrap


def test_a_replayed_range_reappears_with_the_same_ids_and_audits_as_redeliveries(broker, tmp_path, capsys):
    raw = source_batches()
    produce_exact(broker, raw)
    before, _ = read_topics(broker, ["raw"])
    workflow = tmp_path / "shop.yaml"
    workflow.write_text(WORKFLOW)
    code = cli(["replay", "-w", str(workflow), "--topic", "raw", "--partition", "1", "--from-offset", "1",
                "--to-offset", "3", "--kafka", broker, "--run-dir", str(tmp_path), "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["to"] == {"raw[1]": 2}
    after, partitions = read_topics(broker, ["raw"])
    old = [m for m in before["raw"] if m.partition == 1]
    new = [m for m in after["raw"] if m.partition == 1][len(old):]
    assert len(old) == 3  # offsets 1 and 2 of three: the range, not the whole partition
    assert [(m.headers, m.value, m.key) for m in new] == [(m.headers, m.value, m.key) for m in old[1:3]]
    assert [m for m in after["raw"] if m.partition == 0] == [m for m in before["raw"] if m.partition == 0]

    seen = {t: [seen_of(m, broker) for m in after.get(t, [])] for t in PARTITIONS}
    ends = {p: max(m.offset for m in after["raw"] if m.partition == p) + 1 for p in (0, 1)}
    report = audit(parse_workflow(WORKFLOW), seen, PARTITIONS, {"raw": ends, "clean": {}}, None, None)
    assert sorted(r.id for r in report.redeliveries) == sorted(
        dict(m.headers)[wire.BATCH_HEADER].decode() for m in old[1:3])
    assert sum(c.records for c in report.topics if c.topic == "raw") == 10  # counted once


def test_dlq_replay_puts_the_letters_back_and_twice_gives_the_same_ids(broker, tmp_path, capsys):
    produce_exact(broker, [out_record(m.topic, m.value, m.key, m.headers, m.timestamp_ms, m.partition)
                           for m in letters()])
    workflow = tmp_path / "shop.yaml"
    workflow.write_text(WORKFLOW)
    argv = ["replay", "-w", str(workflow), "--dlq", "--kafka", broker, "--run-dir", str(tmp_path)]
    planned = dead_letter_records(letters(), count)
    start, _ = read_topics(broker, ["raw"])
    assert cli(argv) == 0 and cli(argv) == 0
    assert f"replayed {len(planned)} messages from shop-dlq" in capsys.readouterr().out
    end, _ = read_topics(broker, ["raw"])
    added = [m for m in end["raw"] if m not in start["raw"]]
    ids = Counter(dict(m.headers)[wire.BATCH_HEADER].decode() for m in added)
    # each replay wrote every planned message; the second under the first's ids
    assert ids == Counter({dict(r.headers)[wire.BATCH_HEADER].decode(): 2 for r in planned})
    once = Counter(e["value"]["id"] for r in planned for e in wire.unbatch(r.value, r.headers)[1])
    assert Counter(e["value"]["id"] for m in added for e in wire.unbatch(m.value, m.headers)[1]) == once + once
    assert {"k1", "k2"} <= set(once)


# -- on Apache Kafka ---------------------------------------------------------------------------

def test_on_apache_kafka_a_live_group_refuses_a_rewind_and_a_replay_needs_none(apache_kafka, tmp_path, capsys):
    """Why the replay re-produces (devstack/replay.py): while a member of the step's group is
    live (a running EventSource: argo-events pkg/eventsources/sources/kafka/start.go, a sarama
    consumer group), Kafka refuses to alter its offsets. The replay works all the same."""
    import uuid

    from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import AdminClient

    from etlkit.workflow import names

    topic = f"rr{uuid.uuid4().hex[:8]}"
    text = WORKFLOW.replace("raw", topic)
    (tmp_path / "shop.yaml").write_text(text)
    bootstrap = apache_kafka.bootstrap
    create_topics(bootstrap, {topic: 2, "clean": 2, "shop-dlq": 1})
    raw = [out_record(topic, m.value, m.key, m.headers, m.timestamp_ms, m.partition) for m in source_batches()]
    produce_exact(bootstrap, raw)

    group = names.consumer_group("shop", topic)
    member = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                       "enable.auto.commit": True, "auto.commit.interval.ms": 100})
    try:
        member.subscribe([topic])
        got = 0
        for _ in range(100):  # joined and consumed everything
            msg = member.poll(0.2)
            got += msg is not None and msg.error() is None
            if got == len(raw):
                break
        assert got == len(raw)
        admin = AdminClient({"bootstrap.servers": bootstrap})
        rewind = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p, 0) for p in range(2)])
        result = [f.result(15) for f in admin.alter_consumer_group_offsets([rewind]).values()]
        errors = [tp.error.name() for r in result for tp in r.topic_partitions if tp.error is not None]
        assert errors == ["UNKNOWN_MEMBER_ID"] * 2  # refused on every partition

        code = cli(["replay", "-w", str(tmp_path / "shop.yaml"), "--topic", topic, "--from-offset", "0",
                    "--kafka", bootstrap, "--run-dir", str(tmp_path), "--json"])
        assert code == 0 and json.loads(capsys.readouterr().out)["messages"] == len(raw)
        again_ids = []
        for _ in range(100):  # the live member receives the replayed batches, ids unchanged
            msg = member.poll(0.2)
            if msg is not None and msg.error() is None:
                again_ids.append(dict(msg.headers())[wire.BATCH_HEADER].decode())
            if len(again_ids) == len(raw):
                break
        assert sorted(again_ids) == sorted(dict(r.headers)[wire.BATCH_HEADER].decode() for r in raw)
    finally:
        member.close()


@pytest.mark.parametrize("argv", [
    ["--topic", "raw"],
    ["--from-offset", "0"],
    ["--topic", "elsewhere", "--from-offset", "0"],
    ["--dlq", "--from-offset", "0"],
], ids=["no-start", "no-topic", "foreign-topic", "dlq-with-offsets"])
def test_a_replay_asked_wrongly_is_a_usage_error(argv, tmp_path, capsys):
    (tmp_path / "shop.yaml").write_text(WORKFLOW)
    with pytest.raises(SystemExit) as exit_:
        cli(["replay", "-w", str(tmp_path / "shop.yaml"), "--kafka", "127.0.0.1:1", *argv])
    assert exit_.value.code == 2 and "faas-etl replay: error:" in capsys.readouterr().err


def test_from_time_replays_the_messages_stamped_at_or_after_it(broker, tmp_path, capsys):
    """A batch's Kafka timestamp is its newest record's event time (docs/contracts.md)."""
    raw = source_batches()
    produce_exact(broker, raw)
    (tmp_path / "shop.yaml").write_text(WORKFLOW)
    cut = sorted(r.timestamp_ms for r in raw)[2]
    iso = f"1970-01-01T00:00:{cut // 1000:02d}.{cut % 1000:03d}"  # naive: UTC
    code = cli(["replay", "-w", str(tmp_path / "shop.yaml"), "--topic", "raw", "--from-time", iso,
                "--kafka", broker, "--run-dir", str(tmp_path), "--json"])
    assert code == 0
    later = [r for r in raw if r.timestamp_ms >= cut]
    assert json.loads(capsys.readouterr().out)["messages"] == len(later) == 3
    after, _ = read_topics(broker, ["raw"])
    assert sorted(m.value for m in after["raw"]) == sorted([r.value for r in raw] + [r.value for r in later])
