"""What one call did, for its log lines: the step it ran, its record counters, its dead letters'
reasons; and the last error answered per step, for the dashboard.

The template's adapter (``template/python3-etl/index.py``) opens a call with :func:`begin`,
runs the handler, and closes it with :func:`finish`, which returns the notes its access line
shows. etlkit's cores note into the call as they learn things (:func:`note_step` once the
envelope names its step, :func:`note_records` when Kafka acknowledged the outputs,
:func:`note_dead_letters`). A waitress worker thread serves one call at a time, so the notes are
thread-local. Under the stock python3-http template nobody opens a call and every note is a
cheap no-op.

Pure: no I/O and no clock (the adapter passes the time to :func:`finish`).
"""
from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Dead-letter reasons a call's log shows at most: a batch of 1 000 bad records is one line
# saying how many more, not 1 000 lines.
MAX_REASONS = 3
# Steps whose last error is kept: a bound against a caller inventing step names.
MAX_STEPS = 256


@dataclass
class CallNotes:
    """One call's notes (mutable while the call runs, then handed to the adapter)."""

    workflow: str = ""
    step: str = ""
    records: dict[str, int] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    more_reasons: int = 0


@dataclass(frozen=True)
class LastError:
    """The last 4xx/5xx answered for a step (workflow "" and step "": before the envelope
    named one)."""

    workflow: str
    step: str
    at: float  # epoch seconds
    status: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"workflow": self.workflow, "step": self.step, "at": self.at,
                "status": self.status, "reason": self.reason}


_local = threading.local()
_lock = threading.Lock()
_last_errors: dict[tuple[str, str], LastError] = {}


def begin() -> None:
    _local.notes = CallNotes()


def _current() -> CallNotes | None:
    return getattr(_local, "notes", None)


def note_step(workflow: str, step: str) -> None:
    notes = _current()
    if notes is not None:
        notes.workflow, notes.step = workflow, step


def note_records(workflow: str, step: str, counters: Mapping[str, int]) -> None:
    """Add a call's record counters (several sources of one file add up)."""
    notes = _current()
    if notes is None:
        return
    if not notes.step:
        notes.workflow, notes.step = workflow, step
    for kind, n in counters.items():
        notes.records[kind] = notes.records.get(kind, 0) + int(n)


def note_dead_letters(reasons: Iterable[tuple[str | None, str]]) -> None:
    """``(key, reason)`` of each dead letter of the call; the first MAX_REASONS are kept."""
    notes = _current()
    if notes is None:
        return
    for key, reason in reasons:
        if len(notes.reasons) < MAX_REASONS:
            notes.reasons.append(reason if key is None else f"key {key!r}: {reason}")
        else:
            notes.more_reasons += 1


def finish(status: int, reason: str | None, at: float) -> CallNotes:
    """Close the call: its notes, and for a 4xx/5xx, ``reason`` kept as its step's last error."""
    notes = _current() or CallNotes()
    _local.notes = None
    if status >= 400:
        error = LastError(notes.workflow, notes.step, at, status, reason or "")
        with _lock:
            key = (notes.workflow, notes.step)
            if key not in _last_errors and len(_last_errors) >= MAX_STEPS:
                del _last_errors[min(_last_errors, key=lambda k: _last_errors[k].at)]
            _last_errors[key] = error
    return notes


def last_errors() -> list[LastError]:
    """The last error of every step that had one, sorted by workflow and step."""
    with _lock:
        return [_last_errors[k] for k in sorted(_last_errors)]


def reset() -> None:
    """Forget every last error (tests)."""
    with _lock:
        _last_errors.clear()
