"""The warehouse loader finds its database through a secret file, as a workflow's
`sink.url: secret:<name>` promises (the URL with its password never in the manifests)."""
import sqlite3
import uuid

from etlkit import wire
from etlkit.outrecord import out_record
from tests.etlkit.batch_sink import event_of


def test_the_loader_reads_its_database_url_from_a_secret_file(local_stack, gateway, tmp_path):
    name, table = f"warehouse-url-{uuid.uuid4().hex[:6]}", f"t_{uuid.uuid4().hex[:6]}"
    database = tmp_path / "from-secret.db"
    (local_stack.secrets_dir / name).write_text(f"sqlite:///{database}\n")
    local_stack.create_topics({f"dlq-{name}": 1})
    s, url = gateway
    step = {"kind": "sink", "name": "sink", "table": table, "key": "id", "url": f"secret:{name}",
            "dead_letter": f"dlq-{name}"}
    records = [out_record("in", b'{"v":%d}' % i, b"k%d" % i, (), None, 0) for i in range(3)]
    (batch,) = wire.batches(records, "up", lambda topic: 1)
    resp = s.post(f"{url}/function/warehouse-loader", json={"workflow": "t", "version": 1,
                                                            "step": step, "event": event_of(batch)})
    assert resp.status_code == 200, resp.text
    assert sqlite3.connect(database).execute(f'SELECT count(*) FROM "{table}"').fetchone() == (3,)


def test_a_missing_secret_is_a_configuration_fault_named_by_field(gateway):
    s, url = gateway
    step = {"kind": "sink", "name": "sink", "table": "t", "key": "id", "url": "secret:no-such-secret",
            "dead_letter": "x"}
    resp = s.post(f"{url}/function/warehouse-loader", json={"workflow": "t", "version": 1,
                                                            "step": step, "event": {}})
    assert resp.status_code == 500
    assert resp.json()["error"] == "step.url: secret:no-such-secret names no database URL"
