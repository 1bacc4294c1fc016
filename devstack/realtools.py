"""Where the real components' binaries are: the one place that finds what `make tools` built.

`make tools` builds the Argo Events binary (with our conformance oracle over its code) and
nats-server from their pinned Go modules (``tools/go/*``) and copies Apache Kafka's broker from
Maven Central (``tools/kafka/pom.xml``) into ``.tools/``. ``FAAS_ETL_TOOLS`` moves that folder.
A machine without Go or a JDK has none of them: the embedded stand-ins serve there, and
:func:`real_parts_missing` says what is absent and why.
"""
from __future__ import annotations

import os
import pathlib
import shutil

REPO = pathlib.Path(__file__).resolve().parent.parent


class ToolMissing(RuntimeError):
    """A real component was asked for and `make tools` has not provided it here."""


def tools_dir() -> pathlib.Path:
    return pathlib.Path(os.getenv("FAAS_ETL_TOOLS") or REPO / ".tools")


def _binary(name: str, needs: str) -> pathlib.Path:
    path = tools_dir() / "bin" / name
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise ToolMissing(f"{path} is missing: run `make tools` (needs {needs})")
    return path


def argo_events() -> pathlib.Path:
    """The Argo Events binary (``eventsource-service``, ``sensor-service``, ``lint``)."""
    return _binary("argo-events", "Go")


def argo_conformance() -> pathlib.Path:
    """Our oracle over Argo Events' own filter and payload code (``tools/go/argo-events/conformance``)."""
    return _binary("argo-conformance", "Go")


def nats_server() -> pathlib.Path:
    """nats-server with JetStream, the EventBus."""
    return _binary("nats-server", "Go")


def kafka_classpath() -> str:
    """The classpath of Apache Kafka's broker (``kafka.Kafka``, ``kafka.tools.StorageTool``)."""
    libs = tools_dir() / "kafka" / "libs"
    if not (libs / ".installed").exists():
        raise ToolMissing(f"{libs} is missing: run `make tools` (needs a JDK and Maven)")
    return str(libs / "*")


def java() -> str:
    path = shutil.which("java")
    if not path:
        raise ToolMissing("no `java` on PATH: Apache Kafka needs a JDK 17 or newer")
    return path


def _absent(*finds) -> list[str]:
    """Why each of ``finds`` raises ToolMissing (empty: every one is here)."""
    reasons = []
    for find in finds:
        try:
            find()
        except ToolMissing as exc:
            reasons.append(str(exc))
    return reasons


def kafka_missing() -> list[str]:
    """Why Apache Kafka cannot run here (empty: it can): the broker (`make tools`) and a JDK."""
    return _absent(kafka_classpath, java)


def real_parts_missing(kafka: bool = True) -> list[str]:
    """Why the real-parts stack cannot run here (empty: it can): the Argo Events binary and
    nats-server (`make tools`, Go), root and ``ip netns`` for the pods, ``openssl`` for the
    EventBus's certificate and, with ``kafka``, Apache Kafka (`make tools`, a JDK)."""
    from .realargo import podnet  # imported here: it is the real-parts side, not a tool lookup

    reasons = (kafka_missing() if kafka else []) + _absent(argo_events, nats_server)
    why = podnet.available()
    if why:
        reasons.append(why)
    if not shutil.which("openssl"):
        reasons.append("no `openssl` on PATH (the EventBus's TLS certificate)")
    return reasons
