"""Casts: every accepted conversion, every refusal with its reason."""
import math
from datetime import datetime, timezone

import pytest

from etlkit.steps import casts
from etlkit.steps.casts import (CASTS, CastError, epoch_ms, to_bool, to_float, to_int, to_str,
                                to_timestamp_iso, to_timestamp_ms)


@pytest.mark.parametrize("cast, value, expected", [
    pytest.param(to_int, 7, 7, id="int-from-int"),
    pytest.param(to_int, 7.0, 7, id="int-from-integral-float"),
    pytest.param(to_int, " -42 ", -42, id="int-from-padded-text"),
    pytest.param(to_int, "4.0", 4, id="int-from-integral-decimal-text"),
    pytest.param(to_int, "1e3", 1000, id="int-from-exponent-text"),
    pytest.param(to_int, None, None, id="int-null-passes"),
    pytest.param(to_float, 3, 3.0, id="float-from-int"),
    pytest.param(to_float, "2.5", 2.5, id="float-from-text"),
    pytest.param(to_float, ".5", 0.5, id="float-leading-dot"),
    pytest.param(to_str, 42, "42", id="str-from-int"),
    pytest.param(to_str, 2.5, "2.5", id="str-from-float"),
    pytest.param(to_str, True, "true", id="str-from-bool"),
    pytest.param(to_str, {"b": 1, "a": [1]}, '{"a":[1],"b":1}', id="str-from-object-sorted"),
    pytest.param(to_bool, "Yes", True, id="bool-yes"),
    pytest.param(to_bool, "off", False, id="bool-off"),
    pytest.param(to_bool, 1, True, id="bool-one"),
    pytest.param(to_bool, 0.0, False, id="bool-zero-float"),
    pytest.param(to_timestamp_ms, "2024-06-01T09:00:18Z", 1717232418000, id="ts-iso-z"),
    pytest.param(to_timestamp_ms, "2024-06-01T11:00:18.5+02:00", 1717232418500, id="ts-iso-offset"),
    pytest.param(to_timestamp_ms, "2024-06-01 09:00:18", 1717232418000, id="ts-naive-is-utc"),
    pytest.param(to_timestamp_ms, "1717232418000", 1717232418000, id="ts-ms-text"),
    pytest.param(to_timestamp_ms, 1717232418000.9, 1717232418000, id="ts-float-floors"),
    pytest.param(to_timestamp_ms, "1969-12-31T23:59:59.9995Z", -1, id="ts-before-epoch-floors"),
    pytest.param(to_timestamp_iso, 1717232418005, "2024-06-01T09:00:18.005Z", id="iso-from-ms"),
    pytest.param(to_timestamp_iso, "2024-06-01T11:00:18+02:00", "2024-06-01T09:00:18.000Z",
                 id="iso-normalises-offset"),
    pytest.param(to_timestamp_iso, -62135596800000, "0001-01-01T00:00:00.000Z", id="iso-year-one"),
])
def test_casts(cast, value, expected):
    result = cast(value)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("cast, value, reason", [
    pytest.param(to_int, 3.5, "cannot cast number 3.5 to int (not an integral number)", id="int-fraction"),
    pytest.param(to_int, True, "cannot cast bool true to int", id="int-bool"),
    pytest.param(to_int, "1_000", "cannot cast string '1_000' to int", id="int-underscore"),
    pytest.param(to_int, "\u0661\u0662", "to int", id="int-non-ascii-digits"),
    pytest.param(to_int, "9" * 5000, "too many digits", id="int-huge-text"),
    pytest.param(to_int, "1e999", "out of the float range", id="int-overflow-text"),
    pytest.param(to_float, "nan", "to float", id="float-nan-text"),
    pytest.param(to_float, math.inf, "not a finite number", id="float-inf"),
    pytest.param(to_float, 10**400, "out of the float range", id="float-huge-int"),
    pytest.param(to_float, [1], "cannot cast list [1] to float", id="float-list"),
    pytest.param(to_str, math.nan, "not a finite number", id="str-nan"),
    pytest.param(to_bool, "maybe", "cannot cast string 'maybe' to bool", id="bool-unknown-word"),
    pytest.param(to_bool, 2, "to bool", id="bool-two"),
    pytest.param(to_timestamp_ms, "yesterday", "expected ISO-8601 text or epoch milliseconds", id="ts-words"),
    pytest.param(to_timestamp_ms, True, "to timestamp", id="ts-bool"),
    pytest.param(to_timestamp_iso, 10**20, "outside years 1-9999", id="iso-out-of-range"),
])
def test_refusals(cast, value, reason):
    with pytest.raises(CastError) as caught:
        cast(value)
    assert reason in caught.value.reason


def test_long_values_are_shortened_in_reasons():
    with pytest.raises(CastError) as caught:
        to_int("x" * 1000)
    assert len(caught.value.reason) < 100 and "..." in caught.value.reason


def test_cast_table_names():
    assert sorted(CASTS) == ["bool", "float", "int", "str", "timestamp", "timestamp_iso"]


def test_epoch_ms_of_naive_and_aware_agree():
    from datetime import datetime, timezone
    assert epoch_ms(datetime(2024, 1, 1)) == epoch_ms(datetime(2024, 1, 1, tzinfo=timezone.utc))


def test_date_time_texts_read_again_come_from_the_cache_unchanged(monkeypatch):
    monkeypatch.setattr(casts, "_TEXT_MS_KEPT", 8)
    casts._TEXT_MS.clear()
    texts = [f"2024-06-01T09:00:{s:02d}{zone}" for s in range(0, 60, 3) for zone in ("Z", "+02:00", "")]
    first = [to_timestamp_ms(text) for text in texts]
    assert [to_timestamp_ms(text) for text in texts] == first == [_epoch_ms_of(t) for t in texts]
    assert 0 < len(casts._TEXT_MS) <= 8
    with pytest.raises(CastError):  # a refusal is never cached
        to_timestamp_ms("2024-13-01T00:00:00Z")
    with pytest.raises(CastError):
        to_timestamp_ms("2024-13-01T00:00:00Z")


def _epoch_ms_of(text):
    moment = datetime.fromisoformat(text)
    return round((moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp() * 1000)
