"""The collector against the session's real local stack, and against nothing at all."""
import pytest

from devstack.dashboard.config import DashboardConfig
from devstack.dashboard.scrape import WatchList
from devstack.dashboard.sources import Collector
from devstack.ports import free_port

pytestmark = pytest.mark.slow


def test_a_round_reads_the_gateway_every_replica_and_the_topics(local_stack, gateway):
    session, url = gateway
    local_stack.create_topics({"dash-src": 2})
    assert session.post(f"{url}/function/filter", data=b"not json").status_code == 400
    config = DashboardConfig(gateway_url=url, user=local_stack.credentials.user,
                             password=local_stack.credentials.password,
                             kafka_bootstrap=local_stack.bootstrap, port=0)
    collector = Collector(config, WatchList(workflows=("no-such-workflow",), topics=("dash-src", "absent")))
    try:
        scrape = collector.collect()
    finally:
        collector.close()
    assert scrape.errors == {}
    names = {f.name for f in scrape.functions}
    assert {"filter", "autoscaler"} <= names
    (filter_fn,) = [f for f in scrape.functions if f.name == "filter"]
    # Every ready replica of every function was scraped; the filter's counted the bad call.
    assert {i.id for f in scrape.functions for i in f.instances} == set(scrape.replicas)
    calls = sum(scrape.replicas[i.id].get(("faas_etl_function_invocation_total", (("code", "400"),)), 0)
                for i in filter_fn.instances)
    assert calls >= 1
    # Topics that exist, with every partition; one not created yet is simply absent.
    assert set(scrape.topics) == {"dash-src"} and set(scrape.topics["dash-src"].high) == {0, 1}
    assert scrape.controller == {"no-such-workflow": None}  # the autoscaler has no tick for it


def test_an_unreachable_gateway_is_an_error_of_the_round_not_a_crash():
    config = DashboardConfig(gateway_url=f"http://127.0.0.1:{free_port()}", port=0, timeout_s=2)
    collector = Collector(config, WatchList())
    try:
        scrape = collector.collect(now=5.0)
    finally:
        collector.close()
    assert scrape.at == 5.0 and scrape.functions == () and scrape.replicas == {}
    assert set(scrape.errors) == {"gateway"}
