"""faas-etl audit: a hand-made history (a source's batches, a step's outputs with one batch
dropped and one written twice) audited to exactly the gaps and redeliveries put in it; then the
same on a real broker (Tansu), through the command."""
from __future__ import annotations

import json
import sqlite3
import textwrap

import pytest
from confluent_kafka import Consumer, TopicPartition

from devstack.audit import RawMessage, Redelivery, audit, plain_identity, render_text, seen_of
from devstack.audit_cli import main as audit_cli
from devstack.broker import EmbeddedBroker, create_topics
from devstack.topic_io import committed_offsets, produce_exact, read_topics
from etlkit import wire
from etlkit.outrecord import json_bytes, out_record
from etlkit.runs.counters import SERIES
from etlkit.workflow import names
from etlkit.workflow.parse import parse_workflow
from tests.etlkit.runs.test_counters import _Stub, _vector, stub  # noqa: F401 - stub: the fixture

WORKFLOW = textwrap.dedent("""
    name: shop
    description: one source, one map step, the sink
    sources:
      - {name: api, kind: http, topic: raw, key: id}
    steps:
      - name: tidy
        kind: map
        output: clean
        params: {rename: {a: b}}
    sink: {table: shop_rows, key: id, url: env:WAREHOUSE_URL}
    topics:
      raw: {partitions: 2, replication: 1, retention: 1d}
      clean: {partitions: 2, replication: 1, retention: 1d}
      shop-dlq: {partitions: 1, replication: 1, retention: 1d}
    dead_letter: shop-dlq
    scaling:
      interval: 30s
      defaults: {min_replicas: 1, max_replicas: 2, dtt: 2m, dtc: 10000}
    """)
PARTITIONS = {"raw": 2, "clean": 2, "shop-dlq": 1}
URL = "127.0.0.1:9092"


def count(topic: str) -> int:
    return PARTITIONS[topic]


def source_batches() -> list:
    """Ten records of the source, two per batch, by key over raw's two partitions."""
    records = [out_record("raw", json_bytes({"id": f"k{i}", "a": i}), f"k{i}".encode(), (), 1000 + i)
               for i in range(10)]
    return wire.batches(records, "api:request-1", count, max_records=2)


def step_outputs(raw: list) -> list:
    """What the map step writes for each input batch: its records to clean, on the input's
    partition, under ids derived from the input's id (docs/contracts.md)."""
    out = []
    for message in raw:
        identity, entries, _end = wire.unbatch(message.value, message.headers)
        records = [out_record("clean", json_bytes({"id": e["value"]["id"], "b": e["value"]["a"]}),
                              e["key"].encode(), (), e["time"], message.partition) for e in entries]
        out += wire.batches(records, f"{identity}/tidy", count)
    return out


def laid_out(records: list) -> list[RawMessage]:
    """``records`` as the broker would hold them: offsets in order per partition."""
    next_offset: dict[tuple[str, int], int] = {}
    out = []
    for rec in records:
        slot = (rec.topic, rec.partition)
        offset = next_offset.get(slot, 0)
        next_offset[slot] = offset + 1
        out.append(RawMessage(rec.topic, rec.partition, offset, rec.key, rec.value, rec.headers, rec.timestamp_ms))
    return out


def ident(message) -> str:
    return dict(message.headers)[wire.BATCH_HEADER].decode()


@pytest.fixture
def history():
    """The source's batches, the step's outputs less one dropped batch and with one written
    twice; returns (workflow, raw, clean, dropped, doubled)."""
    raw = source_batches()
    made = step_outputs(raw)
    dropped, doubled = made[1], made[3]
    clean = [m for m in made if m is not dropped]
    clean.insert(clean.index(doubled) + 1, doubled)
    return parse_workflow(WORKFLOW), raw, clean, dropped, doubled


def ends(messages: list[RawMessage]) -> dict[str, dict[int, int]]:
    out: dict[str, dict[int, int]] = {}
    for m in messages:
        out.setdefault(m.topic, {})[m.partition] = max(out.get(m.topic, {}).get(m.partition, 0), m.offset + 1)
    return {t: {p: out.get(t, {}).get(p, 0) for p in range(PARTITIONS[t])} for t in ("raw", "clean")}


def records_of(messages) -> int:
    return sum(len(wire.unbatch(m.value, m.headers)[1]) for m in messages)


def run_audit(messages: list[RawMessage], counters, keys, committed=None):
    seen: dict[str, list] = {t: [] for t in PARTITIONS}
    for m in messages:
        seen[m.topic].append(seen_of(m, URL))
    return audit(parse_workflow(WORKFLOW), seen, PARTITIONS,
                 ends(messages) if committed is None else committed, counters, keys)


def counted(clean_records_seen: int) -> dict:
    """What the two functions counted: the step everything it was given, the sink every record
    delivered to it (the redelivered batch counted again, as a stateless count does)."""
    return {"tidy": {"in": 10, "out": 10, "filtered": 0, "dead_lettered": 0, "emitted": 10},
            "sink": {"in": clean_records_seen, "out": clean_records_seen, "filtered": 0,
                     "dead_lettered": 0, "emitted": 0}}


def test_a_dropped_batch_is_named_by_its_id_and_a_doubled_one_is_a_redelivery(history):
    _wf, raw, clean, dropped, doubled = history
    messages = laid_out(raw + clean)
    keys = {e["key"] for m in clean for e in wire.unbatch(m.value, m.headers)[1]}
    report = run_audit(messages, counted(records_of(clean)), keys)
    # The partition gap counts the batches tidy wrote to that partition, the dropped one included.
    made_there = len({ident(m) for m in clean if m.partition == dropped.partition}) + 1
    # tidy's count (10 emitted) lies between clean's distinct records and all its copies: the
    # counts alone cannot tell a drop beside a redelivery; the ids can.
    assert [(g.kind, g.topic, g.partition, g.step, g.unit, g.expected, g.seen, g.ids) for g in report.gaps] == [
        ("missing", "clean", dropped.partition, "tidy", "batches", made_there, made_there - 1, (ident(dropped),)),
    ]
    copies = [m for m in messages if m.topic == "clean" and ident(m) == ident(doubled)]
    assert report.redeliveries == (Redelivery("clean", doubled.partition, ident(doubled),
                                              tuple(m.offset for m in copies), records_of([doubled])),)
    assert report.pending == () and not report.ok
    text = render_text(report)
    assert f"GAP missing clean[{dropped.partition}] step tidy" in text and ident(dropped) in text


def test_a_drop_alone_shows_in_the_counts_too(history):
    _wf, raw, clean, dropped, doubled = history
    clean = [m for i, m in enumerate(clean) if not (m is doubled and clean[i - 1] is doubled)]
    keys = {e["key"] for m in clean for e in wire.unbatch(m.value, m.headers)[1]}
    report = run_audit(laid_out(raw + clean), counted(records_of(clean)), keys)
    lost = records_of([dropped])
    assert [(g.kind, g.topic, g.partition, g.expected, g.seen, g.ids) for g in report.gaps] == [
        ("missing", "clean", None, 10, 10 - lost, ()),
        ("missing", "clean", dropped.partition, report.gaps[1].expected, report.gaps[1].expected - 1,
         (ident(dropped),))]
    assert report.redeliveries == ()


def test_a_whole_history_has_no_gap(history):
    _wf, raw, _clean, _dropped, _doubled = history
    clean = step_outputs(raw)
    keys = {e["key"] for m in clean for e in wire.unbatch(m.value, m.headers)[1]}
    report = run_audit(laid_out(raw + clean), counted(10), keys)
    assert report.gaps == () and report.redeliveries == () and report.ok
    assert sum(c.records for c in report.topics if c.topic == "clean") == 10


def test_records_not_yet_consumed_are_pending_not_a_gap(history):
    _wf, raw, _clean, _dropped, _doubled = history
    clean = step_outputs(raw)
    messages = laid_out(raw + clean)
    committed = ends(messages)
    committed["clean"] = {0: 0, 1: None}  # the sink's EventSource has consumed nothing yet
    report = run_audit(messages, {**counted(0), "sink": {}}, set(), committed)
    assert report.gaps == ()
    assert sorted((p.topic, p.partition, p.group, p.records) for p in report.pending) == [
        ("clean", p, names.consumer_group("shop", "clean"),
         records_of([m for m in clean if m.partition == p])) for p in (0, 1)]


@pytest.mark.parametrize("sink_in, kind", [(4, "missing"), (13, "doubled")],
                         ids=["sink-counted-fewer", "sink-counted-more-than-every-copy"])
def test_a_step_counting_other_than_its_input_is_a_gap(history, sink_in, kind):
    _wf, raw, _clean, _dropped, _doubled = history
    clean = step_outputs(raw)
    keys = {e["key"] for m in clean for e in wire.unbatch(m.value, m.headers)[1]}
    report = run_audit(laid_out(raw + clean), counted(sink_in), keys)
    assert [(g.kind, g.topic, g.step, g.expected, g.seen) for g in report.gaps] == [
        (kind, "clean", "sink", 10, sink_in)]


def test_warehouse_rows_missing_or_unexpected_are_named_by_key(history):
    _wf, raw, _clean, _dropped, _doubled = history
    clean = step_outputs(raw)
    keys = {f"k{i}" for i in range(10)} - {"k3"} | {"stranger"}
    report = run_audit(laid_out(raw + clean), counted(10), keys)
    assert [(g.kind, g.step, g.unit, g.ids) for g in report.gaps] == [
        ("missing", "sink", "rows", ("k3",)), ("unexpected", "sink", "rows", ("stranger",))]


def test_dead_letters_count_against_the_step_and_a_sensor_letter_is_not_a_gap(history):
    """tidy dead-letters k0 (a batch of letters, as a function writes them); a Sensor gave up on
    another input batch (one plain letter holding the event's body): neither is a gap."""
    _wf, raw, _clean, _dropped, _doubled = history
    given_up = raw[2]
    body = json.loads(given_up.value)
    clean = step_outputs([m for m in raw if m is not given_up])
    first = raw[0]
    # tidy's letter for k0 stands for that input batch's output (same origin, the dlq topic)
    letter = out_record("shop-dlq", json_bytes({"step": "tidy", "reason": "bad", "payload": {"id": "k0"},
                                                "topic": "raw", "key": "k0", "at": 1}), b"k0", (), 1, first.partition)
    letters = wire.batches([letter], f"{ident(first)}/tidy", count)
    sensor = out_record("shop-dlq", json_bytes({"step": "tidy", "reason": "retries exhausted", "payload": body,
                                                "topic": "raw", "key": "", "at": "5"}), None, (), None, 0)
    n_given_up = len(body["records"])
    keys = {e["key"] for m in clean for e in wire.unbatch(m.value, m.headers)[1]}
    counters = {"tidy": {"in": 10 - n_given_up, "out": 10 - n_given_up, "filtered": 0, "dead_lettered": 1,
                         "emitted": 10 - n_given_up}, "sink": {"in": records_of(clean)}}
    report = run_audit(laid_out(raw + clean + letters + [sensor]), counters, keys)
    assert report.gaps == ()
    counters["tidy"]["dead_lettered"] = 2
    report = run_audit(laid_out(raw + clean + letters + [sensor]), counters, keys)
    assert [(g.kind, g.topic, g.step, g.expected, g.seen) for g in report.gaps] == [
        ("missing", "shop-dlq", "tidy", 2, 1)]


def test_a_plain_message_is_identified_by_its_argo_event_id():
    """argo-events pkg/eventsources/sources/kafka/start.go genUniqueID:
    eventSourceName:eventName:first broker:topic:partition:offset."""
    message = RawMessage("raw", 1, 7, b"k", b'{"id": "k"}', (), 5)
    seen = seen_of(message, "b1:9092,b2:9092")
    assert (seen.identity, seen.batch, len(seen.entries)) == ("raw:raw:b1:9092:raw:1:7", False, 1)
    assert plain_identity(message, "b1:9092") == seen.identity
    assert seen_of(RawMessage("raw", 0, 0, None, b"not json", (), None), URL).entries == ({"key": None, "value": None},)


# -- on a real broker ------------------------------------------------------------------------

@pytest.fixture
def broker(tmp_path):
    """A broker of its own per test (Tansu starts in well under a second)."""
    with EmbeddedBroker(log_path=tmp_path / "broker.log") as running:
        yield running.bootstrap


def warehouse_of(folder, keys) -> object:
    """A SQLite warehouse whose sink table holds ``keys``."""
    path = folder / "w.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE shop_rows (id TEXT PRIMARY KEY)")
        db.executemany("INSERT INTO shop_rows VALUES (?)", [(k,) for k in sorted(keys)])
    return path


def commit_to_end(bootstrap: str, topic: str, messages) -> None:
    """The step's EventSource group has consumed everything (its committed offsets at the end)."""
    group = Consumer({"bootstrap.servers": bootstrap, "group.id": names.consumer_group("shop", topic),
                      "enable.auto.commit": False})
    try:
        group.commit(offsets=[TopicPartition(topic, p, n) for p, n in ends(messages)[topic].items()],
                     asynchronous=False)
    finally:
        group.close()


def test_on_a_real_broker_the_audit_names_the_dropped_and_doubled_batches(broker, history, tmp_path,
                                                                          monkeypatch, capsys):
    _wf, raw, clean, dropped, doubled = history
    create_topics(broker, PARTITIONS)
    produce_exact(broker, raw + clean)
    messages, partitions = read_topics(broker, list(PARTITIONS))
    assert partitions == PARTITIONS
    assert [(m.partition, m.offset, m.value) for m in messages["clean"]] == sorted(
        (m.partition, m.offset, m.value) for m in laid_out(clean))
    commit_to_end(broker, "raw", laid_out(raw))
    commit_to_end(broker, "clean", laid_out(clean))
    committed = committed_offsets(broker, {t: names.consumer_group("shop", t) for t in ("raw", "clean")}, partitions)
    assert committed == {t: ends(laid_out(raw + clean))[t] for t in ("raw", "clean")}

    seen = {t: [seen_of(m, broker) for m in ms] for t, ms in messages.items()}
    keys = {e["key"] for m in clean for e in wire.unbatch(m.value, m.headers)[1]}
    report = audit(parse_workflow(WORKFLOW), seen, partitions, committed, counted(records_of(clean)), keys)
    assert [(g.kind, g.topic, g.partition, g.ids) for g in report.gaps] == [
        ("missing", "clean", dropped.partition, (ident(dropped),))]
    assert [r.id for r in report.redeliveries] == [ident(doubled)]

    # The command: no counters to read here (no gateway), so it says so; the gaps are the same.
    warehouse = warehouse_of(tmp_path, keys)
    (tmp_path / "shop.yaml").write_text(WORKFLOW)
    monkeypatch.delenv("OPENFAAS_URL", raising=False)
    code = audit_cli(["audit", "-w", str(tmp_path / "shop.yaml"), "--kafka", broker, "--run-dir", str(tmp_path),
                      "--warehouse-url", f"sqlite:///{warehouse}", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["ok"] is False
    assert [(g["kind"], g["topic"], g["partition"], g["ids"]) for g in doc["gaps"]] == [
        ("missing", "clean", dropped.partition, [ident(dropped)])]
    assert doc["unmeasured"] == ["step counters: no gateway or Prometheus to read them from"]
    assert [r["id"] for r in doc["redeliveries"]] == [ident(doubled)]


def test_the_command_reads_the_step_counters_from_prometheus(broker, stub, history, tmp_path, capsys):
    """``--prometheus``: the run service's reader (etlkit.runs.counters.PrometheusRecords) over
    HTTP, against the Prometheus API stand-in of its own tests answering the counters below; a
    step that counted fewer records than its consumed input is a gap."""
    _wf, raw, _clean, _dropped, _doubled = history
    clean = step_outputs(raw)
    create_topics(broker, PARTITIONS)
    produce_exact(broker, raw + clean)
    commit_to_end(broker, "raw", laid_out(raw))
    commit_to_end(broker, "clean", laid_out(clean))
    counters = {"in": (("tidy", 10), ("sink", 7)), "emitted": (("tidy", 10),)}  # the sink missed 3
    _Stub.answers = {f'sum by (step) ({name}{{workflow="shop"}})': _vector(*counters.get(kind, ()))
                     for name, kind in SERIES.items()}
    warehouse = warehouse_of(tmp_path, {f"k{i}" for i in range(10)})
    (tmp_path / "shop.yaml").write_text(WORKFLOW)
    code = audit_cli(["audit", "-w", str(tmp_path / "shop.yaml"), "--kafka", broker, "--run-dir", str(tmp_path),
                      "--prometheus", stub, "--warehouse-url", f"sqlite:///{warehouse}"])
    out = capsys.readouterr().out
    assert code == 1
    assert [line for line in out.splitlines() if line.startswith("GAP")] == [
        "GAP missing clean step sink: expected 10 records, seen 7; sink counted 7 records in; its input "
        "holds 10 consumed"]


def test_outputs_written_as_plain_records_are_counted_but_not_traced(history):
    """A step writing plain records (no etl-batch) leaves no derived ids: the counts still hold."""
    _wf, raw, _clean, _dropped, _doubled = history
    plain = [out_record("clean", json_bytes(e["value"]), e["key"].encode(), (), e["time"], m.partition)
             for m in raw for e in wire.unbatch(m.value, m.headers)[1]]
    report = run_audit(laid_out(raw + plain), counted(10), {f"k{i}" for i in range(10)})
    assert report.gaps == () and sum(c.records for c in report.topics if c.topic == "clean") == 10


def test_the_command_names_a_topic_that_is_not_there(broker, tmp_path, capsys):
    (tmp_path / "shop.yaml").write_text(WORKFLOW)
    code = audit_cli(["audit", "-w", str(tmp_path / "shop.yaml"), "--kafka", broker, "--run-dir", str(tmp_path)])
    assert code == 1 and "topic raw does not exist" in capsys.readouterr().err
