"""A TCP relay in front of the broker that can be paused: the "broker connection" fault.

Tansu keeps its topics in memory only, so the broker itself must never be killed; instead every
client reaches it through this relay (the broker advertises the relay's port, see
``EmbeddedBroker(advertised_port=...)``) and ``pause()`` stops moving bytes in both directions.
Connections stay open and new ones are accepted, but nothing arrives until ``resume()``: what a
client sees of a network partition or a stalled broker (requests time out, heartbeats are missed,
producers buffer), without anything being lost on the broker's side.

Binds 127.0.0.1 only. Two threads per connection; a handful of clients, so that is fine.
"""
from __future__ import annotations

import socket
import threading

_CHUNK = 64 * 1024


class PausableProxy:
    """Relay ``127.0.0.1:port`` to ``upstream``; ``start()``, ``pause()``, ``resume()``, ``stop()``."""

    def __init__(self, upstream: tuple[str, int], port: int = 0, host: str = "127.0.0.1"):
        self.upstream = upstream
        self._listener = socket.create_server((host, port))
        self._flowing = threading.Event()
        self._flowing.set()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._thread = threading.Thread(target=self._accept_loop, name="proxy-accept", daemon=True)
        self.connections = 0  # accepted so far (a test's evidence that clients came through)

    @property
    def address(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"{host}:{port}"

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    @property
    def paused(self) -> bool:
        return not self._flowing.is_set()

    def start(self) -> "PausableProxy":
        self._thread.start()
        return self

    def pause(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def stop(self) -> None:
        self._stopped.set()
        self._flowing.set()  # release pumps waiting to forward, so they see the stop
        _close(self._listener)  # shutdown wakes the accept() blocked in the other thread
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            _close(sock)
        self._thread.join(5)

    def __enter__(self) -> "PausableProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- relaying ----------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:  # the listener was closed by stop()
                return
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                _close(client)  # upstream down: the client sees a refused connection, as it would
                continue
            server.settimeout(None)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._sockets.update((client, server))
                self.connections += 1
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst), name="proxy-pump",
                                 daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                self._flowing.wait()  # paused: read nothing, so the sender's window fills up
                data = src.recv(_CHUNK)
                if not data:
                    break
                self._flowing.wait()  # a pause that began mid-read holds this chunk too
                if self._stopped.is_set():
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._sockets.discard(src)
                self._sockets.discard(dst)
            _close(src)
            _close(dst)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
