"""Loading argo-events/ into typed config: what runs, what is refused (file, path, rule), groups."""
import pytest

from devstack.argo.cron import IntervalSchedule
from devstack.argo.manifests import KafkaSource, load_manifests, plan_subscriptions
from devstack.argo.retry import Backoff
from devstack.argo.sensor_spec import HttpAction, KafkaAction
from devstack.argo.yamlnode import ManifestError

from . import factory


def _load(tmp_path, *docs):
    return load_manifests(factory.write(tmp_path, *docs))


def _base():
    return [factory.kafka_eventsource("orders-raw", "orders-raw", "orders"),
            factory.sensor("paid-only", "orders-raw", "orders-raw", "filter", dlq_topic="orders-dlq")]


def test_a_rendered_pair_loads_into_typed_config(tmp_path):
    manifests = _load(tmp_path, *_base())
    source = manifests.source("orders-raw", "orders-raw")
    assert isinstance(source, KafkaSource)
    assert (source.topic, source.group, source.oldest, source.json_body) == ("orders-raw", "orders", True, True)
    trigger = manifests.sensors[0].triggers[0]
    assert isinstance(trigger.action, HttpAction)
    assert trigger.action.url == "http://gateway.openfaas:8080/function/filter"
    assert (trigger.allow, trigger.retry, trigger.at_least_once) == ((200,), Backoff(3, 10_000_000, 2.0, 0.0), True)
    assert isinstance(trigger.dlq.action, KafkaAction) and trigger.dlq.action.topic == "orders-dlq"
    assert trigger.dlq.retry == Backoff(1)  # no retryStrategy on the dlqTrigger: one attempt
    assert manifests.warnings == ()


def _mutate(docs, change):
    change(docs)
    return docs


CASES = [
    (lambda d: d[1]["spec"]["triggers"][0]["template"]["http"]["payload"][0]["src"].update(dataKey="a|b", dataTemplate=None),
     "sensors/paid-only.yaml: spec.triggers[0].template.http.payload[0].src.dataKey", "pipes"),
    (lambda d: d[1]["spec"]["triggers"][0]["template"]["http"]["payload"][0]["src"].update(dataTemplate="{{ if 1 }}{{ end }}"),
     "src.dataTemplate", "'if' is not supported"),
    (lambda d: d[1]["spec"]["triggers"][0]["template"]["http"]["payload"][0]["src"].update(dependencyName="other"),
     "src.dependencyName", "no dependency named 'other'"),
    (lambda d: d[1]["spec"]["triggers"][0]["template"]["http"].update(method="HEAD"),
     "http.method", "must be one of"),
    (lambda d: d[1]["spec"]["triggers"][0]["template"]["http"].update(urll="x"),
     "http.urll", "unknown field"),
    (lambda d: d[1]["spec"]["triggers"][0]["template"].update(k8s={"operation": "create"}),
     "template.k8s", "k8s triggers are not supported"),
    (lambda d: d[1]["spec"]["triggers"][0].update(parameters=[{"src": {"dependencyName": "in"}, "dest": "http.url"}]),
     "spec.triggers[0].parameters", "not supported"),
    (lambda d: d[1]["spec"]["triggers"][0].update(atLeastOnce=False),
     "spec.triggers[0].dlqTrigger", "needs atLeastOnce"),
    (lambda d: d[1]["spec"]["triggers"][0]["retryStrategy"].update(duration="soon"),
     "spec.triggers[0].retryStrategy", "duration"),
    (lambda d: d[1]["spec"]["dependencies"][0].update(filters={"data": [{"path": "body.a", "type": "number", "value": [1]}]}),
     "filters.data[0].value", "list of strings"),
    (lambda d: d[1]["spec"]["dependencies"][0].update(filters={"data": [{"path": "body.a", "type": "string", "value": ["x"], "comparator": ">"}]}),
     "filters.data[0]", "only use = or !="),
    (lambda d: d[1]["spec"]["dependencies"][0].update(filters={"time": {"start": "01:00:00", "stop": "02:00:00"}}),
     "filters.time", "time filters"),
    (lambda d: d[1]["spec"]["dependencies"][0].update(filters={"exprs": [{"expr": "a > b", "fields": [{"name": "a", "path": "body.a"}]}]}),
     "filters.exprs[0]", "reads b"),
    (lambda d: d[1]["spec"]["dependencies"][0].update(transform={"jq": ".body"}),
     "spec.dependencies[0].transform", "transforms"),
    (lambda d: d[1]["spec"]["dependencies"][0].update(eventName="nope"),
     "spec.dependencies[0]", "no EventSource 'orders-raw' with event 'nope'"),
    (lambda d: d[1]["spec"]["dependencies"].append({"name": "b", "eventSourceName": "orders-raw", "eventName": "orders-raw"}),
     "spec.dependencies[1]", "one dependency per event source event"),
    (lambda d: (d.append(factory.kafka_eventsource("more", "more", "g")),
                d[1]["spec"]["dependencies"].append({"name": "b", "eventSourceName": "more", "eventName": "more"})),
     "spec.triggers[0].template.conditions", "all of in, b"),
    (lambda d: (d.append(factory.kafka_eventsource("more", "more", "g")),
                d[1]["spec"]["dependencies"].append({"name": "b", "eventSourceName": "more", "eventName": "more"}),
                d[1]["spec"]["triggers"][0]["template"].update(conditions="in && b")),
     "template.conditions", "&&"),
    (lambda d: (d.append(factory.kafka_eventsource("more", "more", "g")),
                d[1]["spec"]["dependencies"].append({"name": "b", "eventSourceName": "more", "eventName": "more"}),
                d[1]["spec"]["triggers"][0]["template"].update(conditions="in || b"),
                d[1]["spec"]["triggers"][0]["template"]["http"]["payload"].append(
                    {"src": {"dependencyName": "in", "dataKey": "key"}, "dest": "key"})),
     "template.http.payload[1].src", "Argo's Sensor panics"),
    (lambda d: d[0]["spec"]["kafka"]["orders-raw"].pop("consumerGroup"),
     "event-sources/orders-raw.yaml: spec.kafka.orders-raw", "consumerGroup or partition"),
    (lambda d: d[0]["spec"]["kafka"]["orders-raw"].update(filter={"expression": "true"}),
     "spec.kafka.orders-raw.filter", "event source filters"),
    (lambda d: d[0]["spec"].update(webhook={"x": {"port": "12000"}}),
     "spec.webhook", "webhook event sources are not run"),
    (lambda d: d[1]["metadata"].update(annotations={"faas-etl.dev/batch-size": "0"}),
     "annotations.faas-etl.dev/batch-size", "at least 1"),
    (lambda d: d.append(factory.calendar_eventsource("ticks", "t", schedule="*/5 * * *")),
     "spec.calendar.t.schedule", "5 fields"),
]


@pytest.mark.parametrize("change, where, rule", CASES, ids=[
    "unsupported-gjson", "unsupported-template", "unknown-dependency", "bad-method", "typo",
    "other-trigger-type", "trigger-parameters", "dlq-without-at-least-once", "bad-retry-duration",
    "filter-value-not-text", "string-ordering-filter", "time-filter", "expr-unknown-field",
    "transform", "dangling-dependency", "two-dependencies-one-event", "implicit-and-of-two-deps",
    "explicit-and", "parameter-without-event-or-value", "source-without-group-or-partition", "source-filter", "other-source-type",
    "batch-size-zero", "six-field-cron"])
def test_refused_manifests_name_file_path_and_rule(tmp_path, change, where, rule):
    with pytest.raises(ManifestError) as info:
        _load(tmp_path, *_mutate(_base(), change))
    assert where in str(info.value) and rule in str(info.value)


def test_or_conditions_fire_on_either_dependency(tmp_path):
    docs = _base() + [factory.kafka_eventsource("more", "more", "g")]
    docs[1]["spec"]["dependencies"].append({"name": "b", "eventSourceName": "more", "eventName": "more"})
    docs[1]["spec"]["triggers"][0]["template"]["conditions"] = "in || b"
    subs = plan_subscriptions(_load(tmp_path, *docs))
    assert [(s.dependency.name, s.group) for s in subs] == [("in", "orders"), ("b", "g")]


def test_policy_free_trigger_and_at_most_once_are_warned(tmp_path):
    docs = _base()
    docs[1]["spec"]["triggers"][0].pop("policy")
    docs[1]["spec"]["triggers"][0].pop("dlqTrigger")
    docs[1]["spec"]["triggers"][0]["atLeastOnce"] = False
    warnings = _load(tmp_path, *docs).warnings
    assert any("even a 5xx, as success" in w for w in warnings)
    assert any("retryStrategy never applies" in w for w in warnings)
    docs[1]["spec"]["triggers"][0].pop("retryStrategy")  # at most once on purpose: no warning
    assert not any("never applies" in w for w in _load(tmp_path, *docs).warnings)


def test_sensors_sharing_an_event_get_a_group_each(tmp_path):
    docs = _base() + [factory.sensor("audit", "orders-raw", "orders-raw", "echo")]
    groups = {s.sensor.name: s.group for s in plan_subscriptions(_load(tmp_path, *docs))}
    assert groups == {"audit": "orders.audit", "paid-only": "orders.paid-only"}


def test_batching_annotation(tmp_path):
    docs = _base()
    docs[1] = factory.sensor("paid-only", "orders-raw", "orders-raw", "filter", batch_size=500)
    assert _load(tmp_path, *docs).sensors[0].batching.size == 500


def test_calendar_source_and_unrelated_documents(tmp_path):
    (tmp_path / "eventbus").mkdir()
    (tmp_path / "eventbus" / "default.yaml").write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: EventBus\nmetadata: {name: default}\nspec: {jetstream: {version: 2.10.29}}\n"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    manifests = _load(tmp_path, factory.calendar_eventsource("ticks", "scale", interval="15s"))
    (source,) = manifests.sources
    assert source.schedule == IntervalSchedule(15_000_000_000)


def test_invalid_yaml_names_the_file(tmp_path):
    (tmp_path / "broken.yaml").write_text("a: [\n")
    with pytest.raises(ManifestError, match="broken.yaml: not valid YAML"):
        load_manifests(tmp_path)
