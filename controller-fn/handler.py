"""The autoscaler function: one control tick per call (gather -> decide -> apply).

``POST`` the autoscaler envelope of docs/contracts.md (what the calendar Sensor sends):
``{"workflow", "version", "scaling": {...}, "event"}``. Add ``?dry_run=true`` (or
``"dry_run": true`` in the body) to get the plan without applying or saving anything.
``GET ?workflow=<name>`` answers the workflow's status: the last tick, its reasons and actions.

Answers 200 with the tick (status applied, unchanged, planned, or skipped when another tick of
the workflow holds its lease); 400 naming the field of a bad
envelope; 503 with the tick when an edge could not be reached or the apply failed (nothing was
changed, the reason says why). Configuration comes from the environment (see
``etlkit.controller.config``); clients are opened once per replica, the memory lives in the
state store, so a restarted replica carries on where the last tick left off.
"""
import json
import logging
import os
import threading
import time

from .etlkit.controller import ConfigError, ControllerConfig, EdgeError, parse_scaling, run_tick
from .etlkit.controller.tick import load_record
from .etlkit.controller.wiring import build_edges
from .etlkit.http import BadRequest, json_response, parse_json_body
from .etlkit.scheduler import StateError

logging.basicConfig(level=os.getenv("LOG_LEVEL", "INFO"),
                    format="%(asctime)s %(levelname)s %(name)s %(message)s")
# Guards the clients' creation only: ticks of a workflow exclude each other through its lease
# in the state store (etlkit.controller.lease), across threads and replicas alike, and a tick
# that finds it taken answers at once (status "skipped") instead of queueing behind it.
_setup_lock = threading.Lock()
_edges = None
_config = None


def _setup():
    global _edges, _config
    with _setup_lock:
        if _edges is None:
            _config = ControllerConfig.from_env(os.environ)
            _edges = build_edges(_config)
    return _config, _edges


def _truthy(value):
    return str(value).lower() in ("1", "true", "yes")


def _status(event, edges):
    workflow = event.query.get("workflow", "")
    if not workflow:
        raise BadRequest("workflow: required query parameter (the workflow whose status to show)")
    record = load_record(edges.store, workflow)
    if record.ticks == 0:
        return json_response(404, {"error": f"workflow {workflow!r}: no tick yet"})
    return json_response(200, {"workflow": workflow, "ticks": record.ticks,
                               "last_tick": record.last_tick, "routes": record.routes})


def handle(event, context):
    try:
        config, edges = _setup()
    except ConfigError as exc:
        return json_response(500, {"error": f"configuration: {exc}"})
    except EdgeError as exc:
        return json_response(503, {"error": str(exc)})
    try:
        if event.method == "GET":
            return _status(event, edges)
        doc = parse_json_body(event.body)
        try:
            spec = parse_scaling(doc)
        except ConfigError as exc:
            raise BadRequest(str(exc)) from None
        dry_run = _truthy(event.query.get("dry_run", "")) or (
            isinstance(doc, dict) and doc.get("dry_run") is True)
        result = run_tick(spec, config, edges, now=time.time(), dry_run=dry_run)
    except BadRequest as exc:
        return json_response(exc.status, {"error": str(exc)})
    except (EdgeError, StateError) as exc:
        return json_response(503, {"error": str(exc)})
    code = 503 if result.status in ("unreachable", "failed") else 200
    return {"statusCode": code, "body": json.dumps(result.to_dict(), default=str),
            "headers": {"Content-Type": "application/json"}}
