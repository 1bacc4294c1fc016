"""retryStrategy as Kubernetes' wait.Backoff under Argo's DoWithRetry; the runner's own backoff."""
import pytest

from devstack.argo.retry import Backoff, delays, parse_backoff, run_with_retry, stuck_delay


@pytest.mark.parametrize("spec, expected", [
    (None, Backoff(1)),
    ({}, Backoff(5, 1_000_000_000, 1.0, 1.0)),
    ({"steps": 0}, Backoff(5)),
    ({"steps": 3, "duration": "10ms", "factor": "2", "jitter": 0.2}, Backoff(3, 10_000_000, 2.0, 0.2)),
    ({"steps": 2, "duration": 500}, Backoff(2, 500)),
], ids=["absent-is-one-attempt", "empty-is-five-with-defaults", "zero-steps-is-five",
        "string-amounts", "integer-duration-is-nanoseconds"])
def test_parse_backoff_defaults(spec, expected):
    assert parse_backoff(spec) == expected


@pytest.mark.parametrize("spec, reason", [({"steps": "3"}, "steps"), ({"duration": "1x"}, "duration"),
                                          ({"factor": "two"}, "factor"), ({"stpes": 3}, "unknown field")],
                         ids=["steps-text", "bad-duration", "bad-factor", "typo"])
def test_parse_backoff_refuses(spec, reason):
    with pytest.raises(ValueError, match=reason):
        parse_backoff(spec)


def test_delays_grow_by_factor_with_jitter_on_top():
    schedule = list(delays(Backoff(4, 1_000_000_000, 2.0, 0.5), rand=lambda: 0.5))
    assert schedule == [1.25, 2.5, 5.0]  # d*(1 + 0.5*0.5), factor applied before jitter


def test_delays_without_jitter_are_exact():
    assert list(delays(Backoff(3, 10_000_000, 3.0, 0.0), rand=lambda: 0.9)) == [0.01, 0.03]


def test_steps_is_the_number_of_attempts():
    calls, sleeps = [], []

    def call():
        calls.append(1)
        return 500

    outcome = run_with_retry(call, lambda s: None if s == 200 else f"status {s}",
                             Backoff(3, 1_000_000, 1.0, 0.0), sleeps.append, lambda: 0.0)
    assert (outcome.ok, outcome.attempts, outcome.error) == (False, 3, "status 500")
    assert len(calls) == 3 and sleeps == [0.001, 0.001]


def test_success_stops_retrying_and_exceptions_are_failed_attempts():
    answers = iter([ConnectionError("refused"), 503, 200])

    def call():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    sleeps = []
    outcome = run_with_retry(call, lambda s: None if s == 200 else "no", Backoff(5, 1000, 1.0, 0.0),
                             sleeps.append, lambda: 0.0)
    assert (outcome.ok, outcome.attempts, outcome.result) == (True, 3, 200)
    assert len(sleeps) == 2


def test_stuck_delay_doubles_and_is_bounded():
    assert [stuck_delay(n) for n in (1, 2, 3, 8, 100)] == [0.5, 1.0, 2.0, 30.0, 30.0]
