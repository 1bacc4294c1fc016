"""The warehouse-loader function through the gateway, with the raw bytes a Sensor posts: exact
values in the table, a redelivered batch applied once, its dead letters on the real topic."""
import json
import sqlite3
import uuid
from decimal import Decimal

from devstack.kafka_tools import consume_all
from etlkit.wire import BATCH_HEADER
from tests.etlkit.warehouse.test_sink import RAW, _invocation


def test_a_batch_lands_exactly_once_with_exact_values(local_stack, gateway):
    s, url = gateway
    tag = uuid.uuid4().hex[:8]
    table, dlq = f"exact_{tag}", f"dlq-{tag}"
    local_stack.create_topics({dlq: 1})
    step = {"kind": "sink", "name": "load", "table": table, "key": "id", "url": "env:WAREHOUSE_URL",
            "dead_letter": dlq}
    batch = b'{"records":[{"key":null,"time":1,"headers":{},"value":' + RAW + b'},' \
            b'{"key":null,"time":1,"headers":{},"value":[1]}]}'
    body = _invocation(step, "es:clean:127.0.0.1:9092:clean:0:0", "clean", batch, {BATCH_HEADER: f"b-{tag}"})
    answers = []
    for _ in range(2):  # the second is the Sensor's retry of a call whose answer it lost
        resp = s.post(f"{url}/function/warehouse-loader", data=body,
                      headers={"Content-Type": "application/json"})
        assert resp.status_code == 200, resp.text
        answers.append(resp.json())
    assert [(a["written"], a.get("duplicate", 0), a["dead_lettered"]) for a in answers] == [(1, 0, 1), (0, 1, 1)]
    db = sqlite3.connect(local_stack.run_dir / "warehouse.db")
    row = db.execute(f'SELECT "id", "n", "d", "s", "big" FROM "{table}"').fetchall()
    assert row == [(2**63 - 1, 2**53 + 1, "123456789012345678901234567890.123", "café ☕",
                    "123456789012345678901234567890")]
    assert json.loads(db.execute(f'SELECT "nested" FROM "{table}"').fetchone()[0],
                      parse_float=Decimal)["x"] == Decimal("0.1000000000000000055511151231257827")
    # The bad entry's dead letter, written by each call: at least once (a redelivery's dead
    # letters may not have reached Kafka the first time).
    letters = consume_all(local_stack.bootstrap, dlq, 2)
    assert len(letters) == 2
