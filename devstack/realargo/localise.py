"""The committed manifests pointed at the local stack: cluster addresses swapped, nothing else.

The committed EventSources and Sensors name two cluster services: Kafka
(``etl-kafka-bootstrap.kafka.svc:9092``) and the OpenFaaS gateway (``gateway.openfaas:8080``).
A local run maps exactly those ``host:port`` pairs to the local ones; every address field of
every document must name one of them, or :func:`localise` refuses the document (so nothing a
real Argo process does can silently go to some other host). A kind of event source or trigger
with addresses this module does not know is refused too, for the same reason.

Address fields, as the Argo Events types name them (``pkg/apis/events/v1alpha1``):

* EventSource ``spec.kafka.<event>.url``: bootstrap servers, comma-separated;
* Sensor ``spec.triggers[].template.http.url`` and ``.template.kafka.url``, and the same under
  ``spec.triggers[].dlqTrigger.template``.

Pure: documents in, new documents out; the input is not changed.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

from ..pipeline.selection import Document

CLUSTER_KAFKA = "etl-kafka-bootstrap.kafka.svc:9092"
CLUSTER_GATEWAY = "gateway.openfaas:8080"
# Event source kinds without any address: run as they are.
ADDRESSLESS_SOURCES = {"calendar"}
# Trigger kinds whose address fields are localised here; "log" has none.
TRIGGER_KINDS = {"http", "kafka", "log"}
_SOURCE_KEYS_NOT_KINDS = {"eventBusName", "replicas", "template", "service"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


class LocaliseError(ValueError):
    """An address that is not one of the mapped cluster addresses, or a kind not handled."""


def local_addresses(kafka: str, gateway: str) -> dict[str, str]:
    """The mapping for a local stack: Kafka's bootstrap and the gateway's ``host:port``."""
    return {CLUSTER_KAFKA: kafka, CLUSTER_GATEWAY: gateway}


def _swap(address: str, mapping: Mapping[str, str], where: str) -> str:
    try:
        return mapping[address]
    except KeyError:
        raise LocaliseError(f"{where}: {address} is not a mapped cluster address "
                            f"(known: {', '.join(sorted(mapping))})") from None


def _bootstrap(value: Any, mapping: Mapping[str, str], where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LocaliseError(f"{where}: must be bootstrap servers host:port[,host:port]")
    swapped = [_swap(server.strip(), mapping, where) for server in value.split(",")]
    return ",".join(dict.fromkeys(",".join(swapped).split(",")))  # one list, each server once


def _url(value: Any, mapping: Mapping[str, str], where: str) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise LocaliseError(f"{where}: must be an http(s) URL, got {value!r}")
    if parts.username or parts.password:
        raise LocaliseError(f"{where}: credentials in the URL are not localised")
    port = parts.port or _DEFAULT_PORTS[parts.scheme]
    local = _swap(f"{parts.hostname}:{port}", mapping, where)
    return urlunsplit((parts.scheme, local, parts.path, parts.query, parts.fragment))


def _template(template: Mapping[str, Any], mapping: Mapping[str, str], where: str) -> None:
    kinds = [k for k in template if k not in ("name", "conditions", "conditionsReset")]
    for kind in kinds:
        if kind not in TRIGGER_KINDS:
            raise LocaliseError(f"{where}.{kind}: trigger kind not run locally (only {sorted(TRIGGER_KINDS)})")
    if "http" in template:
        template["http"]["url"] = _url(template["http"].get("url"), mapping, f"{where}.http.url")
    if "kafka" in template:
        template["kafka"]["url"] = _bootstrap(template["kafka"].get("url"), mapping, f"{where}.kafka.url")


def _event_source(spec: dict[str, Any], mapping: Mapping[str, str], where: str) -> None:
    for kind, events in spec.items():
        if kind in _SOURCE_KEYS_NOT_KINDS or kind in ADDRESSLESS_SOURCES:
            continue
        if kind != "kafka":
            raise LocaliseError(f"{where}.{kind}: event source kind not run locally "
                                f"(only kafka and {', '.join(sorted(ADDRESSLESS_SOURCES))})")
        for name, source in (events or {}).items():
            source["url"] = _bootstrap(source.get("url"), mapping, f"{where}.kafka.{name}.url")


def _sensor(spec: dict[str, Any], mapping: Mapping[str, str], where: str) -> None:
    for i, trigger in enumerate(spec.get("triggers") or []):
        _template(trigger.get("template") or {}, mapping, f"{where}.triggers[{i}].template")
        dlq = trigger.get("dlqTrigger")
        if dlq:
            _template(dlq.get("template") or {}, mapping, f"{where}.triggers[{i}].dlqTrigger.template")


def localise(documents: Sequence[Document], mapping: Mapping[str, str]) -> list[Document]:
    """Each EventSource and Sensor with its cluster addresses replaced by ``mapping``'s.

    Other kinds pass through unchanged. ``LocaliseError`` names the file, the document and the
    field of the first address not in ``mapping``.
    """
    out = []
    for doc in documents:
        body = copy.deepcopy(dict(doc.body))
        where = f"{doc.file}: {doc.kind} {doc.name}: spec"
        spec = body.get("spec")
        if doc.kind == "EventSource":
            _event_source(spec or {}, mapping, where)
        elif doc.kind == "Sensor":
            _sensor(spec or {}, mapping, where)
        out.append(Document(doc.file, body))
    return out
