"""The gateway's client for its workers, against a scripted loopback server and http.client."""
import http.client
import socket
import threading

import pytest

from devstack.gateway.upstream import UpstreamConnection

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class Scripted:
    """A loopback server: each request it reads (head and Content-Length body) is recorded and
    answered with the next canned bytes; with none left, or an empty answer, it closes the
    connection."""

    def __init__(self, *answers: bytes):
        self.answers = list(answers)
        self.received: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # closed by the test
                return
            with conn, conn.makefile("rb") as stream:
                while self.answers:
                    lines = []
                    while (line := stream.readline()) not in (b"\r\n", b""):
                        lines.append(line)
                    if not lines:
                        break
                    length = next((int(line.split(b":")[1]) for line in lines
                                   if line.lower().startswith(b"content-length:")), 0)
                    self.received.append(b"".join(lines) + b"\r\n" + stream.read(length))
                    answer = self.answers.pop(0)
                    if not answer:
                        break
                    conn.sendall(answer)

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def scripted():
    servers = []

    def make(*answers):
        servers.append(Scripted(*answers))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def _exchange(server, method="POST", target="/", body=b"{}", headers=None):
    conn = UpstreamConnection(server.port, timeout=5)
    try:
        return conn.exchange(method, target, body, headers or {})
    finally:
        conn.close()


def test_the_request_is_what_http_client_sends(scripted):
    server = scripted(OK, OK)
    headers = {"Content-Type": "application/json", "X-Call-Id": "c-1", "X-Folded": "a\r\n b"}
    client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    client.request("POST", "/run?x=1", body=b'{"a": 1}', headers=headers)
    client.getresponse().read()
    client.close()
    _exchange(server, "POST", "/run?x=1", b'{"a": 1}', headers)
    assert server.received[1] == server.received[0]


@pytest.mark.parametrize("answer,status,body,keep_alive", [
    (OK, 200, b"{}", True),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n", 200, b"abcde", True),
    (b"HTTP/1.1 500 Internal Server Error\r\n\r\npartial until the end", 500,
     b"partial until the end", False),
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}", 200, b"{}", False),
    (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", 200, b"{}", False),
    (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n{}", 200, b"{}", True),
    (b"HTTP/1.1 204 No Content\r\n\r\n", 204, b"", True),
    (b"HTTP/1.1 100 Continue\r\n\r\n" + OK, 200, b"{}", True),
    (b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: -1\r\n\r\ntoo big", 413, b"too big", False),
], ids=["content-length", "chunked-with-extension-and-trailer", "until-the-connection-ends",
        "connection-close", "http-1.0", "http-1.0-keep-alive", "no-content", "after-100-continue",
        "negative-length-is-no-length"])
def test_an_answer_is_read_as_its_framing_says(scripted, answer, status, body, keep_alive):
    got_status, headers, got_body, got_keep_alive = _exchange(scripted(answer))
    assert (got_status, got_body, got_keep_alive) == (status, body, keep_alive)
    assert isinstance(headers.items(), list)


def test_one_connection_carries_one_request_after_another(scripted):
    server = scripted(OK, OK.replace(b"{}", b"[]"))
    conn = UpstreamConnection(server.port, timeout=5)
    try:
        assert conn.exchange("POST", "/a", b"1", {})[2] == b"{}"
        assert conn.exchange("GET", "/b", b"", {})[2] == b"[]"
    finally:
        conn.close()
    assert [r.split(b" ")[:2] for r in server.received] == [[b"POST", b"/a"], [b"GET", b"/b"]]


def test_a_body_larger_than_the_socket_buffer_arrives_whole(scripted):
    server = scripted(OK)
    body = bytes(range(256)) * 2048  # 512 KiB
    conn = UpstreamConnection(server.port, timeout=10)
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)  # sendmsg takes a part
    try:
        assert conn.exchange("POST", "/", body, {})[0] == 200
    finally:
        conn.close()
    assert server.received[0].endswith(b"\r\n\r\n" + body)


@pytest.mark.parametrize("answer,error", [
    (b"", http.client.RemoteDisconnected),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", http.client.IncompleteRead),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", http.client.IncompleteRead),
    (b"SSH-2.0-OpenSSH\r\n\r\n", http.client.BadStatusLine),
], ids=["closed-without-answer", "body-cut-short", "chunk-cut-short", "not-http"])
def test_a_broken_answer_raises_http_clients_error(scripted, answer, error):
    with pytest.raises(error):
        _exchange(scripted(answer))


def test_a_kept_connection_the_worker_closed_fails_with_an_oserror(scripted):
    """What the gateway answers 502 to and retries on another replica."""
    conn = UpstreamConnection(scripted(OK).port, timeout=5)
    try:
        assert conn.exchange("POST", "/", b"1", {})[3]  # kept alive, then closed by the worker
        with pytest.raises(OSError):
            conn.exchange("POST", "/", b"2", {})
    finally:
        conn.close()


def test_a_kept_connection_the_worker_closed_while_idle_shows_as_dropped(scripted):
    """The gateway's pool skips such a connection (devstack/gateway/replicas.py): a worker idle
    past waitress's channel_timeout had closed every kept connection, and a call taking two of
    them in turn was answered 502 "Can't reach service" (tests/functions/test_steps.py, once)."""
    import time

    kept = UpstreamConnection(scripted(OK, OK).port, timeout=5)
    closed = UpstreamConnection(scripted(OK).port, timeout=5)
    try:
        assert kept.exchange("POST", "/", b"1", {})[3] and closed.exchange("POST", "/", b"1", {})[3]
        deadline = time.monotonic() + 5
        while not closed.dropped() and time.monotonic() < deadline:  # the FIN is on its way
            time.sleep(0.01)
        assert closed.dropped()
        assert not kept.dropped() and kept.exchange("POST", "/", b"2", {})[0] == 200
    finally:
        kept.close()
        closed.close()


def test_a_replica_does_not_reuse_the_kept_connections_its_worker_closed(scripted):
    """Two kept connections closed by the worker while idle: the call goes out on a new one (it
    took the first, then the second, and failed)."""
    import queue
    import time

    from devstack.gateway.replicas import Worker

    first, second = scripted(OK), scripted(OK)
    kept = [UpstreamConnection(first.port, timeout=5), UpstreamConnection(second.port, timeout=5)]
    for conn in kept:
        assert conn.exchange("POST", "/", b"1", {})[3]
    deadline = time.monotonic() + 5
    while not all(c.dropped() for c in kept) and time.monotonic() < deadline:
        time.sleep(0.01)
    fresh = scripted(OK)
    replica = Worker.__new__(Worker)  # the pool alone, no worker process
    replica.port, replica._pool = fresh.port, queue.SimpleQueue()
    for conn in kept:
        replica._pool.put(conn)
    assert replica.request("POST", "/", b"2", {}, 5)[0] == 200
    assert len(fresh.received) == 1


@pytest.mark.parametrize("target,headers,error", [
    ("/a\x01b", {}, http.client.InvalidURL),
    ("/", {"X-Evil": "v\r\nX-Injected: 1"}, ValueError),
    ("/", {"X-Evil": "v\rX"}, ValueError),
    ("/", {"Bad:Name": "v"}, ValueError),
], ids=["control-character-in-target", "header-injection", "bare-cr", "colon-in-name"])
def test_what_http_client_refuses_is_refused_before_sending(scripted, target, headers, error):
    server = scripted(OK)
    with pytest.raises(error):
        _exchange(server, target=target, headers=headers)
    assert server.received == []
