"""The workflow manager's Configs service: versioned workflow definitions over REST.

GET    /workflows                          -> [{"name", "version", "created_at_ms"}]
POST   /workflows            (YAML or JSON) -> 201 {"name", "version"}; 400 {"errors": ["<field>: <rule>"]}
GET    /workflows/<name>[?version=N]        -> {"name", "version", "created_at_ms", "document"}
PUT    /workflows/<name>?expected_version=N -> {"name", "version"}; 409 when N is not the latest
DELETE /workflows/<name>?expected_version=N -> {"name", "deleted_at_version"}
GET    /workflows/<name>/history            -> [{"version", "created_at_ms", "deleted"}]
GET    /workflows/<name>/manifests[?version=N] -> [{"path", "text"}]: its Argo Events and KafkaTopic
                                               manifests, rendered for that version

Definitions are validated (every error, each naming the field and the rule) before they are
stored; nothing half-stored. The store is SQLite at WORKFLOW_STORE (a volume in a cluster).
"""

from .etlkit.http import BadRequest, error_response, json_response
from .etlkit.paths import local_path
from .etlkit.workflow import WorkflowInvalid
from .etlkit.workflow.render import render_workflow
from .etlkit.workflow.sqlite_store import SqliteWorkflowStore
from .etlkit.workflow.store import (StaleVersion, WorkflowConfigs, WorkflowExists,
                                    WorkflowNotFound)

_configs = None


def _store():
    global _configs
    if _configs is None:
        _configs = WorkflowConfigs(SqliteWorkflowStore(local_path("WORKFLOW_STORE", "workflows.db")))
    return _configs


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
    if text is None or not text.isdigit():
        raise BadRequest(f"{field}: {'required, ' if required else ''}a whole number")
    return int(text)


def _summary(stored):
    return {"name": stored.name, "version": stored.version, "created_at_ms": stored.created_at_ms}


def _route(method, parts, event, configs):
    query = event.query
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
    return json_response(status, doc)
