"""Host metrics from fixed /proc text: exact parses, exact rates, resets, determinism."""
from __future__ import annotations

import json

import pytest

from etlkit.sources.host_metrics import (
    DiskCounters,
    HostSample,
    host_points,
    parse_diskstats,
    parse_meminfo,
    parse_net_dev,
    parse_proc_stat,
    point_record,
    series_key,
)
from etlkit.sources.proc_reader import read_host_sample

STAT_1 = """cpu  100 0 50 800 50 0 0 0 0 0
cpu0 60 0 20 400 20 0 0 0 0 0
cpu1 40 0 30 400 30 0 0 0 0 0
intr 12345 1 2
ctxt 999
btime 1700000000
"""
# 1 s later: cpu0 busy in user, cpu1 idle; totals are the sum
STAT_2 = """cpu  190 0 60 900 50 0 0 0 0 0
cpu0 150 0 30 400 20 0 0 0 0 0
cpu1 40 0 30 500 30 0 0 0 0 0
intr 12400 1 2
"""
MEMINFO = """MemTotal:        1000000 kB
MemFree:          200000 kB
MemAvailable:     600000 kB
Buffers:           50000 kB
Cached:           300000 kB
SwapTotal:             0 kB
SwapFree:              0 kB
HugePages_Total:       0
"""
DISKSTATS_1 = """   7       0 loop0 10 0 80 5 0 0 0 0 0 5 5 0 0 0 0
 253       0 vda 1000 10 20000 500 2000 20 40000 900 0 1000 1400 0 0 0 0 0 0
 253       1 vda1 900 10 18000 450 1900 20 38000 850 0 950 1300
"""
DISKSTATS_2 = """   7       0 loop0 10 0 80 5 0 0 0 0 0 5 5 0 0 0 0
 253       0 vda 1100 10 22048 550 2200 20 44096 950 0 1250 1600 0 0 0 0 0 0
 253       1 vda1 10 0 100 5 10 0 100 5 0 5 10
"""
NET_DEV_1 = """Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
  eth0: 5000000    4000    1    2    0     0          0         0  2000000    3000    0    0    0     0       0          0
"""
NET_DEV_2 = """Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
  eth0: 7000000    6000    1    4    0     0          0         0  2500000    3500    0    0    0     0       0          0
"""


def sample(at_ms: int, stat: str, diskstats: str, net_dev: str) -> HostSample:
    return HostSample(at_ms, parse_proc_stat(stat), parse_meminfo(MEMINFO), parse_diskstats(diskstats), parse_net_dev(net_dev))


FIRST = sample(1_000, STAT_1, DISKSTATS_1, NET_DEV_1)
SECOND = sample(2_000, STAT_2, DISKSTATS_2, NET_DEV_2)


def by_series(points) -> dict[str, dict]:
    return {series_key(p): p["fields"] for p in points}


def test_parse_proc_stat():
    cpus = parse_proc_stat(STAT_1)
    assert sorted(cpus) == ["cpu", "cpu0", "cpu1"]
    assert cpus["cpu0"]["user"] == 60 and cpus["cpu0"]["idle"] == 400 and cpus["cpu0"]["guest_nice"] == 0


def test_parse_proc_stat_of_an_old_kernel_fills_missing_states():
    assert parse_proc_stat("cpu 1 2 3 4\n")["cpu"] == {"user": 1, "nice": 2, "system": 3, "idle": 4, "iowait": 0, "irq": 0, "softirq": 0, "steal": 0, "guest": 0, "guest_nice": 0}


def test_parse_meminfo_in_bytes():
    memory = parse_meminfo(MEMINFO)
    assert memory["MemTotal"] == 1_024_000_000
    assert memory["HugePages_Total"] == 0


def test_parse_diskstats_skips_loop_devices_and_reads_short_lines():
    disks = parse_diskstats(DISKSTATS_1)
    assert sorted(disks) == ["vda", "vda1"]
    assert disks["vda"] == DiskCounters(reads=1000, sectors_read=20000, writes=2000, sectors_written=40000, io_ms=1000)


def test_parse_net_dev_skips_headers():
    nets = parse_net_dev(NET_DEV_1)
    assert sorted(nets) == ["eth0", "lo"]
    assert nets["eth0"]["bytes_recv"] == 5_000_000 and nets["eth0"]["drop_in"] == 2 and nets["eth0"]["packets_sent"] == 3000


def test_first_sample_gives_gauges_only():
    points = host_points(FIRST, None, "node-a")
    assert [p["measurement"] for p in points] == ["mem"]
    assert points[0]["fields"] == {
        "total": 1_024_000_000,
        "available": 614_400_000,
        "used": 409_600_000,
        "used_percent": 40.0,
        "free": 204_800_000,
        "buffered": 51_200_000,
        "cached": 307_200_000,
        "swap_total": 0,
        "swap_free": 0,
    }


def test_cpu_percentages_from_two_samples():
    fields = by_series(host_points(SECOND, FIRST, "node-a"))
    assert fields["cpu,cpu=cpu0,host=node-a"]["usage_user"] == 90.0
    assert fields["cpu,cpu=cpu0,host=node-a"]["usage_system"] == 10.0
    assert fields["cpu,cpu=cpu0,host=node-a"]["usage_active"] == 100.0
    assert fields["cpu,cpu=cpu1,host=node-a"]["usage_idle"] == 100.0
    assert fields["cpu,cpu=cpu-total,host=node-a"]["usage_active"] == 50.0


def test_disk_and_network_rates_per_second():
    fields = by_series(host_points(SECOND, FIRST, "node-a"))
    assert fields["diskio,host=node-a,name=vda"] == {
        "read_bytes_per_s": 2048 * 512,
        "write_bytes_per_s": 4096 * 512,
        "reads_per_s": 100.0,
        "writes_per_s": 200.0,
        "util_percent": 25.0,
    }
    assert fields["net,host=node-a,interface=eth0"]["bytes_recv_per_s"] == 2_000_000.0
    assert fields["net,host=node-a,interface=eth0"]["bytes_sent_per_s"] == 500_000.0
    assert fields["net,host=node-a,interface=eth0"]["drop_in_per_s"] == 2.0
    assert fields["net,host=node-a,interface=lo"]["bytes_recv_per_s"] == 0.0


def test_counter_that_went_backwards_gives_no_rate_for_that_series_only():
    series = by_series(host_points(SECOND, FIRST, "node-a"))
    assert "diskio,host=node-a,name=vda1" not in series  # re-attached device: counters restarted
    assert "diskio,host=node-a,name=vda" in series


@pytest.mark.parametrize("previous_at", [2_000, 3_000], ids=["same-instant", "previous-is-newer"])
def test_no_rates_without_elapsed_time(previous_at: int):
    earlier = sample(previous_at, STAT_1, DISKSTATS_1, NET_DEV_1)
    assert [p["measurement"] for p in host_points(SECOND, earlier, "node-a")] == ["mem"]


def test_output_is_sorted_and_deterministic():
    points = host_points(SECOND, FIRST, "node-a")
    keys = [series_key(p) for p in points]
    assert keys == sorted(keys)
    assert points == host_points(SECOND, FIRST, "node-a")


def test_sample_survives_json_between_runs():
    restored = HostSample.from_json(json.loads(json.dumps(FIRST.to_json())))
    assert restored == FIRST
    assert host_points(SECOND, restored, "node-a") == host_points(SECOND, FIRST, "node-a")


def test_point_record_is_keyed_by_series_with_the_point_time():
    point = host_points(FIRST, None, "node-a")[0]
    record = point_record(point, "metrics")
    assert record["key"] == "mem,host=node-a"
    assert record["event_time_ms"] == 1_000
    assert record["value"]["fields"]["total"] == 1_024_000_000


def test_read_host_sample_from_a_proc_shaped_folder(tmp_path):
    (tmp_path / "net").mkdir()
    (tmp_path / "stat").write_text(STAT_1)
    (tmp_path / "meminfo").write_text(MEMINFO)
    (tmp_path / "net" / "dev").write_text(NET_DEV_1)  # no diskstats: that part stays empty
    assert read_host_sample(1_000, tmp_path) == HostSample(1_000, FIRST.cpu, FIRST.memory, {}, FIRST.nets)


def test_read_host_sample_of_this_machine():
    current = read_host_sample(1_000)
    assert "cpu" in current.cpu and current.memory["MemTotal"] > 0
