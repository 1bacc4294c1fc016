"""HTTP adapter for a python3-http handler: the only file in a function that knows about HTTP.

It serves ``function.handler.handle(event, context)`` on a WSGI server (waitress), with the
python3-http Event/Context shapes and response dict, so a handler runs unchanged under the stock
OpenFaaS template. In a container of-watchdog (mode=http) forwards to it on 127.0.0.1:5000; the
local gateway of faas-etl starts it directly with PORT set.

Metrics: when the function is built with etlkit (stack.yml ``configuration.copy``), every call is
counted and timed into ``function/etlkit/metrics.py``'s registry, and ``GET /_/metrics`` serves it
in Prometheus's text format (as ``/_/health``, a path of the adapter, never of the handler).
Without etlkit there is no such path and nothing else changes.

Logs: one access line per call on stderr, in of-watchdog's form (``POST / - 200 OK -
ContentLength: 61B (0.0031s)``, executor/http_runner.go) followed by what the function knows of
the call (its step and record counters, from etlkit/calllog.py), and for a 4xx/5xx a line with
the reason the answer gave (its JSON ``error``). of-watchdog (prefix_logs, its default) writes
them with its time stamp and ``stderr:``, and so does the local gateway: `faas-etl logs <fn>`.
Health probes and metric scrapes are not logged, as of-watchdog skips kube-probe's calls.

Paths and query strings are read as the stock template's Flask reads them: the path's bytes as
UTF-8 (``caf%C3%A9`` is ``café``), a repeated query parameter's first value.

Environment: PORT (5000), BIND_HOST (127.0.0.1), MAX_REQUEST_BYTES (8 MiB; larger bodies get 413),
WORKER_THREADS (4).
"""
import codecs
import gc
import importlib.util
import json
import os
import sys
import time
import traceback
from urllib.parse import parse_qsl, quote

from waitress import serve

from function import handler

MAX_REQUEST_BYTES = int(os.getenv("MAX_REQUEST_BYTES", str(8 * 1024 * 1024)))
METRICS_PATH = "/_/metrics"


def _etlkit_module(module):
    """``function.etlkit.<module>`` (the same module object the handler imported relatively),
    or None for a handler built without etlkit."""
    name = f"function.etlkit.{module}"
    try:
        found = importlib.util.find_spec(name)
    except ImportError:  # no function.etlkit package at all
        return None
    return importlib.import_module(name) if found else None


metrics = _etlkit_module("metrics")
calllog = _etlkit_module("calllog")


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


class _Query(dict):
    """Query parameters as the stock template's ``request.args`` (Werkzeug's MultiDict) gives
    them: ``get`` and ``[]`` answer a repeated parameter's first value, ``getlist`` every one."""

    def __init__(self, pairs):
        super().__init__()
        self._lists = {}
        for name, value in pairs:
            self._lists.setdefault(name, []).append(value)
            self.setdefault(name, value)

    def getlist(self, key):
        return list(self._lists.get(key, ()))


def _requote(error):
    # Werkzeug's "werkzeug.url_quote" error handler: bytes of a percent-escape that are not
    # UTF-8 stay percent-escaped (%FF reads "%FF"), rather than a replacement character.
    return quote(error.object[error.start:error.end]), error.end


codecs.register_error("faas-etl.url_quote", _requote)


def _query_of(environ):
    # Werkzeug 3 (sansio/request.py ``args``): the raw query string read as UTF-8, then
    # parse_qsl with blank values kept and undecodable escapes re-quoted.
    raw = environ.get("QUERY_STRING", "").encode("latin-1").decode("utf-8", "replace")
    return _Query(parse_qsl(raw, keep_blank_values=True, errors="faas-etl.url_quote"))


def _path_of(environ):
    # PEP 3333 hands PATH_INFO over as bytes in latin-1; Werkzeug reads them as UTF-8 (errors
    # replaced) and gives the path one leading slash.
    raw = environ.get("PATH_INFO", "") or ""
    return "/" + raw.encode("latin-1").decode("utf-8", "replace").lstrip("/")


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
    if path == ERRORS_PATH and calllog is not None and environ["REQUEST_METHOD"] == "GET":
        errors = [e.to_dict() for e in calllog.last_errors()]
        return _reply(start_response, 200, json.dumps(errors), {"Content-Type": "application/json"})
    started = time.perf_counter()
    if calllog is not None:
        calllog.begin()
    answer = []

    def recording_start_response(line, headers, exc_info=None):
        answer.append(int(line.split(" ", 1)[0]))
        return start_response(line, headers, exc_info)

    body, reason = [b""], [None]
    try:
        body[0], reason[0] = _serve(environ, recording_start_response)
        return [body[0]]
    finally:
        seconds = time.perf_counter() - started
        status = answer[0] if answer else 500
        if metrics is not None:
            metrics.observe_invocation(status, seconds)
        notes = calllog.finish(status, reason[0], time.time()) if calllog is not None else None
        _log_call(environ, status, len(body[0]), seconds, reason[0], notes)


ERRORS_PATH = "/_/errors"


def _human_size(size):
    # go-units HumanSize, which of-watchdog's access line uses: 4 significant digits, powers
    # of 1000 ("57B", "1.234kB").
    units = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
    size, unit = float(size), 0
    while size >= 1000 and unit < len(units) - 1:
        size, unit = size / 1000, unit + 1
    return f"{size:.4g}{units[unit]}"


def _log_call(environ, status, length, seconds, reason, notes):
    """The call's lines on stderr, each written whole (the worker threads share the stream)."""
    uri = environ.get("PATH_INFO", "/") or "/"
    if environ.get("QUERY_STRING"):
        uri += "?" + environ["QUERY_STRING"]
    # RequestURI is on the wire as ASCII; PATH_INFO came percent-decoded.
    uri = quote(uri.encode("latin-1"), safe="/?&=;:@!$'()*+,~%-._")
    head = f"{environ['REQUEST_METHOD']} {uri} - {status} {_REASONS.get(status, 'Unknown')}"
    line = f"{head} - ContentLength: {_human_size(length)} ({seconds:.4f}s)"
    lines = []
    if notes is not None and notes.step:
        line += f" step={notes.workflow}/{notes.step}" if notes.workflow else f" step={notes.step}"
    if notes is not None and notes.records:
        line += " records " + " ".join(f"{k}={v}" for k, v in notes.records.items())
    lines.append(line)
    if status >= 400:
        lines.append(f"{head} - reason: {reason or 'none given'}")
    if notes is not None:
        lines += [f"{head} - dead letter: {r}" for r in notes.reasons]
        if notes.more_reasons:
            lines.append(f"{head} - dead letters: {notes.more_reasons} more")
    # One line per line of text: a reason with a line break cannot forge a log line.
    try:
        sys.stderr.write("".join(l.replace("\n", "\\n") + "\n" for l in lines))
    except OSError:  # whoever read our output is gone: the call was answered all the same
        pass


def _reason_of(payload, content_type):
    """An error answer's reason: its JSON ``error`` (etlkit.http's shape), else its text."""
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
    if content_type.startswith("application/json"):
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and isinstance(doc.get("error"), str):
            return doc["error"]
    return text[:300] or None


def _serve(environ, start_response):
    """The call answered: ``(body bytes, reason)``, the reason of a 4xx/5xx for the log."""
    body = _read_body(environ)
    if body is None:
        message = f"body: larger than the limit of {MAX_REQUEST_BYTES} bytes"
        return _json_error(start_response, 413, message)[0], message
    event = Event(body=body, headers=_headers_of(environ), method=environ["REQUEST_METHOD"],
                  query=_query_of(environ), path=_path_of(environ))
    try:
        result = handler.handle(event, Context())
    except Exception as exc:  # a handler fault is a 500 for the caller, never a dead worker
        traceback.print_exc(file=sys.stderr)
        return (_json_error(start_response, 500, f"handler raised {type(exc).__name__}")[0],
                f"handler raised {type(exc).__name__}: {exc}")
    if not isinstance(result, dict):
        result = {"statusCode": 200, "body": result}
    payload, content_type = _format_body(result.get("body"))
    headers = dict(result.get("headers") or {})
    if content_type and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = content_type
    status = int(result.get("statusCode", 200))
    (data,) = _reply(start_response, status, payload, headers)
    if status < 400:
        return data, None
    given = next((str(v) for k, v in headers.items() if k.lower() == "content-type"), "")
    return data, _reason_of(data, given)


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
