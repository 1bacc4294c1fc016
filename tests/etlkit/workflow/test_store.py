"""The versioned workflow store, on SQLite and on a real PostgreSQL (the state database): history is
append-only, stale writers are refused (also writers on their own connections, as replicas),
data survives reopening."""
from __future__ import annotations

import threading
from itertools import count

import pytest
import yaml

from etlkit.workflow.errors import WorkflowInvalid
from etlkit.state_db import open_state_db
from etlkit.warehouse.url import parse_database_url
from etlkit.workflow.db_store import StateDbWorkflowStore
from etlkit.workflow.store import (
    StaleVersion,
    VersionRecord,
    WorkflowConfigs,
    WorkflowExists,
    WorkflowNotFound,
)


def open_store(url: str) -> StateDbWorkflowStore:
    """A new store on the database at ``url`` (its own connection): a replica, or after a restart."""
    return StateDbWorkflowStore(open_state_db(parse_database_url(url, "STATE_URL")))


@pytest.fixture
def db_url(state_url):
    return state_url


@pytest.fixture
def make_configs(db_url, structural):
    """A service over a fresh store object on the same file each call; the clock ticks 1000, 1001, ..."""
    ticks = count(1000)

    def make() -> WorkflowConfigs:
        return WorkflowConfigs(open_store(db_url), clock=lambda: next(ticks), validator=structural)

    return make


@pytest.fixture
def text(make_doc):
    """YAML text of the minimal workflow, with a description saying which edit it is."""

    def make(edit: str = "first") -> str:
        return f"# edit: {edit}\n" + yaml.safe_dump(make_doc(description=edit), sort_keys=False)

    return make


def test_create_then_read_latest_and_by_version(make_configs, text):
    configs = make_configs()

    created = configs.create(text())

    assert (created.name, created.version, created.created_at_ms) == ("shop", 1, 1000)
    assert configs.get("shop") == created == configs.get("shop", version=1)
    assert configs.get("shop").document.startswith("# edit: first\n")  # stored as submitted, comments kept
    assert configs.get("shop").workflow().description == "first"


def test_every_update_appends_a_version(make_configs, text):
    configs = make_configs()
    configs.create(text("first"))

    second = configs.update("shop", text("second"), expected_version=1)
    third = configs.update("shop", text("third"), expected_version=2)

    assert (second.version, third.version) == (2, 3)
    assert configs.get("shop").workflow().description == "third"
    assert configs.get("shop", version=2).workflow().description == "second"
    assert [r.version for r in configs.history("shop")] == [1, 2, 3]


def test_stale_update_is_refused_and_changes_nothing(make_configs, text):
    configs = make_configs()
    configs.create(text())
    configs.update("shop", text("second"), expected_version=1)

    with pytest.raises(StaleVersion) as refused:
        configs.update("shop", text("lost edit"), expected_version=1)

    assert (refused.value.expected, refused.value.actual) == (1, 2)
    assert str(refused.value) == "workflow 'shop': expected version 1, but the latest is 2"
    assert [r.version for r in configs.history("shop")] == [1, 2]


def test_invalid_documents_are_never_stored(make_configs, text, make_doc):
    configs = make_configs()
    bad = yaml.safe_dump(make_doc(steps=[{"name": "x", "kind": "mapp", "output": "shop-paid"}]))

    with pytest.raises(WorkflowInvalid, match=r"steps\[0\]\.kind: unknown step kind 'mapp'"):
        configs.create(bad)
    assert configs.list() == []
    configs.create(text())
    with pytest.raises(WorkflowInvalid):
        configs.update("shop", bad, expected_version=1)
    assert [r.version for r in configs.history("shop")] == [1]


def test_a_workflow_cannot_be_renamed_by_update(make_configs, text):
    configs = make_configs()
    configs.create(text())

    with pytest.raises(WorkflowInvalid, match="name: is 'shop' but this is workflow 'other'"):
        configs.update("other", text(), expected_version=1)


def test_create_twice_is_refused(make_configs, text):
    configs = make_configs()
    configs.create(text())

    with pytest.raises(WorkflowExists, match="update it instead"):
        configs.create(text("again"))


def test_delete_keeps_history_and_create_continues_numbering(make_configs, text):
    configs = make_configs()
    configs.create(text("first"))
    configs.update("shop", text("second"), expected_version=1)

    marker = configs.delete("shop", expected_version=2)

    assert (marker.version, marker.deleted) == (3, True)
    with pytest.raises(WorkflowNotFound, match="deleted at version 3"):
        configs.get("shop")
    with pytest.raises(WorkflowNotFound, match="is a deletion"):
        configs.get("shop", version=3)
    assert configs.get("shop", version=2).workflow().description == "second"
    assert configs.list() == []
    assert configs.create(text("reborn")).version == 4
    assert [(r.version, r.deleted) for r in configs.history("shop")] == [(1, False), (2, False), (3, True), (4, False)]


def test_stale_delete_and_unknown_names(make_configs, text):
    configs = make_configs()
    configs.create(text())

    with pytest.raises(StaleVersion):
        configs.delete("shop", expected_version=7)
    for call in (lambda: configs.get("nope"), lambda: configs.get("shop", version=9), lambda: configs.history("nope")):
        with pytest.raises(WorkflowNotFound):
            call()


def test_everything_persists_across_a_new_store_object(make_configs, text, make_doc):
    first = make_configs()
    first.create(text("first"))
    first.update("shop", text("second"), expected_version=1)
    first.create(yaml.safe_dump(make_doc(name="other")))
    first.delete("other", expected_version=1)

    reopened = make_configs()

    assert [w.name for w in reopened.list()] == ["shop"]
    assert reopened.get("shop").version == 2
    assert reopened.get("shop", version=1).workflow().description == "first"
    assert [(r.version, r.deleted, r.created_at_ms) for r in reopened.history("other")] == [(1, False, 1002), (2, True, 1003)]
    with pytest.raises(StaleVersion):
        reopened.update("shop", text("late"), expected_version=1)


@pytest.mark.parametrize("separate_stores", [False, True], ids=["one-store-shared", "a-store-per-writer"])
def test_concurrent_updates_from_one_version_exactly_one_wins(db_url, make_configs, text, structural, separate_stores):
    make_configs().create(text())
    shared = make_configs()
    writers = 8
    barrier = threading.Barrier(writers)
    outcomes: list[str] = []

    def write(i: int) -> None:
        configs = make_configs() if separate_stores else shared
        barrier.wait()
        try:
            configs.update("shop", text(f"writer {i}"), expected_version=1)
            outcomes.append("won")
        except StaleVersion:
            outcomes.append("stale")

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["stale"] * (writers - 1) + ["won"]
    assert [r.version for r in open_store(db_url).history("shop")] == [1, 2]


def test_store_append_is_a_compare_and_set(db_url):
    store = open_store(db_url)
    store.append(VersionRecord("w", 1, "doc", 1))

    for version in (1, 3):
        with pytest.raises(StaleVersion):
            store.append(VersionRecord("w", version, "doc", 2))
    store.append(VersionRecord("w", 2, None, 3))

    assert store.read("w") == VersionRecord("w", 2, None, 3)
    assert store.names() == ["w"]
