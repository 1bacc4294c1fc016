"""Go's number, JSON and boolean texts, checked against values Go itself prints."""
import pytest

from devstack.argo import gojson


@pytest.mark.parametrize("value, json_text, f_text", [
    (1.0, "1", "1"),
    (1.5, "1.5", "1.5"),
    (123456.0, "123456", "123456"),
    (1234567.0, "1234567", "1234567"),
    (0.0001, "0.0001", "0.0001"),
    (0.00001, "0.00001", "0.00001"),
    (1e-7, "1e-7", "0.0000001"),
    (1e21, "1e+21", "1000000000000000000000"),
    (-2.5, "-2.5", "-2.5"),
    (2.0 ** 60, "1152921504606847000", "1152921504606847000"),
], ids=["one", "fraction", "six-digits", "million-exponent-in-print", "1e-4-fixed", "1e-5",
        "json-e-cleaned", "json-e-from-1e21", "negative", "above-2^53"])
def test_float_texts_match_go(value, json_text, f_text):
    assert gojson.json_float(value) == json_text  # encoding/json
    assert gojson.float_text(value) == f_text  # strconv 'f', -1


def test_dumps_is_compact_html_escaped_and_keeps_integers():
    value = {"b": [1, 2.5, None, True], "a": "<x> & y", "big": 12345678901234567890}
    assert gojson.dumps(value) == ('{"b":[1,2.5,null,true],"a":"\\u003cx\\u003e \\u0026 y",'
                                   '"big":12345678901234567890}')
    assert gojson.dumps({"b": 1, "a": 2}, sort_keys=True) == '{"a":2,"b":1}'


def test_dumps_refuses_nan_like_go():
    with pytest.raises(ValueError, match="unsupported value"):
        gojson.dumps(float("nan"))


@pytest.mark.parametrize("value, text", [
    ({"a": 2.0}, '{"a":2}'),
    ({"a": [1e-7, 1e16]}, '{"a":[1e-7,10000000000000000]}'),
    ({"s": "v2.0 e+1"}, '{"s":"v2.0 e+1"}'),
    ({"n": 2 ** 60}, '{"n":1152921504606846976}'),
    ({"é": "\u2028<"}, '{"é":"\\u2028\\u003c"}'),
], ids=["integral-float", "exponent-forms", "false-alarm-in-string", "int-keeps-digits", "unicode-and-html"])
def test_dumps_fast_and_exact_paths_agree_with_go(value, text):
    assert gojson.dumps(value) == text


def test_dumps_float64_rounds_long_ints_like_go():
    assert gojson.dumps({"n": 2 ** 60}, float64=True) == '{"n":1152921504606847000}'
