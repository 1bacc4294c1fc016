"""An emulated Kubernetes API server on loopback (kmock), for the controller's Kubernetes edge.

kmock's emulator keeps objects in memory and serves the real REST paths the official client
calls. This thin shim adds what it leaves out and the controller relies on:

* label selectors (``key=value``, ``key in (a,b)``) and ``metadata.name`` field selectors on
  lists;
* the Deployment ``scale`` subresource as an ``autoscaling/v1`` Scale (read and replace), with
  the resourceVersion check of a replace (409 when it is stale);
* a replace (PUT) of any object, with the same resourceVersion check (kmock serves PATCH only);
* a resourceVersion that grows with every write;
* extra resources to serve (custom ones such as ``argoproj.io/v1alpha1/sensors``).

The server runs on its own event loop in a thread; every request is kept as (method, path,
query) so a test can tell which RBAC verbs the client used (:func:`verbs_of`).
"""
from __future__ import annotations

import asyncio
import json
import re
import threading
from dataclasses import dataclass

import aiohttp.web
import kmock

from devstack.manifests import Grant

_SELECTOR_IN = re.compile(r"^\s*([^\s!=]+)\s+in\s+\(([^)]*)\)\s*$")


def _matches(labels: dict, selector: str) -> bool:
    for part in re.split(r",(?![^(]*\))", selector):
        part = part.strip()
        if not part:
            continue
        found = _SELECTOR_IN.match(part)
        if found:
            if labels.get(found[1]) not in {v.strip() for v in found[2].split(",")}:
                return False
        elif "!=" in part:
            key, value = part.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        else:
            key, _, value = part.partition("=")
            if labels.get(key.strip().rstrip("=")) != value.strip().lstrip("="):
                return False
    return True


def _status(code: int, reason: str, message: str) -> aiohttp.web.Response:
    return aiohttp.web.json_response({"apiVersion": "v1", "kind": "Status", "status": "Failure",
                                      "code": code, "reason": reason, "message": message},
                                     status=code)


class ClusterEmulator(kmock.KubernetesEmulator):
    """kmock's emulator with selectors, the scale subresource and resourceVersions."""

    def _bump(self, key) -> str:
        obj = self._objects[key]
        version = str(int(obj.get("metadata", {}).get("resourceVersion") or 0) + 1)
        obj.patch({"metadata": {"resourceVersion": version}})
        return version

    def _scale_of(self, deployment: dict) -> dict:
        meta = deployment.get("metadata", {})
        return {"apiVersion": "autoscaling/v1", "kind": "Scale",
                "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace"),
                             "resourceVersion": meta.get("resourceVersion")},
                "spec": {"replicas": deployment.get("spec", {}).get("replicas", 1)},
                "status": {"replicas": deployment.get("status", {}).get("replicas", 0),
                           "selector": "faas_function=" + str(meta.get("name"))}}

    async def _handle(self, request):
        if request.resource is not None and request.subresource == "scale":
            return await self._scale(request)
        if request.resource is not None and request.method == kmock.method.PUT and request.name:
            return await self._replace(request)
        response = await super()._handle(request)
        if request.resource is not None and request.action in (kmock.action.CREATE,
                                                               kmock.action.UPDATE):
            name = request.name or (request.data or {}).get("metadata", {}).get("name")
            namespace = request.namespace or (request.data or {}).get("metadata", {}).get("namespace")
            key = (request.resource, namespace, name)
            if key in self._objects and not self._objects[key].deleted:
                async with self._lock:
                    self._bump(key)
        return response

    def _refused(self, request):
        """404 for an object that is not there, 409 for a write with a stale resourceVersion."""
        key = (request.resource, request.namespace, request.name)
        if key not in self._objects or self._objects[key].deleted:
            return _status(404, "NotFound", f"{request.resource.plural} {request.name!r} not found")
        given = ((request.data or {}).get("metadata") or {}).get("resourceVersion")
        current = self._objects[key].get("metadata", {}).get("resourceVersion")
        if request.method == kmock.method.PUT and given and current and given != current:
            return _status(409, "Conflict", "the object has been modified; please apply "
                                            "your changes to the latest version")
        return None

    async def _scale(self, request):
        if request.method == kmock.method.GET:
            async with self._lock:
                refused = self._refused(request)
                key = (request.resource, request.namespace, request.name)
                return refused or aiohttp.web.json_response(self._scale_of(self._objects[key].raw))
        if request.method != kmock.method.PUT:
            return _status(405, "MethodNotAllowed", "the shim serves GET and PUT on scale")
        replicas = (request.data or {})["spec"]["replicas"]
        return await self._write(request, lambda obj: obj.patch({"spec": {"replicas": replicas}}),
                                 self._scale_of)

    async def _replace(self, request):
        # A new version of the whole object: a replace, not kmock's merge.
        return await self._write(request, lambda obj: obj.create(request.data or {}), lambda raw: raw)

    async def _write(self, request, change, answer):
        key = (request.resource, request.namespace, request.name)
        async with self._lock:
            refused = self._refused(request)
            if refused is not None:
                return refused
            obj = self._objects[key]
            change(obj)
            self._bump(key)
            raw = obj.raw
            await self._buses[request.resource].put({"type": "MODIFIED", "object": raw})
            return aiohttp.web.json_response(answer(raw))

    async def _serve_list(self, request):
        result = await super()._serve_list(request)
        labels = request.params.get("labelSelector")
        fields = request.params.get("fieldSelector")
        items = result["items"]
        if labels:
            items = [i for i in items if _matches(i.get("metadata", {}).get("labels") or {}, labels)]
        if fields:
            name = dict(f.split("=", 1) for f in fields.split(",")).get("metadata.name")
            items = [i for i in items if name is None or i.get("metadata", {}).get("name") == name]
        return {**result, "items": items}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: dict


class EmulatedApiServer:
    """Start with ``with``; ``url`` for the client, ``calls`` for what it was asked."""

    def __init__(self, resources: tuple[str, ...] = ()) -> None:
        self.resources = ("v1/nodes", "v1/pods", "apps/v1/deployments", *resources)
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.url = ""
        self.emulator: ClusterEmulator | None = None
        self._thread = threading.Thread(target=self._run, name="kmock", daemon=True)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()

        async def main() -> None:
            self._stop = asyncio.Event()
            emulator = ClusterEmulator()
            for resource in self.resources:
                emulator.resources[resource] = {}
            async with emulator, kmock.Server(emulator) as server:
                self.emulator, self.url = emulator, str(server.url).rstrip("/")
                self._ready.set()
                await self._stop.wait()

        self._loop.run_until_complete(main())

    def __enter__(self) -> EmulatedApiServer:
        self._thread.start()
        assert self._ready.wait(10), "the emulated API server did not start"
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    @property
    def calls(self) -> list[Call]:
        return [Call(r.method.value, r.url.path, dict(r.params)) for r in list(self.emulator)]

    def objects(self, plural: str) -> list[dict]:
        return [obj.raw for (resource, _, _), obj in list(self.emulator.objects.items())
                if resource.plural == plural and not obj.deleted]


_PATH = re.compile(r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
                   r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<resource>[^/]+)"
                   r"(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?$")


def verbs_of(calls: list[Call]) -> frozenset[Grant]:
    """The RBAC verb of each call, as the API server's request resolver derives it."""
    out = set()
    for call in calls:
        m = _PATH.match(call.path)
        if m is None:
            continue  # discovery (/api, /apis, /version) needs no grant
        resource = m["resource"] + (f"/{m['sub']}" if m["sub"] else "")
        if call.method == "GET":
            verb = "get" if m["name"] else ("watch" if call.query.get("watch") in ("true", "1")
                                            else "list")
        else:
            verb = {"POST": "create", "PUT": "update", "PATCH": "patch",
                    "DELETE": "delete" if m["name"] else "deletecollection"}[call.method]
        out.add(Grant(m["ns"], m["group"] or "", resource, verb))
    return frozenset(out)


def dumps(obj) -> str:
    return json.dumps(obj, sort_keys=True)
