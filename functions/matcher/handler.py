"""The matcher function: match two adjacent operations' services at minimum network cost.

``POST`` ``{"upstream": [{"service_id", "node", "velocity"}], "downstream": [...],
"nodes": [{"name", "region", "zone", "hostname"}], "algorithm": "hierarchical",
"forbidden": [[up, down]], "caps": [[up, down, records_per_s]]}``. Velocities are records/s
(supplies and demands); the cost of a record is the topology distance between the two nodes
(0 same host, 2 same zone, 4 same region, 6 otherwise). Answers 200 with
``{"algorithm", "total_flow", "total_cost", "stability", "flows": [[up, down, amount, cost]]}``
(maximum flow, then minimum cost; deterministic; stability null when the cost is 0), or 400 naming the field that broke a rule.

Numbers are exact both ways: the body is read by the exact reader (an integer of any size stays
an int, a number a double cannot hold a Decimal) and never passed through float(), the matching
is solved in integers, and integer amounts and totals are written as integers, so velocities
and totals past 2**53 come back digit for digit.
"""
from decimal import Decimal

from .etlkit.http import BadRequest, json_response, parse_json_body
from .etlkit.scheduler import (ALGORITHMS, Endpoint, MatchingInputError, NodeTopology,
                               ObservationError, match_services)


def _is_number(value):
    # What parse_json_body gives for a JSON number: int, float or Decimal (bool is not one).
    return not isinstance(value, bool) and isinstance(value, (int, float, Decimal))


def _list(doc, key, required=True):
    value = doc.get(key, None if required else [])
    if not isinstance(value, list):
        raise BadRequest(f"{key}: {'required, ' if required else ''}an array")
    return value


def _endpoints(doc, key):
    out = []
    for k, item in enumerate(_list(doc, key)):
        if not isinstance(item, dict):
            raise BadRequest(f"{key}[{k}]: must be an object")
        for field, kind in (("service_id", str), ("node", str)):
            if not isinstance(item.get(field), kind) or not item[field]:
                raise BadRequest(f"{key}[{k}].{field}: required, a non-empty string")
        velocity = item.get("velocity")
        if not _is_number(velocity):
            raise BadRequest(f"{key}[{k}].velocity: required, a number of records/s")
        out.append(Endpoint(item["service_id"], item["node"], velocity))
    return out


def _nodes(doc):
    nodes = {}
    for k, item in enumerate(_list(doc, "nodes")):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise BadRequest(f"nodes[{k}].name: required, a string")
        labels = {f: item.get(f) for f in ("region", "zone", "hostname")}
        for field, value in labels.items():
            if value is not None and not isinstance(value, str):
                raise BadRequest(f"nodes[{k}].{field}: must be a string or null")
        try:
            nodes[item["name"]] = NodeTopology(item["name"], **labels)
        except ObservationError as exc:
            raise BadRequest(f"nodes[{k}].{exc.field.split('.')[-1]}: {exc.rule}") from None
    return nodes


def _pairs(doc, key, width):
    out = []
    for k, item in enumerate(_list(doc, key, required=False)):
        if not isinstance(item, list) or len(item) != width or not all(
                isinstance(x, str) for x in item[:2]):
            raise BadRequest(f"{key}[{k}]: must be [upstream id, downstream id"
                             + (", records/s]" if width == 3 else "]"))
        out.append(item)
    return out


def handle(event, context):
    try:
        doc = parse_json_body(event.body)
        if not isinstance(doc, dict):
            raise BadRequest("body: must be a JSON object")
        algorithm = doc.get("algorithm", "hierarchical")
        if algorithm not in ALGORITHMS:
            raise BadRequest(f"algorithm: must be one of {', '.join(ALGORITHMS)}")
        upstream, downstream = _endpoints(doc, "upstream"), _endpoints(doc, "downstream")
        nodes = _nodes(doc)
        forbidden = frozenset((u, d) for u, d in _pairs(doc, "forbidden", 2))
        caps = {}
        for k, (u, d, cap) in enumerate(_pairs(doc, "caps", 3)):
            if not _is_number(cap):
                raise BadRequest(f"caps[{k}][2]: must be a number of records/s")
            caps[(u, d)] = cap
        matching = match_services(upstream, downstream, nodes, algorithm=algorithm,
                                  forbidden=forbidden, caps=caps or None)
    except BadRequest as exc:
        return json_response(exc.status, {"error": str(exc)})
    except MatchingInputError as exc:
        return json_response(400, {"error": str(exc)})
    # JSON has no infinity: a matching that costs nothing has no stability number (null).
    theta = matching.stability
    return json_response(200, {**matching.to_dict(),
                               "stability": theta if theta != float("inf") else None})
