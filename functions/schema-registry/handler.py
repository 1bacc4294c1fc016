"""The schema-registry role, with Confluent Schema Registry's paths (subject = topic name):

GET  /subjects                                   -> ["orders-raw", ...]
GET  /subjects/<subject>/versions                -> [1, 2]
GET  /subjects/<subject>/versions/<n|latest>     -> {"subject", "version", "schema"}
POST /subjects/<subject>/versions      {"schema"} -> {"version"}; 409 naming the breaking field
POST /compatibility/subjects/<subject>/versions/latest {"schema"} -> {"is_compatible", "messages"}
"""
from .etlkit.http import BadRequest, error_response, json_response, parse_json_body, whole_number
from .etlkit.schema_store import registry_from_env
from .etlkit.schemas import IncompatibleSchema, SchemaInvalid, UnknownSubject

_registry = None


def _schema_of(body):
    doc = parse_json_body(body)
    if not isinstance(doc, dict) or "schema" not in doc:
        raise BadRequest('schema: required, the body is {"schema": <JSON Schema>}')
    return doc["schema"]


def _route(method, parts, body, registry):
    if parts == ["subjects"] and method == "GET":
        return 200, registry.subjects()
    if len(parts) >= 3 and parts[0] == "subjects" and parts[2] == "versions":
        subject = parts[1]
        if len(parts) == 3 and method == "GET":
            return 200, registry.versions(subject)
        if len(parts) == 3 and method == "POST":
            return 200, {"version": registry.register(subject, _schema_of(body))}
        if len(parts) == 4 and method == "GET":
            version = None if parts[3] == "latest" else whole_number(parts[3], "version")
            if not registry.versions(subject):
                raise UnknownSubject(f"no schema registered for {subject!r}")
            number = version if version is not None else registry.versions(subject)[-1]
            return 200, {"subject": subject, "version": number,
                         "schema": registry.schema(subject, number)}
    if parts[:1] == ["compatibility"] and len(parts) == 5 and method == "POST":
        problems = registry.check(parts[2], _schema_of(body))
        return 200, {"is_compatible": not problems, "messages": [str(p) for p in problems]}
    raise BadRequest(f"path: no route for {method} /{'/'.join(parts)}", status=404)


def handle(event, context):
    global _registry
    _registry = _registry or registry_from_env()
    _registry.refresh()  # another replica (or the ingest function's reader) may have written
    parts = [p for p in event.path.split("/") if p]
    try:
        status, doc = _route(event.method, parts, event.body, _registry)
    except BadRequest as exc:
        return error_response(exc)
    except UnknownSubject as exc:
        return json_response(404, {"error": f"subject: {exc}"})
    except IncompatibleSchema as exc:
        return json_response(409, {"error": str(exc), "problems": [str(p) for p in exc.problems]})
    except SchemaInvalid as exc:
        return json_response(422, {"error": f"schema: {exc}"})
    return json_response(status, doc)
