"""Helpers for handlers: parse a JSON body, answer JSON as text (python3-http contract)."""
from __future__ import annotations

import json

try:
    from orjson import JSONDecodeError as _OrjsonError, loads as _orjson_loads
except ImportError:  # a function that does not ship it reads with the stdlib alone
    _orjson_loads = None  # type: ignore[assignment]


class BadRequest(ValueError):
    """Bad input: answered 400 (or `status`) with a message naming the field and the rule."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def json_response(status: int, doc: object, headers: dict[str, str] | None = None) -> dict:
    # JSON as text with a Content-Type, so the answer is the same under the stock template.
    return {"statusCode": status, "body": json.dumps(doc, separators=(",", ":")),
            "headers": {"Content-Type": "application/json", **(headers or {})}}


def error_response(exc: BadRequest) -> dict:
    return json_response(exc.status, {"error": str(exc)})


def _not_json(constant: str) -> float:
    # Python reads NaN and Infinity; JSON has neither, and every other reader (Go's, so Argo
    # Events', PostgreSQL's jsonb) refuses them: let them in and they break a stage downstream.
    raise ValueError(f"{constant} is not a JSON number")


def parse_json_body(body: bytes, field: str = "body") -> object:
    if not body:
        raise BadRequest(f"{field}: required, a JSON document")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"{field}: not valid UTF-8 (byte {exc.start})") from None
    if _orjson_loads is not None and _LONG_DIGITS not in body.translate(_DIGIT_MARKS):
        # orjson reads a step function's batch in half the time; on what it refuses (NaN,
        # lone surrogates, deep nesting, any mistake) the stdlib below decides and explains.
        try:
            return _orjson_loads(body)
        except _OrjsonError:
            pass
    try:
        return json.loads(text, parse_constant=_not_json)
    except RecursionError:
        raise BadRequest(f"{field}: nested too deeply") from None
    except ValueError as exc:
        raise BadRequest(f"{field}: not valid JSON ({exc})") from None


# orjson reads an integer past 64 bits as a float, where the stdlib keeps it exact: a body with
# 19 digits in a row anywhere (the shortest integer out of orjson's range has 19) is left to the
# stdlib. Finding such a run costs a tenth of what orjson saves.
_DIGIT_MARKS = bytes(ord("0") if b"0"[0] <= byte <= b"9"[0] else ord(" ") for byte in range(256))
_LONG_DIGITS = b"0" * 19
