"""Step state in SQLite: read-modify-write under the lock, replicas see each other's writes."""
import threading

import pytest

from etlkit.state_store import StateStore


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
