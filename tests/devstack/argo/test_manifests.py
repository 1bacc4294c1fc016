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
    assert (source.topic, source.group, source.oldest) == ("orders-raw", "orders", True)
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
    (lambda d: d[1]["spec"]["triggers"][0]["template"]["http"]["payload"][4]["src"].update(dataKey="a|b"),
     "sensors/paid-only.yaml: spec.triggers[0].template.http.payload[4].src.dataKey", "dotted keys"),
    (lambda d: d[1]["spec"]["triggers"][0]["dlqTrigger"]["template"]["kafka"]["payload"][7]["src"].update(
        dataTemplate="{{ if 1 }}{{ end }}"),
     "kafka.payload[7].src.dataTemplate", "{{ if 1 }}': not supported by the local runner"),
    (lambda d: d[1]["spec"]["triggers"][0]["template"]["http"]["payload"][0]["src"].update(dependencyName="other"),
     "src.dependencyName", "no dependency named 'other'"),
    (lambda d: d[1]["spec"]["triggers"][0]["template"]["http"].update(method="HEAD"),
     "http.method", "emits: method POST"),
    (lambda d: d[1]["spec"]["triggers"][0]["template"]["http"].update(urll="x"),
     "http.urll", "unknown field"),
    (lambda d: d[1]["spec"]["triggers"][0]["template"].update(k8s={"operation": "create"}),
     "template.k8s", "emits: http, kafka (as a dlqTrigger), log triggers"),
    (lambda d: d[1]["spec"]["triggers"][0].update(parameters=[{"src": {"dependencyName": "in"}, "dest": "http.url"}]),
     "spec.triggers[0].parameters", "not supported"),
    (lambda d: d[1]["spec"]["triggers"][0].update(atLeastOnce=False),
     "spec.triggers[0].dlqTrigger", "needs atLeastOnce"),
    (lambda d: d[1]["spec"]["triggers"][0]["retryStrategy"].update(duration="soon"),
     "spec.triggers[0].retryStrategy", "duration"),
    (lambda d: d[1]["spec"]["dependencies"][0].update(filters={"data": [{"path": "body.a", "type": "number", "value": ["1"]}]}),
     "spec.dependencies[0].filters", "emits: name, eventSourceName, eventName"),
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
     "template.conditions", "the name of one dependency of this sensor"),
    (lambda d: (d.append(factory.kafka_eventsource("more", "more", "g")),
                d[1]["spec"]["dependencies"].append({"name": "b", "eventSourceName": "more", "eventName": "more"}),
                d[1]["spec"]["triggers"][0]["template"].update(conditions="b")),
     "http.payload[3].src", "Argo's Sensor panics"),
    (lambda d: d[0]["spec"]["kafka"]["orders-raw"].pop("consumerGroup"),
     "event-sources/orders-raw.yaml: spec.kafka.orders-raw.consumerGroup", "is required"),
    (lambda d: d[1]["spec"]["triggers"][0]["template"]["http"]["payload"][0].update(dest="a.b"),
     "http.payload[0].dest", "emits: a dest of letters"),
    (lambda d: d[1]["spec"]["triggers"][0]["dlqTrigger"]["template"]["kafka"]["payload"][0].update(dest=""),
     "kafka.payload[0].dest", "refuses an empty dest but on an HTTP trigger"),
    (lambda d: d[1]["spec"]["triggers"][0]["dlqTrigger"]["template"]["kafka"]["payload"][1].update(dest="step"),
     "kafka.payload[1].dest", "'step' is set twice"),
    (lambda d: d[1]["metadata"].update(annotations={"faas-etl.dev/batch-size": "500"}),
     "metadata.annotations.faas-etl.dev/batch-size", "one request per Kafka message"),
    (lambda d: d.append(factory.calendar_eventsource("ticks", "t", schedule="*/5 * * *")),
     "spec.calendar.t.schedule", "5 fields"),
]


@pytest.mark.parametrize("change, where, rule", CASES, ids=[
    "unsupported-gjson", "unsupported-template", "unknown-dependency", "bad-method", "typo",
    "other-trigger-type", "trigger-parameters", "dlq-without-at-least-once", "bad-retry-duration",
    "dependency-filters", "dangling-dependency",
    "two-dependencies-one-event", "implicit-and-of-two-deps", "explicit-and", "parameter-without-event-or-value",
    "source-without-group", "nested-dest", "empty-kafka-dest", "dest-twice", "batch-annotation", "six-field-cron"])
def test_refused_manifests_name_file_path_and_rule(tmp_path, change, where, rule):
    with pytest.raises(ManifestError) as info:
        _load(tmp_path, *_mutate(_base(), change))
    assert where in str(info.value) and rule in str(info.value)


def test_one_trigger_per_input_each_fired_by_its_own(tmp_path):
    """The renderer's shape for a step of several inputs: a trigger each, ``conditions: <input>``."""
    docs = _base() + [factory.kafka_eventsource("more", "more", "g")]
    docs[1]["spec"]["dependencies"].append({"name": "b", "eventSourceName": "more", "eventName": "more"})
    docs[1]["spec"]["triggers"][0]["template"]["conditions"] = "in"
    second = factory.sensor("x", "more", "more", "filter")["spec"]["triggers"][0]
    second["template"].update(name="from-b", conditions="b")
    for parameter in second["template"]["http"]["payload"]:
        parameter["src"]["dependencyName"] = "b"
    docs[1]["spec"]["triggers"].append(second)
    subs = plan_subscriptions(_load(tmp_path, *docs))
    assert [(s.dependency.name, s.group, [t.name for t in s.triggers]) for s in subs] == \
        [("in", "orders", ["paid-only-call"]), ("b", "g", ["from-b"])]


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
