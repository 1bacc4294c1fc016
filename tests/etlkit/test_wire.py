"""Record batches on the wire (etlkit/wire.py) and their decoding by the step functions."""
import json
import zlib

import pytest
from hypothesis import given, settings, strategies as st

from etlkit import wire
from etlkit.outrecord import out_record
from etlkit.steps.argo_event import batch_end, records_from_events
from etlkit.stepfn import parse_invocation

from .batch_sink import event_of


def _records(n, topic="t", partition=None):
    return [out_record(topic, json.dumps({"i": i, "big": 2 ** 63 - 1}).encode(), f"k{i}".encode(),
                       (("etl-source", b"src"),), 1_000 + i, partition) for i in range(n)]


def _event(message):
    return event_of(message)


def test_round_trip_keeps_key_time_headers_value_and_partition():
    messages = wire.batches(_records(10, partition=4), "origin", lambda topic: 3)
    assert [m.partition for m in messages] == [1]  # 4 modulo 3: the input's partition kept
    records, dead = records_from_events([_event(messages[0])], "step", 0)
    assert dead == []
    assert [(r.key, r.timestamp, r.headers, r.value["i"], r.partition) for r in records] == [
        (f"k{i}", 1_000 + i, {"etl-source": "src"}, i, 1) for i in range(10)]
    assert records[0].value["big"] == 2 ** 63 - 1


def test_keyed_records_go_where_librdkafka_consistent_partitioner_puts_them():
    messages = wire.batches(_records(20), "origin", lambda topic: 6)
    for message in messages:
        for record in records_from_events([_event(message)], "s", 0)[0]:
            assert zlib.crc32(record.key.encode()) % 6 == message.partition


def test_ids_are_deterministic_and_distinct():
    first = wire.batches(_records(30), "origin", lambda topic: 3)
    again = wire.batches(_records(30), "origin", lambda topic: 3)
    other = wire.batches(_records(30), "other", lambda topic: 3)
    assert first == again
    ids = {m.headers[0][1] for m in first}
    assert len(ids) == len(first)
    assert ids.isdisjoint({m.headers[0][1] for m in other})


@pytest.mark.parametrize("max_records, max_bytes, expected", [(4, 10 ** 6, [4, 4, 2]), (500, 300, None)])
def test_cut_at_max_records_or_bytes(max_records, max_bytes, expected):
    messages = wire.batches(_records(10, partition=0), "o", lambda topic: 1,
                            max_records=max_records, max_bytes=max_bytes)
    sizes = [len(json.loads(m.value)["records"]) for m in messages]
    assert sum(sizes) == 10
    if expected:
        assert sizes == expected
    else:
        assert all(len(m.value) <= 300 + 40 for m in messages if len(json.loads(m.value)["records"]) > 1)
        assert len(messages) > 1


def test_end_marks_the_last_batch_of_every_partition():
    messages = wire.batches(_records(2, partition=0), "o", lambda topic: 3, end=True, end_topics=["t"])
    ends = {m.partition: batch_end(_event(m)) for m in messages}
    assert ends == {0: True, 1: True, 2: True}
    assert sum(len(json.loads(m.value)["records"]) for m in messages) == 2


@pytest.mark.parametrize("partitions, ended", [
    pytest.param([4], [1], id="one-input-partition-modulo-the-count"),
    pytest.param([0, 3], [0], id="two-inputs-onto-one-partition"),
])
def test_end_partitions_end_only_those_partitions(partitions, ended):
    messages = wire.batches(_records(3, partition=2), "o", lambda topic: 3, end=True,
                            end_partitions={"t": partitions})
    assert sorted(m.partition for m in messages if batch_end(_event(m))) == ended
    # The records' own partition keeps them, ended or not.
    assert [len(json.loads(m.value)["records"]) for m in messages if m.partition == 2] == [3]


def test_without_end_nothing_is_ended():
    messages = wire.batches(_records(2, partition=0), "o", lambda topic: 3, end_topics=["t"],
                            end_partitions={"t": [0]})
    assert [batch_end(_event(m)) for m in messages] == [False]


def test_keyless_records_of_one_write_share_one_partition_chosen_by_the_origin():
    def keyless(origin):
        records = [out_record("t", b"{}", None, (), None) for _ in range(5)]
        return {m.partition for m in wire.batches(records, origin, lambda topic: 8)}

    chosen = {origin: keyless(origin) for origin in ("a", "b", "c", "d", "e", "f")}
    assert all(len(partitions) == 1 for partitions in chosen.values())
    assert keyless("a") == chosen["a"]
    assert len(set().union(*chosen.values())) > 1  # different writes spread


def test_a_plain_record_from_a_foreign_producer_is_still_one_record():
    event = {"topic": "t", "partition": 0, "key": "k", "headers": {}, "body": {"a": 1},
             "timestamp": "2024-05-01 12:00:00.123 +0000 UTC"}
    records, dead = records_from_events([event], "s", 0)
    assert dead == [] and [r.value for r in records] == [{"a": 1}]


def test_bad_entries_become_dead_letters_naming_the_field():
    event = {"topic": "t", "partition": 0, "key": "", "headers": {wire.BATCH_HEADER: "b1"},
             "body": {"records": [{"key": 5, "value": {}}, {"value": [1]}, {"value": {"ok": 1}}]}}
    records, dead = records_from_events([event], "s", 7)
    assert [r.value for r in records] == [{"ok": 1}]
    assert [d.reason for d in dead] == ["body.records[0].key: must be text or null",
                                        "body.records[1].value: must be a JSON object"]


def test_invocation_identity_is_the_batch_id_else_the_argo_event_id():
    message = wire.batches(_records(1), "o", lambda topic: 1)[0]
    body = {"workflow": "w", "version": "1", "step": json.dumps({"kind": "map"}),
            "id": "es:ev:host:t:0:42", "event": _event(message)}
    assert parse_invocation(json.dumps(body).encode()).identity == message.headers[0][1].decode()
    body["event"] = {"topic": "t", "partition": 0, "key": "", "headers": {}, "body": {"a": 1}}
    invocation = parse_invocation(json.dumps(body).encode())
    assert (invocation.identity, invocation.version, invocation.end) == ("es:ev:host:t:0:42", 1, False)


def test_unbatch_reads_a_batch_and_a_plain_message_alike():
    message = wire.batches(_records(3, partition=0), "o", lambda topic: 1, end=True, end_topics=["t"])[0]
    identity, entries, end = wire.unbatch(message.value, message.headers)
    assert identity == message.headers[0][1].decode() and end is True
    assert [(e["key"], e["time"], e["value"]["i"]) for e in entries] == [("k0", 1000, 0), ("k1", 1001, 1), ("k2", 1002, 2)]
    assert wire.unbatch(b'{"a": 1}', [("etl-source", b"s")], b"k", 5) == (
        None, [{"key": "k", "time": 5, "headers": {"etl-source": "s"}, "value": {"a": 1}}], False)
    with pytest.raises(ValueError, match="body.records"):
        wire.unbatch(b'{"a": 1}', {wire.BATCH_HEADER: b"x"})


@pytest.mark.parametrize("headers, stamp, inside", [
    pytest.param(((wire.EVENT_TIME_HEADER, b"5"), ("etl-source", b"s")), 5, {"etl-source": "s"},
                 id="event-time-first-left-out"),
    pytest.param((("etl-source", b"s"), (wire.EVENT_TIME_HEADER, b"5")), 5, {"etl-source": "s"},
                 id="event-time-last-left-out"),
    pytest.param(((wire.EVENT_TIME_HEADER, b"7"), ("etl-source", b"s")), 5,
                 {wire.EVENT_TIME_HEADER: "7", "etl-source": "s"}, id="another-time-kept"),
    pytest.param(((wire.EVENT_TIME_HEADER, b"5"),), None, {wire.EVENT_TIME_HEADER: "5"},
                 id="no-time-kept"),
    pytest.param((("a", "\u00e9\"".encode()),), 5, {"a": "\u00e9\""}, id="escaped"),
])
def test_an_entry_leaves_out_only_an_event_time_header_that_repeats_its_time(headers, stamp, inside):
    record = out_record("t", b'{"v":1}', b"k\"", headers, stamp)
    entry = json.loads(wire.entry_bytes(record))
    assert entry == {"key": "k\"", "time": stamp, "headers": inside, "value": {"v": 1}}
    assert json.loads(wire.entry_bytes(record)) == entry  # the cached header set again
    # Read back as a plain record would carry it: the event time header from the time.
    (plain,) = wire.unbatch(wire.batch_message("t", 0, [wire.entry_bytes(record)], "b", stamp).value,
                            {wire.BATCH_HEADER: b"b"})[1]
    written = {n: t.decode() for n, t in headers}
    if stamp is not None:
        written.setdefault(wire.EVENT_TIME_HEADER, str(stamp))
    assert plain["headers"] == written


def test_a_batch_message_is_stamped_with_its_newest_record_time():
    records = [out_record("t", b"{}", b"k", (), stamp, 0) for stamp in (5, None, 9, 7)]
    (message,) = wire.batches(records, "o", lambda topic: 1)
    assert message.timestamp_ms == 9


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",))),
       st.dictionaries(st.text(st.characters(blacklist_categories=("Cs",)), max_size=5),
                       st.text(st.characters(blacklist_categories=("Cs",)), max_size=5), max_size=3))
def test_any_key_and_headers_come_back_as_written(key, headers):
    record = out_record("t", b"{}", key.encode(), tuple((n, t.encode()) for n, t in headers.items()), None)
    entry = json.loads(wire.entry_bytes(record))
    assert (entry["key"], entry["headers"]) == (key, headers)


def _big_records(n):
    """Records whose values hold what must survive exactly: past int64, past 2**53, a 30-digit
    decimal, unicode (the step functions' exact reading, etlkit.http)."""
    value = b'{"i":%d,"max":9223372036854775807,"past":9007199254740993,"dec":1.23456789012345678901234567890,"u":"\xc3\xa9\xe2\x82\xac"}'
    return [out_record("t", value % i, f"k{i}".encode(), (("etl-source", b"src"),), 1_000 + i, 0)
            for i in range(n)]


def test_a_batch_of_compress_bytes_and_more_is_written_deflated_and_reads_back_exactly():
    records = _big_records(2000)
    (message,) = wire.batches(records, "origin", lambda topic: 1, end=True, end_topics=["t"])
    body = json.loads(message.value)
    assert set(body) == {wire.COMPRESSED, "end"} and body["end"] is True
    assert len(message.value) * 4 < sum(len(r.value) for r in records)  # the point of it
    decoded, dead = records_from_events([_event(message)], "step", 0)
    assert dead == [] and batch_end(_event(message))
    assert [r.value["i"] for r in decoded] == list(range(2000))
    first = decoded[0].value
    assert (first["max"], first["past"], str(first["dec"]), first["u"]) == (
        2 ** 63 - 1, 2 ** 53 + 1, "1.23456789012345678901234567890", "é€")
    identity, entries, end = wire.unbatch(message.value, message.headers)
    assert identity and end and entries[5]["key"] == "k5" and entries[5]["headers"]["etl-event-time"] == "1005"
    assert wire.body_entries(body)[1]["value"]["i"] == 1


def test_a_batch_under_compress_bytes_stays_plain_json():
    (message,) = wire.batches(_big_records(3), "origin", lambda topic: 1)
    assert [e["key"] for e in json.loads(message.value)["records"]] == ["k0", "k1", "k2"]


def test_a_full_batch_of_the_bench_orders_stays_within_kafka_and_jetstream_limits():
    """MAX_RECORDS orders of bench/pipeline_check.py are under MAX_BYTES before deflating, and the
    message, inside the Argo event and its CloudEvent (a few hundred bytes more), well under the
    1 MiB of Kafka's default max.message.bytes and of nats-server's default max_payload (the
    EventBus of devstack/realargo/eventbus.py sets none)."""
    from bench.bench_pipeline import source_messages
    from bench.pipeline_check import orders

    (message, *_rest) = source_messages("t", orders(wire.MAX_RECORDS * 6), 6)
    entries = wire.unbatch(message.value, message.headers)[1]
    assert len(entries) == wire.MAX_RECORDS
    inflated = zlib.decompress(__import__("base64").b64decode(json.loads(message.value)[wire.COMPRESSED]))
    assert len(inflated) <= wire.MAX_BYTES and len(message.value) < 1_000_000 - 4096


@pytest.mark.parametrize("packed, rule", [
    pytest.param(5, "must be text", id="not-text"),
    pytest.param("!!", "not base64", id="not-base64"),
    pytest.param("eJw=", "cut short", id="deflate-stream-cut-short"),
    pytest.param(__import__("base64").b64encode(zlib.compress(b"[" + b" " * (9 << 20) + b"]")).decode(),
                 "inflates past", id="inflates-past-the-limit"),
    pytest.param(__import__("base64").b64encode(zlib.compress(b"[1,")).decode(), "not valid JSON", id="not-json"),
])
def test_a_bad_compressed_batch_is_a_value_error_naming_the_field(packed, rule):
    with pytest.raises(ValueError, match=rf"body\.{wire.COMPRESSED}.*{rule}"):
        wire.batch_entries({wire.COMPRESSED: packed})
    assert wire.body_entries({wire.COMPRESSED: packed}) is None
