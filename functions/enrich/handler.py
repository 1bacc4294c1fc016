"""The enrich step: a lookup-table join; each replica keeps its tables, refreshed per the spec.

A relative lookup file path is resolved against LOOKUP_ROOT (the local stack sets it to the
repository; in a cluster, the folder a ConfigMap is mounted at).
"""
import json
import os

from .etlkit import kafka_io
from .etlkit.stepfn import handle_step
from .etlkit.steps import build_lookup, parse_step_config

_lookups = {}
kafka_io.start_producer()  # its producer id is ready by the first batch


def _lookup(spec):
    params = spec.get("params") or {}
    cache_key = json.dumps(params, sort_keys=True)
    if cache_key not in _lookups:
        config = parse_step_config("enrich", params, "step.params")
        _lookups[cache_key] = build_lookup(config, base_dir=os.getenv("LOOKUP_ROOT", "."))
    return _lookups[cache_key]


def handle(event, context):
    return handle_step(event.body, "enrich", kafka_io.now_ms(), kafka_io.produce_batches,
                       lookup=_lookup)
