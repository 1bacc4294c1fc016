"""A short chaos run on the real stack: every fault once, nothing acknowledged lost or doubled.

The schedule is short (about 40 s measured) so `make test` stays fast; `make chaos` runs the
five-minute one. What is asserted are outcomes that cannot depend on timing: the records
themselves (counts and checksums), the dead letters, and that each fault really happened.
The availability figures are printed (`-s`) but not asserted: they measure this machine too.
"""
import pytest

from devstack.chaos.config import FAULTS, ChaosConfig
from devstack.chaos.harness import run

pytestmark = pytest.mark.slow

SHORT = ChaosConfig(duration_s=40, quiet_s=4, tail_s=10, fault_gap_s=5, pause_s=4,
                    gateway_down_s=0.5, writers=3, write_rate=15, batch_records=10,
                    drain_timeout_s=120)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    report = run(SHORT, tmp_path_factory.mktemp("chaos"), say=print)
    print(report.text())
    return report.doc


def test_every_fault_struck_once(report):
    assert [f["fault"] for f in report["faults"]] == list(FAULTS)
    details = {f["fault"]: f["detail"] for f in report["faults"]}
    assert details["kill-worker"].count("kill -9") == 1 and "no ready replica" not in details["kill-worker"]
    assert "crashed" in details["restart-warehouse"]
    assert "killed -9" in details["restart-runner"]
    assert report["runner_starts"] == 2


def test_every_acknowledged_record_is_in_the_warehouse_exactly_once(report):
    data = report["data"]
    assert data["acknowledged"] > 1000
    assert data["missing"] == 0, data["samples"]
    assert data["duplicates"] == 0, data["samples"]
    assert data["corrupted"] == 0 and data["unexpected"] == 0, data["samples"]
    assert data["checksum_acknowledged"] == data["checksum_warehouse"]
    assert data["ok"]


def test_writers_were_answered_for_every_record(report):
    data = report["data"]
    # Retried until acknowledged: none left unacknowledged, none rejected (they are all valid).
    assert data["unacknowledged"] == 0 and data["rejected_by_ingest"] == 0
    assert data["created"] == data["acknowledged"]


def test_no_record_took_the_dead_letter_path(report):
    assert report["dead_letters"]["count"] == 0, report["dead_letters"]["reasons"]


def test_the_figures_are_reported_for_every_component(report):
    assert {row["component"] for row in report["components"]} == set(FAULTS.values())
    for kind in ("write", "read"):
        assert 0.0 <= report["overall"][kind]["availability"] <= 1.0
        assert report["overall"][kind]["attempts"] > 0
