"""`up` in the background, then the commands that talk to it through its state file: status,
invoke, logs, the dashboard it started, and down. Real processes, real HTTP, --json parsed."""
import json
import os
import pathlib
import subprocess
import sys
import time

import pytest
import requests

from devstack import realtools, runstate
from devstack.broker import create_topics

pytestmark = pytest.mark.slow
REPO = pathlib.Path(__file__).resolve().parents[2]


def _cli(run_dir, *args, stdin=None):
    return subprocess.run([sys.executable, "-m", "devstack.cli", *args, "--run-dir", str(run_dir)],
                          capture_output=True, text=True, input=stdin, timeout=120,
                          env={**os.environ, "FAAS_ETL_RUN_DIR": str(run_dir)})


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("up")
    proc = subprocess.Popen([sys.executable, "-m", "devstack.cli", "up", "--port", "0",
                             "--dashboard-port", "0", "--json", "--run-dir", str(run_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        yield run_dir, proc, info
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)


def test_up_writes_its_state_and_a_second_up_refuses(running):
    run_dir, proc, info = running
    assert info["pid"] == proc.pid and info["dashboard"].startswith("http://127.0.0.1:")
    assert runstate.read_state(run_dir).gateway == info["gateway"]
    second = _cli(run_dir, "up", "--port", "0", "--dashboard-port", "0")
    assert second.returncode == 1 and "already running" in second.stderr


def test_status_json_lists_every_function_ready(running):
    run_dir, _proc, info = running
    out = _cli(run_dir, "status", "--json")
    assert out.returncode == 0, out.stderr
    status = json.loads(out.stdout)
    assert status["running"] and status["healthy"] and status["gateway"] == info["gateway"]
    assert status["stack"] == info["stack"] == "stand-ins (Tansu, local Argo runner)"
    names = {f["name"]: f for f in status["functions"]}
    assert {"ingest", "filter", "autoscaler"} <= set(names)
    assert sum(names["filter"]["nodes"].values()) == names["filter"]["replicas"] == 1
    text = _cli(run_dir, "status")
    assert text.returncode == 0 and "FUNCTION" in text.stdout and "filter" in text.stdout


def test_invoke_passes_the_body_and_the_answer_and_fails_on_an_error(running):
    run_dir, _proc, _info = running
    body = json.dumps({"upstream": [{"service_id": "u", "node": "n1", "velocity": 1}],
                       "downstream": [{"service_id": "d", "node": "n1", "velocity": 1}],
                       "nodes": [{"name": "n1", "region": "r", "zone": "z", "hostname": "n1"}]})
    ok = _cli(run_dir, "invoke", "matcher", "--json", stdin=body)
    assert ok.returncode == 0, ok.stderr
    answer = json.loads(ok.stdout)
    assert answer["status"] == 200 and answer["body"]["total_flow"] == 1.0 and answer["call_id"]
    plain = _cli(run_dir, "invoke", "matcher", "--data", body)
    assert json.loads(plain.stdout)["total_cost"] == 0.0
    missing = _cli(run_dir, "invoke", "ingest/no-such-topic", "--json", "--data", '{"id": 1}')
    assert missing.returncode == 1 and json.loads(missing.stdout)["status"] == 404
    assert "answered HTTP 404" in missing.stderr


def test_invoke_in_batches_makes_one_call_per_batch(running):
    run_dir, _proc, info = running
    create_topics(info["kafka"], {"cli-batches": 1})
    records = json.dumps([{"id": i} for i in range(5)])
    out = _cli(run_dir, "invoke", "ingest/cli-batches", "-q", "key=id", "--batch", "2", "--json",
               "--data", records)
    assert out.returncode == 0, out.stderr
    assert [(a["status"], a["body"]["accepted"]) for a in json.loads(out.stdout)] == \
        [(200, 2), (200, 2), (200, 1)]
    # The first failing call ends the command, as faas-cli does.
    out = _cli(run_dir, "invoke", "ingest/no-such-topic", "--batch", "2", "--json", "--data", records)
    assert out.returncode == 1 and [a["status"] for a in json.loads(out.stdout)] == [404]


def test_logs_prints_every_replicas_lines(running):
    run_dir, _proc, _info = running
    log_dir = runstate.read_state(run_dir).log_dir
    marker = "marker-line-of-the-logs-test"
    with open(os.path.join(log_dir, "filter-999.log"), "a") as f:  # as a replica writes it
        f.write(f"{marker}\n")
    out = _cli(run_dir, "logs", "filter", "--tail", "5")
    assert out.returncode == 0 and f"filter-999 {marker}" in out.stdout
    assert _cli(run_dir, "logs", "no-such-fn").returncode == 1


def test_the_dashboard_of_up_answers(running):
    _run_dir, _proc, info = running
    assert requests.get(info["dashboard"] + "/healthz", timeout=10).text == "OK"
    assert "<title>faas-etl dashboard</title>" in requests.get(info["dashboard"], timeout=10).text


# A workflow of its own topics: a filter between ingest and the warehouse. The autoscaler ticks
# only every 5 minutes, so it rescales nothing under the other tests of this module.
FLOW = """
name: upflow
sources: [{name: api, kind: http, topic: upflow-raw, key: id}]
steps: [{name: positive, kind: filter, condition: "amount > 0", output: upflow-kept}]
sink: {table: upflow, key: id}
topics: {upflow-raw: {partitions: 2}, upflow-kept: {partitions: 2}, upflow-dlq: {partitions: 1}}
dead_letter: upflow-dlq
scaling: {interval: 5m}
"""


def test_a_run_started_through_the_workflow_manager_moves_data(running):
    _run_dir, _proc, info = running
    http = requests.Session()
    http.auth = (info["user"], open(info["password_file"]).read().strip())
    manager = f"{info['gateway']}/function/workflow-manager/workflows"
    assert http.post(manager, data=FLOW, timeout=30).status_code == 201
    assert http.post(f"{manager}/upflow/run", timeout=30).status_code == 202
    records = [{"id": str(i), "amount": i - 2} for i in range(10)]  # 7 positive
    resp = http.post(f"{info['gateway']}/function/ingest/upflow-raw?key=id", json=records, timeout=30)
    assert resp.json()["accepted"] == 10, resp.text

    def status():
        return http.get(f"{manager}/upflow/run", timeout=30).json()

    def settled(now):
        sensor = now["sensors"].get("upflow-positive", {})
        return now["steps"][0]["records"]["in"] >= 10 and sensor.get("events_in", 0) >= 1

    deadline = time.monotonic() + 40
    now = status()
    while not settled(now) and time.monotonic() < deadline:
        time.sleep(0.5)
        now = status()
    assert now["state"] == "running"
    # The filter function drops the 3 others (the Sensor filters nothing: records travel in
    # batches, one event per Kafka message, docs/contracts.md); the 10 records came as at most
    # one batch per partition of upflow-raw.
    assert 1 <= now["sensors"]["upflow-positive"]["events_in"] <= 2
    assert now["steps"][0]["records"] == {"in": 10, "out": 7, "filtered": 3, "dead_lettered": 0, "emitted": 7}
    assert http.delete(f"{manager}/upflow/run", timeout=60).status_code == 200


def test_down_stops_it_and_removes_the_state(running):
    run_dir, proc, _info = running
    out = _cli(run_dir, "down", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["stopped"] == proc.pid
    assert proc.wait(30) == 0
    assert not (run_dir / runstate.STATE_FILE).exists()
    assert _cli(run_dir, "status").returncode == 1


def _descendants(pid: int) -> list[int]:
    out = []
    for task in pathlib.Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            out += [child, *_descendants(child)]
    return out


def _cmdline(pid: int) -> str:
    try:
        return pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _exe(pid: int) -> str:
    """The program a process runs (an Argo process is started through a descriptor, so its
    command line names /proc/self/fd/3, not the binary: devstack/realargo/process.py)."""
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


def test_up_real_wires_the_real_argo_processes_and_down_removes_every_pod(tmp_path):
    """`up --real -w orders`: the committed Sensors run as real `argo-events` processes in pods,
    calling a function once per record; `down` leaves no process, pod namespace or bridge."""
    from devstack.realargo.podnet import base36
    from tests.fixtures.realargo import require_real_argo

    require_real_argo(kafka=True)
    proc = subprocess.Popen([sys.executable, "-m", "devstack.cli", "up", "--real", "-w", "workflows/orders.yaml",
                             "--port", "0", "--no-dashboard", "--json", "--run-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    try:
        info = json.loads(proc.stdout.readline())
        assert info["stack"] == "real components (Apache Kafka 4.1.1, Argo Events v1.9.11 on nats-server 2.10.29)"
        children = _descendants(proc.pid)
        services = [_cmdline(p).split()[-1] for p in children if _exe(p) == os.path.realpath(realtools.argo_events())]
        assert services.count("sensor-service") >= 5 and "eventsource-service" in services, services
        orders = [{"order_id": "R1", "cust_id": "C001", "amount": 10.5, "quantity": 1, "status": "paid",
                   "ordered_at": "2024-06-01T09:10:00Z"},
                  {"order_id": "R2", "cust_id": "C002", "amount": 3.0, "quantity": 1, "status": "pending",
                   "ordered_at": "2024-06-01T09:11:00Z"}]
        def calls():  # the data path's (the autoscaler, and the manager `status` asks, tick on)
            status = json.loads(_cli(tmp_path, "status", "--json").stdout)
            return {f["name"]: f["invocations"] for f in status["functions"]
                    if f["name"] in ("filter", "map", "enrich", "aggregate")}

        # `up -w` streams the workflow's CSV source first (devstack/declared_sources.py): its
        # records settle before the two orders are counted.
        deadline, before = time.monotonic() + 90, calls()
        while before["filter"] == 0 or calls() != before:
            assert time.monotonic() < deadline, f"the CSV's calls did not settle: {before}"
            time.sleep(2)
            before = calls()
        sent = _cli(tmp_path, "invoke", "ingest/orders-raw", "-q", "key=order_id", "--data", json.dumps(orders))
        assert sent.returncode == 0 and json.loads(sent.stdout)["accepted"] == 2, sent.stderr

        def added():
            now = calls()
            return now["filter"] - before["filter"], now["map"] - before["map"]

        deadline, now = time.monotonic() + 60, added()
        while now != (2, 1) and time.monotonic() < deadline:
            time.sleep(1)
            now = added()
        # One call per record through the real Sensors: both orders to the filter, the paid one on.
        assert now == (2, 1), now

        out = _cli(tmp_path, "down")
        assert out.returncode == 0, out.stderr
        assert proc.wait(30) == 0
        tag = base36(proc.pid)
        assert not [ns for ns in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
                    .splitlines() if ns.startswith(f"fe-{tag}-")]
        assert f"fb{tag}-" not in subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout
        assert not [(p, _cmdline(p)) for p in children if runstate.process_alive(p)]
    finally:
        if proc.poll() is None:
            proc.terminate()  # the stack's own teardown, pods included
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
