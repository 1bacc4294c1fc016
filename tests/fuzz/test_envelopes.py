"""Any JSON body, to any function, is answered 200 or 4xx with a JSON error naming a field:
never a 5xx, never an HTML page (issue 17 item 7). Through the local stack's gateway: real
functions under our template, a real (embedded) broker, real state and warehouse databases.

Each example is a function's valid envelope with one part replaced by hostile JSON (or the
whole body replaced): the replaced part is the one the answer must name.
"""
import json
import re
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .budget import fuzz
from .strategies import json_values

pytestmark = pytest.mark.slow  # the session's local stack
# A field path first (a hostile key may follow it: "source.params.:: unknown field"), then ": ".
FIELD_FIRST = re.compile(r"^[A-Za-z_][\w.\[\]-]*\S*: ")
TAG = uuid.uuid4().hex[:8]
OUT, DLQ = f"fz-out-{TAG}", f"fz-dlq-{TAG}"
EVENT = {"topic": "fz-in", "key": "k", "partition": 0, "body": {"id": "k", "n": 2, "page": "/a"},
         "timestamp": "2026-01-02T03:04:05Z", "headers": {"etl-source": "fz"}}


def _step(kind, **fields):
    return {"workflow": "fz", "version": 1, "id": "es:e:h:fz-in:0:1",
            "step": {"kind": kind, "name": kind, "output": OUT, "dead_letter": DLQ, **fields},
            "event": EVENT}


def _source(kind, **fields):
    return {"workflow": "fz", "version": 1, "event": {"eventTime": "2026-01-02T03:04:05Z"},
            "source": {"kind": kind, "name": f"fz-{kind}", "topic": OUT, "dead_letter": DLQ, **fields}}


# function -> (path, the valid body, the parts of it a mutation replaces)
ENVELOPES = {
    "filter": ("", _step("filter", condition="n > 1")),
    "map": ("", _step("map", params={"rename": {"n": "m"}, "cast": {"m": "int"}})),
    "aggregate": ("", _step("aggregate", params={"group_by": ["page"], "window": "1m",
                                                 "aggregations": {"hits": "count"}})),
    "warehouse-loader": ("", _step("sink", table=f"fz_{TAG}", key="id")),
    "metrics-collector": ("", _source("metrics")),
    "sql-source": ("", _source("sql", params={"source": "fz", "table": "fz_none", "cursor": "id"})),
    "file-source": ("", {"source": {"topic": OUT, "dead_letter": DLQ, "path": "README.md",
                                    "params": {"source": "fz", "format": "jsonl"}}}),
    "ingest": (f"/{OUT}", {"records": [{"id": "a", "n": 1}]}),
    "matcher": ("", {"upstream": [{"service_id": "u", "node": "n1", "velocity": 1}],
                     "downstream": [{"service_id": "d", "node": "n1", "velocity": 1}],
                     "nodes": [{"name": "n1", "region": "r", "zone": "z", "hostname": "h"}]}),
    "schema-registry": (f"/subjects/fz-{TAG}/versions", {"schema": {"type": "object"}}),
}


def _parts(doc, prefix=()):
    """Every path into ``doc`` one or two levels deep (a top-level part, a part of an object
    in it)."""
    out = []
    for key, value in doc.items():
        out.append(prefix + (key,))
        if isinstance(value, dict) and not prefix:
            out += _parts(value, (key,))
    return out


def _replaced(doc, path, value):
    doc = json.loads(json.dumps(doc))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


@st.composite
def bodies(draw, fn):
    _path, valid = ENVELOPES[fn]
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values), None
    part = draw(st.sampled_from(_parts(valid)))
    return _replaced(valid, part, draw(json_values)), part


@pytest.fixture(scope="module")
def stack(local_stack):
    local_stack.create_topics({OUT: 1, DLQ: 1})
    with local_stack.session() as session:
        yield session, local_stack.url


COUNTS = {}


@pytest.mark.parametrize("fn", sorted(ENVELOPES))
def test_any_json_body_is_answered_200_or_a_4xx_naming_a_field(stack, fn):
    session, url = stack
    path, valid = ENVELOPES[fn]
    first = session.post(f"{url}/function/{fn}{path}", data=json.dumps(valid), timeout=60)
    assert first.status_code < 500, first.text  # the valid envelope itself is served
    tally = COUNTS.setdefault(fn, {})

    @fuzz(0.1)
    @given(bodies(fn))
    def check(case):
        body, part = case
        resp = session.post(f"{url}/function/{fn}{path}", data=json.dumps(body), timeout=60)
        tally[resp.status_code] = tally.get(resp.status_code, 0) + 1
        assert resp.status_code < 500, (part, resp.text)
        assert resp.headers.get("Content-Type", "").startswith("application/json"), resp.text
        if resp.status_code >= 400:
            answer = resp.json()
            # ingest answers per record (its contract): each refused record's error names a field
            errors = [answer["error"]] if "error" in answer else [r["error"] for r in answer["results"]]
            assert errors and all(FIELD_FIRST.match(e) for e in errors), (part, resp.text)

    check()
    print(f"{fn}: {dict(sorted(tally.items()))}")
