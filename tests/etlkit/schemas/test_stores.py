"""The stores behave alike; the state-database store is a compare-and-set across processes, on
SQLite and on a real PostgreSQL."""
import multiprocessing

import pytest

from etlkit.schemas import InMemorySchemaStore, StateDbSchemaStore, VersionConflict
from etlkit.state_db import open_state_db
from etlkit.warehouse.url import parse_database_url

V1 = {"type": "object"}
V2 = {"type": "object", "properties": {"a": {"type": "string"}}}


def _db_store(url):
    return StateDbSchemaStore(open_state_db(parse_database_url(url, "STATE_URL")))


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "memory":
        return InMemorySchemaStore()
    if request.param == "sqlite":
        return _db_store(f"sqlite:///{tmp_path / 'state.db'}")
    return _db_store(request.getfixturevalue("postgres_state_url"))


def test_append_and_load(store):
    assert store.load() == {}
    store.append("orders", 1, V1)
    store.append("orders", 2, V2)
    store.append("metrics", 1, V1)
    store.append("flags", 1, True)  # a boolean schema is a schema too
    assert store.load() == {"orders": [V1, V2], "metrics": [V1], "flags": [True]}


@pytest.mark.parametrize("version", [pytest.param(1, id="already-taken"), pytest.param(3, id="gap")])
def test_append_is_conditional(store, version):
    store.append("orders", 1, V1)
    with pytest.raises(VersionConflict, match="orders: version .* requested, the next is 2"):
        store.append("orders", version, V2)
    assert store.load() == {"orders": [V1]}


def test_loaded_data_is_a_copy(store):
    store.append("orders", 1, V1)
    store.load()["orders"].append(V2)
    assert store.load() == {"orders": [V1]}


def test_a_second_store_on_the_same_database_sees_the_versions(state_url):
    _db_store(state_url).append("orders", 1, V1)
    assert _db_store(state_url).load() == {"orders": [V1]}  # a restarted or another replica


def _register_many(url, worker, count):
    store = _db_store(url)
    done = 0
    while done < count:
        version = len(store.load().get("shared", [])) + 1
        try:
            store.append("shared", version, {"type": "object", "title": f"{worker}-{done}"})
            done += 1
        except VersionConflict:
            pass


def _run_replicas(url, count, per_replica):
    """``count`` processes registering ``per_replica`` versions each; all must end cleanly."""
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_register_many, args=(url, w, per_replica)) for w in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0] * count


def test_concurrent_processes_never_lose_or_duplicate_a_version(state_url):
    """Three replicas (processes, each its own connection) race to append to one subject."""
    # The table exists before the race (creation is raced on its own below). The connection is
    # closed before the fork: a SQLite connection must not cross a fork (sqlite.org/howtocorrupt).
    db = open_state_db(parse_database_url(state_url, "STATE_URL"))
    StateDbSchemaStore(db)
    db.close()
    _run_replicas(state_url, 3, 15)
    titles = [s["title"] for s in _db_store(state_url).load()["shared"]]
    assert len(titles) == 45 and len(set(titles)) == 45


def test_replicas_starting_at_once_create_the_table_once(state_url):
    _run_replicas(state_url, 4, 1)
    assert len(_db_store(state_url).load()["shared"]) == 4
