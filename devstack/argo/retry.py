"""Retry schedules: a trigger's ``retryStrategy`` as Argo runs it, and the runner's own backoff.

Argo runs a trigger with ``DoWithRetry`` (``pkg/shared/util/retry.go``) over Kubernetes'
``wait.ExponentialBackoff``: ``steps`` is the number of *attempts* (not retries); between two
attempts it sleeps ``duration * factor**i`` plus a random extra of up to ``jitter`` times that,
the duration multiplied in whole nanoseconds as Go does. Defaults: no ``retryStrategy`` means one
attempt; a ``retryStrategy`` without ``steps`` (or ``steps <= 0``) means 5; ``duration`` 1s,
``factor`` 1.0, ``jitter`` 1.0 when absent. A ``duration`` given as an integer is nanoseconds.

Pure: :func:`delays` takes the random source, :func:`run_with_retry` the sleep.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, TypeVar

from .gotime import parse_duration

T = TypeVar("T")
DEFAULT_STEPS = 5
SECOND_NS = 1_000_000_000


@dataclass(frozen=True)
class Backoff:
    steps: int = 1
    duration_ns: int = SECOND_NS
    factor: float = 1.0
    jitter: float = 1.0


NO_RETRY = Backoff()  # what Argo uses for a trigger without retryStrategy


def _amount(value: Any, name: str) -> float:
    # Argo's Amount is a decimal written as a number or a string ("1.5").
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{name}: must be a number")
    try:
        return float(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {value!r} is not a number") from exc


def parse_backoff(spec: Mapping[str, Any] | None) -> Backoff:
    """A ``retryStrategy`` (or a dlqTrigger's) as a :class:`Backoff`; ``ValueError`` names the field."""
    if spec is None:
        return NO_RETRY
    if not isinstance(spec, Mapping):
        raise ValueError("must be a mapping of steps, duration, factor, jitter")
    unknown = sorted(set(spec) - {"steps", "duration", "factor", "jitter"})
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r} (steps, duration, factor, jitter)")
    steps = spec.get("steps", 0)
    if isinstance(steps, bool) or not isinstance(steps, int):
        raise ValueError("steps: must be an integer")
    duration = spec.get("duration", "1s")
    if isinstance(duration, bool):
        raise ValueError("duration: must be a Go duration (\"1s\") or nanoseconds")
    try:
        duration_ns = duration if isinstance(duration, int) else parse_duration(str(duration))
    except ValueError as exc:
        raise ValueError(f"duration: {exc}") from exc
    factor = _amount(spec.get("factor", 1.0), "factor")
    jitter = _amount(spec.get("jitter", 1.0), "jitter")
    if duration_ns < 0 or factor < 0 or jitter < 0:
        raise ValueError("duration, factor and jitter must not be negative")
    return Backoff(steps if steps > 0 else DEFAULT_STEPS, duration_ns, factor, jitter)


def delays(backoff: Backoff, rand: Callable[[], float]) -> Iterator[float]:
    """Seconds to sleep after each failed attempt but the last: ``steps - 1`` values."""
    duration = backoff.duration_ns
    for _ in range(backoff.steps - 1):
        delay = duration
        if backoff.factor != 0:
            duration = int(duration * backoff.factor)
        if backoff.jitter > 0:
            delay += int(rand() * backoff.jitter * delay)
        yield delay / SECOND_NS


@dataclass(frozen=True)
class Attempts:
    """How a retried call ended: its last result or error, and how many attempts it took."""

    ok: bool
    attempts: int
    result: Any = None
    error: str | None = None


def run_with_retry(call: Callable[[], T], succeeded: Callable[[T], str | None], backoff: Backoff,
                   sleep: Callable[[float], None], rand: Callable[[], float]) -> Attempts:
    """Call until ``succeeded(result)`` returns None (no failure reason) or attempts run out.

    ``call`` may raise: that attempt failed with the exception's text (a connection error, a
    payload that does not resolve). Sleeps only between attempts.
    """
    schedule = delays(backoff, rand)
    attempt = 0
    while True:
        attempt += 1
        result, reason = None, None
        try:
            result = call()
            reason = succeeded(result)
        except Exception as exc:  # every failure of an attempt is retried, as Argo does
            reason = f"{type(exc).__name__}: {exc}"
        if reason is None:
            return Attempts(True, attempt, result)
        delay = next(schedule, None)
        if delay is None:
            return Attempts(False, attempt, result, reason)
        sleep(delay)


def stuck_delay(failures: int, base: float = 0.5, cap: float = 30.0) -> float:
    """The runner's wait before retrying an event whose trigger *and* dead letter both failed.

    Doubles from ``base`` and stays at ``cap``: bounded, so a recovered function or topic is
    picked up within ``cap`` seconds, and never a busy loop.
    """
    return min(cap, base * 2 ** max(0, min(failures - 1, 30)))
