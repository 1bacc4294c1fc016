"""Records from Argo Kafka event data: JSON and base64 bodies, Go timestamps, bad events."""
import base64
import random

import pytest

from etlkit.steps import BadEvent, Record, parse_go_time, record_from_argo_event, records_from_events
from etlkit.steps import argo_event


@pytest.mark.parametrize("text, millis", [
    pytest.param("2024-06-01 09:00:18 +0000 UTC", 1717232418000, id="utc"),
    pytest.param("2024-06-01 11:00:18.123456789 +0200 CEST", 1717232418123, id="nanos-and-offset"),
    pytest.param("2024-06-01 09:00:18.5 +0000 UTC m=+0.000000001", 1717232418500, id="monotonic-suffix"),
    pytest.param("1969-12-31 23:59:59.9995 +0000 UTC", -1, id="before-epoch-floors"),
    pytest.param(1717232418000, 1717232418000, id="already-ms"),
    pytest.param("yesterday", None, id="not-a-time"),
    pytest.param("2024-13-01 00:00:00 +0000 UTC", None, id="impossible-date"),
    pytest.param(None, None, id="absent"),
])
def test_parse_go_time(text, millis):
    assert parse_go_time(text) == millis


@pytest.mark.parametrize("text, millis", [
    pytest.param("2024-06-01 09:00:18.1 +0000 UTC", 1717232418100, id="one-digit-fraction"),
    pytest.param("2024-06-01 09:00:18.12 +0000 UTC", 1717232418120, id="two-digit-fraction"),
    pytest.param("2024-06-01 09:00:18.012 +0000 UTC", 1717232418012, id="leading-zero-fraction"),
    pytest.param("2024-06-01 09:00:18.999999999 +0000 UTC", 1717232418999, id="nanos-floor"),
    pytest.param("2024-06-01 09:00:18.1234567890 +0000 UTC", None, id="ten-digit-fraction"),
    pytest.param("2024-06-01 09:00:18. +0000 UTC", None, id="empty-fraction"),
    pytest.param("2024-06-01 09:00:18.\u0663 +0000 UTC", None, id="non-ascii-digit-fraction"),
    pytest.param("2024-06-01 09:00:18.5", None, id="no-offset"),
    pytest.param("  2024-06-01 09:00:18.5 +0000 UTC  ", 1717232418500, id="surrounding-blanks"),
    pytest.param("         2024-06-01.5 09:00:18 +0000 UTC", None, id="fraction-after-blanks-is-no-time"),
    pytest.param("         2024-06-01 09:00:18 +0000 UTC", 1717232418000, id="blanks-then-whole-second"),
    pytest.param("1969-12-31 23:59:59.001 +0000 UTC", -999, id="before-epoch-with-fraction"),
    pytest.param("2024-06-01 09:00:60 +0000 UTC", None, id="second-60"),
    pytest.param("2024-06-01 09:00:6 +0000 UTC", None, id="one-digit-second"),
    pytest.param("2024-06-01 09:00-59 +0000 UTC", None, id="no-colon-before-seconds"),
    pytest.param("2024-06-01 11:00:18.5 +0200 CEST", 1717232418500, id="offset-with-fraction"),
])
def test_parse_go_time_fast_path_edges(text, millis):
    argo_event._MINUTES.clear()
    assert parse_go_time(text) == millis
    assert parse_go_time(text) == millis  # again, from the cache of minutes


def _mutated_go_times(seed: int, count: int) -> list[str]:
    """Go time texts and near misses: random fractions, offsets, zones, and edits of any char."""
    rng = random.Random(seed)
    alphabet = "0123456789 .:+-\tUTCm=x\u0663"
    texts = []
    for _ in range(count):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 10)))
        text = (f"{rng.randint(1960, 2100):04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} "
                f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
                + (f".{digits}" if digits or rng.random() < 0.1 else "")
                + f" {rng.choice('+-')}{rng.randint(0, 14):02d}{rng.choice((0, 30, 45)):02d}"
                + rng.choice(("", " UTC", " CEST", " m=+0.5", " UTC m=+12.25", "  ")))
        for _ in range(rng.choice((0, 0, 1, 2))):
            where = rng.randrange(len(text) + 1)
            edit = rng.choice(("replace", "insert", "delete"))
            char = rng.choice(alphabet)
            if edit == "replace" and where < len(text):
                text = text[:where] + char + text[where + 1:]
            elif edit == "insert":
                text = text[:where] + char + text[where:]
            else:
                text = text[:where] + text[where + 1:]
        texts.append(rng.choice(("", " ", "\t")) + text)
    return texts


@pytest.mark.parametrize("seed", range(5))
def test_parse_go_time_agrees_with_the_full_parser(seed):
    # The cache of minutes is an optimisation: the regex parser is the oracle, cold and warm.
    texts = _mutated_go_times(seed, 400)
    argo_event._MINUTES.clear()
    expected = [argo_event._parse_go_time_text(text) for text in texts]
    assert [parse_go_time(text) for text in texts] == expected
    assert [parse_go_time(text) for text in reversed(texts)] == expected[::-1]


def test_the_cache_of_minutes_stays_bounded(monkeypatch):
    monkeypatch.setattr(argo_event, "_MINUTES_KEPT", 10)
    argo_event._MINUTES.clear()
    for minute in range(25):
        assert parse_go_time(f"2024-06-01 09:{minute:02d}:07.5 +0000 UTC") == 1717232407500 + minute * 60_000
    assert 0 < len(argo_event._MINUTES) <= 10


def test_a_json_body_event():
    record = record_from_argo_event({"topic": "t", "key": "k", "partition": 3, "body": {"a": 1},
                                     "timestamp": "2024-06-01 09:00:18 +0000 UTC",
                                     "headers": {"etl-source": "api", "etl-event-time": "5"}})
    assert record == Record(value={"a": 1}, key="k", topic="t", partition=3,
                            headers={"etl-source": "api", "etl-event-time": "5"},
                            timestamp=1717232418000)


def test_a_base64_body_and_an_empty_key():
    body = base64.b64encode(b'{"a": "\xc3\xa9"}').decode()
    record = record_from_argo_event({"topic": "t", "key": "", "body": body})
    assert record.value == {"a": "é"} and record.key is None and record.headers == {}


@pytest.mark.parametrize("event, reason, payload", [
    pytest.param({"body": [1, 2]}, "event.body: must be a JSON object", [1, 2], id="list-body"),
    pytest.param({"body": "{oops"}, "event.body: not JSON", "{oops", id="text-body"),
    pytest.param({"body": base64.b64encode(b"[1]").decode()}, "event.body: must be a JSON object", [1],
                 id="base64-list"),
    pytest.param({"body": None}, "event.body: must be a JSON object", None, id="no-body"),
    pytest.param({"body": {}, "headers": ["x"]}, "event.headers: must be an object", {}, id="headers-list"),
    pytest.param("text", "event: must be an object", "text", id="not-an-object"),
])
def test_bad_events(event, reason, payload):
    with pytest.raises(BadEvent) as caught:
        record_from_argo_event(event)
    assert caught.value.reason == reason and caught.value.payload == payload


def test_records_from_events_splits_good_and_bad():
    records, dead = records_from_events([{"body": {"a": 1}}, {"topic": "t", "key": "k", "body": 5}],
                                        "s", 9)
    assert [r.value for r in records] == [{"a": 1}]
    assert [d.to_dict() for d in dead] == [{"step": "s", "reason": "event.body: must be a JSON object",
                                            "payload": 5, "topic": "t", "key": "k", "at": 9}]


@pytest.mark.parametrize("event, headers", [
    pytest.param({"body": {}, "headers": {"a": "1"}}, {"a": "1"}, id="text-kept"),
    pytest.param({"body": {}, "headers": {"a": 1, "b": None}}, {"a": "1", "b": "None"},
                 id="non-text-as-text"),
    pytest.param({"body": {}, "headers": None}, {}, id="null-is-none"),
    pytest.param({"body": {}, "headers": []}, {}, id="empty-list-is-none"),
])
def test_event_headers_become_text(event, headers):
    assert record_from_argo_event(event).headers == headers


def test_a_decoded_record_equals_one_built_with_checks():
    event = {"topic": "t", "key": "k", "partition": 2, "body": {"a": [1]},
             "timestamp": "2024-06-01 09:00:18.25 +0000 UTC", "headers": {"h": "v"}}
    record = record_from_argo_event(event)
    assert record == Record(value={"a": [1]}, key="k", topic="t", partition=2, headers={"h": "v"},
                            timestamp=1717232418250)
    assert type(record.key) is str and record.offset is None


class _Text(str):
    pass


def test_a_key_of_a_str_subclass_is_a_dead_letter_as_before():
    records, dead = records_from_events([{"body": {"a": 1}, "key": _Text("k")}], "s", 7)
    assert records == [] and dead[0].reason.startswith("event: Record.key: must be text")
