"""The real Argo Events code as an oracle for this emulator: a client of ``argo-conformance``.

``make tools`` builds ``argo-conformance`` (``tools/go/argo-events/conformance``) from Argo
Events v1.9.11's own packages: it builds the event a Sensor receives from a Kafka message (as the
Kafka EventSource, the EventBus and the Sensor's listener do), runs
``triggers.ConstructPayload`` on it, and answers one JSON line per case. :class:`Oracle` starts
it once and asks it case by case; :class:`Message` is one Kafka message both sides are given.

>>> with Oracle.start() as oracle:                                    # doctest: +SKIP
...     oracle.payload({"in": Message(value=b'{"n": 3}')},
...                    [{"src": {"dependencyName": "in", "dataKey": "body.n"}, "dest": "n"}])
{'payload': b'{"n":"3"}'}
"""
from __future__ import annotations

import base64
import json
import pathlib
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

from .. import realtools

ToolMissing = realtools.ToolMissing


class OracleError(RuntimeError):
    """The oracle process died or answered something that is not a result line."""


@dataclass(frozen=True)
class Message:
    """One Kafka message and the event a ``jsonBody: true`` EventSource makes of it (the only kind
    the renderer writes).

    With ``data`` set it is another source's event instead (``type``, e.g. a calendar tick): the
    event data as the Sensor receives it, given as is.
    """

    value: bytes | None = b"{}"
    key: bytes | None = b"k1"
    topic: str = "orders"
    partition: int = 0
    offset: int = 7
    timestamp_ms: int = 1795255200123
    headers: tuple[tuple[str, bytes], ...] = ()
    event_source: str = "orders"
    event_name: str = "orders"
    url: str = "kafka:9092"
    time: datetime = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)
    type: str = "kafka"
    data: bytes | None = None
    id: str | None = None

    @property
    def event_id(self) -> str:
        """``id``, else Argo's Kafka event ID (``source:event:first-url:topic:partition:offset``)."""
        if self.id is not None:
            return self.id
        return f"{self.event_source}:{self.event_name}:{self.url.split(',')[0]}:{self.topic}:" \
               f"{self.partition}:{self.offset}"

    def as_case(self) -> dict[str, Any]:
        """The message as ``argo-conformance`` reads it (bytes base64-encoded, kept exact)."""
        case: dict[str, Any] = {
            "eventSource": self.event_source, "eventName": self.event_name, "id": self.event_id,
            "time": self.time.isoformat().replace("+00:00", "Z"), "topic": self.topic,
            "partition": self.partition, "timestampMs": self.timestamp_ms,
            "headers": [[name, base64.b64encode(value).decode()] for name, value in self.headers],
            "jsonBody": True, "metadata": None,
        }
        if self.key is not None:
            case["keyBase64"] = base64.b64encode(self.key).decode()
        if self.value is not None:
            case["valueBase64"] = base64.b64encode(self.value).decode()
        if self.data is not None:
            case["type"], case["dataBase64"] = self.type, base64.b64encode(self.data).decode()
        return case


class Oracle:
    """One ``argo-conformance`` process; results are dicts: see the Go program's doc comment."""

    def __init__(self, binary: pathlib.Path):
        self.binary = binary
        # Upstream's own prints (ResolveParamValue's fallbacks) go to stderr: a file, so that a
        # chatty run never blocks on a full pipe, read back when the process dies.
        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen([str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self._stderr)

    @classmethod
    def start(cls) -> "Oracle":
        """The oracle ``make tools`` built; :class:`ToolMissing` (saying so) when it is not there."""
        return cls(realtools.argo_conformance())

    def ask(self, case: Mapping[str, Any]) -> dict[str, Any]:
        proc = self._proc
        try:
            proc.stdin.write(json.dumps(case).encode() + b"\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
        except BrokenPipeError:
            line = b""
        if not line:
            proc.wait(timeout=10)
            self._stderr.seek(0)
            tail = self._stderr.read()[-2000:].decode(errors="replace")
            raise OracleError(f"{self.binary} exited ({proc.returncode}): {tail}")
        result = json.loads(line)
        if "panic" not in result and result.get("error", "").startswith("case is not valid JSON"):
            raise OracleError(result["error"])
        return result

    def event(self, message: Message) -> dict[str, Any]:
        """``{"data": bytes, "context": {...}}``: the event as the Sensor receives it."""
        result = self.ask({"kind": "event", "message": message.as_case()})
        if "data" in result:
            result["data"] = base64.b64decode(result["data"])
        return result

    def payload(self, events: Mapping[str, Message], parameters: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """``{"payload": bytes}``, ``{"error": ...}`` or ``{"panic": ...}`` (``ConstructPayload``)."""
        result = self.ask({"kind": "payload", "payload": list(parameters),
                           "events": {name: m.as_case() for name, m in events.items()}})
        if "payload" in result:
            result["payload"] = base64.b64decode(result["payload"] or "")
        return result

    def calendar(self, source: Mapping[str, Any], event_source: str = "ticks",
                 event_name: str = "tick") -> dict[str, Any]:
        """``{"data": bytes}``: the first tick's event data from the real calendar listener, run
        with ``source`` (a CalendarEventSource: give a short ``interval``, it waits for the tick)."""
        result = self.ask({"kind": "calendar", "eventSource": event_source, "eventName": event_name,
                           "calendar": dict(source)})
        if "data" in result:
            result["data"] = base64.b64decode(result["data"])
        return result

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc.stdout.close()
        self._stderr.close()

    def __enter__(self) -> "Oracle":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
