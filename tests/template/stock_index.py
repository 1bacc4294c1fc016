"""A stand-in of the stock OpenFaaS python3-http template's index.py, for tests: copied over a
build's index.py, it serves ``function.handler.handle`` as the stock template does.

Upstream: openfaas/python-flask-template (commit e01a882, "Update of-watchdog to 0.11.3")
template/python3-http/index.py: Flask on waitress, ``Event.body = request.get_data()``,
``.headers = request.headers``, ``.method``, ``.query = request.args``, ``.path = request.path``,
routes ``/`` and ``/<path:path>`` for GET, PUT, POST, PATCH and DELETE, the handler's dict turned
into ``(body, statusCode, headers)`` (a dict body through ``jsonify``, anything else ``str()``),
and nothing catching what the handler raises. Flask is not installed here, so this stand-in
reproduces what of Flask and Werkzeug 3 a handler can see:

* ``request.args``: the query string read as UTF-8, ``parse_qsl`` keeping blank values, in a
  MultiDict whose ``get``/``[]`` give a repeated parameter's FIRST value;
* ``request.path``: PATH_INFO's bytes read as UTF-8 (errors replaced), one leading slash;
* an uncaught exception: Flask's 500 page, HTML (``InternalServerError``'s text);
* another method: Flask's 405 page, HTML;
* ``jsonify``: sorted keys, compact, a trailing newline, ``application/json``; a ``str`` answer
  is ``text/html; charset=utf-8`` unless the handler's headers say otherwise.
"""
import json
import os
import sys
import traceback
from urllib.parse import parse_qsl, quote

from waitress import serve

from function import handler

METHODS = ("GET", "PUT", "POST", "PATCH", "DELETE")
_HTML = ("<!doctype html>\n<html lang=en>\n<title>{code} {name}</title>\n<h1>{name}</h1>\n"
         "<p>{text}</p>\n")
_500 = ("The server encountered an internal error and was unable to complete your request. "
        "Either the server is overloaded or there is an error in the application.")
_405 = "The method is not allowed for the requested URL."
_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 207: "Multi-Status", 400: "Bad Request",
            404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
            413: "Request Entity Too Large", 422: "Unprocessable Entity",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


class MultiDict(dict):
    """Werkzeug's MultiDict as a handler uses it: first values through the dict, all through
    ``getlist``."""

    def __init__(self, pairs):
        super().__init__()
        self._lists = {}
        for key, value in pairs:
            self._lists.setdefault(key, []).append(value)
            self.setdefault(key, value)

    def getlist(self, key):
        return list(self._lists.get(key, ()))

    def to_dict(self):
        return dict(self)


class Headers(dict):
    def get(self, key, default=None):
        return super().get(key.lower(), default)

    def __getitem__(self, key):
        return super().__getitem__(key.lower())

    def __contains__(self, key):
        return super().__contains__(key.lower())


def _requote(error):
    return quote(error.object[error.start:error.end]), error.end


import codecs  # noqa: E402

codecs.register_error("stock.url_quote", _requote)


class Event:
    def __init__(self, environ):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.body = environ["wsgi.input"].read(length) if length else environ["wsgi.input"].read()
        self.headers = Headers({k[5:].replace("_", "-").lower(): v for k, v in environ.items()
                                if k.startswith("HTTP_")})
        for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(name):
                self.headers[name.replace("_", "-").lower()] = environ[name]
        self.method = environ["REQUEST_METHOD"]
        query = environ.get("QUERY_STRING", "").encode("latin-1").decode("utf-8", "replace")
        self.query = MultiDict(parse_qsl(query, keep_blank_values=True, errors="stock.url_quote"))
        raw = environ.get("PATH_INFO", "") or ""
        self.path = "/" + raw.encode("latin-1").decode("utf-8", "replace").lstrip("/")


class Context:
    def __init__(self):
        self.hostname = os.getenv("HOSTNAME", "localhost")


def _answer(start_response, status, body, headers):
    if isinstance(body, str):
        body = body.encode("utf-8")
    names = {k.lower() for k, _ in headers}
    if "content-type" not in names:
        headers = [*headers, ("Content-Type", "text/html; charset=utf-8")]
    start_response(f"{status} {_REASONS.get(status, 'Unknown')}",
                   [*((k, str(v)) for k, v in headers), ("Content-Length", str(len(body)))])
    return [body]


def _html(start_response, status, text):
    page = _HTML.format(code=status, name=_REASONS[status], text=text)
    return _answer(start_response, status, page, [("Content-Type", "text/html; charset=utf-8")])


def app(environ, start_response):
    if environ["REQUEST_METHOD"] not in METHODS:
        return _html(start_response, 405, _405)
    try:
        resp = handler.handle(Event(environ), Context())
    except Exception:  # noqa: BLE001 - Flask's handle_exception: the traceback, then the page
        traceback.print_exc(file=sys.stderr)
        return _html(start_response, 500, _500)
    if resp is None:
        return _answer(start_response, 200, "", [])
    if type(resp) is not dict:
        return _answer(start_response, 200, str(resp), [])
    status = resp.get("statusCode", 200)
    headers = list((resp.get("headers") or {}).items()) if type(resp.get("headers", {})) is dict \
        else list(resp["headers"])
    if "body" not in resp:
        body = ""
    elif type(resp["body"]) is dict:
        body = json.dumps(resp["body"], sort_keys=True, separators=(",", ":")) + "\n"
        headers = [("Content-Type", "application/json"), *headers]
    else:
        body = str(resp["body"])
    return _answer(start_response, int(status), body, headers)


if __name__ == "__main__":
    serve(app, host=os.getenv("BIND_HOST", "127.0.0.1"), port=int(os.getenv("PORT", "5000")),
          _quiet=True)
