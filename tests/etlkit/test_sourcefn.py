"""The source functions' shared core without a broker: chunks as batches, origins, the end."""
import pytest

from etlkit import sourcefn, wire
from etlkit.sourcefn import content_digest, deliver
from etlkit.sources import BadRecord

from .batch_sink import BatchSink


def _items(count, bad_at=()):
    return [BadRecord("src", i, "too short", f"line {i}") if i in bad_at else
            {"key": f"k{i}", "value": {"i": i}, "source": "src", "event_time_ms": 1_000 + i}
            for i in range(count)]


def test_records_go_by_key_and_bad_inputs_to_the_dead_letter_topic():
    sink = BatchSink({"out": 3, "dlq": 1})
    counts = deliver(_items(10, bad_at={4}), "out", "dlq", sink, 7, "file:src:abc")
    assert counts == {"records": 9, "dead_lettered": 1}
    records = sink.records("out")
    assert sorted(r["value"]["i"] for r in records) == [i for i in range(10) if i != 4]
    assert all(r["time"] == 1_000 + r["value"]["i"] for r in records)
    (letter,) = sink.records("dlq")
    assert letter["value"]["reason"] == "line 4: too short" and letter["value"]["topic"] == "out"
    assert sink.ends("out") == [] and sink.origins == ["file:src:abc#0"]


def test_chunks_have_their_own_origins_and_the_end_goes_on_the_last_to_every_partition(monkeypatch):
    monkeypatch.setattr(sourcefn, "CHUNK", 4)
    sink = BatchSink({"out": 3, "dlq": 1})
    deliver(_items(10, bad_at={9}), "out", "dlq", sink, 7, "o", end=True)
    assert sink.origins == ["o#0", "o#1", "o#2"]
    assert sink.ends("out") == [0, 1, 2]  # every partition, those without a record too
    assert sink.ends("dlq") == []
    for partition in range(3):  # the end is on the last message of each partition, only there
        flags = [wire.unbatch(m.value, m.headers)[2] for m in sink.messages
                 if (m.topic, m.partition) == ("out", partition)]
        assert flags[-1] is True and not any(flags[:-1])


def test_delivering_the_same_input_again_writes_the_same_batches():
    first, again = BatchSink(3), BatchSink(3)
    for sink in (first, again):
        deliver(_items(7), "out", None, sink, 7, "file:src:abc", end=True)
    assert first.messages == again.messages


def test_a_bad_input_without_a_dead_letter_topic_is_refused_before_producing():
    sink = BatchSink()
    with pytest.raises(Exception, match="dead_letter: required, line 2"):
        deliver(_items(3, bad_at={2}), "out", None, sink, 7, "o")
    assert sink.messages == []


def test_content_digest_is_the_same_for_an_upload_and_its_file(tmp_path):
    data = b"id,n\n1,2\n" * 300_000  # more than one block read
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    assert content_digest(data) == content_digest(str(path))
    assert content_digest(data) != content_digest(data + b"3,4\n")
