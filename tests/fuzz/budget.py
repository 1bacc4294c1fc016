"""How hard the property tests push: a few hundred inputs each in `make test`, thousands in
`make fuzz` (``FAAS_ETL_FUZZ_EXAMPLES``), and a bound on every single call (a hang fails).

The bound is a guard against a parser that never returns, not a speed test: it is far above
what any call takes, and it only fires for a call that would otherwise block the suite.
"""
from __future__ import annotations

import contextlib
import os
import signal

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.getenv("FAAS_ETL_FUZZ_EXAMPLES", "300"))
CALL_BOUND_S = 10.0


def fuzz(scale: float = 1.0) -> settings:
    """Settings for one property: ``scale`` times the budget's examples (at least 10)."""
    return settings(max_examples=max(10, int(EXAMPLES * scale)), deadline=None,
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
