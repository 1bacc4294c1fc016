"""Step state in SQLite: read-modify-write under the lock, replicas see each other's writes, a
parted state writes only what changed, the one-row layout of before is moved on first save."""
import contextlib
import json
import sqlite3
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etlkit.state_store import MOVED, StateStore
from etlkit.steps import AggregateConfig, Record, StateError, WindowState, run_aggregate


@pytest.fixture
def path(tmp_path):
    return tmp_path / "state.db"


def test_saved_state_is_read_back(path):
    store = StateStore(path)
    with store.locked("w/s") as (state, save):
        assert state is None
        save({"n": 1, "text": "\u00e9"})
    with store.locked("w/s") as (state, _save):
        assert state == {"n": 1, "text": "\u00e9"}
    with StateStore(path).locked("w/s") as (state, _save):  # a fresh process reads the text
        assert state == {"n": 1, "text": "\u00e9"}


def test_an_unchanged_row_hands_back_the_saved_object(path):
    store = StateStore(path)
    saved = {"n": 1}
    with store.locked("w/s") as (_state, save):
        save(saved)
    with store.locked("w/s") as (state, _save):
        assert state is saved


def test_another_replicas_write_is_read_not_the_remembered_state(path):
    mine, other = StateStore(path), StateStore(path)
    with mine.locked("w/s") as (_state, save):
        save({"n": 1})
    with other.locked("w/s") as (state, save):
        save({"n": state["n"] + 1})
    with mine.locked("w/s") as (state, _save):
        assert state == {"n": 2}


def test_a_failed_block_keeps_the_previous_state(path):
    store = StateStore(path)
    with store.locked("w/s") as (_state, save):
        save({"n": 1})
    with pytest.raises(RuntimeError):
        with store.locked("w/s") as (_state, save):
            save({"n": 2})
            raise RuntimeError("kafka said no")
    with store.locked("w/s") as (state, _save):
        assert state == {"n": 1}


def test_a_big_integer_round_trips_exactly(path):
    store = StateStore(path)
    with store.locked("w/s") as (_state, save):
        save({"sum": 2**70 + 1})
    with StateStore(path).locked("w/s") as (state, _save):
        assert state == {"sum": 2**70 + 1}


def test_threads_never_interleave_a_read_modify_write(path):
    store = StateStore(path)

    def bump():
        for _ in range(50):
            with store.locked("w/s") as (state, save):
                save({"n": (state or {"n": 0})["n"] + 1})

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with StateStore(path).locked("w/s") as (state, _save):
        assert state == {"n": 200}


# -- states kept a row per part -----------------------------------------------------------------

class Parted(dict):
    """A PartedState double: ``items`` a row each, id = the item's "id"; ``delta`` is what it
    says changed since ``after`` (None: it follows nothing, so it is written whole)."""
    parts_field = "items"

    def __init__(self, items, after=None, delta=None, **head):
        super().__init__(head, items=items)
        self.after, self.delta = after, delta

    def parts(self):
        return [(item["id"], item) for item in self["items"]]

    def changes(self, base):
        return self.delta if base is self.after and self.delta is not None else None


def rows(path):
    db = sqlite3.connect(path)
    try:
        return {part: json.loads(body) for part, body in db.execute(
            "SELECT part, body FROM step_part WHERE name = 'w/s'")}
    finally:
        db.close()


def test_a_parted_state_is_kept_a_row_per_item_and_read_back_whole(path):
    store = StateStore(path)
    with store.locked("w/s") as (_state, save):
        save(Parted([{"id": "a", "n": 1}, {"id": "b", "n": 2}], high=7))
    assert rows(path) == {"a": {"id": "a", "n": 1}, "b": {"id": "b", "n": 2}}
    with StateStore(path).locked("w/s") as (state, _save):
        assert type(state) is dict
        assert state == {"high": 7, "items": [{"id": "a", "n": 1}, {"id": "b", "n": 2}]}


def test_a_save_that_follows_the_state_read_writes_only_its_changes(path):
    store = StateStore(path)
    with store.locked("w/s") as (_state, save):
        save(Parted([{"id": "a", "n": 1}, {"id": "b", "n": 2}, {"id": "c", "n": 3}]))
    with StateStore(path).locked("w/s") as (state, save):  # read from the rows
        # Says "a" changed and "c" went; "b" changed too but is not said to: left as it was.
        save(Parted([{"id": "a", "n": 10}, {"id": "b", "n": 99}], after=state,
                    delta=([("a", {"id": "a", "n": 10})], ["c"])))
    assert rows(path) == {"a": {"id": "a", "n": 10}, "b": {"id": "b", "n": 2}}


@pytest.mark.parametrize("how", ["follows-another-state", "says-nothing-changed-since"])
def test_a_save_that_does_not_follow_the_state_read_writes_everything(path, how):
    store = StateStore(path)
    with store.locked("w/s") as (_state, save):
        save(Parted([{"id": "a", "n": 1}, {"id": "old", "n": 2}]))
    with store.locked("w/s") as (state, save):
        after = {} if how == "follows-another-state" else state
        save(Parted([{"id": "a", "n": 5}], after=after, delta=None if after is state else ([], [])))
    assert rows(path) == {"a": {"id": "a", "n": 5}}


def test_an_unchanged_parted_row_hands_back_the_saved_object_and_writes_its_changes(path):
    store = StateStore(path)
    first = Parted([{"id": "a", "n": 1}])
    with store.locked("w/s") as (_state, save):
        save(first)
    with store.locked("w/s") as (state, save):
        assert state is first
        save(Parted([{"id": "a", "n": 1}, {"id": "b", "n": 1}], after=first,
                    delta=([("b", {"id": "b", "n": 1})], [])))
    assert rows(path) == {"a": {"id": "a", "n": 1}, "b": {"id": "b", "n": 1}}


def test_another_replicas_parted_write_is_read_not_the_remembered_state(path):
    mine, other = StateStore(path), StateStore(path)
    first = Parted([{"id": "a", "n": 1}], high=1)
    with mine.locked("w/s") as (_state, save):
        save(first)
    with other.locked("w/s") as (state, save):
        save(Parted([{"id": "a", "n": 2}], after=state, delta=([("a", {"id": "a", "n": 2})], []),
                    high=1))  # the same head text: only the write id tells the writes apart
    with mine.locked("w/s") as (state, _save):
        assert state is not first and state == {"high": 1, "items": [{"id": "a", "n": 2}]}


def test_a_failed_block_keeps_the_previous_parts_and_forgets_the_remembered_state(path):
    store = StateStore(path)
    first = Parted([{"id": "a", "n": 1}])
    with store.locked("w/s") as (_state, save):
        save(first)
    with pytest.raises(RuntimeError):
        with store.locked("w/s") as (state, save):
            save(Parted([], after=state, delta=([], ["a"])))
            raise RuntimeError("kafka said no")
    assert rows(path) == {"a": {"id": "a", "n": 1}}
    with store.locked("w/s") as (state, _save):
        assert state is not first and state == {"items": [{"id": "a", "n": 1}]}


def test_a_whole_state_saved_over_a_parted_one_drops_its_parts(path):
    store = StateStore(path)
    with store.locked("w/s") as (_state, save):
        save(Parted([{"id": "a", "n": 1}]))
    with store.locked("w/s") as (_state, save):
        save({"n": 1})
    assert rows(path) == {}
    with StateStore(path).locked("w/s") as (state, _save):
        assert state == {"n": 1}


# -- the one-row layout of before -----------------------------------------------------------

def old_layout(path, state):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE step_state (name TEXT PRIMARY KEY, state TEXT NOT NULL)")
    db.execute("INSERT INTO step_state VALUES ('w/s', ?)", (json.dumps(state),))
    db.commit()
    db.close()


def test_an_old_row_is_read_as_it_is_and_moved_at_the_first_save(path):
    old_layout(path, {"version": 1, "windows": [{"start": 0}]})
    store = StateStore(path)
    with store.locked("w/s") as (state, save):
        assert state == {"version": 1, "windows": [{"start": 0}]}
        save(Parted([{"id": "0", "start": 0}], after=state, delta=([], [])))  # still written whole
    assert rows(path) == {"0": {"id": "0", "start": 0}}
    with StateStore(path).locked("w/s") as (state, _save):
        assert state == {"items": [{"id": "0", "start": 0}]}


def test_an_older_replica_finds_a_text_it_refuses_not_an_empty_state(path):
    store = StateStore(path)
    with store.locked("w/s") as (_state, save):
        save(Parted([{"id": "a"}]))
    db = sqlite3.connect(path)
    (text,) = db.execute("SELECT state FROM step_state WHERE name = 'w/s'").fetchone()
    db.close()
    assert text == MOVED and not isinstance(json.loads(text), dict)
    with pytest.raises(StateError, match="^state: must be an object"):  # what the old code does
        WindowState.from_dict(json.loads(text), AggregateConfig.from_dict(PARAMS))


# -- the aggregate's windows through the store ------------------------------------------------

PARAMS = {"window": "30s", "allowed_lateness": "20s", "group_by": ["g"],
          "aggregations": {"n": {"count": "*"}, "s": {"sum": "v"}, "mean": {"avg": "v"}}}
_events = st.lists(st.tuples(st.integers(0, 300_000), st.sampled_from(["A", "B", "C"]),
                             st.integers(-5, 5)), max_size=60)
# Per batch: its size, the replica that runs it, and whether Kafka fails it (then it is retried).
_batches = st.lists(st.tuples(st.integers(1, 12), st.sampled_from([0, 1]), st.booleans()),
                    min_size=1, max_size=30)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_events, _batches, st.booleans())
def test_windows_saved_batch_by_batch_read_back_as_one_run_leaves_them(tmp_path_factory, events,
                                                                       batches, flush):
    # Two replicas take turns at random and some batches fail after their checkpoint: what a
    # fresh process reads back equals the state of one run over every record.
    path = tmp_path_factory.mktemp("state") / "state.db"
    config = AggregateConfig.from_dict(PARAMS)
    records = [Record(value={"g": g, "v": v}, headers={"etl-event-time": str(t)}, key=str(i))
               for i, (t, g, v) in enumerate(events)]
    replicas, emitted, i = [StateStore(path), StateStore(path)], [], 0
    for size, replica, fails in batches * 10:
        if i >= len(records):
            break
        with contextlib.suppress(RuntimeError), replicas[replica].locked("w/s") as (state, save):
            outcome = run_aggregate(config, records[i:i + size], state, step="s", now_ms=1)
            if fails:
                raise RuntimeError("kafka said no")
            emitted += outcome.records
            save(outcome.state)
            i += size
    with replicas[0].locked("w/s") as (state, save):
        outcome = run_aggregate(config, records[i:], state, step="s", now_ms=1, flush=flush)
        emitted += outcome.records
        save(outcome.state)
    whole = run_aggregate(config, records, None, step="s", now_ms=1, flush=flush)
    with StateStore(path).locked("w/s") as (state, _save):
        assert WindowState.from_dict(state, config).to_dict() == whole.state
    assert [r.value for r in emitted] == [r.value for r in whole.records]
