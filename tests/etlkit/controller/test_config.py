"""The envelope and the environment, parsed into typed objects; errors name field and rule."""
import copy

import pytest

from etlkit.controller import ConfigError, ControllerConfig, parse_scaling

ENVELOPE = {"workflow": "orders", "version": 1, "scaling": {"interval_ms": 15000, "operations": [
    {"name": "paid-only", "function": "filter",
     "inputs": [{"topic": "orders-raw", "consumer_group": "faas-etl.orders.orders-raw"}],
     "min_replicas": 1, "max_replicas": 5, "dtt_ms": 60000, "dtc": 30000},
    {"name": "normalise", "function": "map",
     "inputs": [{"topic": "orders-paid", "consumer_group": "faas-etl.orders.orders-paid"}],
     "min_replicas": 1, "max_replicas": 5, "dtt_ms": 60000, "dtc": 30000}]}, "event": {}}


def test_the_rendered_envelope_parses():
    spec = parse_scaling(ENVELOPE)
    assert spec.workflow == "orders" and spec.interval_s == 15.0
    assert [o.function for o in spec.operations] == ["filter", "map"]
    assert spec.operations[0].dtt_s == 60.0 and spec.operations[0].dtc == 30000.0
    assert spec.topics == ("orders-raw", "orders-paid")


def _broken(path, value):
    doc = copy.deepcopy(ENVELOPE)
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


@pytest.mark.parametrize("path, value, field", [
    (("workflow",), "", "body.workflow"),
    (("scaling",), None, "scaling"),
    (("scaling", "interval_ms"), KeyError, "scaling.schedule"),
    (("scaling", "operations"), [], "scaling.operations"),
    (("scaling", "operations", 1, "function"), "Map!", "scaling.operations[1].function"),
    (("scaling", "operations", 0, "inputs", 0, "consumer_group"), "",
     "scaling.operations[0].inputs[0].consumer_group"),
    (("scaling", "operations", 0, "max_replicas"), 0, "scaling.operations[0].max_replicas"),
    (("scaling", "operations", 0, "min_replicas"), 6, "scaling.operations[0].max_replicas"),
    (("scaling", "operations", 1, "dtc"), -3, "scaling.operations[1].dtc"),
    (("scaling", "operations", 1, "dtt_ms"), True, "scaling.operations[1].dtt_ms"),
    (("scaling", "operations", 1, "name"), "paid-only", "scaling.operations[1].name"),
], ids=["no-workflow", "no-scaling", "no-period", "no-operations", "bad-function-name",
        "empty-group", "zero-max", "min-above-max", "negative-dtc", "bool-dtt", "duplicate-name"])
def test_envelope_errors_name_the_field(path, value, field):
    with pytest.raises(ConfigError) as err:
        parse_scaling(_broken(path, value))
    assert err.value.field == field


def test_a_cron_schedule_is_accepted_and_the_period_is_left_to_measure():
    doc = _broken(("scaling", "interval_ms"), KeyError)
    doc["scaling"]["schedule"] = "*/1 * * * *"
    assert parse_scaling(doc).interval_s is None


LOCAL = {"PLATFORM": "local", "OPENFAAS_URL": "http://127.0.0.1:8080",
         "KAFKA_BOOTSTRAP": "127.0.0.1:9092", "TOPOLOGY_FILE": "config/topology.yml"}


def test_platform_defaults_local_can_scale_to_zero_and_a_pod_defaults_to_openfaas_ce():
    local = ControllerConfig.from_env(LOCAL)
    assert local.scale_to_zero and local.replica_cap is None and local.startup_delay_s == 5.0
    assert local.metrics == "http://127.0.0.1:8080/metrics"  # the local gateway serves it
    cluster = ControllerConfig.from_env({"KUBERNETES_SERVICE_HOST": "10.0.0.1",
                                         "KAFKA_BOOTSTRAP": "kafka:9092"})
    # In a pod the gateway's API is the default: it is all CE offers, and Pro serves it too.
    assert cluster.platform == "openfaas-ce" and not cluster.scale_to_zero
    assert cluster.replica_cap == 5  # faas-netes MaxReplicas on CE
    assert cluster.gateway_url == "http://gateway.openfaas:8080"
    # The gateway's /metrics is on 8082, which its Service does not expose: Prometheus instead.
    assert cluster.metrics == "" and cluster.prometheus_url == "http://prometheus.openfaas:9090"
    pro = ControllerConfig.from_env({"KUBERNETES_SERVICE_HOST": "10.0.0.1", "PLATFORM": "kubernetes",
                                     "KAFKA_BOOTSTRAP": "kafka:9092"})
    assert pro.replica_cap is None and pro.lease_s == 120.0


CE = {"PLATFORM": "openfaas-ce", "KAFKA_BOOTSTRAP": "kafka:9092"}


def test_policy_takes_tolerances_from_the_workflow_and_the_rest_from_the_operator():
    config = ControllerConfig.from_env({**LOCAL, "SCALING_POLICY": '{"scale_in_hold_s": 20}',
                                        "SCALE_TO_ZERO": "false"})
    policy = config.policy(interval_s=15.0, dtt_s=60.0, dtc=30000.0)
    assert (policy.control_period_s, policy.tolerance_time_s, policy.tolerance_backlog) == (
        15.0, 60.0, 30000.0)
    assert policy.scale_in_hold_s == 20 and policy.scale_to_zero is False
    assert policy.match_services is False  # the matcher function does it


@pytest.mark.parametrize("env, field", [
    ({**LOCAL, "KAFKA_BOOTSTRAP": ""}, "KAFKA_BOOTSTRAP"),
    ({**LOCAL, "OPENFAAS_URL": "gateway:8080"}, "OPENFAAS_URL"),
    ({**LOCAL, "TOPOLOGY_FILE": ""}, "TOPOLOGY_FILE"),
    ({**LOCAL, "SCALE_TO_ZERO": "maybe"}, "SCALE_TO_ZERO"),
    ({**LOCAL, "PLATFORM_MAX_REPLICAS": "five"}, "PLATFORM_MAX_REPLICAS"),
    ({**LOCAL, "STATE_STORE": "file"}, "STATE_DIR"),
    ({**LOCAL, "SCALING_POLICY": "{"}, "SCALING_POLICY"),
    ({**LOCAL, "SCALING_POLICY": '{"safety": 0.5}'}, "SCALING_POLICY.safety"),
    ({**LOCAL, "SCALING_POLICY": '{"tyop": 1}'}, "SCALING_POLICY.tyop"),
    ({**LOCAL, "STARTUP_DELAY_S": "-1"}, "STARTUP_DELAY_S"),
    ({**LOCAL, "PLATFORM": "openfaas"}, "PLATFORM"),
    ({**CE, "SCALE_TO_ZERO": "true"}, "SCALE_TO_ZERO"),
    ({**CE, "PLATFORM_MAX_REPLICAS": "8"}, "PLATFORM_MAX_REPLICAS"),
    ({**CE, "PLATFORM_MAX_REPLICAS": "none"}, "PLATFORM_MAX_REPLICAS"),
    ({**CE, "PROMETHEUS_URL": ""}, "PROMETHEUS_URL"),
    ({**CE, "PROMETHEUS_URL": "prometheus:9090"}, "PROMETHEUS_URL"),
    ({**LOCAL, "TICK_LEASE_S": "0"}, "TICK_LEASE_S"),
], ids=["no-kafka", "gateway-not-a-url", "no-topology", "bad-flag", "bad-cap", "file-no-dir",
        "policy-not-json", "policy-rule", "policy-unknown-field", "negative-delay",
        "unknown-platform", "ce-cannot-scale-to-zero", "ce-cap-above-5", "ce-no-cap",
        "cluster-without-metrics", "prometheus-not-a-url", "zero-lease"])
def test_environment_errors_name_the_variable(env, field):
    with pytest.raises(ConfigError) as err:
        ControllerConfig.from_env(env)
    assert err.value.field == field
