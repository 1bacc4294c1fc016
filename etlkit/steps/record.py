"""The record every step reads and writes: a Kafka message with a decoded JSON object value."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Header names fixed by docs/contracts.md ("Records on Kafka").
SOURCE_HEADER = "etl-source"
EVENT_TIME_HEADER = "etl-event-time"


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """One record: ``value`` (a JSON object), ``key`` (UTF-8 text or None), ``headers``, and
    where it came from (``topic``, ``partition``, ``offset``) with its ``timestamp`` (epoch ms).

    Steps never mutate a record or its value: an output is a new record (:meth:`with_value`).
    """

    value: dict[str, Any]
    key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    timestamp: int | None = None

    def __post_init__(self) -> None:
        if type(self.value) is not dict:
            raise TypeError(f"Record.value: must be a JSON object (dict), got {type(self.value).__name__}")
        if self.key is not None and type(self.key) is not str:
            raise TypeError(f"Record.key: must be text or None, got {type(self.key).__name__}")
        if type(self.headers) is not dict:
            raise TypeError(f"Record.headers: must be a dict, got {type(self.headers).__name__}")
        for name, text in self.headers.items():
            if type(name) is not str or type(text) is not str:
                raise TypeError(f"Record.headers[{name!r}]: names and values must be text")
        for name in ("partition", "offset", "timestamp"):
            number = getattr(self, name)
            if number is not None and type(number) is not int:
                raise TypeError(f"Record.{name}: must be an integer or None, got {type(number).__name__}")

    def with_value(self, value: dict[str, Any]) -> "Record":
        """The same message (key, headers, origin, time) carrying a new ``value``."""
        return Record(value=value, key=self.key, headers=self.headers, topic=self.topic,
                      partition=self.partition, offset=self.offset, timestamp=self.timestamp)
