"""Ingest's pure half on anything a client can send: a plan or a BadRequest naming the field,
nothing else, and every accepted record goes to Kafka exactly as it came."""
import json

from hypothesis import given
from hypothesis import strategies as st

from etlkit.http import BadRequest
from etlkit.ingest import TOPIC_NAME, plan_ingest
from etlkit.schemas.validation import RecordValidator

from .budget import bounded, fuzz
from .strategies import hostile_text, json_records, json_values

SCHEMA = RecordValidator({"type": "object", "required": ["id"],
                          "properties": {"id": {"type": "string", "maxLength": 8},
                                         "n": {"type": "integer", "minimum": 0}}})


def _not_json(constant):
    raise AssertionError(f"{constant} went to Kafka: not JSON")


def _plan(body, key="id", topic="t", validate=None):
    with bounded():
        return plan_ingest(topic, body, key_field=key, source="fuzz", max_batch=50, now_ms=1,
                           validate=validate)


def _check(body, key="id", topic="t", validate=None):
    try:
        plan = _plan(body, key, topic, validate)
    except BadRequest as exc:
        assert exc.status in (400, 413)
        assert str(exc).split(":")[0] in ("body", "records", "topic"), str(exc)
        return None
    results = plan.results
    assert [r["index"] for r in results] == list(range(len(results)))
    assert len(plan.records) + plan.rejected == len(results)
    for r in results:
        assert r["status"] in ("accepted", "rejected")
        if r["status"] == "rejected":
            assert r["error"].startswith(f"records[{r['index']}]"), r["error"]
    for out in plan.records:  # what goes to Kafka is the record, as strict JSON, keyed by its field
        value = json.loads(out.value, parse_constant=_not_json)
        assert isinstance(value, dict)
        if key:
            assert out.key is not None
            assert out.key.decode() == (value[key] if isinstance(value[key], str)
                                        else json.dumps(value[key]))
    return plan


@fuzz(2)
@given(st.binary(max_size=300))
def test_any_bytes(body):
    _check(body)


@fuzz(2)
@given(json_values)
def test_any_json_document(doc):
    _check(json.dumps(doc).encode())


@fuzz()
@given(st.lists(json_records | json_values, max_size=60), st.sampled_from(["id", None, "n", "a.b"]))
def test_any_batch_with_and_without_a_key_field(records, key):
    body = json.dumps(records if len(records) % 2 else {"records": records}).encode()
    _check(body, key=key)


@fuzz()
@given(st.lists(st.fixed_dictionaries({"id": json_values}, optional={"n": json_values}), max_size=20))
def test_a_schema_rejects_per_record_and_names_the_field(records):
    plan = _check(json.dumps(records).encode(), validate=SCHEMA.first_problem)
    if plan is None:
        return
    for r, rec in zip(plan.results, records):
        ok = SCHEMA.first_problem(rec) is None
        assert (r["status"] == "accepted") == ok


@fuzz()
@given(hostile_text, hostile_text)
def test_hostile_topic_and_key_names(topic, key):
    plan = _check(b'[{"id": "a"}]', key=key or None, topic=topic)
    if plan is not None:
        assert TOPIC_NAME.match(topic)


@fuzz(0.2)
@given(st.integers(1, 200_000), st.sampled_from([b"[", b'{"a":', b'[{"id":', b'{"id": "a", "v": [']))
def test_deep_nesting_is_refused_not_a_crash(depth, opener):
    _check(opener * depth)


@fuzz(0.3)
@given(st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3),
       st.sampled_from(["key", "value", "field"]))
def test_lone_surrogates_never_crash(bad, where):
    escaped = json.dumps(bad)  # JSON allows "\ud800" escapes that no UTF-8 text can hold
    record = {"key": f'{{"id": {escaped}}}', "value": f'{{"id": "a", "v": {escaped}}}',
              "field": f'{{"id": "a", {escaped}: 1}}'}[where]
    _check(f"[{record}]".encode())
