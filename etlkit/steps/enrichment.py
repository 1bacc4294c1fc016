"""The ``enrich`` step: join each record against a lookup table.

Params::

    {"join_key": "customer.id",        # field of the record holding the key (dotted path)
     "source": {"kind": "file", ...},  # where the table comes from (opaque here; see below)
     "fields": ["name", "tier"],       # columns to copy (default: every column of the row)
     "prefix": "customer_",            # prepended to copied column names (default "")
     "into": null,                     # or "customer": nest the columns under that field instead
     "on_missing": "keep",             # keep (left join) | filter | dead_letter
     "refresh_seconds": 300}           # how long a loaded table is reused

A record whose key has no row (or whose key is null) follows ``on_missing``; with ``keep`` the
declared ``fields`` are set to null (or ``into`` to null), so output records keep one shape;
without ``fields``, nothing is added. Copied columns overwrite record fields of the same name:
use ``prefix`` or ``into`` to keep both.

The table comes from a :class:`~.lookup.Lookup` the caller passes in (typically a
:class:`~.lookup.CachedLookup` over the source named by ``source``), read once per batch, so a
batch is joined against one consistent snapshot.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from .config import ConfigError, ConfigReader, field_path
from .failures import RecordError
from .fieldpaths import Path, WorkingCopy
from .file_lookup import FileLookupSource
from .lookup import CachedLookup, Lookup, LookupSource, join_text
from .outcome import StepOutcome, run_per_record
from .record import Record

ON_MISSING = ("keep", "filter", "dead_letter")


@dataclass(frozen=True)
class EnrichConfig:
    join_key: Path
    source: Mapping[str, Any]
    fields: tuple[str, ...] | None = None
    prefix: str = ""
    into: Path | None = None
    on_missing: str = "keep"
    refresh_ms: int = 300_000

    @classmethod
    def from_dict(cls, params: Mapping[str, Any], where: str = "params") -> "EnrichConfig":
        """Parse ``params``; :class:`ConfigError` names the field and rule."""
        reader = ConfigReader(params, where)
        join_key = field_path(reader.text("join_key"), reader.at("join_key"))
        source = reader.mapping("source")
        if not isinstance(source.get("kind"), str) or not source["kind"]:
            raise ConfigError(reader.at("source.kind"), "is required (e.g. \"file\")")
        fields = reader.text_list("fields", None)
        prefix = reader.string("prefix", "")
        into_text = reader.text("into", None)
        if into_text is not None and prefix:
            raise ConfigError(reader.at("into"), "cannot be combined with prefix (nested columns "
                                                 "keep their names)")
        config = cls(
            join_key=join_key, source=source, fields=fields, prefix=prefix,
            into=None if into_text is None else field_path(into_text, reader.at("into")),
            on_missing=reader.choice("on_missing", ON_MISSING, "keep"),
            refresh_ms=reader.seconds_as_ms("refresh_seconds", positive=True, default=300_000))
        reader.finish()
        return config


def enrich_value(config: EnrichConfig, record: Record, table: Mapping[str, Mapping[str, Any]],
                 ) -> dict[str, Any] | None:
    """The enriched value of one record, ``None`` if it is filtered out."""
    work = WorkingCopy(record.value)
    key_name = ".".join(config.join_key)
    key = join_text(work.get(config.join_key), f"join key {key_name}")
    row = table.get(key) if key is not None else None
    if row is None:
        if config.on_missing == "filter":
            return None
        if config.on_missing == "dead_letter":
            raise RecordError(f"join key {key_name}: " + ("is null" if key is None else
                                                           f"no row for {key!r}"))
        if config.into is not None:
            work.set(config.into, None)
        for column in config.fields or ():
            work.root[config.prefix + column] = None
        return work.root
    columns = config.fields if config.fields is not None else tuple(row)
    if config.into is not None:
        work.set(config.into, {column: row.get(column) for column in columns})
    else:
        for column in columns:
            work.root[config.prefix + column] = row.get(column)
    return work.root


def run_enrich(config: EnrichConfig, records: Sequence[Record], *, step: str, now_ms: int,
               lookup: Lookup) -> StepOutcome:
    """Join a batch; the table is read from ``lookup`` once, before the first record."""
    table = lookup.table(now_ms)

    def join(record: Record) -> Record | None:
        value = enrich_value(config, record, table)
        return None if value is None else record.with_value(value)

    return run_per_record(records, step, now_ms, join)


SourceFactory = Callable[[Mapping[str, Any], str], LookupSource]
# Built-in lookup sources by ``source.kind``; other kinds (a warehouse table) are added by the
# caller through ``build_lookup(..., factories={...})`` against the LookupSource Protocol.
SOURCE_FACTORIES: dict[str, SourceFactory] = {"file": FileLookupSource.from_dict}


def build_lookup(config: EnrichConfig, factories: Mapping[str, SourceFactory] | None = None,
                 where: str = "params.source", **cache_options: Any) -> CachedLookup:
    """A :class:`CachedLookup` over the source ``config.source`` names, refreshed every
    ``refresh_seconds``. A step function builds it once and keeps it between invocations."""
    known = {**SOURCE_FACTORIES, **(factories or {})}
    kind = config.source["kind"]
    factory = known.get(kind)
    if factory is None:
        raise ConfigError(f"{where}.kind", "must be one of " + ", ".join(sorted(known)))
    return CachedLookup(factory(config.source, where), refresh_ms=config.refresh_ms, **cache_options)
