"""File source: CSV or JSON Lines into a topic, streamed line by line.

Upload:  POST /function/file-source/<topic>?format=csv&source=<name>[&key=<field>&dead_letter=<topic>
         &end=true] with the file as the body.
Path:    POST /function/file-source with {"source": {"topic", "dead_letter", "path" | "url",
         "params": {<FileSourceConfig>}, "end_of_input": true?}}; a relative path is under
         FILE_SOURCE_ROOT (the embedded stack: the repository). In a cluster a pod has no files
         of yours: give "url" (http or https), downloaded into the function's /tmp first.
Answer:  {"topic", "records", "dead_lettered", "end"} once Kafka acknowledged all of them.

End of input, only when asked (``end=true``, ``"end_of_input": true``): the last batch of every
partition of the topic carries "end": true, so windows downstream close. Ask only when this file
is all the topic will get: a topic other sources still write would see its windows closed
before their records came, and those would be late (docs/contracts.md; the ingest function's
``?end=true`` ends a topic once all its sources are done). Batch ids derive from the file's
content digest and the source name: the same file loaded again writes the same ids, which the
aggregate and the warehouse apply once.
"""
import contextlib
import os

from .etlkit import kafka_io
from .etlkit.downloads import DownloadError, downloaded, is_url
from .etlkit.http import BadRequest, error_response, json_response, parse_json_body, query_flag
from .etlkit.sourcefn import content_digest, deliver, spec_dead_letter, spec_params, spec_text
from .etlkit.sources import FileSourceConfig, SourceConfigError, read_records

kafka_io.start_producer()  # its producer id is ready by the first call


def _from_query(event):
    topic = event.path.strip("/")
    q = event.query
    params = {"source": q.get("source") or "upload", "format": q.get("format", "")}
    for name, field in (("key", "key_field"), ("time", "time_field")):
        if q.get(name):
            params[field] = q[name]
    if q.get("infer") == "true":
        params["infer_types"] = True
    return (topic, q.get("dead_letter"), FileSourceConfig.from_spec(params), event.body,
            query_flag(q, "end"))


def _from_spec(event):
    doc = parse_json_body(event.body)
    spec = doc.get("source") if isinstance(doc, dict) else None
    if not isinstance(spec, dict):
        raise BadRequest("source: required, an object")
    end = spec.get("end_of_input", False)
    if type(end) is not bool:
        raise BadRequest("source.end_of_input: true or false")
    try:
        config = FileSourceConfig.from_spec(spec_params(spec))
    except SourceConfigError as exc:  # its fields are the spec's params': name them so
        raise BadRequest(f"source.params.{exc}") from None
    if "url" in spec:
        if "path" in spec:
            raise BadRequest("source: path or url, not both")
        url = spec_text(spec, "url")
        if not is_url(url):
            raise BadRequest("source.url: must be an http:// or https:// URL")
        return spec_text(spec, "topic"), spec_dead_letter(spec), config, url, end
    path = spec_text(spec, "path")
    topic, dead_letter = spec_text(spec, "topic"), spec_dead_letter(spec)
    root = os.path.realpath(os.getenv("FILE_SOURCE_ROOT", "."))
    full = os.path.realpath(os.path.join(root, path))
    if os.path.commonpath([root, full]) != root:
        raise BadRequest(f"source.path: {path!r} is outside the file-source root")
    if not os.path.isfile(full):
        raise BadRequest(f"source.path: no file {path!r}", status=404)
    return topic, dead_letter, config, full, end


@contextlib.contextmanager
def _readable(body):
    """The body as read_records takes it: an uploaded body or a path as they are, a URL's file
    downloaded into /tmp for the length of the read."""
    if not (isinstance(body, str) and is_url(body)):
        yield body
        return
    try:
        with downloaded(body) as path:
            yield path
    except DownloadError as exc:  # a wrong URL is the caller's; a server or network fault, retry
        raise BadRequest(f"source.url: {exc}", status=503 if exc.retryable else 400) from None


def handle(event, context):
    now = kafka_io.now_ms()
    try:
        if event.method != "POST":
            raise BadRequest("method: POST a file or a source spec", status=405)
        topic, dead_letter, config, body, end = _from_query(event) if event.path.strip("/") \
            else _from_spec(event)
        if not kafka_io.topic_exists(topic):
            raise BadRequest(f"topic: unknown topic {topic!r}", status=404)
        if dead_letter and not kafka_io.topic_exists(dead_letter):  # not a 503 at the first bad line
            raise BadRequest(f"dead_letter: unknown topic {dead_letter!r}", status=404)
        with _readable(body) as readable:
            origin = f"file:{config.source}:{content_digest(readable)}"
            counts = deliver(read_records(config, readable, now), topic, dead_letter,
                             kafka_io.produce_batches, now, origin, end=end)
    except SourceConfigError as exc:
        return json_response(400, {"error": str(exc)})
    except BadRequest as exc:
        return error_response(exc)
    except kafka_io.DeliveryError as exc:
        return json_response(503, {"error": f"kafka: {exc}"})
    return json_response(200, {"topic": topic, **counts, "end": end})
