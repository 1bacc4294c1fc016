"""Argo Events documents: each case breaks one field of the valid example and expects that exact
path and rule. The valid example itself must produce no finding at all."""
from __future__ import annotations

import copy
from typing import Any, Callable

import pytest

from devstack.manifests import validate_paths

from .conftest import assert_named, needs_schema
from .example_repo import GATEWAY, first, write_repo

BUS = "argo-events/eventbus.yaml"
KAFKA_SOURCE = "argo-events/eventsource-orders.yaml"
CALENDAR_SOURCE = "argo-events/eventsource-ticks.yaml"
SENSOR = "argo-events/sensor-orders.yaml"
KAFKA_EVENT = "spec.kafka.orders-raw"
TRIGGER = "spec.triggers[0]"



def _kafka_event(files: dict) -> dict[str, Any]:
    return first(files, KAFKA_SOURCE)["spec"]["kafka"]["orders-raw"]


def _calendar_event(files: dict) -> dict[str, Any]:
    return first(files, CALENDAR_SOURCE)["spec"]["calendar"]["every-minute"]


def _trigger(files: dict) -> dict[str, Any]:
    return first(files, SENSOR)["spec"]["triggers"][0]


def _http(files: dict) -> dict[str, Any]:
    return _trigger(files)["template"]["http"]


def _dlq_kafka(files: dict) -> dict[str, Any]:
    return _trigger(files)["dlqTrigger"]["template"]["kafka"]


def _dependency(files: dict) -> dict[str, Any]:
    return first(files, SENSOR)["spec"]["dependencies"][0]


def _add_second_trigger(files: dict) -> None:
    triggers = first(files, SENSOR)["spec"]["triggers"]
    triggers.append(copy.deepcopy(triggers[0]))


def _add_second_dependency(files: dict) -> None:
    dependencies = first(files, SENSOR)["spec"]["dependencies"]
    dependencies.append({**dependencies[0], "name": "raw-again"})


Mutation = Callable[[dict], Any]

RULE_CASES = [
    # EventBus
    pytest.param(BUS, lambda f: first(f, BUS)["spec"].update(kafka={"url": "k:9092"}),
                 "spec", "set exactly one of", id="eventbus-two-bus-types"),
    pytest.param(BUS, lambda f: first(f, BUS)["spec"]["jetstream"].update(replicas=2),
                 "spec.jetstream.replicas", "must be 1 or at least 3", id="eventbus-two-replicas"),
    pytest.param(BUS, lambda f: first(f, BUS)["spec"]["jetstream"].pop("version"),
                 "spec.jetstream.version", "version is required",
                 id="eventbus-no-jetstream-version"),
    # Kafka EventSource
    pytest.param(KAFKA_SOURCE, lambda f: _kafka_event(f).pop("topic"),
                 f"{KAFKA_EVENT}.topic", "must not be empty", id="kafka-source-missing-topic"),
    pytest.param(KAFKA_SOURCE, lambda f: _kafka_event(f).update(url=""),
                 f"{KAFKA_EVENT}.url", "must not be empty", id="kafka-source-empty-url"),
    pytest.param(KAFKA_SOURCE, lambda f: _kafka_event(f).pop("consumerGroup"),
                 f"{KAFKA_EVENT}.consumerGroup", "set consumerGroup (or partition)",
                 id="kafka-source-no-consumer-group"),
    pytest.param(KAFKA_SOURCE, lambda f: _kafka_event(f)["consumerGroup"].update(
                     rebalanceStrategy="fair"),
                 f"{KAFKA_EVENT}.consumerGroup.rebalanceStrategy", "range, roundrobin, sticky",
                 id="kafka-source-bad-rebalance-strategy"),
    pytest.param(KAFKA_SOURCE, lambda f: _kafka_event(f).update(partition="0"),
                 f"{KAFKA_EVENT}.partition", "ignored when consumerGroup is set",
                 id="kafka-source-partition-and-group"),
    pytest.param(KAFKA_SOURCE, lambda f: _kafka_event(f).update(jsonBody=False),
                 f"{KAFKA_EVENT}.jsonBody", "must be true", id="kafka-source-json-body-off"),
    pytest.param(KAFKA_SOURCE, lambda f: _kafka_event(f).update(topic="orders-typo"),
                 f"{KAFKA_EVENT}.topic", "has no KafkaTopic manifest",
                 id="kafka-source-topic-without-kafkatopic"),
    pytest.param(KAFKA_SOURCE, lambda f: _kafka_event(f).update(
                     url="etl-kafka-bootstrap.kafka.svc:9093"),
                 f"{KAFKA_EVENT}.url", "listens on 9092", id="kafka-source-url-wrong-port"),
    pytest.param(KAFKA_SOURCE, lambda f: _kafka_event(f).update(
                     url="other-kafka-bootstrap.kafka.svc:9092"),
                 f"{KAFKA_EVENT}.url", "names no Kafka cluster",
                 id="kafka-source-url-unknown-cluster"),
    pytest.param(KAFKA_SOURCE, lambda f: first(f, KAFKA_SOURCE)["spec"].update(
                     calendar={"orders-raw": {"interval": "1m"}}),
                 "spec.calendar.orders-raw", "already used under spec.kafka",
                 id="eventsource-duplicate-event-name"),
    pytest.param(KAFKA_SOURCE, lambda f: first(f, KAFKA_SOURCE)["spec"].update(
                     webhook={"hook": {"port": "12000", "endpoint": "/x", "method": "POST"}}),
                 "spec", "mixes rolling-update sources (webhook)",
                 id="eventsource-mixed-update-strategies"),
    pytest.param(KAFKA_SOURCE, lambda f: first(f, KAFKA_SOURCE)["spec"].update(
                     eventBusName="missing"),
                 "spec.eventBusName", "needs an EventBus named 'missing'",
                 id="eventsource-unknown-event-bus"),
    # Calendar EventSource
    pytest.param(CALENDAR_SOURCE, lambda f: _calendar_event(f).update(schedule="0 */1 * * * *"),
                 "spec.calendar.every-minute.schedule", "must have 5 fields",
                 id="calendar-six-field-cron"),
    pytest.param(CALENDAR_SOURCE, lambda f: _calendar_event(f).update(schedule="61 * * * *"),
                 "spec.calendar.every-minute.schedule", "outside 0-59",
                 id="calendar-minute-out-of-range"),
    pytest.param(CALENDAR_SOURCE, lambda f: _calendar_event(f).pop("schedule"),
                 "spec.calendar.every-minute.schedule", "set schedule (cron) or interval",
                 id="calendar-no-schedule-nor-interval"),
    pytest.param(CALENDAR_SOURCE,
                 lambda f: _calendar_event(f).update(schedule="", interval="5 min"),
                 "spec.calendar.every-minute.interval", "Go duration",
                 id="calendar-bad-interval"),
    pytest.param(CALENDAR_SOURCE, lambda f: _calendar_event(f).update(timezone="Mars/Olympus"),
                 "spec.calendar.every-minute.timezone", "not a known IANA time zone",
                 id="calendar-unknown-timezone"),
    # Sensor: dependencies
    pytest.param(SENSOR, lambda f: _dependency(f).update(eventSourceName="payments"),
                 "spec.dependencies[0].eventSourceName", "names no EventSource",
                 id="sensor-dependency-unknown-eventsource"),
    pytest.param(SENSOR, lambda f: _dependency(f).update(eventName="orders-cooked"),
                 "spec.dependencies[0].eventName", "defines no event 'orders-cooked'",
                 id="sensor-dependency-unknown-event"),
    pytest.param(SENSOR, _add_second_dependency,
                 "spec.dependencies[1].eventName",
                 "one dependency per (eventSourceName, eventName)",
                 id="sensor-two-dependencies-one-event"),
    pytest.param(SENSOR, lambda f: _dependency(f).update(filtersLogicalOperator="xor"),
                 "spec.dependencies[0].filtersLogicalOperator", "must be and or or",
                 id="sensor-bad-filters-operator"),
    pytest.param(SENSOR, lambda f: _dependency(f).update(
                     filters={"data": [{"path": "body.amount", "type": "float", "value": ["0"]}]}),
                 "spec.dependencies[0].filters.data[0].type", "string, number, bool",
                 id="sensor-bad-data-filter-type"),
    pytest.param(SENSOR, lambda f: f.pop(BUS),
                 "spec", "needs an EventBus named 'default'", id="sensor-without-event-bus"),
    # Sensor: triggers
    pytest.param(SENSOR, lambda f: _http(f).update(method="SEND"),
                 f"{TRIGGER}.template.http.method", "GET, DELETE, PATCH, POST, PUT",
                 id="sensor-bad-http-method"),
    pytest.param(SENSOR, _add_second_trigger,
                 "spec.triggers[1].template.name", "duplicate trigger name 'paid-only'",
                 id="sensor-duplicate-trigger-name"),
    pytest.param(SENSOR, lambda f: _http(f).update(url=f"{GATEWAY}/reduce"),
                 f"{TRIGGER}.template.http.url", "function 'reduce' is not in stack.yml",
                 id="sensor-url-unknown-function"),
    pytest.param(SENSOR, lambda f: _http(f).update(url="http://filter.openfaas-fn:8080/"),
                 f"{TRIGGER}.template.http.url", "through the OpenFaaS gateway",
                 id="sensor-url-bypasses-gateway"),
    pytest.param(SENSOR, lambda f: f.pop("stack.yml"),
                 f"{TRIGGER}.template.http.url", "no stack.yml defines the functions",
                 id="sensor-url-without-stack-file"),
    pytest.param(SENSOR, lambda f: _trigger(f).pop("policy"),
                 f"{TRIGGER}.policy.status.allow", "a 5xx counts as success",
                 id="sensor-http-missing-policy-status-allow"),
    pytest.param(SENSOR, lambda f: _trigger(f)["template"].update(policy=_trigger(f).pop("policy")),
                 f"{TRIGGER}.template.policy", "policy sits on the trigger, not the template",
                 id="sensor-policy-on-template"),
    pytest.param(SENSOR, lambda f: _trigger(f)["policy"]["status"].update(allow=[200, 700]),
                 f"{TRIGGER}.policy.status.allow[1]", "HTTP status code",
                 id="sensor-policy-allows-non-status"),
    pytest.param(SENSOR, lambda f: _http(f)["payload"][0]["src"].update(dependencyName="cooked"),
                 f"{TRIGGER}.template.http.payload[0].src.dependencyName",
                 "names no dependency of this Sensor", id="sensor-payload-unknown-dependency"),
    pytest.param(SENSOR, lambda f: _http(f)["payload"][0].update(operation="replace"),
                 f"{TRIGGER}.template.http.payload[0].operation", "append, overwrite or prepend",
                 id="sensor-payload-bad-operation"),
    pytest.param(SENSOR, lambda f: _trigger(f)["template"].update(log={}),
                 f"{TRIGGER}.template", "set exactly one trigger type (http, log found)",
                 id="sensor-two-trigger-types"),
    pytest.param(SENSOR, lambda f: _trigger(f)["template"].update(conditions="raw && cooked"),
                 f"{TRIGGER}.template.conditions", "names no dependency of this Sensor: cooked",
                 id="sensor-conditions-unknown-dependency"),
    pytest.param(SENSOR, lambda f: _trigger(f)["retryStrategy"].update(duration="1 second"),
                 f"{TRIGGER}.retryStrategy.duration", "Go duration",
                 id="sensor-retry-duration-not-go-duration"),
    pytest.param(SENSOR, lambda f: _trigger(f).update(atLeastOnce=False),
                 f"{TRIGGER}.atLeastOnce", "must be true to use dlqTrigger",
                 id="sensor-dlq-without-at-least-once"),
    pytest.param(SENSOR, lambda f: _trigger(f)["dlqTrigger"].pop("atLeastOnce"),
                 f"{TRIGGER}.dlqTrigger.atLeastOnce", "must be true within the dlqTrigger",
                 id="sensor-dlq-trigger-without-at-least-once"),
    pytest.param(SENSOR, lambda f: _dlq_kafka(f).update(payload=[]),
                 f"{TRIGGER}.dlqTrigger.template.kafka.payload", "must not be empty",
                 id="sensor-kafka-trigger-empty-payload"),
    pytest.param(SENSOR, lambda f: _dlq_kafka(f).update(topic="orders-dead"),
                 f"{TRIGGER}.dlqTrigger.template.kafka.topic", "has no KafkaTopic manifest",
                 id="sensor-dlq-topic-without-kafkatopic"),
    pytest.param(SENSOR, lambda f: _dlq_kafka(f)["payload"][0].update(dest=""),
                 f"{TRIGGER}.dlqTrigger.template.kafka.payload[0].dest", "must not be empty",
                 id="sensor-kafka-payload-without-dest"),
]

SCHEMA_CASES = [
    pytest.param(BUS, lambda f: first(f, BUS)["spec"]["jetstream"].update(replica=3),
                 "spec.jetstream.replica", "unknown field", id="eventbus-unknown-field"),
    pytest.param(KAFKA_SOURCE, lambda f: _kafka_event(f).update(consumerGroupe={}),
                 f"{KAFKA_EVENT}.consumerGroupe", "unknown field", id="kafka-source-unknown-field"),
    pytest.param(SENSOR, lambda f: _trigger(f)["retryStrategy"].update(step=3),
                 f"{TRIGGER}.retryStrategy.step", "unknown field", id="sensor-unknown-field"),
    pytest.param(SENSOR, lambda f: first(f, SENSOR)["metadata"].update(lables={"a": "b"}),
                 "metadata.lables", "unknown field", id="sensor-unknown-metadata-field"),
    pytest.param(SENSOR, lambda f: _trigger(f)["retryStrategy"].update(steps="three"),
                 f"{TRIGGER}.retryStrategy.steps", "schema: 'three' is not of type 'integer'",
                 id="sensor-schema-type-error"),
    pytest.param(SENSOR, lambda f: _http(f).pop("payload"),
                 f"{TRIGGER}.template.http.payload", "schema: is required",
                 id="sensor-http-missing-payload"),
]


def test_valid_example_has_no_finding(files, validate_repo):
    report = validate_repo(files)
    assert report.findings == ()
    assert len(report.files) == len(files)


@pytest.mark.parametrize(("file", "mutate", "path", "rule"), RULE_CASES)
def test_controller_rule_names_path_and_rule(files, validate_repo, file, mutate, path, rule):
    mutate(files)
    assert_named(validate_repo(files), file, path, rule)


@needs_schema
@pytest.mark.parametrize(("file", "mutate", "path", "rule"), SCHEMA_CASES)
def test_schema_and_strictness_name_path_and_rule(files, validate_repo, file, mutate, path, rule):
    mutate(files)
    assert_named(validate_repo(files), file, path, rule)


@needs_schema
def test_specific_rule_replaces_generic_one_at_the_same_path(files, validate_repo):
    """A missing topic is both a schema 'required' error and a controller rule: report it once."""
    _kafka_event(files).pop("topic")
    at_path = [f for f in validate_repo(files).findings if f.path == f"{KAFKA_EVENT}.topic"]
    assert [f.rule for f in at_path] == ["must not be empty"]


def test_without_schema_the_controller_rules_still_run(files, validate_repo, tmp_path):
    _http(files).update(method="SEND")
    _kafka_event(files).update(consumerGroupe={})
    report = validate_repo(files, argo_schema=tmp_path / "absent.json")
    assert report.skipped and "schema" in report.skipped[0]
    assert_named(report, SENSOR, f"{TRIGGER}.template.http.method", "GET, DELETE")
    # Unknown fields are found by walking the schema, so without it they are not.
    assert not [f for f in report.findings if "consumerGroupe" in f.path]


def test_one_sensor_is_checked_against_the_rest_of_the_repository(files, tmp_path):
    """Validating a single file still resolves its references in the repository."""
    root = write_repo(tmp_path / "repo", files)
    report = validate_paths([root / SENSOR], repo_root=root, argo_schema_path=tmp_path / "no.json")
    assert report.files == (SENSOR,)
    assert report.findings == ()
