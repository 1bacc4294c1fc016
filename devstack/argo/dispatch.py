"""Firing a trigger for events: payload, request, ``retryStrategy``, policy, ``dlqTrigger``.

Semantics (argo-events ``pkg/sensors/listener.go`` and ``triggers/http``, ``triggers/kafka``):

* An HTTP trigger POSTs its payload with its ``headers`` within ``timeout`` seconds. It succeeded
  when the answer's status is in ``policy.status.allow``; *without* a policy any answer (even a
  5xx) is success, as in Argo. A connection error or timeout, or a payload that does not resolve,
  is a failed attempt.
* ``retryStrategy.steps`` attempts, with the backoff of :mod:`.retry` between them.
* When they all failed and the trigger has a ``dlqTrigger``, that trigger (a Kafka trigger, with
  its own ``retryStrategy``, one attempt by default) is fired with the *same events*, so its
  payload is built from the original event. The record counts as written only once the broker
  acknowledged it (Argo's async producer does not wait; the runner does, so an offset is never
  committed ahead of its dead letter).
* ``atLeastOnce: false``: Argo fires the trigger in a goroutine, so neither retries nor the DLQ
  apply and the event is acknowledged whatever happens. Reproduced (one attempt, never stuck).
* Locally, a URL whose path starts with ``/function/`` or ``/async-function/`` (the OpenFaaS
  gateway, ``http://gateway.openfaas:8080`` in the manifests) goes to the local gateway, with no
  credentials, as Argo sends it: the gateway asks for none on function calls (OpenFaaS's
  neither).

Batch mode (the Sensor annotation ``faas-etl.dev/batch-size``; real Argo ignores it): the events
polled together are filtered one by one, each passing event's payload is built exactly as above,
and ONE request carries them all: the body is the first payload (a JSON object) with its
``event`` key replaced, in place, by ``events: [each payload's event]`` (docs/contracts.md, "Step
invocation"). Retries and policy apply to that request. If it finally fails, each event is
dead-lettered on its own with its own dlqTrigger payload. An event whose payload does not build
(or is not an object with ``event``) skips the request and goes straight to its dead letter.

I/O goes through two narrow protocols (:class:`HttpClient`, :class:`RecordProducer`); sleeping,
randomness and the clock are passed in, so tests run with doubles and never sleep.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping, NamedTuple, Protocol, Sequence
from urllib.parse import urlsplit

from . import gojson
from .batchbody import batch_body
from .events import Event
from .params import construct_payload
from .retry import Attempts, run_with_retry
from .sensor_spec import HttpAction, KafkaAction, LogAction, Trigger

log = logging.getLogger("devstack.argo")
GATEWAY_PATHS = ("/function/", "/async-function/")


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    body: bytes
    headers: tuple[tuple[str, str], ...]
    timeout_s: float


class HttpClient(Protocol):
    def send(self, request: HttpRequest) -> int:
        """The answer's status code; raises on a connection error or timeout."""


@dataclass(frozen=True)
class KafkaRecord:
    topic: str
    value: bytes


class RecordProducer(Protocol):
    def produce(self, record: KafkaRecord) -> None:
        """Return once the broker acknowledged the record; raise otherwise."""


@dataclass(frozen=True)
class Local:
    """Where the manifests' cluster addresses point on this machine."""

    gateway_url: str

    def url(self, url: str) -> str:
        """The URL to call: the local gateway's for a gateway path, else ``url`` as it is."""
        parts = urlsplit(url)
        if parts.path.startswith(GATEWAY_PATHS):
            query = f"?{parts.query}" if parts.query else ""
            return f"{self.gateway_url.rstrip('/')}{parts.path}{query}"
        return url


class Outcome(NamedTuple):  # a tuple: one per event
    """What happened to one event for one trigger."""

    delivered: bool = False  # the trigger succeeded (or ran at most once)
    dead_lettered: bool = False  # its dead letter is acknowledged
    error: str | None = None

    @property
    def done(self) -> bool:
        """True when the event's offset may be committed."""
        return self.delivered or self.dead_lettered


@dataclass(frozen=True)
class Report:
    outcomes: tuple[Outcome, ...]  # one per event, in order
    requests: int = 0  # attempts of the trigger (HTTP calls or records)
    retried: int = 0  # attempts beyond the first


class BatchShapeError(ValueError):
    """A payload that cannot join a batch request (not a JSON object with an ``event`` key)."""


def batch_member(payload: bytes) -> dict:
    """One per-event payload, parsed, if it can join a batch (a JSON object with ``event``)."""
    try:
        value = json.loads(payload)
    except ValueError as exc:
        raise BatchShapeError(f"payload is not JSON: {exc}") from exc
    if not isinstance(value, dict) or "event" not in value:
        raise BatchShapeError("payload is not a JSON object with an event key")
    return value


def merge_members(members: Sequence[dict]) -> bytes:
    """ONE body for many per-event payloads: the first, its ``event`` replaced by ``events``."""
    merged = {}
    for key, value in members[0].items():
        if key == "event":
            merged["events"] = [m["event"] for m in members]
        else:
            merged[key] = value
    return gojson.dumps(merged).encode()


def merge_batch(payloads: Sequence[bytes]) -> bytes:
    return merge_members([batch_member(p) for p in payloads])


class Dispatcher:
    """Fires triggers; one per worker thread (it keeps no state between calls)."""

    def __init__(self, http: HttpClient, producer: RecordProducer, local: Local, *,
                 sleep: Callable[[float], None], rand: Callable[[], float],
                 now: Callable[[], datetime]):
        self.http, self.producer, self.local = http, producer, local
        self.sleep, self.rand, self.now = sleep, rand, now

    # -- one request --------------------------------------------------------------------------
    def _http_request(self, action: HttpAction, body: bytes) -> HttpRequest:
        return HttpRequest(action.method, self.local.url(action.url), body, action.headers, action.timeout_s)

    def _execute(self, trigger: Trigger, events: Mapping[str, Event], body: bytes | None = None) -> Any:
        action = trigger.action
        if isinstance(action, HttpAction):
            if body is None:
                body = construct_payload(action.payload, events, self.now())
            return self.http.send(self._http_request(action, body))
        if isinstance(action, KafkaAction):
            self.producer.produce(KafkaRecord(action.topic, construct_payload(action.payload, events, self.now())))
            return None
        assert isinstance(action, LogAction)
        log.info("trigger %s: %s", trigger.name, {d: e.data_text() for d, e in events.items()})
        return None

    @staticmethod
    def _policy(trigger: Trigger) -> Callable[[Any], str | None]:
        def check(status: Any) -> str | None:
            if trigger.allow is None or not isinstance(trigger.action, HttpAction):
                return None
            if status in trigger.allow:
                return None
            return f"http response status {status} is not allowed"
        return check

    def _attempts(self, trigger: Trigger, call: Callable[[], Any]) -> Attempts:
        if not trigger.at_least_once:
            try:
                outcome = self._policy(trigger)(call())
                return Attempts(True, 1, error=outcome)
            except Exception as exc:  # at most once: logged and acknowledged anyway
                return Attempts(True, 1, error=f"{type(exc).__name__}: {exc}")
        return run_with_retry(call, self._policy(trigger), trigger.retry, self.sleep, self.rand)

    # -- triggers -----------------------------------------------------------------------------
    def _dead_letter(self, trigger: Trigger, events: Mapping[str, Event], error: str | None) -> Outcome:
        if trigger.dlq is None:
            return Outcome(error=error)
        dlq = self._attempts(trigger.dlq, lambda: self._execute(trigger.dlq, events))
        if dlq.ok:
            return Outcome(dead_lettered=True, error=error)
        return Outcome(error=f"{error}; dead letter failed: {dlq.error}")

    def fire(self, trigger: Trigger, dependency: str, events: Sequence[Event], *, batch: bool = False,
             body: bytes | None = None) -> Report:
        """Fire ``trigger`` for ``events`` of ``dependency``: each alone, or all in one request
        (``body``: that request's body, already built by :func:`.batchbody.batch_body`)."""
        if not batch:
            outcomes, requests, retried = [], 0, 0
            for event in events:
                scope = {dependency: event}
                result = self._attempts(trigger, lambda: self._execute(trigger, scope))
                requests += result.attempts
                retried += result.attempts - 1
                if result.ok:
                    if result.error:
                        log.warning("trigger %s (at most once) failed: %s", trigger.name, result.error)
                    outcomes.append(Outcome(delivered=True, error=result.error))
                else:
                    outcomes.append(self._dead_letter(trigger, scope, result.error))
            return Report(tuple(outcomes), requests, retried)
        return self._fire_batch(trigger, dependency, events, body)

    def _members(self, trigger: Trigger, dependency: str, events: Sequence[Event],
                 broken: dict[int, str]) -> tuple[list[int], bytes]:
        """The general path: each event's payload built alone, then merged (indices that could
        not be built go to ``broken`` with the reason)."""
        now = self.now()
        members: dict[int, dict] = {}
        for i, event in enumerate(events):
            try:
                members[i] = batch_member(construct_payload(trigger.action.payload, {dependency: event}, now))
            except Exception as exc:  # its own dead letter, the others still go
                broken[i] = f"payload: {exc}"
        return list(members), (merge_members(list(members.values())) if members else b"")

    def _fire_batch(self, trigger: Trigger, dependency: str, events: Sequence[Event],
                    merged: bytes | None = None) -> Report:
        assert isinstance(trigger.action, HttpAction)
        broken: dict[int, str] = {}
        if merged is None:
            merged = batch_body(trigger, events)
        if merged is not None:
            members: Sequence[int] = range(len(events))
        else:
            members, merged = self._members(trigger, dependency, events, broken)
        outcomes: dict[int, Outcome] = {}
        requests = retried = 0
        if members:
            first = {dependency: events[members[0]]}
            result = self._attempts(trigger, lambda: self._execute(trigger, first, merged))
            requests, retried = result.attempts, result.attempts - 1
            if result.ok:
                delivered = Outcome(delivered=True, error=result.error)  # one, shared: immutable
                if not broken and len(members) == len(events):  # the usual case: all in one request
                    return Report((delivered,) * len(events), requests, retried)
                outcomes.update(dict.fromkeys(members, delivered))
            else:
                broken.update(dict.fromkeys(members, result.error or "failed"))
        for i, error in broken.items():
            outcomes[i] = self._dead_letter(trigger, {dependency: events[i]}, error)
        return Report(tuple(outcomes[i] for i in range(len(events))), requests, retried)
