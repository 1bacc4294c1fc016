"""How hard the property tests push: the Hypothesis profile's examples (tests/conftest.py: 100
in `make test`, 300 in `make test-long`), thousands in `make fuzz` (``FAAS_ETL_FUZZ_EXAMPLES``),
each scaled by the property's own factor; and a bound on every single call (a hang fails).

The bound is a guard against a parser that never returns, not a speed test: it is far above
what any call takes, and it only fires for a call that would otherwise block the suite.
"""
from __future__ import annotations

import contextlib
import os
import signal

from hypothesis import HealthCheck, settings

CALL_BOUND_S = 10.0


def examples(profile: settings | None = None) -> int:
    """The budget: ``FAAS_ETL_FUZZ_EXAMPLES`` if set, else ``profile``'s max_examples (None: the
    loaded profile's, read when a test module is imported, after pytest loaded the profile)."""
    return int(os.getenv("FAAS_ETL_FUZZ_EXAMPLES") or (profile or settings()).max_examples)


def fuzz(scale: float = 1.0) -> settings:
    """Settings for one property: ``scale`` times the budget's examples (at least 10)."""
    return settings(max_examples=max(10, int(examples() * scale)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


class Hang(AssertionError):
    """A call ran past the bound."""


@contextlib.contextmanager
def bounded(seconds: float = CALL_BOUND_S):
    """Fail with :class:`Hang` when the block runs longer than ``seconds`` (main thread only)."""
    def expired(_signum, _frame):
        raise Hang(f"still running after {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
