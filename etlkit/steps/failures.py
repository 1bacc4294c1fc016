"""The one exception a step raises for a single bad record.

A step catches :class:`RecordError` around each record and turns it into a dead letter whose
``reason`` is the exception text, so every per-record problem (a type error in a condition, a
failed cast, a missing join key, a late event) shares one path to the dead-letter stream and never
stops the batch.
"""
from __future__ import annotations


class RecordError(Exception):
    """A record cannot go through a step; ``reason`` says why, for the dead letter."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
