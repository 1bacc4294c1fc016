"""Which routes need the basic auth credentials: those OpenFaaS's gateway guards, no more.

The reference is openfaas/faas ``gateway/main.go``: ``auth.DecorateWithBasicAuth`` wraps the
``/system/*`` handlers only; ``/function/...`` and ``/async-function/...`` go to the proxy
undecorated and ``/healthz`` is open. Its forwarding proxy (``gateway/handlers/
forwarding_proxy.go``) copies the request's headers to the function, Authorization included (only
hop-by-hop headers are dropped), and its queued proxy keeps them with the queued request.
``/metrics`` is ours on the main port (upstream serves it on 8082 without auth) and keeps its
basic auth.

A gateway of its own here, serving one handler that answers with the Authorization it was given.
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from .own_gateway import start_gateway

WHO_HANDLER = '''import json


def handle(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"method": event.method, "path": event.path,
                                "authorization": event.headers.get("authorization")})}
'''


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    """(gateway, an authenticated session) with the function ``who`` deployed."""
    gw, session = start_gateway(tmp_path_factory.mktemp("gateway-auth"), "who", WHO_HANDLER)
    yield gw, session
    session.close()
    gw.stop()


# (method, path, JSON body, needs credentials, status once past the auth check). A body that the
# route refuses (400) shows a guarded write got past the check without changing anything.
ROUTES = [
    # main.go: r.HandleFunc("/healthz", ...), no decorator
    pytest.param("GET", "/healthz", None, False, 200, id="healthz-open"),
    # main.go: "/function/{name}", "/function/{name}/", "/function/{name}/{params:.*}" ->
    # functionProxy, never wrapped in DecorateWithBasicAuth
    pytest.param("POST", "/function/who", None, False, 200, id="function-open"),
    pytest.param("GET", "/function/who/", None, False, 200, id="function-slash-open"),
    pytest.param("POST", "/function/who/a/b?x=1", None, False, 200, id="function-params-open"),
    pytest.param("GET", "/function/who.openfaas-fn", None, False, 200, id="function-namespaced-open"),
    pytest.param("POST", "/function/no-such-fn", None, False, 404, id="function-unknown-404-open"),
    # main.go: "/async-function/{name}[/...]" -> faasHandlers.QueuedProxy, not decorated
    pytest.param("POST", "/async-function/who", None, False, 202, id="async-function-open"),
    pytest.param("POST", "/async-function/who/job", None, False, 202, id="async-function-params-open"),
    # main.go: every faasHandlers.* below is wrapped in auth.DecorateWithBasicAuth
    pytest.param("GET", "/system/functions", None, True, 200, id="system-functions-list-guarded"),
    pytest.param("POST", "/system/functions", {}, True, 400, id="system-functions-deploy-guarded"),
    pytest.param("PUT", "/system/functions", {}, True, 400, id="system-functions-update-guarded"),
    pytest.param("DELETE", "/system/functions", {}, True, 400, id="system-functions-delete-guarded"),
    pytest.param("GET", "/system/function/who", None, True, 200, id="system-function-status-guarded"),
    pytest.param("POST", "/system/scale-function/who", {}, True, 400, id="system-scale-guarded"),
    pytest.param("GET", "/system/info", None, True, 200, id="system-info-guarded"),
    # Upstream routes the local gateway does not serve: guarded all the same, then 404.
    pytest.param("GET", "/system/secrets", None, True, 404, id="system-secrets-guarded"),
    pytest.param("GET", "/system/logs", None, True, 404, id="system-logs-guarded"),
    pytest.param("GET", "/system/namespaces", None, True, 404, id="system-namespaces-guarded"),
    pytest.param("POST", "/system/alert", {}, True, 404, id="system-alert-guarded"),
    pytest.param("GET", "/system/telemetry", None, True, 404, id="system-telemetry-guarded"),
    # Not upstream's (its metrics are on port 8082, open): ours on the main port keeps its auth.
    pytest.param("GET", "/metrics", None, True, 200, id="metrics-ours-guarded"),
]

AUTHS = [
    pytest.param(None, id="no-credentials"),
    pytest.param(("admin", "wrong-password"), id="wrong-password"),
    pytest.param(("root", "x"), id="wrong-user"),
    pytest.param("Bearer not-basic", id="not-basic"),
]


def _call(gw, method, path, body, auth):
    headers = {"Authorization": auth} if isinstance(auth, str) else {}
    return requests.request(method, gw.url + path, json=body, headers=headers,
                            auth=auth if isinstance(auth, tuple) else None, timeout=30)


@pytest.mark.parametrize("auth", AUTHS)
@pytest.mark.parametrize("method,path,body,guarded,status", ROUTES)
def test_a_route_needs_credentials_exactly_where_openfaas_asks_for_them(
        gateway, method, path, body, guarded, status, auth):
    gw, _ = gateway
    resp = _call(gw, method, path, body, auth)
    if guarded:
        assert resp.status_code == 401, resp.text
        assert resp.headers["WWW-Authenticate"] == 'Basic realm="Restricted"'
    else:
        assert resp.status_code == status, resp.text


@pytest.mark.parametrize("method,path,body,guarded,status", ROUTES)
def test_with_the_credentials_every_route_answers_as_itself(gateway, method, path, body, guarded,
                                                            status):
    gw, session = gateway
    resp = session.request(method, gw.url + path, json=body, timeout=30)
    assert resp.status_code == status, resp.text


@pytest.mark.parametrize("authorization", [
    pytest.param("Basic d3Jvbmc6d3Jvbmc=", id="wrong-basic"),
    pytest.param("Bearer a-token-for-the-function", id="bearer"),
    pytest.param(None, id="the-gateway-credentials"),
])
def test_a_function_call_passes_the_authorization_header_on_unchecked(gateway, authorization):
    gw, _ = gateway
    authorization = authorization or gw.credentials.header()
    resp = requests.post(f"{gw.url}/function/who/x", headers={"Authorization": authorization},
                         timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"method": "POST", "path": "/x", "authorization": authorization}


def test_a_function_call_without_authorization_reaches_the_function_without_one(gateway):
    gw, _ = gateway
    assert requests.get(f"{gw.url}/function/who", timeout=30).json()["authorization"] is None


class _Callbacks(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        self.received.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_an_async_call_without_credentials_runs_with_its_authorization_header(gateway):
    gw, _ = gateway
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Callbacks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        resp = requests.post(f"{gw.url}/async-function/who/job", timeout=30, headers={
            "Authorization": "Bearer for-the-function",
            "X-Callback-Url": f"http://127.0.0.1:{server.server_address[1]}/done"})
        assert resp.status_code == 202
        deadline = time.monotonic() + 10
        while not _Callbacks.received and time.monotonic() < deadline:
            time.sleep(0.05)
        assert json.loads(_Callbacks.received[0]) == {
            "method": "POST", "path": "/job", "authorization": "Bearer for-the-function"}
    finally:
        server.shutdown()
        server.server_close()
