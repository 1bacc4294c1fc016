"""Bad input against the running data path: a clear error or a dead letter, and nothing stops.

The chaos data path (ingest -> map -> warehouse-loader -> PostgreSQL, run by the local Argo
Events runner) under its own name, on a stack of its own. Every kind of bad input gets either
an HTTP error that names the field and the rule, or a dead letter with its reason; the good
records sent beside it still reach the warehouse; hostile-looking values are stored verbatim,
never executed; and at the end no function process died and the runner still runs.
"""
import json
import os
import time
import uuid

import psycopg
import pytest
from psycopg.rows import dict_row

from devstack.argo.runner import Runner
from devstack.chaos.workflow import FUNCTIONS, KEY, DataPath
from devstack.localstack import LocalStack
from devstack.pipeline.kafka_edge import TopicReader
from tests.devstack.argo.stack_helpers import HEARTBEAT_MS, SESSION_TIMEOUT_MS

pytestmark = pytest.mark.slow

PATH = DataPath(f"badin-{uuid.uuid4().hex[:6]}", batch_size=50)
SCHEMA = {"type": "object", "required": [KEY, "n"],
          "properties": {KEY: {"type": "string", "maxLength": 64}, "n": {"type": "integer"}}}
INGEST_LIMIT = 8 * 1024 * 1024  # the template's MAX_REQUEST_BYTES default
GATEWAY_LIMIT = 32 * 1024 * 1024


class Pipeline:
    def __init__(self, stack, runner, warehouse_url):
        self.stack, self.runner, self.warehouse_url = stack, runner, warehouse_url
        self.http = stack.session()
        self.dead = TopicReader(stack.bootstrap, {PATH.dead_letter: 1})

    def post(self, path, data=None, json_body=None, method="POST"):
        return self.http.request(method, self.stack.url + path, data=data, json=json_body, timeout=60)

    def ingest(self, records):
        return self.post(PATH.ingest_path("bad-input"), json_body=records)

    def rows(self, ids):
        with psycopg.connect(self.warehouse_url, row_factory=dict_row) as conn:
            return {r[KEY]: r for r in conn.execute(
                f'SELECT * FROM "{PATH.table}" WHERE "{KEY}" = ANY(%s)', [list(ids)])}

    def landed(self, ids, timeout=60.0):
        """The warehouse rows of ``ids`` once all of them are there."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                found = self.rows(ids)
            except psycopg.errors.UndefinedTable:
                found = {}
            if len(found) == len(ids):
                return found
            assert time.monotonic() < deadline, f"never landed: {sorted(set(ids) - set(found))}"
            time.sleep(0.2)

    def dead_letters(self, ids, timeout=60.0):
        """The dead letters whose record key is one of ``ids``, once there is one for each."""
        deadline = time.monotonic() + timeout
        while True:
            self.dead.poll(0.2)
            found = {m.value["key"]: m.value for m in self.dead.messages[PATH.dead_letter]
                     if isinstance(m.value, dict) and m.value.get("key") in ids}
            if len(found) == len(ids):
                return found
            assert time.monotonic() < deadline, f"no dead letter for {sorted(set(ids) - set(found))}"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, postgres_server):
    run_dir = tmp_path_factory.mktemp("bad-input")
    (run_dir / "secrets").mkdir()
    (run_dir / "secrets" / "warehouse-password").write_text(postgres_server.password)
    stack = LocalStack(run_dir=run_dir, functions=[*FUNCTIONS, "schema-registry"],
                       extra_env={"WAREHOUSE_URL": postgres_server.url_without_password}).up()
    runner = None
    try:
        stack.create_topics(PATH.write_manifests(run_dir / "workflow", FUNCTIONS))
        with stack.session() as http:
            resp = http.post(f"{stack.url}/function/schema-registry/subjects/{PATH.source_topic}/versions",
                             json={"schema": SCHEMA}, timeout=30)
            assert resp.status_code == 200, resp.text
        runner = Runner(run_dir / "workflow" / "argo-events", stack.bootstrap, stack.url,
                        stack.credentials, run_dir=run_dir,
                        session_timeout_ms=SESSION_TIMEOUT_MS, heartbeat_ms=HEARTBEAT_MS).start()
        pids = {w.pid for name in stack.gateway.replicas.deployments
                for w in stack.gateway.replicas.ready_workers(name)}
        p = Pipeline(stack, runner, postgres_server.url)
        p.landed(_ok(p, "warm-up", 1))  # the table exists and the path works before any abuse
        yield p
        # Nothing above killed a function process or a runner subscription.
        after = {w.pid for name in stack.gateway.replicas.deployments
                 for w in stack.gateway.replicas.ready_workers(name)}
        assert after == pids, "a function process died and was replaced"
        assert all(s["alive"] for s in runner.status()["subscriptions"])
        p.dead.close()
    finally:
        if runner is not None:
            runner.stop()
        stack.down()


def _ok(p, prefix, count):
    """Send ``count`` good records, assert they were acknowledged; their ids."""
    records = [{KEY: f"{prefix}-{i}", "n": i} for i in range(count)]
    resp = p.ingest(records)
    assert resp.status_code == 200 and resp.json()["accepted"] == count, resp.text
    return [r[KEY] for r in records]


def _nested(depth):
    return b"[" * depth + b"]" * depth


# -- refused at the door: status and a message naming the field and the rule -------------------
@pytest.mark.parametrize("body,status,error", [
    (b'{"id": "x", "n":', 400, "body: not valid JSON"),
    (b'{"id": "\xc3\x28", "n": 1}', 400, "body: not valid UTF-8 (byte 8)"),
    (bytes(range(256)) * 16, 400, "body: not valid UTF-8"),
    (b"\x00" * 64, 400, "body: not valid JSON"),
    (b"", 400, "body: required"),
    (b"42", 400, "body: must be a JSON object, an array of objects"),
    (b'"a string"', 400, "body: must be a JSON object, an array of objects"),
    (_nested(100_000), 400, "body: nested too deeply"),
    (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, 400, "body: nested too deeply"),
    (json.dumps([{KEY: f"h{i}", "n": i} for i in range(10_001)]).encode(), 413,
     "records: at most 10000 per request, got 10001"),
    (b'{"id": "big", "n": 1, "pad": "' + b"x" * INGEST_LIMIT + b'"}', 413,
     f"body: larger than the limit of {INGEST_LIMIT} bytes"),
], ids=["malformed-json", "invalid-utf8", "binary-garbage", "nul-bytes", "empty", "a-number",
        "a-string", "deeply-nested-arrays", "deeply-nested-objects", "huge-batch",
        "oversized-body"])
def test_a_bad_body_is_refused_with_the_field_and_the_rule(pipeline, body, status, error):
    resp = pipeline.post(PATH.ingest_path(), data=body)
    assert resp.status_code == status, resp.text[:300]
    assert resp.json()["error"].startswith(error)


def test_a_body_over_the_gateways_limit_is_refused_by_the_gateway(pipeline):
    resp = pipeline.post(PATH.ingest_path(), data=b"x" * (GATEWAY_LIMIT + 1))
    assert resp.status_code == 413
    assert resp.text == f"body: larger than the gateway limit of {GATEWAY_LIMIT} bytes"


@pytest.mark.parametrize("path,method,status,error", [
    ("/function/ingest/no-such-topic", "POST", 404, "topic: unknown topic 'no-such-topic'"),
    ("/function/ingest/%7B%7B%207*7%20%7D%7D", "POST", 400, "topic: name it in the path"),
    ("/function/ingest/x';%20DROP%20TABLE%20t;--", "POST", 400, "topic: name it in the path"),
    ("/function/ingest/..%2F..%2Fetc%2Fpasswd", "POST", 400, "topic: name it in the path"),
    (PATH.ingest_path(), "GET", 405, "method: POST a record or a batch"),
], ids=["unknown-topic", "template-in-topic", "sql-in-topic", "path-traversal", "wrong-method"])
def test_a_bad_address_is_refused_with_the_field_and_the_rule(pipeline, path, method, status, error):
    resp = pipeline.post(path, json_body={KEY: "a", "n": 1}, method=method)
    assert resp.status_code == status, resp.text
    assert resp.json()["error"].startswith(error)


@pytest.mark.parametrize("name", ["no-such-fn", "{{7*7}}", "x';DROP TABLE t;--"],
                         ids=["unknown", "template-looking", "sql-looking"])
def test_an_unknown_function_is_404(pipeline, name):
    resp = pipeline.post(f"/function/{name}", json_body={})
    assert resp.status_code == 404
    assert "not found" in resp.text


def test_a_sql_looking_key_field_is_a_missing_field_not_a_query(pipeline):
    resp = pipeline.post(f"/function/ingest/{PATH.source_topic}?key=id';DROP TABLE t;--",
                         json_body=[{KEY: "a", "n": 1}])
    assert resp.status_code == 400
    assert resp.json()["results"][0]["error"] == "records[0].id';DROP TABLE t;--: key field missing"


# -- refused per record: the good ones of the same batch land --------------------------------
def test_schema_violations_are_refused_per_record_and_good_neighbours_land(pipeline):
    batch = [{KEY: "sv-good-1", "n": 1},
             {KEY: "sv-type", "n": "five"},
             {KEY: 7, "n": 1},
             {"n": 1},
             "not an object",
             {KEY: "x" * 65, "n": 1},
             {KEY: "sv-no-n"},
             {KEY: "sv-good-2", "n": 2},
             {KEY: "sv-deep", "n": 1, "doc": json.loads(_nested(900))},
             {KEY: "sv-surrogate", "n": 1, "note": "\ud800"},
             {KEY: "sv-too-big", "n": 1, "note": "x" * 600_000}]
    resp = pipeline.post(PATH.ingest_path(), data=json.dumps(batch).encode())
    assert resp.status_code == 207
    answer = resp.json()
    assert (answer["accepted"], answer["rejected"]) == (2, 9)
    errors = {r["index"]: r.get("error") for r in answer["results"]}
    assert errors[0] is None and errors[7] is None
    assert errors[8] == "records[8].doc" + "[0]" * 63 + ": nested deeper than 64 levels"
    assert errors[9] == "records[9].note: text is not valid Unicode (\\ud800)"
    assert errors[10].endswith("bytes, larger than the limit of 500000 bytes per record")
    assert errors[1] == "records[1].n: expected type integer, got string"
    assert errors[2] == "records[2].id: expected type string, got integer"
    assert errors[3] == "records[3].id: key field missing"
    assert errors[4] == "records[4]: must be a JSON object"
    assert errors[5] == "records[5].id: must be at most 64 characters long (maxLength)"
    assert errors[6] == "records[6].n: required field is missing"
    assert set(pipeline.landed(["sv-good-1", "sv-good-2"])) == {"sv-good-1", "sv-good-2"}
    assert pipeline.rows(["sv-type", "sv-no-n", "x" * 65, "sv-deep",
                          "sv-surrogate", "sv-too-big"]) == {}


# -- dead-lettered with the reason: the rest of the batch lands ---------------------------------
def test_records_the_warehouse_cannot_hold_become_dead_letters_and_the_rest_lands(pipeline):
    bad = {"dl-sql-name": {"x\"; DROP TABLE t; --": 1},
           "dl-template-name": {"{{ 7*7 }}": 1},
           "dl-long-name": {"a" * 64: 1},
           "dl-nul-text": {"note": "nul \u0000 inside"}}
    good = [f"dl-good-{i}" for i in range(3)]
    batch = ([{KEY: good[0], "n": 0}]
             + [{KEY: i, "n": 1, **extra} for i, extra in bad.items()]
             + [{KEY: g, "n": 1} for g in good[1:]])
    resp = pipeline.ingest(batch)
    assert resp.status_code == 200, resp.text
    letters = pipeline.dead_letters(set(bad))
    reasons = {i: letter["reason"] for i, letter in letters.items()}
    assert all(letter["step"] == "sink" for letter in letters.values())
    assert "x\\\"; DROP TABLE t; --" in reasons["dl-sql-name"] or 'x"; DROP TABLE t; --' in reasons["dl-sql-name"]
    for name in ("dl-sql-name", "dl-template-name", "dl-long-name"):
        assert "must match ^[A-Za-z_][A-Za-z0-9_]{0,62}$" in reasons[name], reasons[name]
    assert "0x00" in reasons["dl-nul-text"] or "NUL" in reasons["dl-nul-text"], reasons["dl-nul-text"]
    assert letters["dl-template-name"]["payload"]["{{ 7*7 }}"] == 1  # the record as it was
    assert set(pipeline.landed(good)) == set(good)
    assert pipeline.rows(set(bad)) == {}


# -- hostile-looking values: stored as they are, never run -----------------------------------
HOSTILE = ["'); DROP TABLE {table}; --", "1; DELETE FROM {table} WHERE '1'='1", "{{ 7*7 }}",
           "{{ ''.__class__.__mro__[1].__subclasses__() }}", "{% for x in range(10**9) %}x{% endfor %}",
           "${jndi:ldap://127.0.0.1/x}", "$(touch /tmp/faas-etl-pwned)", "`id`", "%s%s%n%x",
           "<script>alert(1)</script>", "\u202eevil", "\U0001F600 emoji", "line\nbreak\ttab",
           "\\x00 escaped", "x" * 400_000]


def test_hostile_looking_values_are_stored_verbatim(pipeline, tmp_path):
    values = [v.replace("{table}", PATH.table) for v in HOSTILE]
    batch = [{KEY: f"hv-{i}", "n": i, "note": v} for i, v in enumerate(values)]
    batch.append({KEY: "hv-doc", "n": 0, "doc": {"sql": values[0], "tpl": values[2],
                                                  "deep": json.loads(_nested(60))}})
    resp = pipeline.ingest(batch)
    assert resp.status_code == 200, resp.text[:300]
    rows = pipeline.landed([r[KEY] for r in batch])
    assert [rows[f"hv-{i}"]["note"] for i in range(len(values))] == values
    assert rows["hv-doc"]["doc"] == batch[-1]["doc"]
    assert all(rows[r[KEY]]["n2"] == 2 * r["n"] for r in batch)  # the map step ran, once
    with psycopg.connect(pipeline.warehouse_url) as conn:  # the table is whole
        assert conn.execute(f'SELECT count(*) FROM "{PATH.table}" WHERE "{KEY}" LIKE %s',
                            ["hv-%"]).fetchone()[0] == len(batch)
    assert not os.path.exists("/tmp/faas-etl-pwned")


def test_the_pipeline_still_carries_good_records_after_all_of_it(pipeline):
    ids = _ok(pipeline, "finally", 20)
    assert set(pipeline.landed(ids)) == set(ids)
