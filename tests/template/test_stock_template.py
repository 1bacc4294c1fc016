"""A handler answers the same under our template and under the stock python3-http template
(tests/template/stock_index.py, a stand-in of openfaas/python-flask-template e01a882
template/python3-http/index.py): bad input is a 400 naming the field under both, never the
stock template's HTML 500 page; a path and a query string reach the handler as the same values.
Real processes, real HTTP; no Kafka (every input here is refused before a record is made)."""
import json
import pathlib
import shutil
import subprocess
import sys

import pytest
import requests

from devstack.ports import free_port, wait_for_port
from devstack.shrinkwrap import build_context
from devstack.stackfile import load_stack

REPO = pathlib.Path(__file__).resolve().parents[2]
TEMPLATES = ("ours", "stock")
FUNCTIONS = ("filter", "sql-source", "warehouse-loader", "workflow-manager", "schema-registry")
ECHO = '''
import json


def handle(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"path": event.path, "a": event.query.get("a"),
                                "all": event.query.getlist("a"), "b": event.query.get("b")})}
'''


def _start(build, tmp, procs):
    port = free_port()
    env = {"PORT": str(port), "PATH": "/usr/bin", "STATE_URL": f"sqlite:///{tmp}/state.db",
           "WAREHOUSE_URL": f"sqlite:///{tmp}/warehouse.db", "RUN_BACKEND": "local",
           "FAAS_ETL_RUN_DIR": str(tmp / "run"), "EMPTY_URL": ""}
    procs.append(subprocess.Popen([sys.executable, "index.py"], cwd=build, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return port


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """{(template, function): URL} for every function here and an echo handler, both ways."""
    tmp = tmp_path_factory.mktemp("templates")
    stack = load_stack(REPO / "stack.yml")
    procs, ports = [], {}
    for template in TEMPLATES:
        for fn in FUNCTIONS:
            build = build_context(stack, stack.functions[fn], tmp / template)
            if template == "stock":
                shutil.copy(REPO / "tests" / "template" / "stock_index.py", build / "index.py")
            ports[(template, fn)] = _start(build, tmp, procs)
        echo = tmp / template / "echo"
        shutil.copytree(REPO / "template" / "python3-etl", echo)
        (echo / "function" / "handler.py").write_text(ECHO)
        if template == "stock":
            shutil.copy(REPO / "tests" / "template" / "stock_index.py", echo / "index.py")
        ports[(template, "echo")] = _start(echo, tmp, procs)
    try:
        for (_t, _f), port in ports.items():
            wait_for_port("127.0.0.1", port, 60)
        yield {key: f"http://127.0.0.1:{port}" for key, port in ports.items()}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)


def _step(kind, **fields):
    return {"workflow": "w", "version": 1, "step": {"kind": kind, "name": "s", **fields},
            "event": {"topic": "t", "key": "k", "partition": 0, "body": {"n": 1},
                      "timestamp": "2026-01-02T03:04:05Z", "headers": {}}}


def _sql(**fields):
    return {"workflow": "w", "version": 1, "event": {},
            "source": {"kind": "sql", "name": "s", "topic": "t",
                       "params": {"source": "s", "table": "t", "cursor": "id"}, **fields}}


FILTER = {"kind": "filter", "condition": "n > 0", "output": "o", "dead_letter": "d"}
SINK = {"table": "t", "key": "id", "dead_letter": "d"}
# (id, function, method, path, body, status, the field the error names)
BAD = [
    ("version-arabic-indic-digit", "filter", "POST", "/", {**_step(**FILTER), "version": "٣"}, 400, "version"),
    ("version-superscript-two", "filter", "POST", "/", {**_step(**FILTER), "version": "²"}, 400, "version"),
    ("version-negative", "filter", "POST", "/", {**_step(**FILTER), "version": -1}, 400, "version"),
    ("workflow-a-list", "filter", "POST", "/", {**_step(**FILTER), "workflow": ["w"]}, 400, "workflow"),
    ("sql-version-arabic-indic-digit", "sql-source", "POST", "/", {**_sql(), "version": "٣"}, 400, "version"),
    ("sql-url-null", "sql-source", "POST", "/", _sql(url=None), 400, "source.url"),
    ("sql-url-not-a-url", "sql-source", "POST", "/", _sql(url="hello"), 400, "source.url"),
    ("sql-url-a-list", "sql-source", "POST", "/", _sql(url=["sqlite:///x.db"]), 400, "source.url"),
    ("sink-url-a-list", "warehouse-loader", "POST", "/", _step("sink", **SINK, url=["a"]), 400, "step.url"),
    ("sink-url-a-number", "warehouse-loader", "POST", "/", _step("sink", **SINK, url=5), 400, "step.url"),
    ("sink-version-arabic-indic-digit", "warehouse-loader", "POST", "/",
     {**_step("sink", **SINK), "version": "٣"}, 400, "version"),
    ("manager-version-superscript", "workflow-manager", "GET", "/workflows/x?version=²", None, 400, "version"),
    ("manager-version-arabic-indic", "workflow-manager", "GET", "/workflows/x?version=٣", None, 400, "version"),
    ("manager-expected-version-fullwidth", "workflow-manager", "DELETE",
     "/workflows/x?expected_version=１", None, 400, "expected_version"),
    ("registry-version-superscript", "schema-registry", "GET", "/subjects/x/versions/²", None, 400, "version"),
]


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input_is_a_400_naming_the_field(served, template, case):
    _id, fn, method, path, body, status, field = case
    resp = requests.request(method, served[(template, fn)] + path, timeout=30,
                            data=None if body is None else json.dumps(body).encode())
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    assert json.loads(resp.text)["error"].startswith(f"{field}: ")


@pytest.mark.parametrize("template", TEMPLATES)
def test_a_url_variable_naming_nothing_is_the_deployments_fault(served, template):
    resp = requests.post(served[(template, "warehouse-loader")], timeout=30,
                         data=json.dumps(_step("sink", **SINK, url="env:EMPTY_URL")))
    assert resp.status_code == 500 and resp.json()["error"].startswith("step.url: env:EMPTY_URL")


# (id, request path and query) sent to both templates' echo handler
REQUESTS = [("non-ascii-path", "/caf%C3%A9"), ("repeated-parameter", "/?a=1&a=2"),
            ("utf8-parameter", "/x?a=caf%C3%A9&b="), ("invalid-utf8-escape", "/x?a=%FF"),
            ("plus-is-space", "/x?a=a+b"), ("double-slash", "//x//y"), ("encoded-slash", "/a%2Fb")]


@pytest.mark.parametrize("target", [r[1] for r in REQUESTS], ids=[r[0] for r in REQUESTS])
def test_our_template_reads_paths_and_queries_as_the_stock_one(served, target):
    seen = {t: requests.get(served[(t, "echo")] + target, timeout=30).json() for t in TEMPLATES}
    assert seen["ours"] == seen["stock"]


def test_what_the_stock_template_reads(served):
    """The stand-in's own reading, checked by hand (Werkzeug 3: UTF-8 path, first value)."""
    get = lambda target: requests.get(served[("stock", "echo")] + target, timeout=30).json()  # noqa: E731
    assert get("/caf%C3%A9")["path"] == "/café"
    assert get("/?a=1&a=2") == {"path": "/", "a": "1", "all": ["1", "2"], "b": None}
    assert get("/x?a=%FF")["a"] == "%FF"


def test_a_handler_crash_is_htmls_500_under_the_stock_template_only(served):
    """Why the handlers must never raise: the stock template answers Flask's HTML page."""
    body = json.dumps(_step(**FILTER)).encode()  # valid, and there is no Kafka: the handler raises
    stock = requests.post(served[("stock", "filter")], data=body, timeout=30)
    ours = requests.post(served[("ours", "filter")], data=body, timeout=30)
    assert stock.status_code == 500 and stock.headers["Content-Type"].startswith("text/html")
    assert ours.status_code == 500 and ours.json()["error"].startswith("handler raised")
