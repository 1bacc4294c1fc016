"""devstack.realargo.subscribed: the check a deployment makes before applying EventSources."""
from __future__ import annotations

import io
import json

import pytest

from devstack.pipeline.selection import read_documents
from devstack.realargo import scenario as sc
from devstack.realargo.localise import local_addresses
from devstack.realargo.runner import sensor_durables
from devstack.realargo.subscribed import main, missing_consumers
from tests.fixtures.realargo import real_argo  # noqa: F401 - fixture


def _jsz(names) -> dict:
    return {"account_details": [{"stream_detail": [
        {"name": "default", "consumer_detail": [{"name": n} for n in names]}]}]}


def _committed_sensors(repo_root):
    return [d.body for d in read_documents(repo_root / "argo-events" / "sensors") if d.kind == "Sensor"]


def test_every_committed_sensor_is_missing_from_an_empty_bus(repo_root):
    sensors = _committed_sensors(repo_root)
    missing = missing_consumers(_jsz([]), sensors)
    assert {s for s, _ in missing} == {s["metadata"]["name"] for s in sensors}


@pytest.mark.parametrize("drop, code, last_line", [
    pytest.param(0, 0, " Sensors subscribed", id="all-there"),
    pytest.param(1, 1, "not subscribed yet", id="one-missing"),
])
def test_the_command_passes_only_when_every_consumer_exists(repo_root, drop, code, last_line):
    sensors = _committed_sensors(repo_root)
    names = sorted(set().union(*(sensor_durables(s) for s in sensors)))
    out = io.StringIO()
    got = main([str(repo_root / "argo-events" / "sensors")], io.StringIO(json.dumps(_jsz(names[drop:]))), out)
    assert got == code
    assert out.getvalue().splitlines()[-1].endswith(last_line)
    if drop:
        assert out.getvalue().count("\n") == 1 and names[0] in out.getvalue()


def test_an_answer_that_is_not_jsz_is_an_error_not_a_pass(repo_root):
    out = io.StringIO()
    assert main([str(repo_root / "argo-events" / "sensors")], io.StringIO("<html>503</html>"), out) == 2
    assert out.getvalue().startswith("stdin: not a /jsz answer")


def test_a_real_sensor_is_seen_subscribed_on_a_real_bus(real_argo, tmp_path):
    """The /jsz of a real nats-server, before and after a real Sensor process subscribed."""
    sensor = sc.without_dead_letters(sc.http_sensor("subscribes", "subscribes-src", "function/nowhere", "unused"))
    assert missing_consumers(real_argo.bus.jsz(), [sensor]) == [("subscribes", *sensor_durables(sensor))]
    pods = sc.ArgoPods(real_argo.network, real_argo.bus, real_argo.eventbus,
                       local_addresses("127.0.0.1:1", "127.0.0.1:1"), real_argo.run_dir)
    try:
        pods.start_sensor(sensor)
        assert missing_consumers(real_argo.bus.jsz(), [sensor]) == []
    finally:
        pods.stop_all()
