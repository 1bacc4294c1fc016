"""gjson reads over decoded JSON for the paths the renderer writes, and refusal of other syntax."""
import pytest

from devstack.argo import gjson

DATA = {"topic": "orders", "partition": 2, "body": {"id": "o1", "amount": 12.5, "n": 3, "ok": True,
        "none": None, "items": [{"sku": "x"}, {"sku": "y"}, {}], "0": "zero-key"}}


def _get(path):
    return gjson.get(DATA, gjson.parse_get_path(path))


@pytest.mark.parametrize("path, kind, text", [
    ("topic", "String", "orders"),
    ("partition", "Number", "2"),
    ("body.amount", "Number", "12.5"),
    ("body.ok", "True", "true"),
    ("body.none", "Null", ""),
    ("body.items.1.sku", "String", "y"),
    ("body.0", "String", "zero-key"),
    ("body.items", "JSON", '[{"sku":"x"},{"sku":"y"},{}]'),
], ids=["string", "int", "float", "true", "null-is-empty-text", "array-index", "number-is-a-key-of-an-object",
        "array-as-raw-json"])
def test_get_resolves_kind_and_text(path, kind, text):
    found = _get(path)
    assert (found.kind, found.string()) == (kind, text)


@pytest.mark.parametrize("path", ["nope", "body.id.x", "body.items.7"],
                         ids=["missing-key", "key-of-string", "index-past-end"])
def test_get_missing_is_none(path):
    assert _get(path) is None


@pytest.mark.parametrize("value, as_float, as_bool", [
    ("12.5", 12.5, False), ("t", 0.0, True), (3, 3.0, True), (0, 0.0, False), (True, 1.0, True),
    (None, 0.0, False), ({"a": 1}, 0.0, False)],
    ids=["numeric-text", "bool-text", "number", "zero", "true", "null", "object"])
def test_result_conversions_follow_gjson(value, as_float, as_bool):
    result = gjson.Result(value)
    assert (result.float(), result.bool()) == (as_float, as_bool)


@pytest.mark.parametrize("path", [
    "a|b", "items.#(sku==x)", "a.@reverse", "body.@this", "a..b", "", "..a", "!true", "body.items.#",
    "body.am*", "body.i?", "body.a\\.b", "a b"],
    ids=["pipe", "query", "modifier", "this", "empty-key", "empty-path", "json-lines", "literal", "array-length",
         "star-wildcard", "question-wildcard", "escaped-dot", "space"])
def test_paths_the_renderer_does_not_write_are_refused(path):
    with pytest.raises(gjson.PathError, match="only what etlkit/workflow/render.py emits: dotted keys"):
        gjson.parse_get_path(path)
