"""gjson reads and sjson writes over decoded JSON, and the refusal of unsupported syntax."""
import pytest

from devstack.argo import gjson

DATA = {"topic": "orders", "partition": 2, "body": {"id": "o1", "amount": 12.5, "n": 3, "ok": True,
        "none": None, "a.b": "dotted", "items": [{"sku": "x"}, {"sku": "y"}, {}]}}


def _get(path):
    return gjson.get(DATA, gjson.parse_get_path(path))


@pytest.mark.parametrize("path, kind, text", [
    ("topic", "String", "orders"),
    ("partition", "Number", "2"),
    ("body.amount", "Number", "12.5"),
    ("body.ok", "True", "true"),
    ("body.none", "Null", ""),
    ("body.items.1.sku", "String", "y"),
    ("body.items.#", "Number", "3"),
    ("body.items.#.sku", "JSON", '["x","y"]'),
    ("body.a\\.b", "String", "dotted"),
    ("body.am*", "Number", "12.5"),
    ("body.i?", "String", "o1"),
], ids=["string", "int", "float", "true", "null-is-empty-text", "array-index", "array-length",
        "collect-from-elements", "escaped-dot", "star-wildcard", "question-wildcard"])
def test_get_resolves_kind_and_text(path, kind, text):
    found = _get(path)
    assert (found.kind, found.string()) == (kind, text)


def test_this_is_the_whole_value_as_raw_json():
    found = _get("body.@this")
    assert found.kind == "JSON"
    assert found.raw().startswith('{"id":"o1","amount":12.5')


@pytest.mark.parametrize("path", ["nope", "body.id.x", "body.items.7", "body.items.-1"],
                         ids=["missing-key", "key-of-string", "index-past-end", "negative-index"])
def test_get_missing_is_none(path):
    assert _get(path) is None


@pytest.mark.parametrize("value, as_float, as_bool", [
    ("12.5", 12.5, False), ("t", 0.0, True), (3, 3.0, True), (0, 0.0, False), (True, 1.0, True),
    (None, 0.0, False), ({"a": 1}, 0.0, False)],
    ids=["numeric-text", "bool-text", "number", "zero", "true", "null", "object"])
def test_result_conversions_follow_gjson(value, as_float, as_bool):
    result = gjson.Result(value)
    assert (result.float(), result.bool()) == (as_float, as_bool)


@pytest.mark.parametrize("path, reason", [
    ("a|b", "pipes"), ("items.#(sku==x)", "queries"), ("a.@reverse", "modifier"), ("a..b", "empty key"),
    ("", "non-empty"), ("..a", "JSON Lines"), ("!true", "literals")],
    ids=["pipe", "query", "modifier", "empty-key", "empty-path", "json-lines", "literal"])
def test_unsupported_get_paths_are_refused(path, reason):
    with pytest.raises(gjson.PathError, match=reason):
        gjson.parse_get_path(path)


@pytest.mark.parametrize("doc, path, value, expected", [
    (None, "a.b", 1, {"a": {"b": 1}}),
    ({"a": [1, 2]}, "a.1", 9, {"a": [1, 9]}),
    ({"a": [1]}, "a.3", 9, {"a": [1, None, None, 9]}),
    ({"a": [1]}, "a.-1", 2, {"a": [1, 2]}),
    (None, "a.0", "x", {"a": ["x"]}),
    (None, "users.:2313", 1, {"users": {"2313": 1}}),
    ({"a": 1}, "a.b", 2, {"a": {"b": 2}}),
    (None, "fav\\.movie", "x", {"fav.movie": "x"}),
], ids=["nested-create", "array-set", "array-pad", "append", "index-creates-array", "colon-forces-key",
        "replace-scalar", "escaped-dot"])
def test_set_value_follows_sjson(doc, path, value, expected):
    assert gjson.set_value(doc, gjson.parse_set_path(path), value) == expected


@pytest.mark.parametrize("path", ["a.*", "a.#", "a|b", "a..b"], ids=["wildcard", "hash", "pipe", "empty-key"])
def test_unsupported_set_paths_are_refused(path):
    with pytest.raises(gjson.PathError):
        gjson.parse_set_path(path)
