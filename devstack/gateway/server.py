"""The HTTP face of the local gateway: OpenFaaS's API, so clients cannot tell it apart.

Routes: /function/<name>[/path], /async-function/<name>[/path], /system/functions (GET, POST, PUT,
DELETE), /system/function/<name>, /system/scale-function/<name>, /system/info, /healthz, /metrics.

Basic auth guards what OpenFaaS's gateway guards, no more (openfaas/faas ``gateway/main.go``: its
router and the handlers it wraps in ``auth.DecorateWithBasicAuth``):

* ``/system/*`` needs the credentials, as upstream's functions, function, scale-function, info,
  secrets, logs, namespaces, alert and telemetry handlers do (those we do not serve answer 404
  once authenticated).
* ``/function/<name>[/...]`` and ``/async-function/<name>[/...]`` need none: upstream routes them
  to the proxy undecorated, so an Argo Events Sensor calls ``http://gateway.openfaas:8080/function/
  filter`` without credentials. An Authorization header on such a call is not checked; it goes on
  to the function like any other header, as upstream's forwarding proxy and queued proxy pass the
  request's headers on (``gateway/handlers/forwarding_proxy.go`` drops only hop-by-hop ones).
* ``/healthz`` is open (probes carry no credentials).
* ``/metrics`` is ours, not upstream's: OpenFaaS serves its metrics on a second port, 8082, with
  no auth, and has no ``/metrics`` on 8080. Ours stays on the main port behind basic auth, as
  before, for the dashboard and ``faas-etl status`` that read it there with the credentials.

``edition="ce"`` makes it answer the calls an autoscaler makes as OpenFaaS Community Edition
does (the CE stand-in; tests/devstack/gateway/test_ce_edition.py holds each rule to its upstream
source): ``POST /system/scale-function/<name>`` raises a count below 1 to 1 and lowers one above
5 to 5 (openfaas/faas 0.27.14 ``gateway/scaling/ranges.go``), then answers as faas-netes 0.18.17
``pkg/handlers/replica_updater.go`` does (namespace from the query, 202 with no body, 500 for
an unknown function, 400 for a body that is not JSON); ``GET /system/function/<name>`` lists no
instances and answers an unknown function 404 with no body (``replica_reader.go``); an update
(``PUT /system/functions``) sets the replicas to ``com.openfaas.scale.min`` when the function
has that label (``update.go``), where the local edition keeps the current count.

A restart (``stop(keep_replicas=True)``, then ``successor().start()``) keeps the workers running,
as restarting OpenFaaS's gateway leaves the function pods alone: calls in flight get their
answers, idle keep-alive connections close, and the new gateway serves the same replicas.
"""
from __future__ import annotations

import http.client
import json
import pathlib
import queue
import re
import socket
import sys
import threading
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import requests

from ..topology import Topology
from .auth import Credentials
from .headers import read_headers
from .metrics import GatewayMetrics
from .replicas import NAMESPACE, Deployment, DeployError, ReplicaSet

MAX_BODY_BYTES = 32 * 1024 * 1024
CE_MAX_REPLICAS = 5  # faas-netes MaxReplicas (pkg/handlers/replica_reader.go)
EDITIONS = ("local", "ce")
UPSTREAM_TIMEOUT = 60.0
BUILD_ANNOTATION = "faas-etl.dev/build"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Not forwarded either way. Authorization is not among them: OpenFaaS passes it on to the function.
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
               "trailers", "transfer-encoding", "upgrade", "content-length", "host", "date",
               "server"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request, client_address):
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def end_connections(self) -> None:
        """Let every open connection end after its current request, as a server that exits
        gracefully does: shutting the read side wakes an idle keep-alive connection with EOF
        (it closes at once), while a request in flight still writes its answer."""
        with self._open_lock:
            connections = list(self._open)
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RD)
            except OSError:  # closed meanwhile
                pass


class LocalGateway:
    """Serve the OpenFaaS gateway API on 127.0.0.1, backed by worker processes."""

    def __init__(self, build_root: pathlib.Path, topology: Topology, credentials: Credentials,
                 secrets_dir: pathlib.Path, base_env: dict[str, str], log_dir: pathlib.Path,
                 port: int = 0, host: str = "127.0.0.1", async_workers: int = 4,
                 replicas: ReplicaSet | None = None, edition: str = "local"):
        """``replicas``: the running workers of a gateway stopped with ``keep_replicas`` (a
        restart); None starts an empty set. ``edition``: "local", or "ce" to answer the
        autoscaler's calls as OpenFaaS Community Edition does (see the module docstring)."""
        if edition not in EDITIONS:
            raise ValueError(f"edition: must be one of {', '.join(EDITIONS)}, not {edition!r}")
        self.edition = edition
        self.build_root = pathlib.Path(build_root)
        self.credentials = credentials
        self.secrets_dir = secrets_dir
        self.metrics = GatewayMetrics()
        self.replicas = replicas if replicas is not None else ReplicaSet(topology, base_env, log_dir)
        self._async: queue.Queue = queue.Queue()
        self._httpd = _Server((host, port), _make_handler(self))
        self._threads = [threading.Thread(target=self._httpd.serve_forever, name="gateway",
                                          daemon=True)]
        self._threads += [threading.Thread(target=self._async_loop, name=f"async-{i}", daemon=True)
                          for i in range(async_workers)]

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "LocalGateway":
        for t in self._threads:
            t.start()
        return self

    def stop(self, keep_replicas: bool = False) -> None:
        """Stop serving: no new connection, requests in flight finish, idle connections close.

        ``keep_replicas`` leaves the workers running for a gateway started next with
        ``replicas=`` this one's: restarting the OpenFaaS gateway does not touch the function
        pods, so a restart here must not either. Otherwise the workers are stopped too.
        """
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.end_connections()
        for _ in self._threads[1:]:
            self._async.put(None)
        if not keep_replicas:
            self.replicas.close()

    def successor(self) -> "LocalGateway":
        """A new gateway on this one's address, build folder and credentials, serving the same
        workers: what a restart starts once ``stop(keep_replicas=True)`` returned."""
        host, port = self._httpd.server_address[:2]
        return LocalGateway(self.build_root, self.replicas.topology, self.credentials,
                            self.secrets_dir, self.replicas.base_env, self.replicas.log_dir,
                            port=port, host=host, async_workers=len(self._threads) - 1,
                            replicas=self.replicas, edition=self.edition)

    # -- deployments -----------------------------------------------------------------------
    def deployment_from_request(self, doc: object) -> Deployment:
        if not isinstance(doc, dict):
            raise DeployError("body: must be a JSON object (a FunctionDeployment)")
        service = doc.get("service")
        if not isinstance(service, str) or not _NAME.match(service):
            raise DeployError("service: required, lowercase letters, digits and '-' "
                              "(^[a-z0-9]([-a-z0-9]*[a-z0-9])?$)")
        if not isinstance(doc.get("image"), str) or not doc["image"]:
            raise DeployError("image: required string")
        for key in ("envVars", "labels", "annotations", "limits", "requests"):
            value = doc.get(key) or {}
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise DeployError(f"{key}: must map strings to strings")
        annotations = doc.get("annotations") or {}
        build_dir = self.build_root / annotations.get(BUILD_ANNOTATION, service)
        if not (build_dir / "index.py").is_file():
            raise DeployError(f"image: no build context at {build_dir} (run `faas-etl build`)")
        for secret in doc.get("secrets") or []:
            if not (self.secrets_dir / secret).is_file():
                raise DeployError(f"secrets: secret {secret!r} not found")
        labels = doc.get("labels") or {}
        replicas = labels.get("com.openfaas.scale.min", "1")
        return Deployment(service=service, image=doc["image"], build_dir=build_dir,
                          env_vars=dict(doc.get("envVars") or {}), labels=dict(labels),
                          annotations=dict(annotations), secrets=list(doc.get("secrets") or []),
                          constraints=list(doc.get("constraints") or []),
                          limits=dict(doc.get("limits") or {}),
                          requests=dict(doc.get("requests") or {}),
                          namespace=doc.get("namespace") or NAMESPACE,
                          replicas=max(0, int(replicas)))

    def function_status(self, name: str) -> dict | None:
        d = self.replicas.deployments.get(name)
        if d is None:
            return None
        ready = self.replicas.ready_workers(name)
        status = d.status()
        status.update(replicas=d.replicas, availableReplicas=len(ready),
                      invocationCount=self.metrics.invocations(f"{name}.{NAMESPACE}"))
        if self.edition == "local":
            # Not in OpenFaaS's schema: where each replica runs, for placement locally.
            status["instances"] = [w.describe() for w in ready]
        return status

    # -- invocation ------------------------------------------------------------------------
    def invoke(self, name: str, method: str, path: str, body: bytes,
               headers: dict[str, str], call_id: str) -> tuple[int, list[tuple[str, str]], bytes]:
        start = time.perf_counter()
        if name not in self.replicas.deployments:
            code, out_headers, data = 404, [], f"error finding function {name}: not found".encode()
        else:
            fwd = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
            fwd.update({"X-Call-Id": call_id, "X-Start-Time": str(time.time_ns())})
            code, out_headers, data = 503, [], f"no replica of {name} became ready".encode()
            for _attempt in range(2):  # a replica that just died is skipped once
                worker = self.replicas.pick(name)
                if worker is None:
                    break
                worker.inflight += 1
                try:
                    code, out_headers, data = worker.request(method, path, body, fwd,
                                                             UPSTREAM_TIMEOUT)
                    break
                except OSError as exc:
                    code, out_headers = 502, []
                    data = f"Can't reach service for: {name}.{NAMESPACE} ({exc})".encode()
                finally:
                    worker.inflight -= 1
        seconds = time.perf_counter() - start
        self.metrics.observe(f"{name}.{NAMESPACE}", code, seconds)
        out = [(k, v) for k, v in out_headers if k.lower() not in _HOP_BY_HOP]
        out += [("X-Call-Id", call_id), ("X-Duration-Seconds", f"{seconds:.6f}")]
        return code, out, data

    def enqueue_async(self, item: tuple) -> None:
        self._async.put(item)

    def _async_loop(self) -> None:
        while (item := self._async.get()) is not None:
            name, method, path, body, headers, call_id, callback = item
            code, out_headers, data = self.invoke(name, method, path, body, headers, call_id)
            if not callback:
                continue
            cb_headers = {k: v for k, v in out_headers}
            cb_headers.update({"X-Call-Id": call_id, "X-Function-Status": str(code),
                               "X-Function-Name": name})
            try:
                requests.post(callback, data=data, headers=cb_headers, timeout=10)
            except requests.RequestException as exc:
                print(f"async {call_id}: callback to {callback} failed: {exc}", file=sys.stderr)


def _make_handler(gw: LocalGateway):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "faas-etl-gateway"
        # A large body goes out in a send of its own after the headers: with Nagle on, the
        # client's delayed ACK would stall such a keep-alive response by ~40 ms.
        disable_nagle_algorithm = True
        # Buffered, so the headers and a small body leave in one send (6 us less CPU a call);
        # http.server flushes after each request.
        wbufsize = 64 * 1024

        def handle_expect_100(self) -> bool:
            super().handle_expect_100()
            self.wfile.flush()  # the client waits for this before it sends the body
            return True

        def log_message(self, *args) -> None:  # quiet: metrics say what happened
            pass

        def parse_request(self) -> bool:
            """http.server's parse_request with the header block read by ``read_headers``
            (the email package's parser costs 10 us a request). A request line that is not
            plain HTTP/1.x goes to http.server's own, errors and all."""
            requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
            words = requestline.split()
            if len(words) != 3 or words[2] not in ("HTTP/1.1", "HTTP/1.0"):
                return super().parse_request()
            self.requestline = requestline
            self.command, self.path, self.request_version = words
            self.close_connection = True  # until the request is read
            if self.path.startswith("//"):  # http.server's guard against open redirects
                self.path = "/" + self.path.lstrip("/")
            try:
                self.headers = read_headers(self.rfile)
            except http.client.LineTooLong as err:
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long", str(err))
                return False
            except http.client.HTTPException as err:
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers", str(err))
                return False
            connection = (self.headers.get("Connection") or "").lower()
            self.close_connection = connection == "close" or (
                self.request_version == "HTTP/1.0" and connection != "keep-alive")
            if ((self.headers.get("Expect") or "").lower() == "100-continue"
                    and self.request_version == "HTTP/1.1"):
                return self.handle_expect_100()
            return True

        def _send(self, code: int, body: bytes | str = b"", headers=(),
                  content_type: str | None = "text/plain; charset=utf-8") -> None:
            if isinstance(body, str):
                body = body.encode()
            self.send_response(code)
            names = {k.lower() for k, _ in headers}
            for k, v in headers:
                self.send_header(k, v)
            if content_type and "content-type" not in names:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, code: int, doc: object) -> None:
            self._send(code, json.dumps(doc), content_type="application/json")

        def _body(self) -> bytes | None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                return None
            return self.rfile.read(length) if length else b""

        def _route(self) -> None:
            path, _, query = self.path.partition("?")
            if path == "/healthz":
                return self._send(200, "OK")
            if _needs_credentials(path) and not gw.credentials.check(self.headers.get("Authorization")):
                self._drain()
                return self._send(401, "Unauthorized", [("WWW-Authenticate", 'Basic realm="Restricted"')])
            body = self._body()
            if body is None:
                self.close_connection = True
                return self._send(413, f"body: larger than the gateway limit of {MAX_BODY_BYTES} bytes")
            if len(body) < int(self.headers.get("Content-Length") or 0):
                # The connection ended mid-body (a client gone, or the gateway stopping): never
                # forward half a body, which a function would answer as bad input, not a fault.
                self.close_connection = True
                return None
            parts = path.strip("/").split("/")
            try:
                if parts[0] in ("function", "async-function") and len(parts) >= 2 and parts[1]:
                    return self._invoke(parts, query, body)
                if path == "/metrics" and self.command == "GET":
                    return self._send(200, gw.metrics.render(gw.replicas.replica_counts(),
                                                             gw.replicas.per_node()),
                                      content_type="text/plain; version=0.0.4")
                if parts[0] == "system":
                    return self._system(parts[1:], body, query)
            except DeployError as exc:
                return self._send(400, str(exc))
            self._send(404, "404 page not found")

        def _drain(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if 0 < length <= MAX_BODY_BYTES:
                self.rfile.read(length)
            elif length:
                self.close_connection = True

        def _invoke(self, parts: list[str], query: str, body: bytes) -> None:
            name = parts[1].split(".")[0]  # "fn.namespace" addresses the same function
            sub = "/" + "/".join(parts[2:]) + (f"?{query}" if query else "")
            call_id = self.headers.get("X-Call-Id") or str(uuid.uuid4())
            headers = dict(self.headers.items())
            if parts[0] == "async-function":
                if self.command != "POST":
                    return self._send(405, "async invocations are POST")
                if name not in gw.replicas.deployments:
                    return self._send(404, f"error finding function {name}: not found")
                gw.enqueue_async((name, "POST", sub, body, headers, call_id,
                                  self.headers.get("X-Callback-Url")))
                return self._send(202, b"", [("X-Call-Id", call_id)], content_type=None)
            code, out_headers, data = gw.invoke(name, self.command, sub, body, headers, call_id)
            self._send(code, data, out_headers, content_type=None if any(
                k.lower() == "content-type" for k, _ in out_headers) else "text/plain; charset=utf-8")

        def _system_ce(self, parts: list[str], method: str, body: bytes, query: str) -> None:
            """The two calls of an autoscaler, answered as OpenFaaS CE answers them (codes and
            bodies of the upstream handlers named in the module docstring)."""
            name = parts[1]
            namespace = parse_qs(query).get("namespace", [""])[0]
            if namespace and namespace != NAMESPACE:
                return self._send(400, f"namespace must be: {NAMESPACE}\n")
            if parts[0] == "function":
                if method != "GET":
                    return self._send(405, "405 method not allowed")
                status = gw.function_status(name)
                return self._json(200, status) if status else self._send(404, b"", content_type=None)
            if method != "POST":
                return self._send(405, "Only POST is allowed\n")
            try:
                doc = json.loads(body)
            except ValueError:
                doc = None
            # Go decodes "replicas" into a uint64: a missing one is 0, anything but a whole
            # number >= 0 (or null) fails the decoding.
            replicas = doc.get("replicas", 0) if isinstance(doc, dict) else None
            replicas = 0 if replicas is None and isinstance(doc, dict) else replicas
            if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
                return self._send(400, "Error unmarshalling request body\n")
            replicas = min(max(replicas, 1), CE_MAX_REPLICAS)
            if name not in gw.replicas.deployments:
                return self._send(500, f"Unable to lookup function deployment {name}")
            gw.replicas.scale(name, replicas)
            return self._send(202, b"", content_type=None)

        def _system(self, parts: list[str], body: bytes, query: str = "") -> None:
            method = self.command
            if parts == ["functions"]:
                if method == "GET":
                    return self._json(200, [gw.function_status(n) for n in sorted(gw.replicas.deployments)])
                doc = _load_json(body)
                if method in ("POST", "PUT"):
                    d = gw.deployment_from_request(doc)
                    exists = d.service in gw.replicas.deployments
                    if method == "PUT" and not exists:
                        return self._send(404, f"function {d.service} not found")
                    if method == "PUT" and not (gw.edition == "ce"
                                                and "com.openfaas.scale.min" in d.labels):
                        # Locally an update keeps the current scale; faas-netes keeps it only
                        # when the function has no com.openfaas.scale.min label.
                        d.replicas = gw.replicas.deployments[d.service].replicas
                    gw.replicas.apply(d)
                    return self._send(202, "")
                if method == "DELETE":
                    name = doc.get("functionName") if isinstance(doc, dict) else None
                    if not isinstance(name, str) or not name:
                        raise DeployError("functionName: required string")
                    if name not in gw.replicas.deployments:
                        return self._send(404, f"function {name} not found")
                    gw.replicas.remove(name)
                    return self._send(202, "")
                return self._send(405, "method not allowed")
            if gw.edition == "ce" and len(parts) == 2 and parts[0] in ("function", "scale-function"):
                return self._system_ce(parts, method, body, query)
            if len(parts) == 2 and parts[0] == "function" and method == "GET":
                status = gw.function_status(parts[1])
                return self._json(200, status) if status else self._send(404, f"function {parts[1]} not found")
            if len(parts) == 2 and parts[0] == "scale-function" and method == "POST":
                doc = _load_json(body)
                replicas = doc.get("replicas") if isinstance(doc, dict) else None
                if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
                    raise DeployError("replicas: required whole number >= 0")
                if parts[1] not in gw.replicas.deployments:
                    return self._send(404, f"function {parts[1]} not found")
                gw.replicas.scale(parts[1], replicas)
                return self._send(202, "")
            if parts == ["info"] and method == "GET":
                return self._json(200, {"provider": {"provider": "faas-etl-local",
                                                      "orchestration": "processes",
                                                      "version": {"release": "0.1.0"}},
                                         "version": {"release": "0.1.0"}, "arch": "x86_64"})
            self._send(404, "404 page not found")

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _route

    return Handler


def _needs_credentials(path: str) -> bool:
    """Whether a request to ``path`` must carry the basic auth credentials: ``/system/*`` (as
    OpenFaaS's gateway) and our ``/metrics``; function calls, ``/healthz`` and unknown paths
    (404 upstream, from its router) need none. Decided on the first segment as ``_route``
    routes, so no spelling of a /system path reaches ``_system`` without the check."""
    return path.strip("/").split("/")[0] == "system" or path == "/metrics"


def _load_json(body: bytes) -> object:
    try:
        return json.loads(body or b"null")
    except ValueError as exc:
        raise DeployError(f"body: not valid JSON ({exc})") from None
