"""Cursors and leases in the state database, on SQLite and on a real PostgreSQL: typed values
survive a restart, advancing is a compare-and-set, a lease has one holder at a time, also when
replicas (processes, each its own connection) race for them."""
import datetime as dt
import decimal
import multiprocessing
import uuid

import pytest

from etlkit.sources.cursor_store import Cursor, CursorMoved, StateDbCursorStore
from etlkit.state_db import open_state_db
from etlkit.warehouse.url import parse_database_url


def open_store(url: str) -> StateDbCursorStore:
    """A new store on the database at ``url``: another replica, or one after a restart."""
    return StateDbCursorStore(open_state_db(parse_database_url(url, "STATE_URL")))


@pytest.mark.parametrize(
    "value",
    [
        42,
        "2024-01-01",
        1.25,
        dt.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=dt.timezone.utc),
        dt.datetime(2024, 1, 2, 3, 4, 5),
        dt.date(2024, 1, 2),
        decimal.Decimal("12.500"),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        2**70,
    ],
    ids=["integer", "text", "float", "aware-datetime", "naive-datetime", "date", "decimal-keeps-scale", "uuid", "big-integer"],
)
def test_values_keep_their_type_across_a_restart(state_url, value):
    open_store(state_url).advance("orders", None, Cursor(value, "k-1"))
    restored = open_store(state_url).get("orders")
    assert restored == Cursor(value, "k-1")
    assert type(restored.value) is type(value)
    assert str(restored.value) == str(value)
    open_store(state_url).advance("orders", restored, Cursor(value, "k-2"))  # the read-back compares equal
    assert open_store(state_url).get("orders") == Cursor(value, "k-2")


def test_unknown_source_has_no_cursor(state_url):
    assert open_store(state_url).get("never-committed") is None


@pytest.mark.parametrize("expected", [pytest.param(None, id="first-commit-twice"),
                                      pytest.param(Cursor(0, 0), id="from-an-old-position")])
def test_advance_is_a_compare_and_set(state_url, expected):
    store = open_store(state_url)
    store.advance("orders", None, Cursor(1, 1))
    store.advance("orders", Cursor(1, 1), Cursor(2, 2))
    with pytest.raises(CursorMoved, match="orders"):
        store.advance("orders", expected, Cursor(9, 9))
    assert store.get("orders") == Cursor(2, 2)


def test_sources_are_kept_apart(state_url):
    store = open_store(state_url)
    store.advance("a", None, Cursor(1, 1))
    store.advance("b", None, Cursor(2, 2))
    assert (store.get("a"), store.get("b")) == (Cursor(1, 1), Cursor(2, 2))


@pytest.mark.parametrize("name", ["../escape", ".hidden", "a/b", ""], ids=["parent-traversal", "dot-file", "slash", "empty"])
def test_names_outside_the_rule_are_refused(tmp_path, name: str):
    with pytest.raises(ValueError, match="source name"):
        open_store(f"sqlite:///{tmp_path / 's.db'}").advance(name, None, Cursor(1, 1))


def test_unstorable_value_is_refused_without_writing(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    store.advance("orders", None, Cursor(1, 1))
    with pytest.raises(TypeError, match="bytes"):
        store.advance("orders", Cursor(1, 1), Cursor(b"raw", 1))
    assert store.get("orders") == Cursor(1, 1)


def test_a_lease_has_one_holder_until_it_expires_or_is_released(state_url):
    store = open_store(state_url)
    assert store.acquire("orders", "tick-a", now_ms=1_000, ttl_ms=500)
    assert not open_store(state_url).acquire("orders", "tick-b", now_ms=1_499, ttl_ms=500)
    assert store.acquire("orders", "tick-a", now_ms=1_400, ttl_ms=500)  # renewed: until 1_900
    assert not store.acquire("orders", "tick-b", now_ms=1_899, ttl_ms=500)
    assert store.acquire("other", "tick-b", now_ms=1_899, ttl_ms=500)  # another source
    assert store.acquire("orders", "tick-b", now_ms=1_900, ttl_ms=500)  # a-'s expired
    assert not store.acquire("orders", "tick-a", now_ms=1_901, ttl_ms=500)  # and b has it now
    store.release("orders", "tick-a")  # not a's to give: nothing happens
    assert not store.acquire("orders", "tick-c", now_ms=1_902, ttl_ms=500)
    store.release("orders", "tick-b")
    assert store.acquire("orders", "tick-c", now_ms=1_903, ttl_ms=500)


def _race_for_the_lease(url, holder, start, won):
    store = open_store(url)
    start.wait()
    if store.acquire("orders", holder, now_ms=10_000, ttl_ms=60_000):
        won.put(holder)


def _race_to_advance(url, holder, start, won):
    store = open_store(url)
    start.wait()
    try:
        store.advance("orders", Cursor(1, 1), Cursor(2, holder))
        won.put(holder)
    except CursorMoved:
        pass


@pytest.mark.parametrize("race", [_race_for_the_lease, _race_to_advance], ids=["lease", "advance"])
def test_of_replicas_racing_exactly_one_wins(state_url, race):
    seed = open_state_db(parse_database_url(state_url, "STATE_URL"))
    StateDbCursorStore(seed).advance("orders", None, Cursor(1, 1))
    seed.close()  # a SQLite connection must not cross a fork
    context = multiprocessing.get_context("fork")
    start, won = context.Barrier(6), context.Queue()
    replicas = [context.Process(target=race, args=(state_url, f"replica-{n}", start, won)) for n in range(6)]
    for replica in replicas:
        replica.start()
    for replica in replicas:
        replica.join(60)
    assert [r.exitcode for r in replicas] == [0] * 6
    winners = []
    while not won.empty():
        winners.append(won.get(timeout=5))
    assert len(winners) == 1
    if race is _race_to_advance:
        assert open_store(state_url).get("orders") == Cursor(2, winners[0])
