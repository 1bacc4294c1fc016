"""The dashboard's HTTP server: the page, its data, and a Prometheus endpoint.

Routes (GET only):

* ``/``: the page (``static/``: plain HTML, CSS and JavaScript, nothing fetched from the network);
* ``/api/snapshot``: the latest view as JSON, with every kept chart point (``series``);
* ``/api/events``: server-sent events, one ``data:`` message per collection round (the view
  without the series: the page appends ``point`` itself), so charts move without reloading
  and browsers reconnect by themselves;
* ``/metrics``: Kafka offsets and warehouse rows (:mod:`.exporter`); ``/healthz``.

One thread collects a round every ``interval_s`` and publishes it; requests only read the
published view, so a slow broker never stalls the page.
"""
from __future__ import annotations

import json
import logging
import pathlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Protocol

from . import exporter
from .config import DashboardConfig
from .scrape import Scrape, WatchList
from .view import Tracker

log = logging.getLogger("faas_etl.dashboard")
STATIC = pathlib.Path(__file__).resolve().parent / "static"
FILES = {"/": ("index.html", "text/html; charset=utf-8"),
         "/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
         "/dashboard.css": ("dashboard.css", "text/css; charset=utf-8")}
KEEPALIVE_S = 15.0  # an SSE comment this often keeps proxies from closing an idle stream


class Source(Protocol):
    def collect(self, now: float | None = None) -> Scrape: ...

    def close(self) -> None: ...


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Dashboard:
    """Start with :meth:`start`, stop with :meth:`stop` (or use it as a context manager)."""

    def __init__(self, config: DashboardConfig, watch: WatchList, source: Source,
                 clock: Callable[[], float] = time.time) -> None:
        self.config, self.watch, self.source, self.clock = config, watch, source, clock
        self.tracker = Tracker(watch, namespace=config.namespace,
                               history_points=config.history_points,
                               rate_window_s=max(5.0, 3 * config.interval_s))
        self._cond = threading.Condition()
        self._view: dict[str, Any] | None = None
        self._scrape: Scrape | None = None
        self._series: list[dict[str, Any]] = []
        self.version = 0
        self._stop = threading.Event()
        self._httpd = _Server((config.host, config.port), _handler(self))
        self._threads = [threading.Thread(target=self._httpd.serve_forever, name="dashboard-http",
                                          daemon=True),
                         threading.Thread(target=self._collect_loop, name="dashboard-collect",
                                          daemon=True)]

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "Dashboard":
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()  # event streams end
        self._httpd.shutdown()
        self._httpd.server_close()
        self._threads[1].join(timeout=self.config.timeout_s * 4)
        self.source.close()

    def __enter__(self) -> "Dashboard":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- collection ----------------------------------------------------------------------------
    def collect_once(self) -> dict[str, Any]:
        scrape = self.source.collect(self.clock())
        view = self.tracker.update(scrape)
        view.update(interval_s=self.config.interval_s, history_points=self.config.history_points)
        series = self.tracker.series()
        with self._cond:
            self._view, self._scrape, self._series = view, scrape, series
            self.version += 1
            self._cond.notify_all()
        return view

    def _collect_loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.collect_once()
            except Exception:  # noqa: BLE001 - a bug in one round must not end the page
                log.exception("dashboard: collection round failed")
            self._stop.wait(max(0.0, self.config.interval_s - (time.monotonic() - started)))

    # -- reading -------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self._cond:
            if self._view is None:
                return {"at": None, "series": [], "errors": {"dashboard": "first round not done"}}
            return {**self._view, "series": list(self._series)}

    def wait_newer(self, version: int, timeout: float) -> tuple[int, dict[str, Any] | None]:
        """The next published view after ``version`` (None on timeout or stop)."""
        with self._cond:
            self._cond.wait_for(lambda: self.version > version or self._stop.is_set(), timeout)
            if self.version > version and not self._stop.is_set():
                return self.version, self._view
            return version, None

    def metrics_text(self) -> str:
        with self._cond:
            scrape = self._scrape
        return exporter.render(scrape, self.tracker.watch)


def _handler(dash: Dashboard):
    class Handler(BaseHTTPRequestHandler):
        server_version = "faas-etl-dashboard"

        def log_message(self, *args) -> None:  # quiet: one request a second per open page
            pass

        def _send(self, code: int, body: bytes | str, content_type: str) -> None:
            data = body.encode() if isinstance(body, str) else body
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            path = self.path.split("?", 1)[0]
            if path in FILES:
                name, content_type = FILES[path]
                return self._send(200, (STATIC / name).read_bytes(), content_type)
            if path == "/api/snapshot":
                return self._send(200, json.dumps(dash.snapshot(), default=str), "application/json")
            if path == "/api/events":
                return self._stream()
            if path == "/metrics":
                return self._send(200, dash.metrics_text(), "text/plain; version=0.0.4; charset=utf-8")
            if path == "/healthz":
                return self._send(200, "OK", "text/plain; charset=utf-8")
            self._send(404, "not found", "text/plain; charset=utf-8")

        def _stream(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            version = 0
            try:
                self.wfile.write(b"retry: 2000\n\n")
                while not dash._stop.is_set():  # noqa: SLF001 - same module
                    version, view = dash.wait_newer(version, KEEPALIVE_S)
                    if view is None:
                        self.wfile.write(b": keepalive\n\n")
                    else:
                        self.wfile.write(b"data: " + json.dumps(view, default=str).encode() + b"\n\n")
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the page went away

    return Handler
