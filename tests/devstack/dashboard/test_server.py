"""The dashboard's HTTP server over a stand-in source: the page and its files, the JSON
snapshot, the event stream and /metrics, on a real loopback socket."""
import json

import pytest
import requests

from devstack.dashboard.config import DashboardConfig
from devstack.dashboard.scrape import FunctionState, Instance, Scrape, TopicState, WatchList
from devstack.dashboard.server import Dashboard

WATCH = WatchList(workflows=("orders",), topics=("raw",), groups={"raw": ("g",)})


class CountingSource:
    """Each round the topic holds 10 more records; the page's data is the rounds' data."""

    def __init__(self):
        self.rounds, self.closed = 0, False

    def collect(self, now=None):
        self.rounds += 1
        return Scrape(now, (FunctionState("filter", 1, 1, (Instance("filter-1", "node-a"),)),),
                      topics={"raw": TopicState("raw", {0: 10 * self.rounds}, {0: 0}, {"g": {0: 0}})})

    def close(self):
        self.closed = True


@pytest.fixture
def dashboard():
    source = CountingSource()
    config = DashboardConfig(gateway_url="http://127.0.0.1:9", port=0, interval_s=0.05)
    dash = Dashboard(config, WATCH, source).start()
    yield dash
    dash.stop()
    assert source.closed


def _first_round(dash):
    version, view = dash.wait_newer(0, timeout=30)
    assert view is not None, "no round published"
    return version


@pytest.mark.parametrize("path,kind,needle", [
    ("/", "text/html", "<title>faas-etl dashboard</title>"),
    ("/dashboard.js", "text/javascript", "new EventSource(\"/api/events\")"),
    ("/dashboard.css", "text/css", ".tiles"),
], ids=["page", "script", "style"])
def test_the_page_and_its_files(dashboard, path, kind, needle):
    resp = requests.get(dashboard.url + path, timeout=10)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith(kind)
    assert needle in resp.text


def test_the_snapshot_holds_the_latest_round_and_its_history(dashboard):
    _first_round(dashboard)
    snap = requests.get(dashboard.url + "/api/snapshot", timeout=10).json()
    (topic,) = snap["topics"]
    assert topic["name"] == "raw" and topic["records"] % 10 == 0 and topic["backlog"] == topic["records"]
    assert snap["series"] and snap["series"][-1]["t"] == snap["at"]
    assert snap["functions"][0]["nodes"] == {"node-a": 1}


def test_the_event_stream_sends_each_new_round(dashboard):
    _first_round(dashboard)
    seen = []
    with requests.get(dashboard.url + "/api/events", stream=True, timeout=30) as resp:
        assert resp.headers["Content-Type"] == "text/event-stream"
        for line in resp.iter_lines(decode_unicode=True):
            if line.startswith("data: "):
                seen.append(json.loads(line[6:]))
            if len(seen) == 2:
                break
    first, second = seen
    assert second["at"] > first["at"]
    assert second["topics"][0]["records"] > first["topics"][0]["records"]
    assert "series" not in second and second["point"]["t"] == second["at"]  # the page appends


def test_metrics_and_an_unknown_path(dashboard):
    _first_round(dashboard)
    text = requests.get(dashboard.url + "/metrics", timeout=10).text
    assert 'kafka_consumergroup_lag{consumergroup="g",topic="raw",partition="0"}' in text
    assert requests.get(dashboard.url + "/nope", timeout=10).status_code == 404
    assert requests.get(dashboard.url + "/healthz", timeout=10).text == "OK"
