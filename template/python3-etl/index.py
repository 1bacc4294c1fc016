"""HTTP adapter for a python3-http handler: the only file in a function that knows about HTTP.

It serves ``function.handler.handle(event, context)`` on a WSGI server (waitress), with the
python3-http Event/Context shapes and response dict, so a handler runs unchanged under the stock
OpenFaaS template. In a container of-watchdog (mode=http) forwards to it on 127.0.0.1:5000; the
local gateway of faas-etl starts it directly with PORT set.

Metrics: when the function is built with etlkit (stack.yml ``configuration.copy``), every call is
counted and timed into ``function/etlkit/metrics.py``'s registry, and ``GET /_/metrics`` serves it
in Prometheus's text format (as ``/_/health``, a path of the adapter, never of the handler).
Without etlkit there is no such path and nothing else changes.

Environment: PORT (5000), BIND_HOST (127.0.0.1), MAX_REQUEST_BYTES (8 MiB; larger bodies get 413),
WORKER_THREADS (4).
"""
import gc
import importlib.util
import json
import os
import sys
import time
import traceback
from urllib.parse import parse_qsl

from waitress import serve

from function import handler

MAX_REQUEST_BYTES = int(os.getenv("MAX_REQUEST_BYTES", str(8 * 1024 * 1024)))
METRICS_PATH = "/_/metrics"


def _metrics_of_handler():
    """The registry module the handler's etlkit counts into (the same module object the handler
    imported relatively), or None for a handler built without etlkit."""
    name = "function.etlkit.metrics"
    try:
        found = importlib.util.find_spec(name)
    except ImportError:  # no function.etlkit package at all
        return None
    return importlib.import_module(name) if found else None


metrics = _metrics_of_handler()


class Event:
    """What a handler sees of the request (python3-http's Event)."""

    def __init__(self, body, headers, method, query, path):
        self.body = body
        self.headers = headers
        self.method = method
        self.query = query
        self.path = path


class Context:
    """What a handler sees of where it runs (python3-http's Context)."""

    def __init__(self):
        self.hostname = os.getenv("HOSTNAME", "localhost")


class _Headers(dict):
    """Request headers with case-insensitive get, like Werkzeug's EnvironHeaders."""

    def get(self, key, default=None):
        return super().get(key.lower(), default)

    def __getitem__(self, key):
        return super().__getitem__(key.lower())

    def __contains__(self, key):
        return super().__contains__(key.lower())


def _headers_of(environ):
    headers = _Headers()
    for name, value in environ.items():
        if name.startswith("HTTP_"):
            headers[name[5:].replace("_", "-").lower()] = value
    for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(name):
            headers[name.replace("_", "-").lower()] = environ[name]
    return headers


def _reply(start_response, status, body, headers=None):
    if isinstance(body, str):
        body = body.encode("utf-8")
    header_list = [(k, str(v)) for k, v in (headers or {}).items()]
    if not any(k.lower() == "content-type" for k, _ in header_list):
        header_list.append(("Content-Type", "text/plain; charset=utf-8"))
    header_list.append(("Content-Length", str(len(body))))
    reason = _REASONS.get(status, "Unknown")
    start_response(f"{status} {reason}", header_list)
    return [body]


_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request",
            401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            409: "Conflict", 413: "Payload Too Large", 422: "Unprocessable Entity",
            429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable", 504: "Gateway Timeout"}


def _json_error(start_response, status, message):
    return _reply(start_response, status, json.dumps({"error": message}),
                  {"Content-Type": "application/json"})


def _read_body(environ):
    """The body, or None when it is larger than MAX_REQUEST_BYTES (read no further than that)."""
    length = environ.get("CONTENT_LENGTH")
    if length and int(length) > MAX_REQUEST_BYTES:
        return None
    data = environ["wsgi.input"].read(MAX_REQUEST_BYTES + 1)
    return None if len(data) > MAX_REQUEST_BYTES else data


def _format_body(body):
    # A dict body is JSON, like the stock template; text and bytes pass through.
    if isinstance(body, dict):
        return json.dumps(body), "application/json"
    if body is None:
        return b"", None
    if isinstance(body, (bytes, str)):
        return body, None
    return str(body), None


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/") or "/"
    if path in ("/_/health", "/_/ready"):
        return _reply(start_response, 200, "OK")
    if path == METRICS_PATH and metrics is not None and environ["REQUEST_METHOD"] == "GET":
        return _reply(start_response, 200, metrics.render(), {"Content-Type": metrics.CONTENT_TYPE})
    if metrics is None:
        return _serve(environ, start_response)
    started = time.perf_counter()
    status = []

    def recording_start_response(line, headers, exc_info=None):
        status.append(int(line.split(" ", 1)[0]))
        return start_response(line, headers, exc_info)

    try:
        return _serve(environ, recording_start_response)
    finally:
        metrics.observe_invocation(status[0] if status else 500, time.perf_counter() - started)


def _serve(environ, start_response):
    path = environ.get("PATH_INFO", "/") or "/"
    body = _read_body(environ)
    if body is None:
        return _json_error(start_response, 413,
                           f"body: larger than the limit of {MAX_REQUEST_BYTES} bytes")
    event = Event(body=body, headers=_headers_of(environ), method=environ["REQUEST_METHOD"],
                  query=dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)),
                  path=path)
    try:
        result = handler.handle(event, Context())
    except Exception as exc:  # a handler fault is a 500 for the caller, never a dead worker
        traceback.print_exc(file=sys.stderr)
        return _json_error(start_response, 500, f"handler raised {type(exc).__name__}")
    if not isinstance(result, dict):
        result = {"statusCode": 200, "body": result}
    payload, content_type = _format_body(result.get("body"))
    headers = dict(result.get("headers") or {})
    if content_type and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = content_type
    return _reply(start_response, int(result.get("statusCode", 200)), payload, headers)


if __name__ == "__main__":
    # What is loaded by now (the handler, its libraries, waitress) lives as long as the process:
    # frozen, the collector never scans it again. A call allocates thousands of containers that
    # live as long as the call and are freed by reference counting; collecting every 700 of them
    # (the default) would scan each batch's records over and over to find cycles they do not
    # make, so the young generation is let grow to 50 000.
    gc.freeze()
    gc.set_threshold(50_000, 10, 10)
    serve(app, host=os.getenv("BIND_HOST", "127.0.0.1"), port=int(os.getenv("PORT", "5000")),
          threads=int(os.getenv("WORKER_THREADS", "4")), ident="faas-etl",
          # Our own limit answers 413 with a JSON message; waitress's would cut the connection.
          max_request_body_size=MAX_REQUEST_BYTES * 4 + 1024,
          # A batch body is a few hundred KiB: read in 64 KiB pieces, not waitress's 8 KiB (each
          # piece is a turn of its Python loop) nor 128 KiB and more, which malloc serves with a
          # fresh mmap per read: 150 KB took 165 us of CPU in 256 KiB pieces, 125 in 64 KiB.
          recv_bytes=64 * 1024, _quiet=True)
