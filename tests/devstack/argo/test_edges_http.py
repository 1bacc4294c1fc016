"""The runner's HTTP client against a real server on loopback: kept-alive http.client for this
machine (the local gateway), requests for everything else."""
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devstack.argo.dispatch import HttpRequest
from devstack.argo.edges import RequestsHttp


class _Server:
    """Records each request (method, path, headers, body, client port); answers ``status``."""

    def __init__(self, status=200, delay_s=0.0):
        seen, self.status, self.delay_s = [], status, delay_s
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                seen.append((self.command, self.path, dict(self.headers), body, self.client_address[1]))
                time.sleep(owner.delay_s)
                self.send_response(owner.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.seen = seen
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server():
    srv = _Server()
    yield srv
    srv.close()


def _post(port, host="127.0.0.1", timeout=5.0, path="/function/map?x=1"):
    return HttpRequest("POST", f"http://{host}:{port}{path}", b'{"events":[]}',
                       (("Content-Type", "application/json"),), timeout)


def test_gateway_call_carries_method_path_headers_and_body_and_answers_the_status(server):
    server.status = 503
    http = RequestsHttp()
    assert http.send(_post(server.port)) == 503
    method, path, headers, body, _ = server.seen[0]
    assert (method, path, body) == ("POST", "/function/map?x=1", b'{"events":[]}')
    assert headers["Content-Type"] == "application/json"
    assert "Authorization" not in headers
    assert "python-requests" not in headers.get("User-Agent", "")  # http.client took it
    http.close()


def test_calls_to_this_machine_reuse_one_connection(server):
    http = RequestsHttp()
    for _ in range(3):
        assert http.send(_post(server.port)) == 200
    assert len({port for *_, port in server.seen}) == 1
    http.close()


def test_a_connection_the_server_closed_while_idle_is_replaced_and_the_call_still_goes(server):
    http = RequestsHttp()
    assert http.send(_post(server.port)) == 200
    # What an idle timeout does: the server ends the kept-alive connection between two calls.
    for connection in http._loopback._connections.values():
        connection.sock.shutdown(socket.SHUT_RDWR)
    assert http.send(_post(server.port)) == 200
    assert len(server.seen) == 2 and server.seen[0][4] != server.seen[1][4]
    http.close()


def test_no_server_is_a_failed_attempt():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens once it is closed
    with pytest.raises(OSError):
        RequestsHttp().send(_post(port))


def test_an_answer_slower_than_the_timeout_is_a_failed_attempt_and_the_next_call_works():
    srv = _Server(delay_s=0.5)
    try:
        http = RequestsHttp()
        with pytest.raises(TimeoutError):
            http.send(_post(srv.port, timeout=0.1))
        srv.delay_s = 0.0
        assert http.send(_post(srv.port)) == 200  # a fresh connection, not the timed-out one
        http.close()
    finally:
        srv.close()


def test_a_proxy_set_for_this_machine_is_honoured_through_requests(server, monkeypatch):
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.port}")
    assert RequestsHttp().send(_post(1)) == 200  # port 1: only the proxy can answer
    _, path, headers, _, _ = server.seen[0]
    assert path == "http://127.0.0.1:1/function/map?x=1" and "python-requests" in headers["User-Agent"]
