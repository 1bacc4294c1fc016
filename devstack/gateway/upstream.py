"""A kept-alive HTTP/1.1 connection from the gateway to one of its workers.

http.client cost the gateway some 30 us of CPU a call (a quarter of it, in its benchmark): headers
checked one by one, head and body sent in two system calls, the answer's header block parsed by
the email package. A worker is a loopback HTTP/1.1 server the gateway started itself, so this
client does only what that needs, with http.client's checks and exceptions: head and body go out
in one ``sendmsg``, the answer's headers are read by ``read_headers``, its body is framed by
Content-Length, chunked encoding or the end of the connection. Any exception leaves the
connection unusable: close it.
"""
from __future__ import annotations

import http.client
import re
import select
import socket

from .headers import MAX_LINE, Headers, read_headers

# What http.client refuses to send (its _is_legal_header_name, _is_illegal_header_value and
# _contains_disallowed_url_pchar_re): a line break that is not a fold, a control character or
# space in the target.
_NAME = re.compile(r"[^:\s][^:\r\n]*")
_BAD_VALUE = re.compile(r"\n(?![ \t])|\r(?![ \t\n])")
_BAD_TARGET = re.compile("[\x00-\x20\x7f]")


class UpstreamConnection:
    """One connection to the worker on 127.0.0.1:``port``; ``timeout`` bounds every socket
    operation, as http.client's does."""

    def __init__(self, port: int, timeout: float):
        self.host = f"127.0.0.1:{port}"
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        # As http.client does: with Nagle on, the last segment of a body waits for an ACK.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._in = self.sock.makefile("rb")

    def close(self) -> None:
        self._in.close()
        self.sock.close()

    def dropped(self) -> bool:
        """Whether an idle kept-alive connection can no longer carry a request: readable while
        no request is out means the worker closed it (waitress closes one idle for its
        channel_timeout, 120 s) or sent what no request asked for. urllib3 checks a pooled
        connection so before reusing it; Go's transport, which OpenFaaS's gateway proxies
        with, drops it from its pool when the peer closes it."""
        return bool(select.select([self.sock], [], [], 0)[0])

    def exchange(self, method: str, target: str, body: bytes,
                 headers: dict[str, str]) -> tuple[int, Headers, bytes, bool]:
        """Send one request, read its answer: (status, headers, body, whether the connection
        can carry another request)."""
        self._send(_head(method, target, self.host, body, headers), body)
        status, version = self._status()
        while 100 <= status < 200:  # an interim answer (100 Continue): its headers, then the real one
            read_headers(self._in)
            status, version = self._status()
        answer = read_headers(self._in)
        connection = (answer.get("Connection") or "").lower()
        keep_alive = "keep-alive" in connection if version == "HTTP/1.0" else "close" not in connection
        if status in (204, 304):
            return status, answer, b"", keep_alive
        if (answer.get("Transfer-Encoding") or "").lower() == "chunked":
            return status, answer, self._chunked(), keep_alive
        length = _length(answer.get("Content-Length"))
        if length is None:  # framed by the end of the connection
            return status, answer, self._in.read(), False
        data = self._in.read(length)
        if len(data) < length:
            raise http.client.IncompleteRead(data, length - len(data))
        return status, answer, data, keep_alive

    def _send(self, head: bytes, body: bytes) -> None:
        # One system call for both, without copying the body next to the head; the kernel may
        # take less than all of it, and the rest goes after.
        sent = self.sock.sendmsg([head, body])
        if sent < len(head):
            self.sock.sendall(head[sent:])
            sent = len(head)
        if sent < len(head) + len(body):
            self.sock.sendall(memoryview(body)[sent - len(head):])

    def _status(self) -> tuple[int, str]:
        line = self._in.readline(MAX_LINE + 1)
        if not line:
            raise http.client.RemoteDisconnected("Remote end closed connection without response")
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("status line")
        words = str(line, "iso-8859-1").split(None, 2)  # version, code, reason
        if len(words) < 2 or not words[0].startswith("HTTP/1.") or not (
                len(words[1]) == 3 and words[1].isdigit()):
            raise http.client.BadStatusLine(str(line, "iso-8859-1"))
        return int(words[1]), words[0]

    def _chunked(self) -> bytes:
        parts = []
        while True:
            line = self._in.readline(MAX_LINE + 1)
            if len(line) > MAX_LINE:
                raise http.client.LineTooLong("chunk size")
            try:
                size = int(line.split(b";", 1)[0], 16)
            except ValueError:
                raise http.client.IncompleteRead(b"".join(parts)) from None
            if size == 0:
                read_headers(self._in)  # trailers, up to the empty line that ends the body
                return b"".join(parts)
            chunk = self._in.read(size + 2)  # the chunk and its CRLF
            if len(chunk) < size + 2:
                raise http.client.IncompleteRead(b"".join(parts) + chunk[:size], size + 2 - len(chunk))
            parts.append(chunk[:size])


def _length(value: str | None) -> int | None:
    """A Content-Length as http.client reads it: None when absent, malformed or negative."""
    try:
        length = int(value)
    except (TypeError, ValueError):
        return None
    return length if length >= 0 else None


def _head(method: str, target: str, host: str, body: bytes, headers: dict[str, str]) -> bytes:
    """The request line and header block as http.client writes them: Host and Accept-Encoding
    (identity) unless given, Content-Length, then ``headers`` (which carry no framing header:
    the body's length is this client's to send)."""
    if _BAD_TARGET.search(target):
        raise http.client.InvalidURL(f"URL can't contain control characters. {target!r}")
    given = {name.lower() for name in headers}
    lines = [f"{method} {target} HTTP/1.1"]
    if "host" not in given:
        lines.append(f"Host: {host}")
    if "accept-encoding" not in given:
        lines.append("Accept-Encoding: identity")
    lines.append(f"Content-Length: {len(body)}")
    for name, value in headers.items():
        if not _NAME.fullmatch(name) or _BAD_VALUE.search(value):
            raise ValueError(f"Invalid header {name!r}: {value!r}")
        lines.append(f"{name}: {value}")
    lines += ["", ""]
    return "\r\n".join(lines).encode("iso-8859-1")
