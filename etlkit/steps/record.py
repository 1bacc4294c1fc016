"""The record every step reads and writes: a Kafka message with a decoded JSON object value."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..wire import EVENT_TIME_HEADER

# Header names fixed by docs/contracts.md ("Records on Kafka"); the event time's is the wire's.
SOURCE_HEADER = "etl-source"


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
        # Cheap tests for the common, valid case (a hot path: one record per event); the
        # precise message is worked out only on failure.
        key, partition, offset, timestamp = self.key, self.partition, self.offset, self.timestamp
        if (type(self.value) is not dict or type(self.headers) is not dict
                or (key is not None and type(key) is not str)
                or (partition is not None and type(partition) is not int)
                or (offset is not None and type(offset) is not int)
                or (timestamp is not None and type(timestamp) is not int)):
            _refuse(self)
        for name, text in self.headers.items():
            if type(name) is not str or type(text) is not str:
                _refuse(self)

    def with_value(self, value: dict[str, Any]) -> "Record":
        """The same message (key, headers, origin, time) carrying a new ``value``."""
        if type(value) is not dict:
            raise TypeError(f"Record.value: must be a JSON object (dict), got {type(value).__name__}")
        # The other fields were validated when ``self`` was built: copy them without a second
        # check (a hot path: map and enrich make one record per input record).
        return trusted_record(value, self.key, self.headers, self.topic, self.partition,
                              self.offset, self.timestamp)


# The slots' own setters: they bypass the frozen ``__setattr__`` (which refuses every write) at
# a third of the cost of ``object.__setattr__``.
_new = object.__new__
_SETTERS = tuple(Record.__dict__[name].__set__
                 for name in ("value", "key", "headers", "topic", "partition", "offset", "timestamp"))


def trusted_record(value: dict[str, Any], key: str | None, headers: dict[str, str],
                   topic: str | None, partition: int | None, offset: int | None,
                   timestamp: int | None) -> Record:
    """A :class:`Record` built without ``__post_init__``'s checks, for callers that have already
    made sure of every field's type (the event decoder, :meth:`Record.with_value`): a third of the
    cost of ``Record(...)``, on the path every record of every batch takes."""
    record = _new(Record)
    set_value, set_key, set_headers, set_topic, set_partition, set_offset, set_timestamp = _SETTERS
    set_value(record, value)
    set_key(record, key)
    set_headers(record, headers)
    set_topic(record, topic)
    set_partition(record, partition)
    set_offset(record, offset)
    set_timestamp(record, timestamp)
    return record


def _refuse(record: Record) -> None:
    """Raise the TypeError naming the first invalid field of ``record``."""
    if type(record.value) is not dict:
        raise TypeError(f"Record.value: must be a JSON object (dict), got {type(record.value).__name__}")
    if record.key is not None and type(record.key) is not str:
        raise TypeError(f"Record.key: must be text or None, got {type(record.key).__name__}")
    if type(record.headers) is not dict:
        raise TypeError(f"Record.headers: must be a dict, got {type(record.headers).__name__}")
    for name, text in record.headers.items():
        if type(name) is not str or type(text) is not str:
            raise TypeError(f"Record.headers[{name!r}]: names and values must be text")
    for name in ("partition", "offset", "timestamp"):
        number = getattr(record, name)
        if number is not None and type(number) is not int:
            raise TypeError(f"Record.{name}: must be an integer or None, got {type(number).__name__}")
