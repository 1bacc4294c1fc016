"""The source functions end to end: files, SQL tables and /proc into real Kafka topics."""
import sqlite3
import time
import uuid
import zlib

import pytest

from devstack.kafka_tools import consume_all, consume_records
from etlkit import wire


@pytest.fixture
def topics(local_stack):
    tag = uuid.uuid4().hex[:8]
    names = {"out": f"src-{tag}", "dlq": f"src-dlq-{tag}"}
    local_stack.create_topics({names["out"]: 2, names["dlq"]: 1})
    return names


def test_uploaded_csv_streams_good_rows_and_dead_letters_bad_ones(local_stack, gateway, topics):
    s, url = gateway
    body = "id,amount\n1,10.5\n2,3\n\"3,unclosed\n"
    resp = s.post(f"{url}/function/file-source/{topics['out']}?format=csv&key=id&infer=true"
                  f"&source=upload&dead_letter={topics['dlq']}", data=body.encode())
    assert resp.status_code == 200, resp.text
    assert resp.json()["records"] == 2 and resp.json()["dead_lettered"] == 1
    values = {r.key: r.value for r in consume_records(local_stack.bootstrap, topics["out"], 2)}
    assert values == {"1": {"id": 1, "amount": 10.5}, "2": {"id": 2, "amount": 3}}
    (letter,) = [r.value for r in consume_records(local_stack.bootstrap, topics["dlq"], 1)]
    assert letter["reason"].startswith("line 4") and "3,unclosed" in letter["payload"]


def test_a_file_asked_to_end_ends_every_partition_and_the_same_file_again_writes_the_same_batches(
        local_stack, gateway, topics):
    s, url = gateway
    body = "".join(f"{i},{i * 2}\n" for i in range(40)).encode()
    for _ in range(2):
        resp = s.post(f"{url}/function/file-source/{topics['out']}?format=csv&key=id&source=twice&end=true",
                      data=b"id,n\n" + body)
        assert resp.status_code == 200 and resp.json()["records"] == 40, resp.text
        assert resp.json()["end"] is True
    messages = consume_all(local_stack.bootstrap, topics["out"], 4)  # 2 partitions, 2 loads
    batches = [(m.partition(), *wire.unbatch(m.value(), m.headers())) for m in messages]
    assert sorted((p, end) for p, _id, _entries, end in batches) == [(0, True), (0, True), (1, True), (1, True)]
    assert sum(len(entries) for _p, _id, entries, _end in batches) == 80
    ids = [identity for _p, identity, _e, _end in batches]
    assert len(set(ids)) == 2  # per partition, the second load's id is the first's
    for partition, _id, entries, _end in batches:  # by key, as librdkafka's partitioner
        assert all(zlib.crc32(e["key"].encode()) % 2 == partition for e in entries)


def test_a_file_not_asked_to_end_leaves_its_topic_open_for_the_other_sources(local_stack, gateway, topics):
    # orders-raw has three sources: the file's end would close windows before the SQL rows came.
    s, url = gateway
    resp = s.post(f"{url}/function/file-source/{topics['out']}?format=csv&key=id&source=one",
                  data=b"id,n\n" + "".join(f"{i},{i}\n" for i in range(10)).encode())
    assert resp.status_code == 200 and resp.json()["end"] is False, resp.text
    records = consume_records(local_stack.bootstrap, topics["out"], 10)
    assert len(records) == 10 and not any(r.end for r in records)


@pytest.mark.parametrize("end_of_input, ended", [(True, True), (False, False), (None, False)],
                         ids=["true", "false", "absent"])
def test_a_file_by_path_ends_its_topic_only_when_the_spec_says_end_of_input(
        local_stack, gateway, topics, end_of_input, ended):
    s, url = gateway
    spec = {"topic": topics["out"], "dead_letter": topics["dlq"], "path": "workflows/data/customers.csv",
            "params": {"source": "customers", "format": "csv", "key_field": "customer_id"}}
    if end_of_input is not None:
        spec["end_of_input"] = end_of_input
    resp = s.post(f"{url}/function/file-source", json={"source": spec})
    assert resp.status_code == 200 and resp.json()["end"] is ended, resp.text
    messages = consume_all(local_stack.bootstrap, topics["out"], 2)
    assert sorted(wire.unbatch(m.value(), m.headers())[2] for m in messages) == [ended, ended]


def test_an_end_of_input_that_is_not_a_boolean_is_refused(local_stack, gateway, topics):
    s, url = gateway
    spec = {"topic": topics["out"], "path": "workflows/data/customers.csv", "end_of_input": "yes",
            "params": {"source": "customers", "format": "csv", "key_field": "customer_id"}}
    resp = s.post(f"{url}/function/file-source", json={"source": spec})
    assert resp.status_code == 400 and resp.json()["error"] == "source.end_of_input: true or false"
    resp = s.post(f"{url}/function/file-source/{topics['out']}?format=csv&end=1", data=b"id\n1\n")
    assert resp.status_code == 400 and resp.json()["error"] == "end: true or false, got '1'"


def test_a_committed_file_by_path_and_paths_outside_the_root_are_refused(local_stack, gateway, topics):
    s, url = gateway
    spec = {"topic": topics["out"], "dead_letter": topics["dlq"], "path": "workflows/data/customers.csv",
            "params": {"source": "customers", "format": "csv", "key_field": "customer_id"}}
    resp = s.post(f"{url}/function/file-source", json={"source": spec})
    assert resp.status_code == 200, resp.text
    lines = (local_stack.root / "workflows/data/customers.csv").read_text().strip().splitlines()
    assert resp.json()["records"] + resp.json()["dead_lettered"] == len(lines) - 1
    resp = s.post(f"{url}/function/file-source", json={"source": {**spec, "path": "../../etc/passwd"}})
    assert resp.status_code == 400 and resp.json()["error"].startswith("source.path")


def test_sql_source_pulls_increments_and_resumes_from_its_cursor(local_stack, gateway, topics, tmp_path):
    s, url = gateway
    db_path = tmp_path / "shop.db"
    db = sqlite3.connect(db_path)
    db.execute("CREATE TABLE legacy(order_id TEXT PRIMARY KEY, amount REAL, updated_at INTEGER)")
    db.executemany("INSERT INTO legacy VALUES (?,?,?)", [(f"o{i}", i, 1000 + i) for i in range(30)])
    db.commit()
    spec = {"kind": "sql", "name": f"legacy-{topics['out']}", "topic": topics["out"],
            "url": f"sqlite:///{db_path}",
            "params": {"source": f"legacy-{topics['out']}", "table": "legacy",
                       "cursor_column": "updated_at", "key_column": "order_id", "page_size": 7}}
    tick = {"workflow": "t", "version": 1, "source": spec, "event": {"eventTime": "now"}}
    first = s.post(f"{url}/function/sql-source", json=tick)
    assert first.status_code == 200, first.text
    assert first.json()["records"] == 30 and first.json()["pages"] == 5
    db.executemany("INSERT INTO legacy VALUES (?,?,?)", [(f"n{i}", i, 5000 + i) for i in range(3)])
    db.commit()
    second = s.post(f"{url}/function/sql-source", json=tick)
    assert second.json()["records"] == 3  # only the new rows: the cursor was committed
    keys = sorted(r.key for r in consume_records(local_stack.bootstrap, topics["out"], 33))
    assert len(keys) == 33 and len(set(keys)) == 33


def test_metrics_collector_emits_rates_from_the_second_tick(local_stack, gateway, topics):
    s, url = gateway
    tick = {"workflow": "t", "version": 1, "event": {},
            "source": {"kind": "metrics", "name": f"proc-{topics['out']}", "topic": topics["out"]}}
    first = s.post(f"{url}/function/metrics-collector", json=tick).json()
    time.sleep(0.3)  # a CPU rate needs /proc/stat to move (it counts in 10 ms jiffies)
    second = s.post(f"{url}/function/metrics-collector", json=tick).json()
    assert first["rates"] is False and second["rates"] is True
    assert second["points"] > first["points"] > 0
    values = [r.value for r in consume_records(local_stack.bootstrap, topics["out"],
                                               first["points"] + second["points"])]
    assert {"cpu", "mem"} <= {v.get("measurement") for v in values}


def test_a_redelivered_metrics_tick_writes_the_same_batch_ids(local_stack, gateway, topics):
    s, url = gateway
    tick = {"workflow": "t", "version": 1, "event": {"eventTime": "2026-11-21 10:00:00 +0000 UTC"},
            "source": {"kind": "metrics", "name": f"tick-{topics['out']}", "topic": topics["out"]}}
    points = [s.post(f"{url}/function/metrics-collector", json=tick).json()["points"] for _ in range(2)]
    got = consume_records(local_stack.bootstrap, topics["out"], sum(points))
    by_key = {}
    for record in got:
        by_key.setdefault(record.key, set()).add(record.batch)
    # Each series went to the same batch both times: a consumer applies the tick once.
    assert by_key and all(len(ids) == 1 for ids in by_key.values())


def test_a_file_by_url_is_downloaded_and_streamed(local_stack, gateway, topics, http_files):
    """A cluster's file source (a pod has no files of yours): the file comes over HTTP."""
    s, url = gateway
    base, files = http_files
    files["/exports/orders.csv"] = b"id,amount\n1,10\n2,20\n3,30\n"
    spec = {"topic": topics["out"], "url": f"{base}/exports/orders.csv",
            "params": {"source": "export", "format": "csv", "key_field": "id"}}
    resp = s.post(f"{url}/function/file-source", json={"source": spec})
    assert resp.status_code == 200 and resp.json()["records"] == 3, resp.text
    assert sorted(r.key for r in consume_records(local_stack.bootstrap, topics["out"], 3)) == ["1", "2", "3"]
    missing = s.post(f"{url}/function/file-source", json={"source": {**spec, "url": f"{base}/exports/none.csv"}})
    assert missing.status_code == 400 and "HTTP 404" in missing.json()["error"]
    both = s.post(f"{url}/function/file-source", json={"source": {**spec, "path": "workflows/data/customers.csv"}})
    assert both.status_code == 400 and "path or url" in both.json()["error"]
