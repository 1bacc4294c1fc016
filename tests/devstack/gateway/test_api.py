"""The local gateway over real HTTP: the OpenFaaS API a client expects, backed by real workers."""
import json
import os
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devstack.runstate import process_alive

ECHO_LIMIT = 1024


@pytest.fixture(scope="module")
def echo(local_stack):
    """The template's own example handler, built and deployed as `echo` through the API."""
    return local_stack.deploy_folder("echo", "template/python3-etl/function",
                                     envVars={"MAX_REQUEST_BYTES": str(ECHO_LIMIT)}, labels={"team": "tests"})


def _status(session, url, name):
    resp = session.get(f"{url}/system/function/{name}")
    assert resp.status_code == 200, resp.text
    return resp.json()


def _wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_invoke_passes_method_path_and_body(gateway, echo):
    s, url = gateway
    resp = s.post(f"{url}/function/echo/a/b?x=1", data=b"hello")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json() == {"method": "POST", "path": "/a/b", "bytes": 5}
    assert resp.headers["X-Call-Id"]
    assert float(resp.headers["X-Duration-Seconds"]) > 0


def test_namespaced_name_reaches_the_same_function(gateway, echo):
    s, url = gateway
    assert s.get(f"{url}/function/echo.openfaas-fn").json()["method"] == "GET"


def test_oversize_body_is_413_from_the_function(gateway, echo):
    s, url = gateway
    assert s.post(f"{url}/function/echo", data=b"x" * ECHO_LIMIT).status_code == 200
    resp = s.post(f"{url}/function/echo", data=b"x" * (ECHO_LIMIT + 1))
    assert resp.status_code == 413
    assert "body" in resp.json()["error"]


def test_unknown_function_is_404(gateway):
    s, url = gateway
    assert s.post(f"{url}/function/no-such-fn", data=b"{}").status_code == 404
    assert s.post(f"{url}/async-function/no-such-fn", data=b"{}").status_code == 404
    assert s.get(f"{url}/system/function/no-such-fn").status_code == 404


class _Callbacks(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append((dict(self.headers.items()), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_async_invoke_answers_202_and_calls_back(gateway, echo):
    s, url = gateway
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Callbacks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        callback = f"http://127.0.0.1:{server.server_address[1]}/done"
        resp = s.post(f"{url}/async-function/echo/job", data=b"abc",
                      headers={"X-Callback-Url": callback})
        assert resp.status_code == 202
        call_id = resp.headers["X-Call-Id"]
        assert _wait(lambda: _Callbacks.received)
        headers, body = _Callbacks.received[0]
        assert headers["X-Call-Id"] == call_id
        assert headers["X-Function-Status"] == "200"
        assert headers["X-Function-Name"] == "echo"
        assert json.loads(body) == {"method": "POST", "path": "/job", "bytes": 3}
    finally:
        server.shutdown()


def test_deploy_list_update_delete(gateway, echo):
    s, url = gateway
    spec = {"service": "echo-two", "image": "local/echo:dev", "labels": {"v": "1"},
            "annotations": {"faas-etl.dev/build": "echo"}}
    assert s.post(f"{url}/system/functions", json=spec).status_code == 202
    names = [f["name"] for f in s.get(f"{url}/system/functions").json()]
    assert "echo-two" in names and "echo" in names
    assert _status(s, url, "echo-two")["labels"] == {"v": "1"}
    spec["labels"] = {"v": "2"}
    assert s.put(f"{url}/system/functions", json=spec).status_code == 202
    assert _status(s, url, "echo-two")["labels"] == {"v": "2"}
    assert s.post(f"{url}/function/echo-two").status_code == 200
    assert s.delete(f"{url}/system/functions", json={"functionName": "echo-two"}).status_code == 202
    assert s.get(f"{url}/system/function/echo-two").status_code == 404
    assert s.post(f"{url}/function/echo-two").status_code == 404


@pytest.mark.parametrize("spec,field", [
    ({"image": "x"}, "service"),
    ({"service": "Bad_Name", "image": "x"}, "service"),
    ({"service": "nobuild", "image": "x"}, "image"),
    ({"service": "echo", "image": "x", "constraints": ["zone is 1"]}, "constraints"),
    ({"service": "echo", "image": "x", "secrets": ["missing-secret"]}, "secrets"),
    ({"service": "echo", "image": "x", "labels": {"n": 1}}, "labels"),
], ids=["no-service", "bad-name", "no-build-context", "malformed-constraint", "missing-secret",
        "non-string-label"])
def test_bad_deployment_is_400_naming_the_field(gateway, echo, spec, field):
    s, url = gateway
    resp = s.post(f"{url}/system/functions", json=spec)
    assert resp.status_code == 400
    assert resp.text.startswith(field + ":")


def test_scale_three_then_zero_then_first_call_brings_one_back(gateway, echo):
    s, url = gateway
    assert s.post(f"{url}/system/scale-function/echo",
                  json={"serviceName": "echo", "namespace": "openfaas-fn", "replicas": 3}).status_code == 202
    status = _status(s, url, "echo")
    assert status["replicas"] == 3 and status["availableReplicas"] == 3
    pids = [i["pid"] for i in status["instances"]]
    assert len(set(pids)) == 3
    # Least-loaded placement spreads the three replicas over the topology's nodes.
    assert len({i["node"] for i in status["instances"]}) >= 2
    assert s.post(f"{url}/system/scale-function/echo", json={"replicas": 0}).status_code == 202
    status = _status(s, url, "echo")
    assert status["availableReplicas"] == 0
    for pid in pids:
        assert _wait(lambda: not process_alive(pid)), f"worker {pid} still running after scale to 0"
    resp = s.post(f"{url}/function/echo", data=b"wake")
    assert resp.status_code == 200
    status = _status(s, url, "echo")
    assert status["replicas"] == 1 and status["availableReplicas"] == 1


def test_scale_request_is_validated(gateway, echo):
    s, url = gateway
    assert s.post(f"{url}/system/scale-function/echo", json={"replicas": -1}).status_code == 400
    assert s.post(f"{url}/system/scale-function/nope", json={"replicas": 1}).status_code == 404


def test_a_killed_worker_is_replaced(gateway, echo):
    s, url = gateway
    s.post(f"{url}/system/scale-function/echo", json={"replicas": 1})
    before = _status(s, url, "echo")["instances"][0]["pid"]
    os.kill(before, signal.SIGKILL)
    assert _wait(lambda: [i["pid"] for i in _status(s, url, "echo")["instances"]] not in ([], [before]))
    assert s.post(f"{url}/function/echo").status_code == 200


def test_metrics_count_invocations_by_code(gateway, echo):
    s, url = gateway

    def count(code):
        for line in s.get(f"{url}/metrics").text.splitlines():
            if line.startswith("gateway_function_invocation_total") and \
                    f'code="{code}"' in line and 'function_name="echo.openfaas-fn"' in line:
                return int(line.rsplit(" ", 1)[1])
        return 0

    before_ok, before_413 = count(200), count(413)
    s.post(f"{url}/function/echo", data=b"1")
    s.post(f"{url}/function/echo", data=b"x" * (ECHO_LIMIT + 1))
    assert count(200) == before_ok + 1
    assert count(413) == before_413 + 1
    text = s.get(f"{url}/metrics").text
    assert 'gateway_service_count{function_name="echo"}' in text
    assert "gateway_functions_seconds_bucket" in text


# -- the wire: what http.server did before the gateway read requests itself ---------------------
def _connect(local_stack):
    host, port = local_stack.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _request(local_stack, version="HTTP/1.1", extra=b"", body=b"abc"):
    return (f"POST /function/echo {version}\r\nHost: x\r\n"
            f"Authorization: {local_stack.credentials.header()}\r\n"
            f"Content-Length: {len(body)}\r\n").encode() + extra + b"\r\n" + body


def _answers(sock):
    """Every byte the gateway sends until it closes the connection or goes quiet for 1 s."""
    sock.settimeout(1)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        return data, False
    return data, True


@pytest.mark.parametrize("version,extra,closed", [
    ("HTTP/1.1", b"", False),
    ("HTTP/1.1", b"Connection: close\r\n", True),
    ("HTTP/1.0", b"", True),
    ("HTTP/1.0", b"Connection: keep-alive\r\n", False),
], ids=["1.1-kept-alive", "1.1-close", "1.0-closed", "1.0-keep-alive"])
def test_a_connection_stays_open_as_its_version_and_header_say(local_stack, echo, version, extra, closed):
    with _connect(local_stack) as sock:
        sock.sendall(_request(local_stack, version, extra))
        data, was_closed = _answers(sock)
    assert data.startswith(b"HTTP/1.1 200 ") and data.endswith(b'"bytes": 3}')
    assert was_closed == closed


def test_expect_100_continue_is_answered_before_the_body(local_stack, echo):
    with _connect(local_stack) as sock:
        request = _request(local_stack, extra=b"Expect: 100-continue\r\n")
        head, body = request.split(b"\r\n\r\n", 1)
        sock.sendall(head + b"\r\n\r\n")
        assert sock.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        data, _ = _answers(sock)
    assert data.startswith(b"HTTP/1.1 200 ") and data.endswith(b'"bytes": 3}')


@pytest.mark.parametrize("request_bytes,status", [
    (b"POST /function/echo HTTP/1.1\r\n" + b"X-Many: 1\r\n" * 100 + b"\r\n", 431),
    (b"POST /function/echo HTTP/1.1\r\nX-Long: " + b"v" * 70000 + b"\r\n\r\n", 431),
    (b"POST /function/echo HTTP/2.0\r\n\r\n", 505),
    (b"POST /function/echo HTTP/1.x\r\n\r\n", 400),
    (b"POST /function/echo\r\n\r\n", 400),
], ids=["too-many-headers", "header-line-too-long", "http-2", "bad-version", "http-0.9-post"])
def test_a_malformed_request_gets_http_servers_error(local_stack, request_bytes, status):
    """The error page and a closed connection (with no status line where the request's version
    is not known: http.server answers it as HTTP/0.9)."""
    with _connect(local_stack) as sock:
        sock.sendall(request_bytes)
        data, closed = _answers(sock)
    assert f"Error code: {status}".encode() in data and closed


def test_a_path_starting_with_two_slashes_is_reduced_to_one(gateway, echo):
    s, url = gateway
    assert s.post(f"{url}//function/echo/x", data=b"ab").json() == {"method": "POST", "path": "/x", "bytes": 2}
