"""What a chaos run does: its load, its faults and when they strike. Typed, validated, pure.

A run is ``duration_s`` seconds of steady writes and reads. The first ``quiet_s`` seconds have
no fault (the baseline every outage is compared with) and so do the last ``tail_s`` (the faults'
effects must have ended before the measurement does). In between, the chosen faults strike in
turn, evenly spaced, cycling until the window is full: a 5-minute run with the five faults sees
each of them about three times.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Each fault and the component it stresses (the report groups by component).
FAULTS: dict[str, str] = {
    "kill-worker": "function worker",      # kill -9 one busy replica of each data-path function
    "restart-warehouse": "warehouse",      # PostgreSQL stopped (fast) and started again
    "restart-gateway": "gateway",          # gateway stopped and started on the same port
    "restart-runner": "event runner",      # the Argo Events runner process killed -9, restarted
    "pause-broker": "broker connection",   # no byte between clients and Kafka for pause_s
}
COMPONENTS = tuple(dict.fromkeys(FAULTS.values()))
# The faults of a run on the real binaries (``--real``, issue 15), in the order they strike.
REAL_FAULTS: dict[str, str] = {
    "kill-sensor": "sensor",                # kill -9 one Sensor process mid-stream, new pod
    "kill-eventsource": "event source",     # kill -9 one EventSource process mid-stream, new pod
    "fill-eventbus": "eventbus",            # a Sensor stalled until the stream is full
    "dlq-unreachable": "dead-letter target",  # the dead-letter topic refuses writes a while
    "replay": "consumer group",             # faas-etl replay of the loader's input, live
    "slow-function": "function",            # map stalled past the Sensor's trigger timeout
    "restart-broker": "kafka broker",       # one node of three killed/stopped and restarted
    "restart-warehouse": "warehouse",       # PostgreSQL crashed or restarted
}
REAL_COMPONENTS = tuple(dict.fromkeys(REAL_FAULTS.values()))


class ChaosConfigError(ValueError):
    """A setting breaks a rule; the message names the setting and the rule."""


@dataclass(frozen=True)
class ChaosConfig:
    duration_s: float = 300.0
    faults: tuple[str, ...] = tuple(FAULTS)
    quiet_s: float = 20.0            # no fault at the start: the baseline
    tail_s: float = 20.0             # no fault at the end: recovery inside the measurement
    fault_gap_s: float = 25.0        # at least this between two faults, so effects stay apart
    writers: int = 4                 # concurrent senders to the ingest function
    write_rate: float = 20.0         # requests per second, all writers together
    batch_records: int = 10          # records per request
    readers: int = 2                 # concurrent warehouse readers
    read_rate: float = 10.0          # queries per second, all readers together
    slow_s: float = 2.0              # an answer slower than this counts as unavailable time
    request_timeout_s: float = 45.0  # a writer gives up on one attempt after this (then retries)
    backoff_s: tuple[float, float] = (0.05, 0.5)  # a failed attempt waits first, then at most
    pause_s: float = 8.0             # how long the broker connection stays paused
    gateway_down_s: float = 1.0      # between stopping the gateway and starting the next one
    replicas: int = 2                # replicas of each data-path function
    drain_timeout_s: float = 180.0   # after the writers stop, wait this long for the warehouse
    seed: int = 7
    bad_every: int = 0               # every n-th record one the map step dead-letters (0: none)
    real: bool = False               # on the real binaries (REAL_FAULTS) rather than the stand-ins
    extra: dict[str, str] = field(default_factory=dict, compare=False)  # free notes for the report

    def __post_init__(self) -> None:
        checks = [
            ("duration_s", self.duration_s > 0, "must be > 0"),
            ("quiet_s", self.quiet_s >= 0, "must be >= 0"),
            ("tail_s", self.tail_s >= 0, "must be >= 0"),
            ("fault_gap_s", self.fault_gap_s > 0, "must be > 0"),
            ("writers", self.writers >= 1, "must be >= 1"),
            ("write_rate", self.write_rate > 0, "must be > 0"),
            ("batch_records", 1 <= self.batch_records <= 10_000,
             "must be 1..10000 (the ingest function's batch limit)"),
            ("readers", self.readers >= 1, "must be >= 1"),
            ("read_rate", self.read_rate > 0, "must be > 0"),
            ("slow_s", self.slow_s > 0, "must be > 0"),
            ("request_timeout_s", self.request_timeout_s > self.slow_s,
             "must be longer than slow_s"),
            ("backoff_s", 0 < self.backoff_s[0] <= self.backoff_s[1],
             "must be (first, cap) with 0 < first <= cap"),
            ("pause_s", self.pause_s > 0, "must be > 0"),
            ("gateway_down_s", self.gateway_down_s >= 0, "must be >= 0"),
            ("replicas", 1 <= self.replicas <= 5, "must be 1..5 (OpenFaaS CE's limit)"),
            ("drain_timeout_s", self.drain_timeout_s > 0, "must be > 0"),
            ("bad_every", self.bad_every >= 0, "must be >= 0 (0: no bad record)"),
        ]
        for name, ok, rule in checks:
            if not ok:
                raise ChaosConfigError(f"{name}: {rule}")
        known = REAL_FAULTS if self.real else FAULTS
        unknown = [f for f in self.faults if f not in known]
        if unknown:
            raise ChaosConfigError(f"faults: unknown fault {unknown[0]!r} "
                                   f"(expected some of {', '.join(known)})")
        if len(set(self.faults)) != len(self.faults):
            raise ChaosConfigError("faults: each fault at most once (they repeat by themselves)")
        if self.faults and self.quiet_s + self.tail_s >= self.duration_s:
            raise ChaosConfigError("duration_s: must be longer than quiet_s + tail_s, "
                                   "or no fault has room")


@dataclass(frozen=True)
class ScheduledFault:
    at_s: float   # seconds after the measurement started
    fault: str
    round: int    # 0 the first time this fault strikes, 1 the second, ...

    @property
    def component(self) -> str:
        return FAULTS.get(self.fault) or REAL_FAULTS[self.fault]


def schedule(config: ChaosConfig) -> list[ScheduledFault]:
    """The faults of a run in time order: the chosen ones in turn, evenly spaced.

    The window between ``quiet_s`` and ``duration_s - tail_s`` holds as many faults as fit
    ``fault_gap_s`` apart, in whole cycles (every fault equally often, each at least once),
    each at the middle of its slot.
    """
    if not config.faults:
        return []
    n = len(config.faults)
    window = config.duration_s - config.quiet_s - config.tail_s
    count = max(n, int(window // config.fault_gap_s) // n * n)
    gap = window / count
    return [ScheduledFault(at_s=round(config.quiet_s + (i + 0.5) * gap, 3),
                           fault=config.faults[i % len(config.faults)],
                           round=i // len(config.faults))
            for i in range(count)]
