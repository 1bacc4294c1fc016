"""The metrics collector's previous samples in the state database, on SQLite and a real
PostgreSQL: per (source, host), read back by another replica, never replaced by an older one,
also when replicas (processes) race."""
import multiprocessing

import pytest

from etlkit.sources import HostSample, StateDbSampleStore
from etlkit.sources.host_metrics import DiskCounters
from etlkit.state_db import open_state_db
from etlkit.warehouse.url import parse_database_url


def open_store(url):
    return StateDbSampleStore(open_state_db(parse_database_url(url, "STATE_URL")))


def sample(at_ms):
    return HostSample(at_ms, cpu={"cpu": {"user": at_ms, "idle": 2 * at_ms}}, memory={"MemTotal": 1 << 30},
                      disks={"sda": DiskCounters(1, 2, 3, 4, 5)}, nets={"eth0": {"rx_bytes": 5}})


def test_a_sample_is_read_back_whole_by_another_replica(state_url):
    assert open_store(state_url).previous("proc", "node-a") is None
    assert open_store(state_url).keep("proc", "node-a", sample(1_000))
    assert open_store(state_url).previous("proc", "node-a") == sample(1_000)


def test_hosts_and_sources_are_kept_apart(state_url):
    store = open_store(state_url)
    store.keep("proc", "node-a", sample(1_000))
    store.keep("proc", "node-b", sample(2_000))
    store.keep("other", "node-a", sample(3_000))
    assert [store.previous(s, h).at_ms for s, h in (("proc", "node-a"), ("proc", "node-b"), ("other", "node-a"))] \
        == [1_000, 2_000, 3_000]


@pytest.mark.parametrize("at_ms, kept", [pytest.param(999, False, id="older"), pytest.param(1_000, False, id="same"),
                                         pytest.param(1_001, True, id="newer")])
def test_only_a_newer_sample_replaces_the_kept_one(state_url, at_ms, kept):
    store = open_store(state_url)
    store.keep("proc", "node-a", sample(1_000))
    assert store.keep("proc", "node-a", sample(at_ms)) is kept
    assert store.previous("proc", "node-a").at_ms == (at_ms if kept else 1_000)


def _keep(url, at_ms, start):
    store = open_store(url)
    start.wait()
    store.keep("proc", "node-a", sample(at_ms))


def test_racing_replicas_leave_the_newest_sample(state_url):
    seed = open_state_db(parse_database_url(state_url, "STATE_URL"))
    StateDbSampleStore(seed)
    seed.close()  # a SQLite connection must not cross a fork
    context = multiprocessing.get_context("fork")
    start = context.Barrier(5)
    replicas = [context.Process(target=_keep, args=(state_url, at_ms, start)) for at_ms in (5, 3, 9, 1, 7)]
    for replica in replicas:
        replica.start()
    for replica in replicas:
        replica.join(60)
    assert [r.exitcode for r in replicas] == [0] * 5
    assert open_store(state_url).previous("proc", "node-a") == sample(9)
