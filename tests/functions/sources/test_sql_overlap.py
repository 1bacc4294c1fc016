"""Overlapping calendar ticks of one SQL source, on two replicas, with the cursor and lease in a
real PostgreSQL and the pages going to a real Kafka (Tansu) topic: every row is published once.

A calendar trigger without ``atLeastOnce`` runs each tick in its own goroutine (argo-events
v1.9.11 pkg/sensors/listener.go, ``triggerActions`` called with ``go`` for every event), so a
tick may arrive while the previous one of the same source still publishes. Before the lease
the two both read the page after the committed cursor and both published it.
"""
import threading
import uuid

import psycopg
import pytest

from devstack.kafka_tools import consume_records

ROWS = 3000  # 30 pages of 100 rows: a tick lasts long enough for the second to overlap it
FUNCTION = "sql-source-shared-state"


@pytest.fixture(scope="module")
def shared_state_source(local_stack, postgres_url):
    """sql-source deployed again, at two replicas, with STATE_URL on the real PostgreSQL."""
    from tests.fixtures.state import private_schema_url

    state_url = private_schema_url(postgres_url, __name__)
    local_stack.deploy_folder(FUNCTION, "functions/sql-source",
                              envVars={"STATE_URL": state_url, "MAX_PAGES": "100"})
    with local_stack.session() as s:
        resp = s.post(f"{local_stack.url}/system/scale-function/{FUNCTION}", json={"replicas": 2})
        assert resp.status_code == 202, resp.text
        status = s.get(f"{local_stack.url}/system/function/{FUNCTION}", timeout=10).json()
        assert status["replicas"] == 2
    return state_url


def test_two_overlapping_ticks_publish_every_row_once(local_stack, gateway, postgres_url, shared_state_source):
    s, url = gateway
    tag = uuid.uuid4().hex[:8]
    topic, table = f"sql-overlap-{tag}", f"orders_{tag}"
    local_stack.create_topics({topic: 2})
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute(f"CREATE TABLE {table} (id text PRIMARY KEY, amount real, version bigint NOT NULL)")
        with db.cursor().copy(f"COPY {table} (id, amount, version) FROM STDIN") as copy:
            for n in range(ROWS):
                copy.write_row((f"o{n:05d}", n, n))
    spec = {"kind": "sql", "name": tag, "topic": topic, "url": postgres_url,
            "params": {"source": tag, "table": table, "cursor_column": "version", "key_column": "id",
                       "page_size": 100}}
    start, answers = threading.Barrier(2), []

    def tick(n):
        body = {"workflow": "t", "version": 1, "source": spec, "event": {"eventTime": f"tick-{n}"}}
        start.wait()
        answers.append(s.post(f"{url}/function/{FUNCTION}", json=body, timeout=60))

    ticks = [threading.Thread(target=tick, args=(n,)) for n in range(2)]
    for thread in ticks:
        thread.start()
    for thread in ticks:
        thread.join(90)

    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    bodies = sorted((a.json() for a in answers), key=lambda b: b["records"])
    # The overlap happened: the second tick found the first one's lease and published nothing.
    assert "another tick" in bodies[0].get("skipped", ""), bodies
    assert (bodies[0]["records"], bodies[1]["records"]) == (0, ROWS)
    keys = [r.key for r in consume_records(local_stack.bootstrap, topic, ROWS, timeout=60)]
    assert len(keys) == ROWS and len(set(keys)) == ROWS  # consume_records reads on for a duplicate
    with psycopg.connect(shared_state_source, autocommit=True) as state:
        (position,), = state.execute("SELECT position FROM source_cursors WHERE source = %s", (tag,)).fetchall()
        leases = state.execute("SELECT holder FROM source_leases WHERE source = %s", (tag,)).fetchall()
    assert '"o02999"' in position and leases == []  # all delivered, and the lease given back
