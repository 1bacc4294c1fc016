"""The two stores behave alike; the file store is atomic and safe across processes."""
import json
import multiprocessing

import pytest

from etlkit.schemas import InMemorySchemaStore, JsonFileSchemaStore, StoreCorrupt, VersionConflict

V1 = {"type": "object"}
V2 = {"type": "object", "properties": {"a": {"type": "string"}}}


@pytest.fixture(params=["memory", "file"])
def store(request, tmp_path):
    return InMemorySchemaStore() if request.param == "memory" else JsonFileSchemaStore(tmp_path / "s.json")


def test_append_and_load(store):
    assert store.load() == {}
    store.append("orders", 1, V1)
    store.append("orders", 2, V2)
    store.append("metrics", 1, V1)
    assert store.load() == {"orders": [V1, V2], "metrics": [V1]}


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


def test_file_store_leaves_no_temporary_files(tmp_path):
    store = JsonFileSchemaStore(tmp_path / "s.json")
    store.append("orders", 1, V1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json", "s.json.lock"]
    assert json.loads((tmp_path / "s.json").read_text())["format"] == 1


@pytest.mark.parametrize("text, message", [
    pytest.param("{", "not JSON", id="truncated"),
    pytest.param('{"format": 2, "subjects": {}}', "format: must be 1", id="format"),
    pytest.param('{"format": 1, "subjects": {"a": {}}}', "subjects: must map names to lists", id="shape"),
])
def test_file_store_refuses_a_corrupt_file(tmp_path, text, message):
    (tmp_path / "s.json").write_text(text)
    with pytest.raises(StoreCorrupt, match=message):
        JsonFileSchemaStore(tmp_path / "s.json").load()


def _register_many(path, worker, count):
    store = JsonFileSchemaStore(path)
    done = 0
    while done < count:
        version = len(store.load().get("shared", [])) + 1
        try:
            store.append("shared", version, {"type": "object", "title": f"{worker}-{done}"})
            done += 1
        except VersionConflict:
            pass


def test_concurrent_processes_never_lose_or_duplicate_a_version(tmp_path):
    path = tmp_path / "s.json"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_register_many, args=(path, w, 15)) for w in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    titles = [s["title"] for s in JsonFileSchemaStore(path).load()["shared"]]
    assert len(titles) == 45 and len(set(titles)) == 45
