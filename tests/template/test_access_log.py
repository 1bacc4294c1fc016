"""Every call leaves an access line, and every 4xx/5xx its reason, in the form of-watchdog logs a
function's calls and output (real processes, real HTTP, the local gateway's log pipe).

The form followed, from of-watchdog 0.10.7 (the watchdog of template/python3-etl/Dockerfile):
* executor/http_runner.go ``Run``: ``log.Printf("%s %s - %s - ContentLength: %s (%.4fs)",
  r.Method, r.RequestURI, res.Status, units.HumanSize(float64(res.ContentLength)),
  done.Seconds())``: ``POST / - 400 Bad Request - ContentLength: 57B (0.0012s)``;
* executor/logging.go ``bindLoggingPipe``/``pipeBuffered`` with prefix_logs (config/config.go,
  default true): each line of the function's stderr as ``<Go log.LstdFlags date time> stderr:
  <line>``, after ``Started logging: stderr from function.``.
"""
import json
import pathlib
import re
import subprocess
import sys
import time

import pytest
import requests

from devstack.gateway.logpipe import prefixed, start_prefixed
from devstack.ports import free_port, wait_for_port
from devstack.shrinkwrap import build_context
from devstack.stackfile import load_stack

REPO = pathlib.Path(__file__).resolve().parents[2]
STAMP = r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d"
ACCESS = re.compile(STAMP + r" stderr: (?P<method>[A-Z]+) (?P<uri>\S+) - (?P<status>\d{3}) [A-Za-z ]+"
                    r" - ContentLength: (?P<size>[\d.]+k?B) \((?P<seconds>\d+\.\d{4})s\)(?P<rest>.*)$")


@pytest.fixture(scope="module")
def filter_fn(tmp_path_factory):
    """The filter function, built with etlkit, its output piped as the local gateway pipes it."""
    tmp = tmp_path_factory.mktemp("filter")
    stack = load_stack(REPO / "stack.yml")
    build = build_context(stack, stack.functions["filter"], tmp / "build")
    port, log = free_port(), tmp / "filter-1.log"
    proc = start_prefixed([sys.executable, "index.py"], log, cwd=build,
                          env={"PORT": str(port), "PATH": "/usr/bin", "PYTHONUNBUFFERED": "1"})
    try:
        wait_for_port("127.0.0.1", port, 30, alive=lambda: proc.poll() is None)
        yield f"http://127.0.0.1:{port}", log
    finally:
        proc.terminate()
        proc.wait(10)


def _lines_after(log, count, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = log.read_text().splitlines()
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    return log.read_text().splitlines()


def test_the_log_starts_as_of_watchdogs_does(filter_fn):
    _url, log = filter_fn
    first = log.read_text().splitlines()[:2]
    assert [re.sub(STAMP, "T", l) for l in first] == \
        ["T Started logging: stderr from function.", "T Started logging: stdout from function."]


def test_a_bad_call_logs_its_access_line_and_its_reason(filter_fn):
    url, log = filter_fn
    before = len(log.read_text().splitlines())
    step = {"kind": "map", "name": "paid", "output": "o", "dead_letter": "d"}
    resp = requests.post(f"{url}/caf%C3%A9?x=1", data=json.dumps(
        {"workflow": "orders", "version": 1, "step": step, "event": {}}), timeout=10)
    assert resp.status_code == 400
    access, reason = _lines_after(log, before + 2)[before:before + 2]
    m = ACCESS.match(access)
    assert m, access
    assert (m["method"], m["uri"], m["status"]) == ("POST", "/caf%C3%A9?x=1", "400")
    assert m["size"] == f"{len(resp.content)}B"  # go-units HumanSize: under 1000, plain bytes
    assert m["rest"] == " step=orders/paid"
    assert reason.endswith("stderr: POST /caf%C3%A9?x=1 - 400 Bad Request - reason: "
                           "step.kind: this function runs 'filter' steps, got 'map'")
    # The same reason is the step's last error, for the dashboard.
    (last,) = [e for e in requests.get(f"{url}/_/errors", timeout=10).json()
               if (e["workflow"], e["step"]) == ("orders", "paid")]
    assert (last["status"], last["reason"]) == (400, "step.kind: this function runs 'filter' steps, got 'map'")


def test_a_line_break_in_a_step_name_cannot_forge_a_log_line(filter_fn):
    url, log = filter_fn
    before = len(log.read_text().splitlines())
    body = {"workflow": "w", "step": {"kind": "map", "name": "paid\n2026/01/01 00:00:00 stderr: forged"},
            "event": {}}
    assert requests.post(url, data=json.dumps(body), timeout=10).status_code == 400
    lines = _lines_after(log, before + 2)[before:]
    assert len(lines) == 2 and all(re.match(STAMP + " stderr: POST / - 400 ", l) for l in lines)
    assert lines[0].endswith("step=w/paid\\n2026/01/01 00:00:00 stderr: forged")


def test_probes_and_scrapes_are_not_logged(filter_fn):
    url, log = filter_fn
    before = log.read_text()
    for path in ("/_/health", "/_/ready", "/_/metrics", "/_/errors"):
        assert requests.get(url + path, timeout=10).status_code == 200
    time.sleep(0.3)
    assert log.read_text() == before


def test_the_prefix_is_gos_standard_log_flags():
    at = time.mktime((2026, 1, 2, 3, 4, 5, 0, 0, -1))  # local time, as Go's log prints it
    assert prefixed("stderr", "POST / - 200 OK", at) == "2026/01/02 03:04:05 stderr: POST / - 200 OK\n"
