"""The workflow manager: versioned workflow definitions (Configs) and their runs (Runner) over REST.

Configs:

GET    /workflows                          -> [{"name", "version", "created_at_ms"}]
POST   /workflows            (YAML or JSON) -> 201 {"name", "version"}; 400 {"errors": ["<field>: <rule>"]}
GET    /workflows/<name>[?version=N]        -> {"name", "version", "created_at_ms", "document"}
PUT    /workflows/<name>?expected_version=N -> {"name", "version"}; 409 when N is not the latest
DELETE /workflows/<name>?expected_version=N -> {"name", "deleted_at_version"}
GET    /workflows/<name>/history            -> [{"version", "created_at_ms", "deleted"}]
GET    /workflows/<name>/manifests[?version=N] -> [{"path", "text"}]: its Argo Events and KafkaTopic
                                               manifests, rendered for that version

Runner (etlkit.runs):

POST   /workflows/<name>/run[?version=N]    -> 202 {"name", "version", "state", "reason"}: topics created,
                                               then its EventSources and Sensors applied (default: the
                                               latest version; another running version is replaced);
                                               200 when that version runs already; 404 no such
                                               workflow or version; 409 deleted; 502 {"error", "undone"}
                                               when applying failed midway (what it applied is undone)
DELETE /workflows/<name>/run                -> {"name", "state", "removed": ["Kind/name"]}: its Sensors and
                                               EventSources removed; topics and consumer-group offsets
                                               stay, so the next start resumes where this one stopped
GET    /workflows/<name>/run                -> {"name", "version", "state" (running, starting, failed,
                                               stopping, stopped), "reason", "started_at", "steps":
                                               [{"name", "function", "sensor", "records": {"in", "out",
                                               "filtered", "dead_lettered", "emitted"}, "inputs": [{"topic",
                                               "consumer_group", "backlog", "partitions"}]}], "sensors":
                                               {sensor: counters}, "skipped", "errors": {edge: why}}
GET    /runs                                -> [{"name", "version", "state", "started_at"}]

Definitions are validated (every error, each naming the field and the rule) before they are
stored; nothing half-stored. The versions live in the state database (STATE_URL,
etlkit/state_db.py: SQLite locally, PostgreSQL in a cluster), shared by every replica.
Runs go to RUN_BACKEND: ``local`` (a folder the local reconciler of ``faas-etl up`` runs) or
``kubernetes`` (Argo Events and Strimzi custom objects); see etlkit/runs/config.py for the rest.
"""
import os

from .etlkit.http import BadRequest, error_response, json_response, whole_number
from .etlkit.controller.errors import ConfigError, EdgeError
from .etlkit.paths import run_dir
from .etlkit.runs import RunConfig, RunFailed, RunRefused
from .etlkit.workflow import WorkflowInvalid
from .etlkit.workflow.render import render_workflow
from .etlkit.state_db import StateUnavailable, open_state_db
from .etlkit.workflow.db_store import StateDbWorkflowStore
from .etlkit.workflow.store import (StaleVersion, WorkflowConfigs, WorkflowExists,
                                    WorkflowNotFound)

_configs = None
_runs = None


def _store():
    global _configs
    if _configs is None:
        _configs = WorkflowConfigs(StateDbWorkflowStore(open_state_db(application_name="workflow-manager")))
    return _configs


def _runner():
    """The Runner, built on first use: the configuration is checked before any client opens."""
    global _runs
    if _runs is None:
        from .etlkit.runs.wiring import build_runs

        _runs = build_runs(RunConfig.from_env(os.environ, run_dir=run_dir()), _store())
    return _runs


def _document(body):
    if not body:
        raise BadRequest("body: required, the workflow definition (YAML or JSON)")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"body: not valid UTF-8 (byte {exc.start})") from None


def _number(query, field, required):
    text = query.get(field)
    if text is None and not required:
        return None
    if text is None:
        raise BadRequest(f"{field}: required, a whole number")
    return whole_number(text, field)


def _summary(stored):
    return {"name": stored.name, "version": stored.version, "created_at_ms": stored.created_at_ms}


def _run_route(method, parts, query):
    if parts == ["runs"] and method == "GET":
        return 200, _runner().list()
    if len(parts) == 3 and parts[0] == "workflows" and parts[2] == "run":
        name = parts[1]
        if method == "POST":
            return _runner().start(name, _number(query, "version", False))
        if method == "DELETE":
            return 200, _runner().stop(name)
        if method == "GET":
            return 200, _runner().status(name)
    return None


def _route(method, parts, event, configs):
    query = event.query
    routed = _run_route(method, parts, query)
    if routed is not None:
        return routed
    if parts == ["workflows"]:
        if method == "GET":
            return 200, [_summary(w) for w in configs.list()]
        if method == "POST":
            stored = configs.create(_document(event.body))
            return 201, {"name": stored.name, "version": stored.version}
    if len(parts) == 2 and parts[0] == "workflows":
        name = parts[1]
        if method == "GET":
            stored = configs.get(name, _number(query, "version", False))
            return 200, {**_summary(stored), "document": stored.document}
        if method == "PUT":
            stored = configs.update(name, _document(event.body),
                                    _number(query, "expected_version", True))
            return 200, {"name": stored.name, "version": stored.version}
        if method == "DELETE":
            record = configs.delete(name, _number(query, "expected_version", True))
            return 200, {"name": name, "deleted_at_version": record.version}
    if len(parts) == 3 and parts[0] == "workflows" and method == "GET":
        name = parts[1]
        if parts[2] == "history":
            return 200, [{"version": r.version, "created_at_ms": r.created_at_ms,
                          "deleted": r.deleted} for r in configs.history(name)]
        if parts[2] == "manifests":
            stored = configs.get(name, _number(query, "version", False))
            files = render_workflow(stored.workflow(), stored.version)
            return 200, [{"path": str(f.path), "text": f.text} for f in files]
    raise BadRequest(f"path: no route for {method} /{'/'.join(parts)}", status=404)


def handle(event, context):
    parts = [p for p in event.path.split("/") if p]
    try:
        status, doc = _route(event.method, parts, event, _store())
    except BadRequest as exc:
        return error_response(exc)
    except WorkflowInvalid as exc:
        return json_response(400, {"error": "workflow: invalid definition",
                                   "errors": [str(e) for e in exc.errors]})
    except WorkflowNotFound as exc:
        return json_response(404, {"error": f"workflow: {exc}"})
    except (WorkflowExists, StaleVersion) as exc:
        return json_response(409, {"error": f"workflow: {exc}"})
    except RunRefused as exc:
        return json_response(exc.status, {"error": str(exc)})
    except RunFailed as exc:
        return json_response(502, exc.to_dict())
    except ConfigError as exc:
        return json_response(500, {"error": f"configuration: {exc}"})
    except (EdgeError, StateUnavailable) as exc:
        return json_response(503, {"error": str(exc)})
    return json_response(status, doc)
