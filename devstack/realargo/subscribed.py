"""Have the Sensors subscribed? What a deployment checks before it applies any EventSource.

A Sensor's durable JetStream consumer is created with ``DeliverNew`` when its pod starts
(argo-events v1.9.11 ``pkg/eventbus/jetstream/sensor/trigger_conn.go``, ``Subscribe``), so an
event published before that is never delivered to it. The Argo Events controller marks a Sensor
``Deployed`` once its Deployment exists, and its pod has no readiness probe: neither says the
consumer exists. The EventBus's own monitoring answer does (``/jsz``, port 8222 of each
JetStream server), reachable in a cluster through the API server's pod proxy::

    kubectl get --raw "/api/v1/namespaces/argo-events/pods/eventbus-default-js-0:8222/proxy/jsz?accounts=true&streams=true&consumers=true" \\
      | python -m devstack.realargo.subscribed argo-events/sensors

Exit 0 when every durable consumer of every Sensor under the folder exists in the stream; 1 and
the missing ``Sensor: consumer`` lines otherwise; 2 when the input is not a ``/jsz`` answer.
``make deploy`` repeats it until it passes, then applies the EventSources.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
from typing import Any, Iterable, Mapping, TextIO

from ..pipeline.selection import read_documents
from .eventbus import STREAM, consumers
from .runner import sensor_durables


def missing_consumers(jsz: Mapping[str, Any], sensors: Iterable[Mapping[str, Any]],
                      stream: str = STREAM) -> list[tuple[str, str]]:
    """``(sensor, durable)`` of every consumer the Sensors create that ``jsz`` does not list, sorted."""
    present = set(consumers(jsz, stream))
    return sorted((s["metadata"]["name"], durable) for s in sensors
                  for durable in sensor_durables(s) if durable not in present)


def main(argv: list[str] | None = None, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.realargo.subscribed",
                                     description="Exit 0 when every Sensor under FOLDER has its JetStream "
                                                 "consumers in the /jsz answer read from stdin.")
    parser.add_argument("folder", type=pathlib.Path, help="the Sensors' manifests (e.g. argo-events/sensors)")
    args = parser.parse_args(argv)
    try:
        jsz = json.loads(stdin.read())
    except ValueError as exc:
        print(f"stdin: not a /jsz answer ({exc})", file=stdout)
        return 2
    if not isinstance(jsz, dict):
        print("stdin: not a /jsz answer (not a JSON object)", file=stdout)
        return 2
    sensors = [d.body for d in read_documents(args.folder) if d.kind == "Sensor"]
    missing = missing_consumers(jsz, sensors)
    for sensor, durable in missing:
        print(f"{sensor}: {durable} not subscribed yet", file=stdout)
    if not missing:
        print(f"{len(sensors)} Sensors subscribed", file=stdout)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
