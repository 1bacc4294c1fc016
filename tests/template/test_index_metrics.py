"""The template's adapter: ``/_/metrics`` for a function built with etlkit, nothing for one
built without, and the handler's own answers unchanged either way (real processes, real HTTP)."""
import pathlib
import shutil
import subprocess
import sys

import pytest
import requests

from devstack.ports import free_port, wait_for_port
from devstack.shrinkwrap import build_context
from devstack.stackfile import load_stack
from etlkit.controller.measure import parse_prometheus

REPO = pathlib.Path(__file__).resolve().parents[2]
PLAIN_HANDLER = '''
def handle(event, context):
    return {"statusCode": 200, "body": "path " + event.path}
'''


def _serve(build_dir: pathlib.Path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "index.py"], cwd=build_dir, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={"PORT": str(port), "PATH": "/usr/bin"})
    wait_for_port("127.0.0.1", port, 30, alive=lambda: proc.poll() is None)
    return proc, f"http://127.0.0.1:{port}"


@pytest.fixture
def served():
    procs = []

    def start(build_dir):
        proc, url = _serve(build_dir)
        procs.append(proc)
        return url

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)


def test_a_function_built_with_etlkit_serves_its_calls_as_metrics(tmp_path, served):
    stack = load_stack(REPO / "stack.yml")
    url = served(build_context(stack, stack.functions["filter"], tmp_path))
    assert requests.post(url, data=b"not json", timeout=10).status_code == 400
    assert requests.post(url, data=b"{}", timeout=10).status_code == 400
    assert requests.get(f"{url}/_/health", timeout=10).status_code == 200  # probes are not calls
    resp = requests.get(f"{url}/_/metrics", timeout=10)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/plain")
    samples = parse_prometheus(resp.text)
    assert samples[("faas_etl_function_invocation_total", (("code", "400"),))] == 2
    assert samples[("faas_etl_function_seconds_count", (("code", "400"),))] == 2
    assert samples[("faas_etl_function_seconds_bucket", (("code", "400"), ("le", "+Inf")))] == 2


def test_a_handler_without_etlkit_is_served_as_before(tmp_path, served):
    build = tmp_path / "plain"
    (build / "function").mkdir(parents=True)
    shutil.copy(REPO / "template" / "python3-etl" / "index.py", build / "index.py")
    (build / "function" / "__init__.py").write_text("")
    (build / "function" / "handler.py").write_text(PLAIN_HANDLER)
    url = served(build)
    # No metrics path of the adapter: the handler gets the call, as under the stock template.
    resp = requests.get(f"{url}/_/metrics", timeout=10)
    assert (resp.status_code, resp.text) == (200, "path /_/metrics")
