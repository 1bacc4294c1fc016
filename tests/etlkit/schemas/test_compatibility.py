"""Evolution rules, one change per row, in both directions, plus levels and transitivity."""
import pytest

from etlkit.schemas import FieldProblem, problems_for_level, reader_problems


def obj(properties=None, required=(), **extra):
    return {"type": "object", "properties": properties or {}, "required": list(required), **extra}


BASE = obj({"id": {"type": "string"}, "amount": {"type": "number"}, "note": {"type": "string"}},
           ["id", "amount"])


def without(name, schema=BASE):
    props = {k: v for k, v in schema["properties"].items() if k != name}
    return {**schema, "properties": props, "required": [r for r in schema["required"] if r != name]}


# (new schema, what BACKWARD refuses, what FORWARD refuses), against BASE as the old schema.
EVOLUTIONS = [
    pytest.param(BASE, [], [], id="unchanged"),
    pytest.param(obj({**BASE["properties"], "tag": {"type": "string"}}, BASE["required"]), [], [],
                 id="add-optional-field"),
    pytest.param(obj({**BASE["properties"], "tag": {"type": "string"}}, [*BASE["required"], "tag"]),
                 ["tag: newly required: records written with the old version may not have it"], [],
                 id="add-required-field"),
    pytest.param(obj(BASE["properties"], [*BASE["required"], "note"]),
                 ["note: newly required: records written with the old version may not have it"], [],
                 id="optional-becomes-required"),
    pytest.param(without("amount"), [],
                 ["amount: required field removed or made optional: readers on the old version need it"],
                 id="remove-required-field"),
    pytest.param(obj(BASE["properties"], ["id"]), [],
                 ["amount: required field removed or made optional: readers on the old version need it"],
                 id="required-becomes-optional"),
    pytest.param(without("note"), [], [], id="remove-optional-field"),
    pytest.param(obj({**BASE["properties"], "amount": {"type": "string"}}, BASE["required"]),
                 ["amount: type changed from number to string"],
                 ["amount: type changed from number to string"], id="change-type"),
    pytest.param(obj({**BASE["properties"], "amount": {"type": "integer"}}, BASE["required"]),
                 ["amount: type changed from number to integer"], [], id="narrow-number-to-integer"),
    pytest.param(obj({**BASE["properties"], "note": {"type": ["string", "null"]}}, BASE["required"]),
                 [], ["note: type changed from string to null or string"], id="widen-to-nullable"),
    pytest.param({**without("note"), "additionalProperties": False},
                 ["note: removed, and the new version refuses unknown fields"], [],
                 id="remove-field-from-closed-schema"),
    pytest.param({**BASE, "additionalProperties": False}, [], [], id="close-over-declared-fields"),
    pytest.param(obj({**BASE["properties"], "amount": {"type": "number", "minimum": 0}}, BASE["required"]),
                 ["amount: minimum changed from none to 0"], [], id="add-lower-bound"),
    pytest.param(obj({**BASE["properties"], "id": {"type": "string", "pattern": "^O"}}, BASE["required"]),
                 ["id: pattern changed from none to \"^O\""], [], id="add-pattern"),
    pytest.param(obj({**BASE["properties"], "id": {"type": "string", "anyOf": [{"minLength": 1}]}},
                     BASE["required"]),
                 ["id: 'anyOf' changed; this registry cannot verify such a change, so it is refused"],
                 ["id: 'anyOf' changed; this registry cannot verify such a change, so it is refused"],
                 id="unverifiable-keyword"),
]


@pytest.mark.parametrize("new, backward, forward", EVOLUTIONS)
def test_evolutions(new, backward, forward):
    assert [str(p) for p in problems_for_level("BACKWARD", new, [BASE])] == backward
    assert [str(p) for p in problems_for_level("FORWARD", new, [BASE])] == forward
    assert [str(p) for p in problems_for_level("FULL", new, [BASE])] == sorted(set(backward + forward))
    assert problems_for_level("NONE", new, [BASE]) == []


def test_enum_changes_in_both_directions():
    old = obj({"status": {"enum": ["paid", "shipped"]}})
    narrower = obj({"status": {"enum": ["paid"]}})
    wider = obj({"status": {"enum": ["paid", "shipped", "lost"]}})
    assert [str(p) for p in reader_problems(narrower, old, backward=True)] == [
        'status: values ["shipped"] no longer allowed']
    assert reader_problems(wider, old, backward=True) == []
    assert [str(p) for p in reader_problems(old, wider, backward=False)] == [
        'status: values ["lost"] new, and refused by the old version']


def test_nested_objects_and_arrays_are_compared_with_their_paths():
    old = obj({"customer": obj({"address": obj({"country": {"type": "string"}})}),
               "items": {"type": "array", "items": obj({"sku": {"type": "string"}}, ["sku"])}})
    new = obj({"customer": obj({"address": obj({"country": {"type": "integer"}})}),
               "items": {"type": "array", "items": obj({"sku": {"type": "string"},
                                                        "qty": {"type": "integer"}}, ["sku", "qty"])}})
    assert [str(p) for p in problems_for_level("BACKWARD", new, [old])] == [
        "customer.address.country: type changed from string to integer",
        "items[].qty: newly required: records written with the old version may not have it"]


def test_local_refs_are_followed():
    old = {"type": "object", "$defs": {"money": {"type": "number"}},
           "properties": {"amount": {"$ref": "#/$defs/money"}}}
    new = {"type": "object", "$defs": {"money": {"type": "string"}},
           "properties": {"amount": {"$ref": "#/$defs/money"}}}
    assert [str(p) for p in reader_problems(new, old)] == ["amount: type changed from number to string"]


def test_recursive_refs_terminate():
    tree = {"type": "object", "properties": {"child": {"$ref": "#"}}}
    assert reader_problems(tree, tree) == []


def test_transitive_levels_check_every_earlier_version():
    v1 = obj({"a": {"type": "string"}}, ["a"])
    v2 = obj({"a": {"type": "string"}, "b": {"type": "string"}}, ["a"])
    v3 = obj({"b": {"type": "string"}}, ["b"])  # b was optional in v2 only... and absent in v1
    assert problems_for_level("BACKWARD", v3, [v1, v2]) == [
        FieldProblem("b", "newly required: records written with the old version may not have it")]
    assert problems_for_level("BACKWARD_TRANSITIVE", v3, [v1, v2]) == problems_for_level(
        "BACKWARD", v3, [v1, v2])
    v4 = obj({"a": {"type": "integer"}})
    assert problems_for_level("BACKWARD", v4, [v1, v3]) == []
    assert [str(p) for p in problems_for_level("BACKWARD_TRANSITIVE", v4, [v1, v3])] == [
        "a: type changed from string to integer"]


def test_first_version_and_unknown_level():
    assert problems_for_level("FULL", BASE, []) == []
    with pytest.raises(ValueError, match="compatibility: must be one of"):
        problems_for_level("SIDEWAYS", BASE, [BASE])


def test_boolean_schemas():
    assert reader_problems(True, BASE) == []
    assert reader_problems(BASE, False) == []
    assert [str(p) for p in reader_problems(obj({"a": False}), obj({"a": {"type": "string"}}))] == [
        "a: the reading version refuses every value here"]


def test_a_shared_definition_is_reported_at_every_use():
    def schema(money):
        return {"type": "object", "$defs": {"money": {"type": money}},
                "properties": {"price": {"$ref": "#/$defs/money"}, "tax": {"$ref": "#/$defs/money"}}}
    assert [p.path for p in reader_problems(schema("string"), schema("number"))] == ["price", "tax"]
