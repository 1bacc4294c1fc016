"""Firing a trigger for an event: payload, request, ``retryStrategy``, policy, ``dlqTrigger``.

Semantics (argo-events ``pkg/sensors/listener.go`` and ``triggers/http``, ``triggers/kafka``):

* An HTTP trigger POSTs its payload with its ``headers`` within ``timeout`` seconds. It succeeded
  when the answer's status is in ``policy.status.allow``; *without* a policy any answer (even a
  5xx) is success, as in Argo. A connection error or timeout, or a payload that does not resolve,
  is a failed attempt.
* ``retryStrategy.steps`` attempts, with the backoff of :mod:`.retry` between them.
* When they all failed and the trigger has a ``dlqTrigger``, that trigger (a Kafka trigger, with
  its own ``retryStrategy``, one attempt by default) is fired with the *same event*, so its
  payload is built from the original event. The record counts as written only once the broker
  acknowledged it (Argo's async producer does not wait; the runner does, so an offset is never
  committed ahead of its dead letter).
* ``atLeastOnce: false``: Argo fires the trigger in a goroutine, so neither retries nor the DLQ
  apply and the event is acknowledged whatever happens. Reproduced (one attempt, never stuck).
* Locally, a URL whose path starts with ``/function/`` or ``/async-function/`` (the OpenFaaS
  gateway, ``http://gateway.openfaas:8080`` in the manifests) goes to the local gateway, with no
  credentials, as Argo sends it: the gateway asks for none on function calls (OpenFaaS's
  neither).

One call per event: real Argo fires a trigger once per event, and an HTTP trigger makes one
request (``pkg/sensors/triggers/http/http.go`` Execute); a batch of records travels inside one
Kafka message (docs/contracts.md, "Records on Kafka"), never as several events in one request.

I/O goes through two narrow protocols (:class:`HttpClient`, :class:`RecordProducer`); sleeping,
randomness and the clock are passed in, so tests run with doubles and never sleep.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping, NamedTuple, Protocol
from urllib.parse import urlsplit

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


class Outcome(NamedTuple):
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
    outcome: Outcome
    requests: int = 0  # attempts of the trigger (HTTP calls or records)
    retried: int = 0  # attempts beyond the first


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

    def _execute(self, trigger: Trigger, events: Mapping[str, Event]) -> Any:
        action = trigger.action
        if isinstance(action, HttpAction):
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

    def fire(self, trigger: Trigger, dependency: str, event: Event) -> Report:
        """Fire ``trigger`` for one ``event`` of ``dependency``: its retries, then its dead letter."""
        scope = {dependency: event}
        result = self._attempts(trigger, lambda: self._execute(trigger, scope))
        if result.ok:
            if result.error:
                log.warning("trigger %s (at most once) failed: %s", trigger.name, result.error)
            outcome = Outcome(delivered=True, error=result.error)
        else:
            outcome = self._dead_letter(trigger, scope, result.error)
        return Report(outcome, result.attempts, result.attempts - 1)
