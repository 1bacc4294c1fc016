"""The matcher function served by its template (a real process, real HTTP): numbers keep every
digit both ways (issue 16 item 9), so velocities and totals past 2**53 come back exactly."""
import json
import pathlib
import subprocess
import sys

import pytest
import requests

from devstack.ports import free_port, wait_for_port
from devstack.shrinkwrap import build_context
from devstack.stackfile import load_stack
from etlkit.http import parse_json_body

REPO = pathlib.Path(__file__).resolve().parents[3]
NODES = [{"name": "n1", "region": "eu", "zone": "eu-a", "hostname": "n1"},
         {"name": "n2", "region": "eu", "zone": "eu-b", "hostname": "n2"}]


@pytest.fixture(scope="module")
def matcher(tmp_path_factory):
    stack = load_stack(REPO / "stack.yml")
    build = build_context(stack, stack.functions["matcher"], tmp_path_factory.mktemp("build"))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "index.py"], cwd=build, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={"PORT": str(port), "PATH": "/usr/bin"})
    try:
        wait_for_port("127.0.0.1", port, 30, alive=lambda: proc.poll() is None)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def _post(url, text):
    resp = requests.post(url, data=text.encode(), timeout=30,
                         headers={"Content-Type": "application/json"})
    return resp.status_code, resp.text


def test_integers_past_2_to_the_53_survive_reading_and_writing(matcher):
    big = 2**53 + 1  # a float reader or writer gives back 9007199254740992
    body = ('{"upstream": [{"service_id": "u0", "node": "n1", "velocity": %d},'
            ' {"service_id": "u1", "node": "n2", "velocity": 1}],'
            ' "downstream": [{"service_id": "d0", "node": "n2", "velocity": %d}],'
            ' "nodes": %s, "algorithm": "exact"}' % (big, 10**30, json.dumps(NODES)))
    status, text = _post(matcher, body)
    assert status == 200, text
    answer = parse_json_body(text.encode())
    assert answer["flows"] == [["u0", "d0", big, 4], ["u1", "d0", 1, 0]]
    assert answer["total_flow"] == big + 1
    assert answer["total_cost"] == 4 * big
    assert str(4 * big) in text  # written as an integer, every digit


def test_a_velocity_of_one_beside_1e12_is_matched(matcher):
    body = {"upstream": [{"service_id": "u0", "node": "n1", "velocity": 10**12},
                         {"service_id": "u1", "node": "n2", "velocity": 1}],
            "downstream": [{"service_id": "d0", "node": "n1", "velocity": 10**12},
                           {"service_id": "d1", "node": "n2", "velocity": 1}],
            "nodes": NODES, "algorithm": "exact"}
    status, text = _post(matcher, json.dumps(body))
    assert status == 200, text
    assert json.loads(text)["flows"] == [["u0", "d0", 10**12, 0], ["u1", "d1", 1, 0]]


def test_a_decimal_velocity_is_a_number(matcher):
    # The exact reader gives a Decimal for digits a double cannot hold: still a velocity.
    body = ('{"upstream": [{"service_id": "u0", "node": "n1", "velocity": 0.10000000000000000001}],'
            ' "downstream": [{"service_id": "d0", "node": "n1", "velocity": 5}],'
            ' "nodes": %s}' % json.dumps(NODES))
    status, text = _post(matcher, body)
    assert status == 200, text
    assert json.loads(text)["total_flow"] == pytest.approx(0.1, rel=1e-15)


@pytest.mark.parametrize(("velocity", "field"), [("true", "upstream[0].velocity"),
                                                  ("-1", "upstream[0].velocity")],
                         ids=["bool-is-not-a-number", "negative"])
def test_a_bad_velocity_is_refused_naming_the_field(matcher, velocity, field):
    body = ('{"upstream": [{"service_id": "u0", "node": "n1", "velocity": %s}],'
            ' "downstream": [], "nodes": %s}' % (velocity, json.dumps(NODES)))
    status, text = _post(matcher, body)
    assert status == 400 and json.loads(text)["error"].startswith(field), text
