"""The dashboard's configuration: checked before any client opens; what a workflow watches."""
import pathlib

import pytest

from devstack.dashboard.config import ConfigError, DashboardConfig, watch_list
from etlkit.workflow import load_workflow

REPO = pathlib.Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("fields,where", [
    ({"gateway_url": "127.0.0.1:8080"}, "--gateway (OPENFAAS_URL)"),
    ({"interval_s": 0}, "interval_s"),
    ({"interval_s": 10, "history_s": 5}, "history_s"),
    ({"port": 70000}, "--port (DASHBOARD_PORT)"),
], ids=["gateway-without-scheme", "zero-interval", "history-shorter-than-a-round", "port-too-big"])
def test_a_bad_option_is_named(fields, where):
    with pytest.raises(ConfigError) as err:
        DashboardConfig(**{"gateway_url": "http://127.0.0.1:8080", **fields})
    assert err.value.where == where


def test_from_env_reads_the_gateways_secret_files_and_options_win(tmp_path):
    (tmp_path / "basic-auth-user").write_text("ops\n")
    (tmp_path / "basic-auth-password").write_text("s3cret\n")
    config = DashboardConfig.from_env({"OPENFAAS_URL": "http://gw:8080", "OPENFAAS_SECRETS_DIR": str(tmp_path),
                                       "DASHBOARD_PORT": "9000", "DASHBOARD_INTERVAL_S": "2"},
                                      port=None, host="0.0.0.0")
    assert (config.user, config.password, config.port, config.interval_s, config.host) == \
        ("ops", "s3cret", 9000, 2.0, "0.0.0.0")


def test_from_env_without_a_password_names_the_folder(tmp_path):
    with pytest.raises(ConfigError, match="no basic-auth-password"):
        DashboardConfig.from_env({"OPENFAAS_URL": "http://gw:8080", "OPENFAAS_SECRETS_DIR": str(tmp_path)})


def test_the_orders_workflow_watch_list():
    watch = watch_list([load_workflow(REPO / "workflows" / "orders.yaml")])
    assert watch.workflows == ("orders",)
    assert [(s.name, s.function, s.inputs, s.output) for s in watch.steps] == [
        ("paid-only", "filter", ("orders-raw",), "orders-paid"),
        ("normalise", "map", ("orders-paid",), "orders-clean"),
        ("with-customer", "enrich", ("orders-clean",), "orders-enriched"),
        ("per-country", "aggregate", ("orders-enriched",), "orders-by-country"),
        ("sink", "warehouse-loader", ("orders-by-country",), None)]
    assert watch.groups["orders-raw"] == ("faas-etl.orders.orders-raw",)
    assert "orders-dlq" not in watch.groups and watch.dead_letter_topics == ("orders-dlq",)
    assert watch.tables == ("orders_by_country",)
