"""What a step returns for a batch: emitted records, dead letters, counters, and new state."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from .failures import RecordError
from .record import Record


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record a step could not process, in the shape of docs/contracts.md.

    ``payload`` is the original record value (or the original text when it was not JSON);
    ``at`` is when it was dead-lettered, in epoch milliseconds.
    """

    step: str
    reason: str
    payload: Any
    topic: str | None
    key: str | None
    at: int

    @classmethod
    def of(cls, record: Record, step: str, reason: str, at: int) -> "DeadLetter":
        """The dead letter of ``record`` at step ``step``."""
        return cls(step, reason, record.value, record.topic, record.key, at)

    def to_dict(self) -> dict[str, Any]:
        """The dead-letter topic's JSON value."""
        return {"step": self.step, "reason": self.reason, "payload": self.payload,
                "topic": self.topic, "key": self.key, "at": self.at}


@dataclass(frozen=True, slots=True)
class StepCounters:
    """Per-batch counters; ``in_ == out + filtered + dead_lettered`` always holds.

    ``out`` counts input records that went *through* the step; ``emitted`` counts the records
    the step produces. They are equal for ``filter``/``map``/``enrich``. For ``aggregate``,
    ``out`` is the records absorbed into window state and ``emitted`` the window results.
    """

    in_: int
    out: int
    filtered: int
    dead_lettered: int
    emitted: int
    # Input batches recognised as already applied (aggregate): not counted in ``in`` again.
    duplicate: int = 0

    def __post_init__(self) -> None:
        if self.in_ != self.out + self.filtered + self.dead_lettered:
            raise ValueError(f"counters: in ({self.in_}) != out ({self.out}) + filtered "
                             f"({self.filtered}) + dead_lettered ({self.dead_lettered})")

    def as_dict(self) -> dict[str, int]:
        """The counters a step function answers with (docs/contracts.md), plus ``emitted``, and
        ``duplicate`` when an input was already applied."""
        counters = {"in": self.in_, "out": self.out, "filtered": self.filtered,
                    "dead_lettered": self.dead_lettered, "emitted": self.emitted}
        if self.duplicate:
            counters["duplicate"] = self.duplicate
        return counters


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """The result of one step over one batch. ``state`` is the step's state to persist (JSON),
    ``None`` for stateless steps."""

    records: tuple[Record, ...]
    dead_letters: tuple[DeadLetter, ...]
    counters: StepCounters
    state: dict[str, Any] | None = None


def each_record(records: Sequence[Record], step: str, now_ms: int,
                handle: Callable[[Record], Any]) -> list[DeadLetter]:
    """Call ``handle`` on each record and return the dead letters of those that failed.

    A :class:`RecordError` is the record's own fault. Any other exception is a bug, but it
    still only dead-letters its record (reason ``internal error: ...``, the record preserved for
    replay) so that one record never loses a batch.
    """
    dead: list[DeadLetter] = []
    for record in records:
        try:
            handle(record)
        except Exception as exc:  # noqa: BLE001 - see the docstring
            dead.append(_dead_letter(record, step, now_ms, exc))
    return dead


def _dead_letter(record: Record, step: str, now_ms: int, exc: Exception) -> DeadLetter:
    if isinstance(exc, RecordError):
        return DeadLetter.of(record, step, exc.reason, now_ms)
    return DeadLetter.of(record, step, f"internal error: {type(exc).__name__}: {exc}", now_ms)


def run_per_record(records: Sequence[Record], step: str, now_ms: int,
                   transform: Callable[[Record], Record | None]) -> StepOutcome:
    """Apply ``transform`` to each record: a record out is emitted, ``None`` is filtered, a
    failure is a dead letter (as in :func:`each_record`)."""
    emitted: list[Record] = []
    dead: list[DeadLetter] = []
    append = emitted.append
    for record in records:  # each_record's loop, without a closure call per record
        try:
            result = transform(record)
        except Exception as exc:  # noqa: BLE001 - see each_record
            dead.append(_dead_letter(record, step, now_ms, exc))
            continue
        if result is not None:
            append(result)
    return outcome_of(len(records), emitted, dead, len(records) - len(emitted) - len(dead))


def outcome_of(received: int, emitted: Iterable[Record], dead: Iterable[DeadLetter],
               filtered: int, *, through: int | None = None,
               state: dict[str, Any] | None = None) -> StepOutcome:
    """Assemble a :class:`StepOutcome`; ``through`` is ``out`` when it differs from emitted."""
    emitted, dead = tuple(emitted), tuple(dead)
    out = len(emitted) if through is None else through
    counters = StepCounters(received, out, filtered, len(dead), len(emitted))
    return StepOutcome(emitted, dead, counters, state)
